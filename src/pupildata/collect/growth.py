"""Heights and weights against the British 1990 growth reference (UK90), set-at-a-time.

The reference's L, M and S for every day of age come from ``pupildata.kernel.growth`` (rcpchgrowth's own tables,
interpolated once per day of age, the same values the statistics use) and are kept in the warehouse table
``collect_growth_lms``; a measurement's standard deviation score (SDS) is ``((x / M) ** L - 1) / (L * S)``
(``ln(x / M) / S`` when L is 0), at the child's age in days on the day of measurement. Ages outside the table
(4 to 13 years) get no score, so the rule does not judge them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pupildata.collect.rules import Rule, Severity
from pupildata.kernel import growth
from pupildata.kernel.engine import DuckDBEngine

LMS_TABLE = "collect_growth_lms"
MEASURES = ("height", "weight")
GROWTH_JOINS = tuple(
    f"LEFT JOIN {LMS_TABLE} lms_{m} ON lms_{m}.measure = '{m}' AND lms_{m}.sex = t.gender "
    f"AND lms_{m}.age_days = date_diff('day', t.dob, t.measurement_date)"
    for m in MEASURES
)
LIMIT_SDS = 5.0


def lms_rows() -> pa.Table:
    """The UK90 L, M and S for height and weight by sex and day of age: (measure, sex, age_days, l, m, s)."""
    days = np.arange(growth.FIRST_DAY, growth.LAST_DAY + 1, dtype=np.int32)
    parts = []
    for measure in MEASURES:
        for sex, code in (("male", "M"), ("female", "F")):
            table = growth.lms_table(measure, sex)
            parts.append(
                pa.table(
                    {
                        "measure": pa.array([measure] * days.size),
                        "sex": pa.array([code] * days.size),
                        "age_days": days,
                        "l": table[:, 0],
                        "m": table[:, 1],
                        "s": table[:, 2],
                    }
                )
            )
    return pa.concat_tables(parts)


def install_lms(engine: DuckDBEngine) -> None:
    """Create the reference table once (some 13,000 rows); a table of an older shape is replaced."""
    if engine.table_exists(LMS_TABLE) and engine.fetchall(
        "SELECT 1 FROM information_schema.columns WHERE table_name = ? AND column_name = 'age_days'", [LMS_TABLE]
    ):
        return
    engine.register("growth_lms_rows", lms_rows())
    try:
        engine.execute(f"CREATE OR REPLACE TABLE {LMS_TABLE} AS SELECT * FROM growth_lms_rows")
    finally:
        engine.unregister("growth_lms_rows")


def growth_rule(code: str, measure: str, column: str, label: str, unit: str) -> Rule:
    lms = f"lms_{measure}"
    z = f"sds_{measure}"
    sds = (
        f"CASE WHEN {column} > 0 AND {lms}.m IS NOT NULL THEN CASE WHEN {lms}.l = 0 "
        f"THEN ln({column} / {lms}.m) / {lms}.s "
        f"ELSE (pow({column} / {lms}.m, {lms}.l) - 1) / ({lms}.l * {lms}.s) END END"
    )
    return Rule(
        code,
        Severity.error,
        column,
        f"{label} {{value}} {unit} is not possible for a child of this age and sex (more than 5 standard deviations "
        "from the average); check the measurement and its units.",
        columns=((z, sds),),
        predicate=f"{column} IS NOT NULL AND ({column} <= 0 OR abs({z}) > {LIMIT_SDS})",
    )
