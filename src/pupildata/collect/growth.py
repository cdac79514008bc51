"""Heights and weights against the British 1990 growth reference (UK90), set-at-a-time.

The reference's LMS values (monthly, from 4 to 20 years, by sex) come from the ``rcpchgrowth`` package
(``lms_rows``), are shipped as ``data/uk90_lms.csv`` (so that loading does not import it) and are kept in the
warehouse table ``collect_growth_lms``; a measurement's standard deviation score (SDS) is
``((x / M) ** L - 1) / (L * S)`` (``ln(x / M) / S`` when L is 0), at the child's age in whole months.
"""

from __future__ import annotations

from importlib import resources

import pyarrow as pa

from pupildata.collect.rules import Rule, Severity
from pupildata.kernel.engine import DuckDBEngine

LMS_TABLE = "collect_growth_lms"
#: The reference is matched at the child's age in whole months on the day of measurement.
AGE_MONTHS = "CAST(floor(date_diff('day', dob, measurement_date) / 30.4375) AS INTEGER)"
GROWTH_JOINS = tuple(
    f"LEFT JOIN {LMS_TABLE} lms_{m} ON lms_{m}.measure = '{m}' AND lms_{m}.sex = t.gender "
    f"AND lms_{m}.age_months = {AGE_MONTHS.replace('dob', 't.dob').replace('measurement_date', 't.measurement_date')}"
    for m in ("height", "weight")
)
LIMIT_SDS = 5.0


def lms_rows() -> pa.Table:
    """The UK90 LMS values for height and weight, as a table (measure, sex, age_months, l, m, s)."""
    from rcpchgrowth.uk_who import UK90_CHILD_DATA

    columns: dict[str, list[object]] = {"measure": [], "sex": [], "age_months": [], "l": [], "m": [], "s": []}
    for measure in ("height", "weight"):
        for sex, code in (("male", "M"), ("female", "F")):
            for row in UK90_CHILD_DATA["measurement"][measure][sex]:
                columns["measure"].append(measure)
                columns["sex"].append(code)
                columns["age_months"].append(round(float(row["decimal_age"]) * 12))
                columns["l"].append(float(row["L"]))
                columns["m"].append(float(row["M"]))
                columns["s"].append(float(row["S"]))
    return pa.table(columns)


def install_lms(engine: DuckDBEngine) -> None:
    """Create the reference table once (it is a few hundred rows)."""
    if engine.table_exists(LMS_TABLE):
        return
    data = resources.files("pupildata.collect") / "data" / "uk90_lms.csv"
    with resources.as_file(data) as path:
        engine.execute(
            f"CREATE TABLE {LMS_TABLE} AS SELECT * FROM read_csv($path, header = true, auto_detect = false, "
            "columns = {'measure': 'VARCHAR', 'sex': 'VARCHAR', 'age_months': 'INTEGER', 'l': 'DOUBLE', "
            "'m': 'DOUBLE', 's': 'DOUBLE'})",
            {"path": str(path)},
        )


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
