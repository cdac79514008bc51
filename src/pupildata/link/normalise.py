"""Normalisation, as SQL expressions shared by ``pupildata link`` and ``pupildata match``.

Real files write the same name, sex or postcode in many ways: ``O'Brien``, ``OBRIEN``, ``o brien``; ``M``,
``Male``, ``1``; ``pe1 7nd``. Every comparison works on the normalised forms made here, set-at-a-time:

- names: accents stripped, lower case, anything but a letter removed (hyphens, apostrophes, spaces); a surname
  is also split into its parts, so ``Smith-Jones`` can match ``Jones``;
- sex: ``M``/``F`` from M, Male, Boy, 1 and F, Female, Girl, 2 (anything else is missing);
- postcode: upper case, one space, valid UK shape or missing; with its sector, district and area;
- UPN and ULN: kept only when their check character is right;
- forename groups: the canonical names a forename is a nickname or spelling of (``nicknames``).
"""

from __future__ import annotations

from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.identifiers import sql_clean_upper, sql_uln_is_valid, sql_upn_is_valid
from pupildata.link import nicknames

_OUTWARD = "([A-PR-UWYZ](?:[0-9][0-9A-HJKPS-UW]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?))"
_INWARD = "([0-9][ABD-HJLNP-UW-Z]{2})"

NORMAL_TABLE = "link_norm"

#: The normalised columns the model's comparisons and blocking rules read (with the record key).
MODEL_COLUMNS: tuple[str, ...] = (
    *("record_key", "fn", "mn", "sn", "sn_all", "fn_groups", "dob", "sex"),
    *("pc", "pc_sector", "pc_district", "school", "upn", "uln"),
)


def name(col: str) -> str:
    """A name as letters only, lower case, without accents (NULL when nothing is left)."""
    return f"nullif(regexp_replace(lower(strip_accents(trim(CAST({col} AS VARCHAR)))), '[^a-z]', '', 'g'), '')"


def name_parts(col: str) -> str:
    """The parts of a name split at hyphens and spaces (apostrophes dropped), as a list."""
    cleaned = f"regexp_replace(lower(strip_accents(CAST({col} AS VARCHAR))), '[''’`]', '', 'g')"
    return f"list_filter(regexp_split_to_array(coalesce({cleaned}, ''), '[^a-z]+'), lambda x: x <> '')"


def sex(col: str) -> str:
    value = f"upper(trim(CAST({col} AS VARCHAR)))"
    return (
        f"CASE WHEN {value} IN ('M', 'MALE', 'BOY', '1') THEN 'M' "
        f"WHEN {value} IN ('F', 'FEMALE', 'GIRL', '2') THEN 'F' END"
    )


def _postcode_compact(col: str) -> str:
    return f"upper(regexp_replace(CAST({col} AS VARCHAR), '\\s', '', 'g'))"


def postcode(col: str) -> str:
    """The postcode as 'PE1 7ND', or NULL when it is not a UK postcode."""
    compact = _postcode_compact(col)
    return (
        f"CASE WHEN regexp_full_match({compact}, '{_OUTWARD}{_INWARD}') "
        f"THEN regexp_replace({compact}, '^{_OUTWARD}{_INWARD}$', '\\1 \\2') END"
    )


def postcode_sector(pc: str) -> str:
    return f"substr({pc}, 1, length({pc}) - 2)"


def postcode_district(pc: str) -> str:
    return f"split_part({pc}, ' ', 1)"


def upn(col: str, clean_col: str | None = None) -> str:
    """The UPN when its check letter is right, else NULL (``col`` already trimmed and in upper case;
    ``clean_col``, when given, holds ``sql_clean_upper(col)``, computed once)."""
    if clean_col is not None:
        return f"CASE WHEN {sql_upn_is_valid(clean_col, cleaned=True)} THEN {col} END"
    return f"CASE WHEN {sql_upn_is_valid(col)} THEN {col} END"


def uln(col: str) -> str:
    """The ULN when its check digit is right, else NULL (``col`` already trimmed)."""
    return f"CASE WHEN {sql_uln_is_valid(col)} THEN {col} END"


def normal_select(table: str) -> str:
    """The normalised columns of a table in the shape of ``link_record`` (columns it lacks must be NULL)."""
    return f"""
    SELECT record_key, source, year, coalesce(return_key, source || ':' || year) AS return_key, source_id,
      fn, mn, sn, sn_all, dob, sex, pc, {postcode_sector("pc")} AS pc_sector, {postcode_district("pc")} AS pc_district,
      {upn("upn_raw", "upn_chk")} AS upn,
      {upn("former_upn_raw", "former_upn_chk")} AS former_upn, {uln("uln_raw")} AS uln, school, la_code,
      coalesce((SELECT list_sort(list(g.canonical)) FROM link_forename_group g WHERE g.name = fn), [fn])
        AS fn_groups
    FROM (
      SELECT record_key, source, CAST(year AS INTEGER) AS year, return_key, CAST(source_id AS VARCHAR) AS source_id,
        {name("forename")} AS fn,
        {name("middle_names")} AS mn,
        {name("coalesce(surname, preferred_surname)")} AS sn,
        list_distinct(list_filter(
          [{name("surname")}, {name("former_surname")}, {name("preferred_surname")}]
            || {name_parts("surname")} || {name_parts("preferred_surname")},
          lambda x: x IS NOT NULL AND length(x) > 1)) AS sn_all,
        CAST(dob AS DATE) AS dob, {sex("sex")} AS sex, {postcode("postcode")} AS pc,
        upper(trim(CAST(upn AS VARCHAR))) AS upn_raw, upper(trim(CAST(former_upn AS VARCHAR))) AS former_upn_raw,
        {sql_clean_upper("upper(trim(CAST(upn AS VARCHAR)))")} AS upn_chk,
        {sql_clean_upper("upper(trim(CAST(former_upn AS VARCHAR)))")} AS former_upn_chk,
        trim(CAST(uln AS VARCHAR)) AS uln_raw,
        coalesce('U' || nullif(trim(CAST(school_urn AS VARCHAR)), ''),
                 'L' || nullif(trim(CAST(laestab AS VARCHAR)), ''))
          AS school,
        CAST(la_code AS VARCHAR) AS la_code
      FROM {table}
    )
    """


def install_forename_groups(engine: DuckDBEngine) -> int:
    """(Re)create the small table of forename groups from the package's data file."""
    rows = nicknames.pairs()
    engine.execute("CREATE OR REPLACE TABLE link_forename_group (name VARCHAR, canonical VARCHAR)")
    engine.executemany("INSERT INTO link_forename_group VALUES (?, ?)", rows)
    return len(rows)
