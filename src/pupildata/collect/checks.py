"""Running every rule of a source over the staged records at once.

One statement types the raw text, adds what some rules need (the growth reference, a UPN's digits) and computes,
for each record, two bitmasks: the error rules it fails (``errors``) and the query rules it fails (``queries``),
one bit per rule in the order the rules are declared. Bit 0 of ``errors`` marks a record the reader could not
split (``reader_error`` holds its code). Integers are far cheaper to compute, store and filter than lists or
strings of codes; the codes of the few failing records are listed from the bits when they are written.

Duplicate rules are not per-record predicates: after that statement, one grouped pass finds the keys that repeat
within a file (``batch_file`` tells apart files staged together) and sets the duplicate rule's bit on their
records (no window over the whole return).

The result, ``collect_checked``, is what the load splits into accepted records, quarantine and issues.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pupildata.collect import rules as r
from pupildata.collect.catalogue import rule_set
from pupildata.collect.readers import STAGE
from pupildata.collect.schemas import Field, Kind, Source, source
from pupildata.kernel.engine import DuckDBEngine

CHECKED = "collect_checked"
#: The most rules of one severity a source may have (the bits of an unsigned 64-bit mask; bit 0 of the error
#: mask is the reader's).
MAX_RULES = 63


#: A column of the typed query's input: whether every text of the record needs no trimming (``rules.plain_sql``).
PLAIN = "plain_text"


def typed_sql(f: Field, plain: str | None = None) -> str:
    """SQL for a field's value, trimmed, normalised and cast; NULL when blank or not of its type.

    Every text field but a postcode is NULL exactly when its text is blank (``rules.mandatory`` relies on it).
    ``plain``: SQL true when the record's texts need no trimming (see ``rules.trim_sql``)."""
    raw = f"s.r_{f.name}"
    text = f"nullif({r.trim_sql(raw, plain)}, '')"
    by_kind = {
        Kind.date: r.date_sql(raw, plain),
        Kind.integer: f"TRY_CAST({text} AS INTEGER)",
        Kind.decimal: f"TRY_CAST({text} AS DOUBLE)",
        Kind.boolean: r.boolean_sql(raw, plain),
    }
    if f.kind in by_kind:
        return by_kind[f.kind]
    sex = (
        f"CASE upper({text}) WHEN '1' THEN 'M' WHEN '2' THEN 'F' WHEN 'MALE' THEN 'M' WHEN 'FEMALE' THEN 'F' "
        f"ELSE upper({text}) END"
    )
    return {"postcode": r.postcode_sql(raw), "upper": f"upper({text})", "sex": sex}.get(f.normalise, text)


def _typed(src: Source, by_record: bool) -> str:
    """The query over the stage giving every record's typed fields after its columns. ``by_record``: the texts of
    a record are tested once for needing no trimming (``rules.plain_sql``), not field by field — cheaper for texts
    read as they are (CSV, XML), dearer for Parquet's, which come dictionary-encoded (a test of each distinct text
    per field, against a test of every record's texts joined)."""
    if not by_record:
        return f"SELECT s.*, {', '.join(f'{typed_sql(f)} AS {f.name}' for f in src.fields)} FROM {STAGE} s"
    trimmed = [f"s.r_{f.name}" for f in src.fields if f.normalise != "postcode"]
    typed = ", ".join(f"{typed_sql(f, f's.{PLAIN}')} AS {f.name}" for f in src.fields)
    return (
        f"SELECT s.* EXCLUDE ({PLAIN}), {typed} FROM (SELECT s.*, {r.plain_sql(trimmed)} AS {PLAIN} FROM {STAGE} s) s"
    )


@dataclass(frozen=True)
class Plan:
    """A source's checking, prepared once: the statement and the codes behind each bit."""

    sql: str
    params: dict[str, Any]
    error_codes: tuple[str, ...]  # bit i + 1 of ``errors``
    query_codes: tuple[str, ...]  # bit i of ``queries``
    duplicates: tuple[tuple[int, tuple[str, ...]], ...]  # (bit of ``errors``, key fields)

    def error_list_sql(self, errors: str = "errors", reader_error: str = "reader_error") -> str:
        """SQL listing the codes of a record's failed error rules, in rule order (its reader's code, if any)."""
        return (
            f"CASE WHEN {reader_error} IS NOT NULL THEN [{reader_error}] "
            f"ELSE list_filter($error_codes, lambda c, i: ({errors} >> i) & 1 = 1) END"
        )

    def query_list_sql(self, queries: str = "queries") -> str:
        """SQL listing the codes of a record's failed query rules, in rule order (NULL when none)."""
        return (
            f"CASE WHEN {queries} <> 0 THEN list_filter($query_codes, lambda c, i: ({queries} >> (i - 1)) & 1 = 1) END"
        )

    def code_params(self) -> dict[str, list[str]]:
        return {"error_codes": list(self.error_codes), "query_codes": list(self.query_codes)}


def mask_sql(rules: list[r.Rule], first_bit: int) -> str:
    """SQL for the bits of the rules a record fails (rule k: bit ``first_bit`` + k). The rules with a guard are
    tested only when one of their guards holds (most records fail none of them)."""
    bits = [
        f"CASE WHEN ({'false' if rule.duplicate_key else rule.predicate}) THEN {1 << (first_bit + k)}::UBIGINT "
        "ELSE 0::UBIGINT END"
        for k, rule in enumerate(rules)
    ]
    plain = [bit for bit, rule in zip(bits, rules, strict=True) if not rule.guard]
    guarded = [bit for bit, rule in zip(bits, rules, strict=True) if rule.guard]
    if guarded:
        guards = " OR ".join(f"({rule.guard})" for rule in rules if rule.guard)
        plain.append(f"CASE WHEN {guards} THEN {' | '.join(guarded)} ELSE 0::UBIGINT END")
    return " | ".join(plain) if plain else "0::UBIGINT"


