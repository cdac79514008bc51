"""The sources a release spec may name: the contract's views, and views derived from them set-at-a-time.

- ``pupils``: ``pupil_year`` as it is.
- ``attainment``: each key stage result with the pupil's characteristics, school and authority in that year.
- ``progress``: pairs of results of one pupil (KS1 → KS2, KS2 → KS4) in one subject, and whether the pupil made
  the expected progress (two levels from KS1 to KS2, three from KS2 to KS4: level 4 to grade C); results without
  a level (absent, disapplied) are not paired.
- ``ncmp``: child measurements with BMI, its UK90 SDS and population-monitoring category (classified with numpy
  over rcpchgrowth's LMS tables, then joined back in the warehouse).
- ``eligible_ncmp``: pupils in Reception and Year 6, the children eligible for measurement.
- ``post16``: ``post16_learner`` as it is.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pupildata.errors import DataError
from pupildata.kernel.engine import DuckDBEngine
from pupildata.publish import ncmp
from pupildata.publish.contract import CONTRACT

_CHARACTERISTICS = "py.la_code, py.school_urn, py.school_laestab, py.school_name, py.sex, py.ethnicity_major, " + (
    "py.fsm, py.sen, py.eal"
)
_PAIRS = "VALUES (1, 'maths', 2, 'maths', 2), (1, 'reading', 2, 'english', 2), (2, 'english', 4, 'english', 3), " + (
    "(2, 'maths', 4, 'maths', 3)"
)

#: Sources built from results of earlier years: with too few years collected they hold no records, and what
#: they measure is not available (published as ``x``) rather than an error.
PRIOR = {"progress": "prior attainment (the results at the earlier key stage)"}

SQL = {
    "pupils": "SELECT * FROM pupil_year",
    "attainment": f"SELECT ks.*, {_CHARACTERISTICS} FROM ks_result ks JOIN pupil_year py USING (pmr, year)",
    "progress": f"""
        SELECT b.pmr, b.year, p.from_stage, p.to_stage, b.subject, p.to_stage AS key_stage,
               b.level_value - a.level_value >= p.needed AS made_expected, {_CHARACTERISTICS}
        FROM ({_PAIRS}) AS p(from_stage, from_subject, to_stage, subject, needed)
        JOIN ks_result a ON a.key_stage = p.from_stage AND a.subject = p.from_subject
        JOIN ks_result b ON b.pmr = a.pmr AND b.key_stage = p.to_stage AND b.subject = p.subject
        JOIN pupil_year py ON py.pmr = b.pmr AND py.year = b.year
        WHERE a.level_value IS NOT NULL AND b.level_value IS NOT NULL""",
    "eligible_ncmp": "SELECT * FROM pupil_year WHERE nc_year IN ('R', '6')",
    "post16": "SELECT * FROM post16_learner",
}
NEEDS = {
    "pupils": ("pupil_year",),
    "attainment": ("ks_result", "pupil_year"),
    "progress": ("ks_result", "pupil_year"),
    "eligible_ncmp": ("pupil_year",),
    "post16": ("post16_learner",),
    "ncmp": ("ncmp_measurement",),
}
_SHARED = ("la_code", "school_urn", "school_laestab", "school_name", "sex", "ethnicity_major", "fsm", "sen", "eal")
COLUMNS: dict[str, tuple[str, ...]] = {
    "pupils": tuple(CONTRACT["pupil_year"]),
    "attainment": (*CONTRACT["ks_result"], *_SHARED),
    "progress": ("pmr", "year", "from_stage", "to_stage", "subject", "key_stage", "made_expected", *_SHARED),
    "eligible_ncmp": tuple(CONTRACT["pupil_year"]),
    "post16": tuple(CONTRACT["post16_learner"]),
    "ncmp": (*CONTRACT["ncmp_measurement"], "bmi", "bmi_sds", "bmi_category", "severely_obese"),
}


def exists(engine: DuckDBEngine, name: str) -> bool:
    """Whether a table or view exists (read with ``fetchall``: DuckDB 2 wants every result read to its end)."""
    rows = engine.fetchall("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name])
    return bool(rows[0][0])


def prepare(engine: DuckDBEngine, source: str, year: int | None = None) -> str:
    """Make the view ``pub_<source>`` for this run and return its name; with ``year``, child measurements are
    classified for that year alone (the others are not read)."""
    missing = [view for view in NEEDS[source] if not exists(engine, view)]
    if missing:
        raise DataError(
            f"The warehouse has no {missing[0]} view: run the matching step (pupildata link) before publishing."
        )
    name = f"pub_{source}"
    if source == "ncmp":
        _classify(engine, name, year)
    else:
        engine.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {SQL[source]}")
    return name


def _classify(engine: DuckDBEngine, name: str, year: int | None) -> None:
    measured = engine.arrow(
        "SELECT *, weight_kg / ((height_cm / 100) ^ 2) AS bmi FROM ncmp_measurement "
        "WHERE height_cm > 0 AND weight_kg > 0 AND (CAST(? AS INTEGER) IS NULL OR year = ?)",
        [year, year],
    )
    if measured.num_rows == 0:
        engine.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT *, 0.0 AS bmi, 0.0 AS bmi_sds, "
            "'' AS bmi_category, false AS severely_obese FROM ncmp_measurement LIMIT 0"
        )
        return
    sds = ncmp.bmi_sds(
        measured["sex"].to_numpy(zero_copy_only=False),
        measured["age_days"].to_numpy(zero_copy_only=False),
        measured["bmi"].to_numpy(zero_copy_only=False),
    )
    flags = ncmp.classify(sds)
    codes = np.select([flags["underweight"], flags["overweight"], flags["obese"]], [0, 2, 3], default=1)
    dictionary = pa.array(["underweight", "healthy_weight", "overweight", "obese"])
    category = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), dictionary).cast(pa.string())
    table = (
        measured.append_column("bmi_sds", pa.array(sds))
        .append_column("bmi_category", category)
        .append_column("severely_obese", pa.array(flags["severely_obese"]))
    )
    engine.register("_ncmp_classified", table)
    try:
        engine.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _ncmp_classified")
    finally:
        engine.unregister("_ncmp_classified")


class Views:
    """The sources of one release for one year, each made once as the narrow rows its tables read.

    Each source's rows of the year, with only the columns the release's tables name (``columns``: source → its
    columns), are copied once into a temporary table, so the several grouping queries of its tables scan a few
    narrow columns of one year instead of joining the contract tables again each time. ``drop`` removes them.
    """

    def __init__(self, engine: DuckDBEngine, year: int, columns: dict[str, list[str]]) -> None:
        self.engine, self.year, self.columns = engine, year, columns
        self.made: dict[str, str] = {}

    def rows(self, source: str) -> str:
        if source not in self.made:
            view = prepare(self.engine, source, self.year)
            known = set(COLUMNS[source])
            chosen = list(dict.fromkeys(c for c in ("year", *self.columns.get(source, ())) if c in known))
            name = f"pub_rows_{source}"
            self.engine.execute(
                f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {', '.join(f'v.{c}' for c in chosen)} "
                f"FROM {view} v WHERE v.year = ?",
                [self.year],
            )
            self.made[source] = name
        return self.made[source]

    def drop(self) -> None:
        for name in self.made.values():
            self.engine.execute(f"DROP TABLE IF EXISTS {name}")
        self.made.clear()
