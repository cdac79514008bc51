"""``link_record`` built straight from a synthetic folder (``pupildata synth --out DIR``), for tests and
benchmarks of matching alone (``pipeline.run(ctx, from_collection=False)``). The matching pipeline never calls
this module: ``pupildata link`` and the demo read what collection loaded (``pupildata.link.inputs``).

Record keys are ``<file path in the manifest>#<record index>``, the same pair the synthetic truth uses, so the
quality report can join the truth (``truth_sql``) without anything else. Census XML is read set-at-a-time with
DuckDB's regular expressions; each CSV with ``read_csv``.
"""

from __future__ import annotations

from pathlib import Path

from pupildata.errors import UsageError
from pupildata.kernel.engine import DuckDBEngine
from pupildata.link import contract


def _field(tag: str, text: str = "p") -> str:
    raw = f"regexp_extract({text}, '<{tag}>([^<]*)</{tag}>', 1)"
    for entity, char in (("&apos;", "''"), ("&quot;", '"'), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")):
        raw = f"replace({raw}, '{entity}', '{char}')"
    return f"nullif({raw}, '')"


def _census_sql(folder: str) -> str:
    return f"""
    WITH files AS (
      SELECT regexp_replace(filename, '^.*/([0-9]{{4}}-[0-9]{{2}}/census/[^/]+)$', '\\1') AS file, content
      FROM read_text('{folder}/*/census/*.xml')
    ), pupils AS (
      SELECT file, content, unnest(regexp_extract_all(content, '(?s)<Pupil>(.*?)</Pupil>', 1)) AS p,
             generate_subscripts(regexp_extract_all(content, '(?s)<Pupil>(.*?)</Pupil>', 1), 1) - 1 AS idx
      FROM files
    )
    SELECT file || '#' || idx AS record_key, 'census' AS source, CAST(substr(file, 1, 4) AS INTEGER) AS year,
      {_field("Forename")} AS forename, {_field("MiddleNames")} AS middle_names, {_field("Surname")} AS surname,
      {_field("FormerSurname")} AS former_surname, {_field("PreferredSurname")} AS preferred_surname,
      try_cast({_field("DOB")} AS DATE) AS dob, {_field("Gender")} AS sex, {_field("PostCode")} AS postcode,
      concat_ws(', ', {_field("AddressLine1")}, {_field("AddressLine2")}) AS address,
      {_field("UPN")} AS upn, {_field("FormerUPN")} AS former_upn, NULL AS uln,
      {_field("URN", "content")} AS school_urn, {_field("LEA", "content")} || {_field("Estab", "content")} AS laestab,
      {_field("LEA", "content")} AS la_code, NULL AS source_id, file AS return_key, {_field("Ethnicity")} AS ethnicity,
      {_field("FSMeligible")} = 'true' AS fsm, {_field("Language")} <> 'ENG' AS eal
    FROM pupils
    """


def _csv(folder: str, pattern: str) -> str:
    return (
        f"read_csv('{folder}/{pattern}', all_varchar = true, header = true, filename = true, "
        "quote = '\"', escape = '\"')"
    )


def _rows(folder: str, pattern: str, source: str, select: str, where: str = "") -> str:
    return f"""
    SELECT regexp_replace(filename, '^.*/([0-9]{{4}}-[0-9]{{2}}/.*)$', '\\1') || '#' ||
             (row_number() OVER (PARTITION BY filename ORDER BY rowid_) - 1) AS record_key,
           {source} AS source,
           CAST(substr(regexp_replace(filename, '^.*/([0-9]{{4}})-[0-9]{{2}}/.*$', '\\1'), 1, 4) AS INTEGER) AS year,
           {select}
    FROM (SELECT *, row_number() OVER () AS rowid_ FROM {_csv(folder, pattern)}) {where}
    """


def _null(*names: str) -> str:
    return ", ".join(f"NULL AS {n}" for n in names)


def _sources(folder: str, present: set[str]) -> list[str]:
    out = []
    if "census" in present:
        out.append(_census_sql(folder))
    if "ks" in present:
        out.append(
            _rows(
                folder,
                "*/ks/*.csv",
                "regexp_extract(filename, '(ks[0-9])\\.csv$', 1)",
                "Forenames AS forename, NULL AS middle_names, Surname AS surname, "
                + _null("former_surname", "preferred_surname")
                + ", try_strptime(DOB, '%d/%m/%Y')::DATE AS dob, Gender AS sex, NULL AS postcode, NULL AS address, "
                "UPN AS upn, NULL AS former_upn, NULL AS uln, URN AS school_urn, LAEstab AS laestab, "
                "substr(LAEstab, 1, 3) AS la_code, regexp_replace(filename, '^.*/([0-9]{4}-[0-9]{2}/.*)$', '\\1') "
                "AS return_key, NULL AS source_id, " + _null("ethnicity", "fsm", "eal"),
            )
        )
    if "ncmp" in present:
        out.append(
            _rows(
                folder,
                "*/ncmp/*.csv",
                "'ncmp'",
                "Forename AS forename, NULL AS middle_names, Surname AS surname, "
                + _null("former_surname", "preferred_surname")
                + ", try_strptime(DOB, '%d/%m/%Y')::DATE AS dob, Sex AS sex, Postcode AS postcode, NULL AS address, "
                + _null("upn", "former_upn", "uln")
                + ", SchoolURN AS school_urn, NULL AS laestab, NULL AS la_code, "
                "regexp_replace(filename, '^.*/([0-9]{4}-[0-9]{2}/.*)$', '\\1') AS return_key, NULL AS source_id, "
                + _null("ethnicity", "fsm", "eal"),
            )
        )
    if "post16" in present:
        out.append(
            _rows(
                folder,
                "*/post16/*.csv",
                "'post16'",
                "GivenNames AS forename, NULL AS middle_names, FamilyName AS surname, "
                + _null("former_surname", "preferred_surname")
                + ", try_cast(DateOfBirth AS DATE) AS dob, Sex AS sex, Postcode AS postcode, NULL AS address, "
                "NULL AS upn, NULL AS former_upn, ULN AS uln, NULL AS school_urn, NULL AS laestab, NULL AS la_code, "
                "regexp_replace(filename, '^.*/([0-9]{4}-[0-9]{2}/.*)$', '\\1') AS return_key, NULL AS source_id, "
                + _null("ethnicity", "fsm", "eal"),
            )
        )
    if "survey" in present:
        out.append(
            _rows(
                folder,
                "*/survey/*.csv",
                "'survey'",
                "FirstName AS forename, NULL AS middle_names, LastName AS surname, "
                + _null("former_surname", "preferred_surname")
                + ", try_strptime(DOB, '%Y%m%d')::DATE AS dob, Gender AS sex, Postcode AS postcode, "
                "NULL AS address, "
                + _null("upn", "former_upn", "uln", "school_urn", "laestab", "la_code")
                + ", regexp_replace(filename, '^.*/([0-9]{4}-[0-9]{2}/.*)$', '\\1') AS return_key, "
                "RespondentID AS source_id, " + _null("ethnicity", "fsm", "eal"),
            )
        )
    return out


def load(engine: DuckDBEngine, folder: Path, *, table: str = contract.TABLE, years: set[int] | None = None) -> int:
    """Replace ``table`` with every record of the synthetic folder (optionally only some years)."""
    if not (folder / "manifest.json").is_file():
        raise UsageError(f"{folder} holds no synthetic data (no manifest.json).")
    path = folder.resolve().as_posix().replace("'", "''")
    present = {p.name for year_dir in folder.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]") for p in year_dir.iterdir()}
    union = "\nUNION ALL BY NAME\n".join(_sources(path, present))
    where = f"WHERE year IN ({', '.join(str(int(y)) for y in sorted(years))})" if years else ""
    engine.execute(f"CREATE OR REPLACE TABLE {table} AS {contract.select_sql(f'({union})')} {where}")
    return int(engine.scalar(f"SELECT count(*) FROM {table}"))


def truth_sql(folder: Path) -> str:
    """A query giving (record_key, person_id) for every record of the folder, from its truth files."""
    path = folder.resolve().as_posix().replace("'", "''")
    return (
        "SELECT CAST(file AS VARCHAR) || '#' || record_index AS record_key, person_id "
        f"FROM read_parquet('{path}/truth/*/*.parquet', union_by_name = true) WHERE file IS NOT NULL "
        "AND record_index IS NOT NULL"
    )
