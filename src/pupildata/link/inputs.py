"""Collected records as matching's input: collection's warehouse tables mapped into ``link_record``.

Every collected record is known everywhere downstream by one key, ``record_key``: the collection table it lives
in, its receipt and its place in the file, e.g. ``census:12:345``. The key is stable (a file is loaded once, and
its records keep their place), and it is how the spine (``link_member``) and every later step (statistics,
extracts) find a record's person.

``install_link_record`` makes ``link_record`` a view over collection's ``collect_<table>_current`` views (records
of superseded returns left out), one SELECT per table, UNION ALL:

- ``source``: census; ks1..ks4 (the key stage of the results file); ncmp; post16 (the learner records); survey.
- ``year``: the first calendar year of the academic year. Census: the collection's year, less one for the spring
  and summer censuses (spring 2009 is 2008/09: 2008). Other sources: the academic year in the collection's name
  (``ks2-2008-09``, ``ncmp-2008-09``, ``ilr-2008-09``, ``survey-2008-09-wave-3``); when ``--collection`` gave a
  name without one, the record's own date says it (key stage: the year the pupil's cohort sits it; height and
  weight: the measurement; survey: the interview; learners: the latest start date of the file).
- ``return_key``: the return within which one child appears at most once, so matching never puts two of its
  records in one person. A school's census file (one row per pupil on roll); a key stage file (the assessment
  body's national file for one key stage and year: one row per pupil); a health area's height and weight file
  (one measurement per child per year); all of them: the receipt. A learner file holds one row per learner *and
  provider*, so its return is the receipt and the provider (UKPRN); a survey file one row per respondent *and
  wave*, so the receipt and the wave.
- ``source_id``: the sender's own id of the person: the survey's respondent id (stable across waves). The other
  sources carry none beyond UPN and ULN (the learner file has no provider's learner reference).
- ``school_urn``, ``laestab``, ``la_code`` as the record gives them (the census keeps the school's LAESTAB, key
  stage files both URN and LAESTAB, height and weight files the URN); ``la_code`` is the first three digits of
  the LAESTAB. Census records alone give ``ethnicity``, ``fsm`` and ``eal`` (first language other than English).

It is a view, not a copy: it always shows what collection holds now, and a run reads it only a few times (each
new record is normalised once into ``link_norm``), and a copy made first was no faster (docs/benchmarks.md).
"""

from __future__ import annotations

from pathlib import Path

from pupildata.errors import DataError, UsageError
from pupildata.kernel.engine import DuckDBEngine
from pupildata.link import contract

#: The collection tables records come from (``collect_<table>_current`` holds those not superseded).
COLLECTED_TABLES = ("census", "ks", "ncmp", "ilr", "survey")

#: The academic year (first calendar year) of a date, in SQL.
_ACADEMIC_YEAR = "(year({d}) - CASE WHEN month({d}) < 9 THEN 1 ELSE 0 END)"


def record_key_sql(table: str, alias: str = "t") -> str:
    """SQL for the record key of rows of ``collect_<table>`` (or its ``_current`` view) aliased ``alias``."""
    if table not in COLLECTED_TABLES:
        raise ValueError(f"there is no collection table {table!r}; there are {', '.join(COLLECTED_TABLES)}")
    return f"('{table}:' || {alias}.receipt_id || ':' || {alias}.record_index)"


def _collection_year(alias: str, fallback: str) -> str:
    """The academic year named in the collection (``...-2008-09...``), else ``fallback``."""
    named = f"TRY_CAST(regexp_extract({alias}.collection, '(?:^|-)([0-9]{{4}})-[0-9]{{2}}(?:-|$)', 1) AS INTEGER)"
    return f"coalesce({named}, {fallback})"


def _select(table: str, columns: dict[str, str]) -> str:
    """One table's SELECT in the contract's shape: every column named, NULL where the source has none."""
    alias = "t"
    values = {"record_key": record_key_sql(table, alias), **columns}
    parts = [f"CAST({values.get(f.name, 'NULL')} AS {f.sql_type}) AS {f.name}" for f in contract.FIELDS]
    return f"SELECT {', '.join(parts)} FROM collect_{table}_current {alias}"


def _person(forename: str = "t.forename", surname: str = "t.surname") -> dict[str, str]:
    return {"forename": forename, "surname": surname, "dob": "t.dob", "sex": "t.gender", "postcode": "t.postcode"}


