"""The input contract, made from the collected records and the spine, set-at-a-time in the warehouse.

``install_release_inputs(engine)`` (re)creates the four contract tables — ``pupil_year``, ``ks_result``,
``ncmp_measurement`` and ``post16_learner`` — from collection's ``collect_<source>_current`` views (records of
superseded returns left out), the spine's ``link_member`` (record key → PMR; the key is
``pupildata.link.inputs.record_key_sql``) and the reference data. Each is one SQL statement; no record passes
through Python. The choices:

- **A pupil's year** is the spring census of that academic year (``SPR``, collection year = year + 1). When a
  pupil is in two schools' returns of one census (a dual registration or a move), the record with the latest
  entry date is taken, then the one earliest collected (smallest receipt, then place in the file). Nursery
  pupils (N1, N2) are outside the contract's year groups and left out.
- **Schools.** The census carries the LAESTAB and name; its LA is the first three digits. Its URN comes from the
  key stage returns, which carry both (the most frequent URN sent with that LAESTAB); a school that never sent a
  key stage result has its LAESTAB in place of a URN (seven digits, so it cannot be mistaken for one).
- **Characteristics.** ``ethnicity_major`` is the ``grouping`` of the ethnicity code set (unknown or missing:
  ``Unclassified``); ``fsm`` is the census flag (missing: not eligible); ``sen`` the provision code (missing:
  ``N``); ``eal`` is true when the first language's grouping is "Other than English" (English, not known or
  missing: false).
- **Key stage results.** One row per pupil, subject and result sent (KS1 reading, writing, maths, science; KS2
  and KS3 english, maths, science; KS4 english, maths). The year is the file's (the most common year its pupils'
  dates of birth give, as collection names the file). ``level_value``: W = 0, B (below the test) = 1, N (no level
  awarded) = 2, 2C/2B/2A = 2, levels as numbers; GCSE U = 2, G = 3 … C = 7 … A* = 10; absent (A) or disapplied
  (D) results have no value and are not at the expected level.
- **Child measurements.** The year is the academic year of the measurement date; ``age_days`` the days from
  birth to measurement; ``nc_year`` R for children up to 7 on 31 August before it, else 6 (the programme
  measures only these two years). ``la_code`` is the LA of the school (URN → LAESTAB), else of the child's
  census school that year, else the health area's LA when it covered only one; the health area is the file's
  sender. A measurement whose age is outside the growth reference's (a date of birth sent wrongly: the
  programme measures children of 4 to 12) is left out.
- **Post-16.** The cohort of a year is everyone a spring census saw at Year 11 or below in an earlier year who is
  16, 17 or 18 on 31 August at its start (date of birth from their latest census record). ``la_code`` (the LA of
  the school, standing in for residence) and the characteristics are those of their last census at Year 11 or
  below. They are in learning when a learner record of that year (the file's year: the academic year of its
  latest start date) or a census record in Year 12 or above that year is theirs. Learners never seen in a census
  at Year 11 or below have no LA of residence and are not in the cohort; so an age whose Year 11 came before the
  first census collected has no one (with three years collected, the latest year has ages 16 and 17).
- **Records not yet matched** (no ``link_member`` row) have no PMR. Child measurements carry their own school,
  health area, sex and age, so they are counted like any other. Key stage results are kept with a NULL PMR, but
  the releases break results down by the pupil's census characteristics and school, so they count only results
  of pupils with a census record that year. Census records without a PMR cannot be told apart from another
  pupil's and are left out of ``pupil_year`` (and so of the post-16 cohort).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
import time
from dataclasses import dataclass

from pupildata.collect.schemas import KS_YEAR_START
from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.growth import FIRST_DAY, LAST_DAY
from pupildata.link.inputs import record_key_sql

#: The tables this makes, in the order they are made.
TABLES = ("pupil_year", "ks_result", "ncmp_measurement", "post16_learner")

_NC_YEARS = ", ".join(f"'{y}'" for y in ("R", *map(str, range(1, 15))))
_EXPECTED = {1: 2, 2: 4, 3: 5, 4: 7}
_SUBJECTS = ", ".join(
    f"({stage}, '{subject}')"
    for stage, subjects in {
        1: ("reading", "writing", "maths", "science"),
        2: ("english", "maths", "science"),
        3: ("english", "maths", "science"),
        4: ("english", "maths"),
    }.items()
    for subject in subjects
)
_GCSE = "['U', 'G', 'F', 'E', 'D', 'C', 'B', 'A', 'A*']"


def _academic_year(date: str) -> str:
    return f"(year({date}) - CASE WHEN month({date}) < 9 THEN 1 ELSE 0 END)"


def _age_on_31_august(dob: str, year: str) -> str:
    return f"date_sub('year', {dob}, make_date({year}, 8, 31))"


def has_spine(engine: DuckDBEngine) -> bool:
    """Whether matching has left a spine to publish from."""
    rows = engine.fetchall("SELECT count(*) FROM information_schema.tables WHERE table_name = 'link_member'")
    return bool(rows[0][0])


def _schools(engine: DuckDBEngine) -> None:
    engine.execute("""
        CREATE OR REPLACE TEMP TABLE pub_school AS
        WITH named AS (
            SELECT TRY_CAST(laestab AS INTEGER) AS laestab, mode(school_name) AS school_name
            FROM collect_census_current GROUP BY 1),
        urns AS (
            SELECT TRY_CAST(laestab AS INTEGER) AS laestab, mode(TRY_CAST(urn AS INTEGER)) AS urn
            FROM collect_ks_current WHERE TRY_CAST(urn AS INTEGER) IS NOT NULL GROUP BY 1)
        SELECT n.laestab, coalesce(u.urn, n.laestab) AS urn, n.laestab // 10000 AS la_code, n.school_name
        FROM named n LEFT JOIN urns u USING (laestab) WHERE n.laestab IS NOT NULL""")


def _pupil_year(engine: DuckDBEngine) -> None:
    key = record_key_sql("census", "c")
    engine.execute(f"""
        CREATE OR REPLACE TEMP TABLE pub_census AS
        SELECT m.pmr, c.collection_year - 1 AS year, TRY_CAST(c.laestab AS INTEGER) AS laestab, c.school_name,
               c.gender, c.ethnicity, c.first_language, c.fsm_eligible, c.sen_provision, c.nc_year, c.dob
        FROM collect_census_current c JOIN link_member m ON m.record_key = {key}
        WHERE c.collection_term = 'SPR' AND c.nc_year IN ({_NC_YEARS}) AND m.pmr IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY m.pmr, c.collection_year
                                   ORDER BY c.entry_date DESC NULLS LAST, c.receipt_id, c.record_index) = 1""")
    engine.execute("""
        CREATE OR REPLACE TABLE pupil_year AS
        SELECT c.pmr, CAST(c.year AS INTEGER) AS year, CAST(s.la_code AS INTEGER) AS la_code,
               CAST(s.urn AS INTEGER) AS school_urn, CAST(c.laestab AS INTEGER) AS school_laestab,
               coalesce(c.school_name, s.school_name) AS school_name, c.gender AS sex,
               coalesce(e.grouping, 'Unclassified') AS ethnicity_major, coalesce(c.fsm_eligible, false) AS fsm,
               coalesce(c.sen_provision, 'N') AS sen, coalesce(l.grouping = 'Other than English', false) AS eal,
               c.nc_year
        FROM pub_census c
        JOIN pub_school s ON s.laestab = c.laestab
        LEFT JOIN ref_code e ON e.code_set = 'ethnicity' AND e.code = c.ethnicity
        LEFT JOIN ref_code l ON l.code_set = 'first_language' AND l.code = c.first_language
        WHERE c.gender IN ('M', 'F')""")


def _ks_result(engine: DuckDBEngine) -> None:
    key = record_key_sql("ks", "k")
    thresholds = " ".join(f"WHEN {stage} THEN {value}" for stage, value in _EXPECTED.items())
    engine.execute(f"""
        CREATE OR REPLACE TABLE ks_result AS
        WITH file_year AS (
            SELECT receipt_id, mode({KS_YEAR_START}) AS year FROM collect_ks_current GROUP BY receipt_id),
        results AS (
            SELECT m.pmr, CAST(f.year AS INTEGER) AS year, s.key_stage, s.subject,
                   CASE s.subject WHEN 'reading' THEN k.reading WHEN 'writing' THEN k.writing
                        WHEN 'english' THEN k.english WHEN 'maths' THEN k.maths ELSE k.science END AS level
            FROM collect_ks_current k
            JOIN file_year f USING (receipt_id)
            JOIN (VALUES {_SUBJECTS}) s(key_stage, subject) ON CAST(s.key_stage AS VARCHAR) = k.key_stage
            LEFT JOIN link_member m ON m.record_key = {key}),
        valued AS (
            SELECT *, CAST(CASE WHEN key_stage = 4 THEN list_position({_GCSE}, level) + 1
                                WHEN level = 'W' THEN 0 WHEN level = 'B' THEN 1 WHEN level = 'N' THEN 2
                                WHEN level IN ('2C', '2B', '2A') THEN 2
                                ELSE TRY_CAST(level AS INTEGER) END AS DOUBLE) AS level_value
            FROM results WHERE level IS NOT NULL)
        SELECT pmr, year, CAST(key_stage AS INTEGER) AS key_stage, subject, level, level_value,
               coalesce(level_value >= CASE key_stage {thresholds} END, false) AS at_expected
        FROM valued""")


def _ncmp_measurement(engine: DuckDBEngine) -> None:
    key = record_key_sql("ncmp", "n")
    year = _academic_year("n.measurement_date")
    engine.execute(f"""
        CREATE OR REPLACE TABLE ncmp_measurement AS
        WITH single AS (
            SELECT pct_code, min(old_la_code) AS la_code FROM ref_health_area_la GROUP BY 1 HAVING count(*) = 1),
        urn AS (SELECT urn, min(la_code) AS la_code FROM pub_school GROUP BY 1),
        measured AS (
            SELECT m.pmr, {year} AS year, n.pct_code, TRY_CAST(n.school_urn AS INTEGER) AS school_urn,
                   n.gender AS sex, n.dob, n.measurement_date, n.height_cm, n.weight_kg
            FROM collect_ncmp_current n LEFT JOIN link_member m ON m.record_key = {key})
        SELECT n.pmr, CAST(n.year AS INTEGER) AS year,
               CAST(coalesce(u.la_code, py.la_code, h.la_code) AS INTEGER) AS la_code,
               n.pct_code AS health_area_code, n.school_urn, n.sex,
               CASE WHEN {_age_on_31_august("n.dob", "n.year")} <= 7 THEN 'R' ELSE '6' END AS nc_year,
               CAST(n.measurement_date - n.dob AS INTEGER) AS age_days, n.height_cm, n.weight_kg
        FROM measured n
        LEFT JOIN urn u ON u.urn = n.school_urn
        LEFT JOIN pupil_year py ON py.pmr = n.pmr AND py.year = n.year
        LEFT JOIN single h ON h.pct_code = n.pct_code
        WHERE n.measurement_date - n.dob BETWEEN {FIRST_DAY} AND {LAST_DAY}""")


def _post16_learner(engine: DuckDBEngine) -> None:
    key = record_key_sql("ilr", "i")
    engine.execute(f"""
        CREATE OR REPLACE TABLE post16_learner AS
        WITH file_year AS (
            SELECT receipt_id, max({_academic_year("start_date")}) AS year FROM collect_ilr_current GROUP BY 1),
        learning AS (
            SELECT DISTINCT m.pmr, f.year FROM collect_ilr_current i JOIN file_year f USING (receipt_id)
            JOIN link_member m ON m.record_key = {key} WHERE m.pmr IS NOT NULL
            UNION
            SELECT pmr, year FROM pupil_year WHERE nc_year IN ('12', '13', '14')),
        years AS (SELECT DISTINCT year FROM pupil_year UNION SELECT DISTINCT year FROM file_year),
        born AS (SELECT pmr, arg_max(dob, year) AS dob FROM pub_census GROUP BY pmr),
        cohort AS (
            SELECT b.pmr, y.year, {_age_on_31_august("b.dob", "y.year")} AS age
            FROM born b CROSS JOIN years y WHERE b.dob IS NOT NULL),
        latest AS (
            SELECT c.pmr, c.year, c.age, py.la_code, py.sex, py.ethnicity_major, py.fsm, py.sen, py.eal
            FROM cohort c JOIN pupil_year py ON py.pmr = c.pmr AND py.year < c.year
            WHERE c.age BETWEEN 16 AND 18 AND py.nc_year NOT IN ('12', '13', '14')
            QUALIFY row_number() OVER (PARTITION BY c.pmr, c.year ORDER BY py.year DESC) = 1)
        SELECT l.pmr, CAST(l.year AS INTEGER) AS year, l.la_code, l.sex, l.ethnicity_major, l.fsm, l.sen, l.eal,
               CAST(l.age AS INTEGER) AS age, g.pmr IS NOT NULL AS in_learning
        FROM latest l LEFT JOIN learning g ON g.pmr = l.pmr AND g.year = l.year""")


#: The warehouse table that records what the contract tables were made from (one row).
STATE = "publish_contract_state"
_MAKERS = (_schools, _pupil_year, _ks_result, _ncmp_measurement, _post16_learner)
#: What the contract tables are made from: collection's tables (and their receipts: a superseded return leaves
#: its records, so the receipts say which are current), the spine and the reference tables read.
_SOURCES = ("collect_census", "collect_ks", "collect_ncmp", "collect_ilr")
_REFERENCE = ("ref_code", "ref_health_area_la")


@dataclass(frozen=True)
class Inputs:
    """The contract tables' row counts, and how they came to be: made now (``seconds``) or kept (``reused``)
    because nothing they are made from has changed since they were made (same ``fingerprint``)."""

    counts: dict[str, int]
    seconds: float
    reused: bool = False
    fingerprint: str = ""


def fingerprint(engine: DuckDBEngine) -> str:
    """A digest of everything the contract tables are made from: the code that makes them, each collection
    table's rows and receipts (with what superseded each), every spine row (record key and PMR) and the
    reference rows read. Any record added, removed, superseded or matched differently changes it."""
    try:
        code = inspect.getsource(sys.modules[__name__])
    except OSError:  # no source to read (an installation without it): never the same, so always made again
        code = str(time.time_ns())
    parts = [code, record_key_sql("census", "c"), KS_YEAR_START]
    parts += [str(FIRST_DAY), str(LAST_DAY)]
    for table in _SOURCES:
        parts += [str(r) for r in engine.fetchall(f"SELECT count(*) FROM {table}")]
    parts += [
        str(r)
        for r in engine.fetchall(
            "SELECT count(*), bit_xor(hash(receipt_id, source, status, superseded_by)) FROM collect_receipt"
        )
    ]
    parts += [str(r) for r in engine.fetchall("SELECT count(*), bit_xor(hash(record_key, pmr)) FROM link_member")]
    for table in _REFERENCE:
        parts += [str(r) for r in engine.fetchall(f"SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM {table}")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _kept(engine: DuckDBEngine, digest: str) -> dict[str, int] | None:
    """The counts of contract tables made from exactly these inputs, if they are still there as made."""
    known = {r[0] for r in engine.fetchall("SELECT table_name FROM information_schema.tables")}
    if STATE not in known or not all(t in known for t in TABLES):
        return None
    rows = engine.fetchall(f"SELECT counts FROM {STATE} WHERE fingerprint = ?", [digest])
    if not rows:
        return None
    counts: dict[str, int] = json.loads(rows[0][0])
    made = {name: int(engine.fetchall(f"SELECT count(*) FROM {name}")[0][0]) for name in TABLES}
    return counts if made == counts else None


def release_inputs(engine: DuckDBEngine, *, reuse: bool = True) -> Inputs:
    """The contract tables, made from the collected records and the spine — or, with ``reuse``, kept as they
    are when nothing they are made from has changed since they were last made here."""
    start = time.perf_counter()
    digest = fingerprint(engine)
    if reuse:
        kept = _kept(engine, digest)
        if kept is not None:
            return Inputs(kept, time.perf_counter() - start, True, digest)
    counts = install_release_inputs(engine, digest)
    return Inputs(counts, time.perf_counter() - start, False, digest)


def install_release_inputs(engine: DuckDBEngine, digest: str | None = None) -> dict[str, int]:
    """Create (or replace) the contract tables from the collected records and the spine; their row counts.
    With ``digest`` (their inputs' ``fingerprint``), it is recorded with them in the same transaction."""
    with engine.transaction():
        for make in _MAKERS:
            make(engine)
        counts = {name: int(engine.fetchall(f"SELECT count(*) FROM {name}")[0][0]) for name in TABLES}
        engine.execute("DROP TABLE IF EXISTS pub_census")
        engine.execute("DROP TABLE IF EXISTS pub_school")
        engine.execute(f"CREATE OR REPLACE TABLE {STATE} (fingerprint VARCHAR, made_at TIMESTAMPTZ, counts VARCHAR)")
        if digest is not None:
            engine.execute(f"INSERT INTO {STATE} VALUES (?, now(), ?)", [digest, json.dumps(counts)])
    return counts
