"""A small synthetic linked warehouse that follows the publishing input contract, made set-at-a-time in SQL."""

from __future__ import annotations

from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.reference.tables import install_reference_tables

# Six authorities in two regions (North East; London), four schools each.
LAS = (805, 806, 807, 202, 203, 204)


def _pick(values: tuple[str, ...], salt: int) -> str:
    items = ", ".join(f"'{v}'" for v in values)
    return f"[{items}][CAST(1 + hash(i, {salt}) % {len(values)} AS INTEGER)]"


def _h(column: str, salt: int, modulus: int) -> str:
    return f"CAST(hash({column}, {salt}) % {modulus} AS INTEGER)"


def make_warehouse(engine: DuckDBEngine, per_school_year: int = 12, year: int = 2008) -> None:
    install_reference_tables(engine)
    las = ", ".join(str(c) for c in LAS)
    n = len(LAS) * 4 * 12 * per_school_year
    engine.execute(f"""
        CREATE OR REPLACE TABLE pupil_year AS
        WITH p AS (SELECT i, ([{las}])[1 + (i // ({4 * 12 * per_school_year})) % {len(LAS)}] AS la_code,
                          (i // ({12 * per_school_year})) % 4 AS school, (i // {per_school_year}) % 12 AS nc
                   FROM range({n}) t(i))
        SELECT 'P' || i AS pmr, {year} AS year, la_code, 100000 + la_code * 10 + school AS school_urn,
               la_code * 10000 + 2000 + school AS school_laestab, 'School ' || la_code || '-' || school AS school_name,
               {_pick(("M", "F"), 1)} AS sex,
               CASE WHEN CAST(hash(i, 2) % 100 AS INTEGER) < 78 THEN 'White' ELSE
                 {_pick(("Mixed", "Asian", "Black", "Chinese", "Any other ethnic group", "Unclassified"), 3)} END
                 AS ethnicity_major,
               CAST(hash(i, 4) % 100 AS INTEGER) < 15 AS fsm,
               CASE WHEN CAST(hash(i, 5) % 100 AS INTEGER) < 80 THEN 'N' ELSE {_pick(("A", "P", "S"), 6)} END AS sen,
               CAST(hash(i, 7) % 100 AS INTEGER) < 13 AS eal,
               CASE WHEN nc = 0 THEN 'R' ELSE CAST(nc AS VARCHAR) END AS nc_year
        FROM p""")
    engine.execute(f"""
        CREATE OR REPLACE TABLE ks_result AS
        WITH s AS (SELECT * FROM (VALUES ('2', 2, 'english'), ('2', 2, 'maths'), ('2', 2, 'science'),
                                        ('6', 2, 'x')) v(nc_year, key_stage, subject))
        SELECT py.pmr, {year} AS year, k.key_stage, k.subject,
               CAST(lv AS VARCHAR) AS level, lv AS level_value, lv >= k.expected AS at_expected
        FROM pupil_year py
        JOIN (VALUES ('2', 1, 'reading', 2), ('2', 1, 'maths', 2), ('6', 2, 'english', 4), ('6', 2, 'maths', 4),
                     ('9', 3, 'english', 5), ('11', 4, 'english', 7), ('11', 4, 'maths', 7))
             k(nc_year, key_stage, subject, expected) ON k.nc_year = py.nc_year,
        LATERAL (SELECT k.expected - 1 + CAST(hash(py.pmr, k.subject) % 3 AS INTEGER) AS lv)
        UNION ALL
        SELECT py.pmr, {year} - 4, 1, k.subject, '2', 2 + CAST(hash(py.pmr, 9) % 2 AS INTEGER) - 1, true
        FROM pupil_year py JOIN (VALUES ('reading'), ('maths')) k(subject) ON py.nc_year = '6'
        UNION ALL
        SELECT py.pmr, {year} - 5, 2, k.subject, '4', 3 + CAST(hash(py.pmr, 10) % 3 AS INTEGER), true
        FROM pupil_year py JOIN (VALUES ('english'), ('maths')) k(subject) ON py.nc_year = '11'""")
    engine.execute(f"""
        CREATE OR REPLACE TABLE ncmp_measurement AS
        WITH m AS (
            SELECT py.*, (SELECT min(pct_code) FROM ref_health_area_la h WHERE h.old_la_code = py.la_code) AS pct,
                   CASE WHEN nc_year = 'R' THEN 1462 + {_h("pmr", 11, 364)} ELSE 3653 + {_h("pmr", 11, 364)} END AS age,
                   CASE WHEN nc_year = 'R' THEN 110 ELSE 145 END + ({_h("pmr", 12, 140)}) / 10.0 - 7 AS h,
                   CASE WHEN nc_year = 'R' THEN 14.5 ELSE 15.5 END + ({_h("pmr", 13, 1000)}) / 100.0 AS b
            FROM pupil_year py WHERE nc_year IN ('R', '6') AND CAST(hash(pmr, 14) % 100 AS INTEGER) < 92)
        SELECT pmr, year, la_code, pct AS health_area_code, school_urn, sex, nc_year, CAST(age AS INTEGER) AS age_days,
               h AS height_cm, round(b * (h / 100) ^ 2, 1) AS weight_kg
        FROM m""")
    engine.execute(f"""
        CREATE OR REPLACE TABLE post16_learner AS
        SELECT pmr, {year} AS year, la_code, sex, ethnicity_major, fsm, sen, eal, 16 + {_h("pmr", 15, 3)} AS age,
               CAST(hash(pmr, 16) % 100 AS INTEGER) < 80 AS in_learning
        FROM pupil_year WHERE nc_year IN ('9', '10', '11')""")