def _selects() -> list[str]:
    ks_cohort = (
        "year(t.dob) + CASE WHEN month(t.dob) >= 9 THEN 1 ELSE 0 END + 4 + "
        "CASE t.key_stage WHEN '1' THEN 2 WHEN '2' THEN 6 WHEN '3' THEN 9 WHEN '4' THEN 11 END"
    )
    return [
        _select(
            "census",
            {
                "source": "'census'",
                "year": "t.collection_year - CASE WHEN t.collection_term = 'AUT' THEN 0 ELSE 1 END",
                **_person(),
                "middle_names": "t.middle_names",
                "former_surname": "t.former_surname",
                "preferred_surname": "t.preferred_surname",
                "upn": "t.upn",
                "former_upn": "t.former_upn",
                "laestab": "t.laestab",
                "la_code": "left(t.laestab, 3)",
                "return_key": "'census:' || t.receipt_id",
                "ethnicity": "t.ethnicity",
                "fsm": "t.fsm_eligible",
                "eal": "CASE t.first_language WHEN 'ENG' THEN FALSE WHEN 'OTH' THEN TRUE END",
            },
        ),
        _select(
            "ks",
            {
                "source": "coalesce('ks' || t.key_stage, regexp_extract(t.collection, '^(ks[1-4])-', 1), 'ks')",
                "year": _collection_year("t", ks_cohort),
                **_person(),
                "upn": "t.upn",
                "school_urn": "t.urn",
                "laestab": "t.laestab",
                "la_code": "left(t.laestab, 3)",
                "return_key": "'ks:' || t.receipt_id",
            },
        ),
        _select(
            "ncmp",
            {
                "source": "'ncmp'",
                "year": _collection_year("t", _ACADEMIC_YEAR.format(d="t.measurement_date")),
                **_person(),
                "school_urn": "t.school_urn",
                "return_key": "'ncmp:' || t.receipt_id",
            },
        ),
        _select(
            "ilr",
            {
                "source": "'post16'",
                "year": _collection_year(
                    "t", _ACADEMIC_YEAR.format(d="max(t.start_date) OVER (PARTITION BY t.receipt_id)")
                ),
                **_person(),
                "uln": "t.uln",
                "return_key": "'ilr:' || t.receipt_id || ':' || coalesce(t.ukprn, '')",
            },
        ),
        _select(
            "survey",
            {
                "source": "'survey'",
                "year": _collection_year("t", _ACADEMIC_YEAR.format(d="t.interview_date")),
                **_person(),
                "source_id": "t.case_id",
                "return_key": "'survey:' || t.receipt_id || ':' || t.wave",
            },
        ),
    ]


def link_record_sql() -> str:
    """The query behind ``link_record``: every current collected record in the contract's shape."""
    return "\nUNION ALL\n".join(_selects())


def _drop(engine: DuckDBEngine, name: str) -> None:
    """Drop ``name`` whether it is a table or a view (DuckDB's DROP names the kind)."""
    row = engine.fetchone(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?", [name]
    )
    if row:
        engine.execute(f"DROP {'VIEW' if row[0] == 'VIEW' else 'TABLE'} {name}")


def install_link_record(engine: DuckDBEngine) -> int:
    """(Re)create the ``link_record`` view over what collection has loaded; returns how many records it holds."""
    missing = [t for t in COLLECTED_TABLES if not engine.table_exists(f"collect_{t}_current")]
    if missing or not engine.table_exists("collect_receipt"):
        raise DataError("Nothing has been collected yet: run `pupildata collect` on the data returns first.")
    with engine.transaction():
        _drop(engine, contract.TABLE)
        engine.execute(f"CREATE VIEW {contract.TABLE} AS\n{link_record_sql()}")
    total = int(engine.scalar(f"SELECT count(*) FROM {contract.TABLE}"))
    if total == 0:
        raise DataError("Nothing has been collected yet: no return collected so far has an accepted record.")
    return total


def _quoted(path: Path) -> str:
    return path.resolve().as_posix().replace("'", "''")


def truth_sql(engine: DuckDBEngine, folder: Path) -> str:
    """A query giving (record_key, person_id) for every collected record that came from the synthetic ``folder``
    — for the quality report only; nothing in the pipeline calls it.

    A receipt is tied to the generator's file by its SHA-256 *and* its name (``collect_receipt.file_name`` is the
    file's name without its folder; the manifest gives the folder too), so the same name in two years' folders
    (``ks1.csv``, a school's census file) is never confused. Collection numbers records from 1, the truth from 0.
    """
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        raise UsageError(f"{folder} holds no synthetic data (no manifest.json).")
    files = (
        f"SELECT f.path AS file, f.sha256 AS sha256 FROM "
        f"(SELECT unnest(files) AS f FROM read_json('{_quoted(manifest)}', maximum_object_size = 1073741824))"
    )
    receipts = (
        f"SELECT r.receipt_id, r.source, m.file FROM collect_receipt r JOIN ({files}) m "
        "ON m.sha256 = r.sha256 AND regexp_extract(m.file, '[^/]*$') = r.file_name WHERE r.accepted > 0"
    )
    ambiguous = engine.scalar(f"SELECT count(*) - count(DISTINCT receipt_id) FROM ({receipts})")
    if ambiguous:
        raise UsageError(f"{ambiguous} collected file(s) match more than one file of {folder}'s manifest.")
    sources = ", ".join(
        f"'{_quoted(folder)}/truth/*/{name}.parquet'" for name in ("census", "ks[1-4]", "ncmp", "post16", "survey")
    )
    key = "CASE k.source " + " ".join(f"WHEN '{t}' THEN {record_key_sql(t, 'k')}" for t in COLLECTED_TABLES) + " END"
    return (
        f"SELECT {key} AS record_key, k.person_id FROM ("
        f"SELECT f.source, f.receipt_id, t.record_index + 1 AS record_index, t.person_id FROM ({receipts}) f "
        f"JOIN read_parquet([{sources}], union_by_name = true) t ON t.file = f.file) k"
    )
