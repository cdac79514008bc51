"""Running every rule of a source over the staged records at once.

One statement types the raw text (``typed``), adds what some rules need (windows for duplicates, the growth
reference), and lists for each record the codes of the error rules and the query rules it fails. The result,
``collect_checked``, is what the load splits into accepted records, quarantine and issues.
"""

from __future__ import annotations

from pupildata.collect import rules as r
from pupildata.collect.catalogue import rule_set
from pupildata.collect.readers import STAGE
from pupildata.collect.schemas import Field, Kind, Source
from pupildata.kernel.engine import DuckDBEngine

CHECKED = "collect_checked"


def typed_sql(f: Field) -> str:
    """SQL for a field's value, trimmed, normalised and cast; NULL when blank or not of its type."""
    raw = f"s.r_{f.name}"
    text = f"nullif(trim({raw}), '')"
    by_kind = {
        Kind.date: r.date_sql(raw),
        Kind.integer: f"TRY_CAST({text} AS INTEGER)",
        Kind.decimal: f"TRY_CAST({text} AS DOUBLE)",
        Kind.boolean: r.boolean_sql(raw),
    }
    if f.kind in by_kind:
        return by_kind[f.kind]
    sex = (
        f"CASE upper({text}) WHEN '1' THEN 'M' WHEN '2' THEN 'F' WHEN 'MALE' THEN 'M' WHEN 'FEMALE' THEN 'F' "
        f"ELSE upper({text}) END"
    )
    return {"postcode": r.postcode_sql(raw), "upper": f"upper({text})", "sex": sex}.get(f.normalise, text)


def _codes(rules: list[r.Rule]) -> str:
    """SQL for the codes of the rules a record fails, comma-separated ('' when none: cheaper than a list)."""
    if not rules:
        return "''"
    items = ", ".join(f"CASE WHEN coalesce(({rule.predicate}), false) THEN '{rule.code}' END" for rule in rules)
    return f"concat_ws(',', {items})"


def check(engine: DuckDBEngine, src: Source) -> None:
    """Build ``collect_checked`` from the stage: typed fields, and the failing rule codes of each record."""
    rules = rule_set(src.name)
    typed = ", ".join(f"{typed_sql(f)} AS {f.name}" for f in src.fields)
    derived = ", ".join(f"{expr} AS {name}" for rule in rules.rules for name, expr in rule.columns)
    errors = _codes([rule for rule in rules.rules if rule.severity is r.Severity.error])
    queries = _codes([rule for rule in rules.rules if rule.severity is r.Severity.query])
    engine.execute(f"DROP TABLE IF EXISTS temp.{CHECKED}")
    engine.execute(
        f"CREATE TEMP TABLE {CHECKED} AS "
        f"WITH typed AS (SELECT s.*, {typed} FROM {STAGE} s), "
        f"derived AS (SELECT t.*{', ' + derived if derived else ''} FROM typed t {' '.join(rules.joins)}) "
        f"SELECT d.*, CASE WHEN d.reader_error IS NOT NULL THEN d.reader_error ELSE {errors} END AS errors, "
        f"CASE WHEN d.reader_error IS NOT NULL THEN '' ELSE {queries} END AS queries "
        f"FROM derived d",
        rules.params() or None,
    )


def drop_checked(engine: DuckDBEngine) -> None:
    engine.execute(f"DROP TABLE IF EXISTS temp.{CHECKED}")