@cache
def plan(source_name: str, by_record: bool = True) -> Plan:
    """The checking of the source called ``source_name`` (``by_record``: see ``_typed``; the codes and parameters
    are the same either way)."""
    src = source(source_name)
    rules = rule_set(source_name)
    errors = [rule for rule in rules.rules if rule.severity is r.Severity.error]
    queries = [rule for rule in rules.rules if rule.severity is r.Severity.query]
    assert len(errors) <= MAX_RULES, f"too many error rules in {src.name}"
    assert len(queries) <= MAX_RULES, f"too many query rules in {src.name}"
    helpers = [(name, expr) for rule in rules.rules for name, expr in rule.columns]
    derived = "".join(f", {expr} AS {name}" for name, expr in helpers)
    kept = f"d.* EXCLUDE ({', '.join(name for name, _ in helpers)})" if helpers else "d.*"
    sql = (
        f"CREATE TEMP TABLE {CHECKED} AS "
        f"WITH typed AS ({_typed(src, by_record)}), "
        f"derived AS (SELECT t.*{derived} FROM typed t {' '.join(rules.joins)}) "
        f"SELECT {kept}, "
        f"CASE WHEN d.reader_error IS NOT NULL THEN 1::UBIGINT ELSE {mask_sql(errors, 1)} END AS errors, "
        f"CASE WHEN d.reader_error IS NOT NULL THEN 0::UBIGINT "
        f"ELSE {mask_sql(queries, 0)} END AS queries FROM derived d"
    )
    params = {name: value for name, value in rules.params().items() if f"${name}" in sql}
    duplicates = tuple((k + 1, rule.duplicate_key) for k, rule in enumerate(errors) if rule.duplicate_key)
    return Plan(sql, params, tuple(e.code for e in errors), tuple(q.code for q in queries), duplicates)


@cache
def clean_sql(source_name: str, by_record: bool = True) -> str:
    """A query over the stage giving the records that fail no rule — error or query, the reader's included — with
    their typed fields and ``record_index``: what a file whose records all pass is loaded from, in the statement
    that writes them (see ``direct``). Duplicate rules are not per-record: they are checked on the records
    written. (The rules' bits and one test of them are cheaper than a conjunction of the rules' predicates.)"""
    return f"SELECT * FROM ({checked_sql(source_name, by_record)}) WHERE errors = 0 AND queries = 0"


def checked_sql(source_name: str, by_record: bool = True) -> str:
    """The query of ``plan``'s statement: every record over the stage, typed, with its two masks (the duplicate
    rules' bits not yet set)."""
    prepared = plan(source_name, by_record)
    creating = f"CREATE TEMP TABLE {CHECKED} AS "
    assert prepared.sql.startswith(creating)
    return prepared.sql.removeprefix(creating)


def typed_sql_of(source_name: str, by_record: bool = True) -> str:
    """A query over the stage giving every record's typed fields (and its text, ``reader_error`` and number)."""
    return _typed(source(source_name), by_record)


def over(sql: str, relation: str | None) -> str:
    """``sql`` (which reads the stage table) reading ``relation`` instead, when one is given."""
    return sql if relation is None else sql.replace(f"FROM {STAGE} s", f"FROM ({relation}) s", 1)


def check(
    engine: DuckDBEngine,
    src: Source,
    relation: str | None = None,
    params: dict[str, Any] | None = None,
    *,
    by_record: bool = True,
) -> Plan:
    """Build ``collect_checked`` from the stage: typed fields, and the rules each record fails (as bits).

    ``relation``: a query giving the stage's columns (e.g. a CSV file read by DuckDB), read by the same statement
    instead of a stage table — the file's text is then never copied into a table of its own. ``by_record``: see
    ``_typed``."""
    prepared = plan(src.name, by_record)
    engine.execute(f"DROP TABLE IF EXISTS temp.{CHECKED}")
    engine.execute(over(prepared.sql, relation), {**prepared.params, **(params or {})} or None)
    mark_duplicates(engine, prepared)
    return prepared


def mark_duplicates(engine: DuckDBEngine, prepared: Plan) -> None:
    """Set the duplicate rules' bits in ``collect_checked``: one grouped pass finds the keys repeated within a file."""
    for bit, key in prepared.duplicates:
        parts = ", ".join(key)
        present = " AND ".join(f"{k} IS NOT NULL" for k in key)
        joined = " AND ".join(f"c.{k} = d.{k}" for k in key)
        engine.execute(
            f"UPDATE {CHECKED} c SET errors = c.errors | {1 << bit}::UBIGINT "
            f"FROM (SELECT batch_file, {parts} FROM {CHECKED} WHERE reader_error IS NULL AND {present} "
            f"GROUP BY batch_file, {parts} HAVING count(*) > 1) d "
            f"WHERE c.batch_file = d.batch_file AND {joined} AND c.reader_error IS NULL"
        )


def drop_checked(engine: DuckDBEngine) -> None:
    engine.execute(f"DROP TABLE IF EXISTS temp.{CHECKED}")
