"""Checking a batch of census XML files: the fields of a file's header once per file, the pupils' once per pupil.

A census file's header (the school and the collection) is the same for every pupil of the file, so the header's
fields are typed, and the rules that read nothing but them run, on one row per file (``file_sql``); each pupil
then takes its file's typed header fields and their rules' bits, and only the other fields are typed and the
other rules run per pupil (``pupil_sql``). ``collect_checked`` ends as ``checks.check`` would make it (the same
values and bits: the same typing SQL and the same rules, each evaluated on the same values) but for the texts as
sent (``r_<field>``): they stay in the parsed files' Arrow table (``check_batch`` returns it), which the writing
of the quarantine and the issues joins for the records that fail a rule — copying every pupil's texts into
``collect_checked`` was a sixth to a fifth of the checking statement, for the few records that need them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
import pyarrow as pa

from pupildata.collect import rules as r
from pupildata.collect.catalogue import rule_set
from pupildata.collect.checks import CHECKED, Plan, mark_duplicates, plan, typed_sql
from pupildata.collect.schemas import source
from pupildata.kernel.engine import DuckDBEngine

#: The name under which a batch's files (one row each: ``batch_file`` and the header's texts) are shown to SQL.
FILES_VIEW = "collect_xml_files"
#: The name under which a batch's pupils, with their file's typed header fields and bits, are shown to SQL.
PUPILS_VIEW = "collect_xml_pupils"
#: The columns giving each pupil its file's header rules' bits (not kept in ``collect_checked``).
_HEADER_ERRORS, _HEADER_QUERIES = "h_errors", "h_queries"


@dataclass(frozen=True)
class BatchPlan:
    """A source's checking split between its header's fields (per file) and the rest (per record)."""

    header: tuple[str, ...]  # the fields the same for every record of a file
    file_sql: str  # over FILES_VIEW: batch_file, the header's typed fields, h_errors, h_queries
    file_params: dict[str, object]
    pupil_sql: str  # creates collect_checked from PUPILS_VIEW
    pupil_params: dict[str, object]
    prepared: Plan  # the whole source's plan: the codes behind each bit, its duplicate rules


def _uses(rule: r.Rule) -> set[str]:
    """The fields a rule's SQL reads (by name, as typed or as sent), with every field name of its source."""
    text = " ".join([rule.predicate, rule.guard, *(expr for _, expr in rule.columns)])
    return {m.group(1) for m in re.finditer(r"\b(?:r_)?([a-z][a-z0-9_]*)\b", text)}


def _only(rules: list[r.Rule], keep: list[bool]) -> list[r.Rule]:
    """The rules, each not kept made a rule that never fails (its bit stays in place, and is always 0)."""
    return [
        rule if kept else replace(rule, predicate="false", guard="", columns=(), duplicate_key=())
        for rule, kept in zip(rules, keep, strict=True)
    ]


@cache
def batch_plan(source_name: str, header: tuple[str, ...]) -> BatchPlan:
    """The checking of ``source_name`` for files whose ``header`` fields are the same for every record."""
    from pupildata.collect.checks import mask_sql  # the masks are built exactly as for the whole statement

    src = source(source_name)
    rules = rule_set(source_name)
    assert not rules.joins, "a source whose rules join a table is checked by checks.check"
    names = set(src.names)
    errors = [rule for rule in rules.rules if rule.severity is r.Severity.error]
    queries = [rule for rule in rules.rules if rule.severity is r.Severity.query]

    def of_header(rule: r.Rule) -> bool:
        return not rule.duplicate_key and (_uses(rule) & names) <= set(header)

    header_errors = [of_header(rule) for rule in errors]
    header_queries = [of_header(rule) for rule in queries]
    fields = [f for f in src.fields if f.name in header]
    helpers = [(n, e) for rule in rules.rules if of_header(rule) for n, e in rule.columns]
    derived = "".join(f", {expr} AS {name}" for name, expr in helpers)
    not_kept = [*(n for n, _ in helpers), *(f"r_{f.name}" for f in fields)]
    file_sql = (
        f"WITH typed AS (SELECT s.batch_file, {', '.join(f'{typed_sql(f)} AS {f.name}' for f in fields)}, "
        f"{', '.join(f's.r_{f.name}' for f in fields)} FROM {FILES_VIEW} s), "
        f"derived AS (SELECT t.*{derived} FROM typed t) "
        f"SELECT d.* EXCLUDE ({', '.join(not_kept)}), "
        f"{mask_sql(_only(errors, header_errors), 1)} AS {_HEADER_ERRORS}, "
        f"{mask_sql(_only(queries, header_queries), 0)} AS {_HEADER_QUERIES} FROM derived d ORDER BY batch_file"
    )
    typed = ", ".join(f"s.{f.name}" if f.name in header else f"{typed_sql(f)} AS {f.name}" for f in src.fields)
    pupil_helpers = [(n, e) for rule in rules.rules if not of_header(rule) for n, e in rule.columns]
    pupil_derived = "".join(f", {expr} AS {name}" for name, expr in pupil_helpers)
    texts = [f"r_{f.name}" for f in src.fields]  # left in the parsed files (``check_batch``)
    dropped = ", ".join([*(n for n, _ in pupil_helpers), *texts, _HEADER_ERRORS, _HEADER_QUERIES])
    pupil_sql = (
        f"CREATE TEMP TABLE {CHECKED} AS "
        f"WITH typed AS (SELECT s.* EXCLUDE ({', '.join(header)}, {_HEADER_ERRORS}, {_HEADER_QUERIES}), {typed}, "
        f"s.{_HEADER_ERRORS}, s.{_HEADER_QUERIES} FROM {PUPILS_VIEW} s), "
        f"derived AS (SELECT t.*{pupil_derived} FROM typed t) "
        f"SELECT d.* EXCLUDE ({dropped}), "
        f"CASE WHEN d.reader_error IS NOT NULL THEN 1::UBIGINT "
        f"ELSE d.{_HEADER_ERRORS} | {mask_sql(_only(errors, [not h for h in header_errors]), 1)} END AS errors, "
        f"CASE WHEN d.reader_error IS NOT NULL THEN 0::UBIGINT "
        f"ELSE d.{_HEADER_QUERIES} | {mask_sql(_only(queries, [not h for h in header_queries]), 0)} END AS queries "
        f"FROM derived d"
    )
    every = rules.params()
    return BatchPlan(
        header,
        file_sql,
        {k: v for k, v in every.items() if f"${k}" in file_sql},
        pupil_sql,
        {k: v for k, v in every.items() if f"${k}" in pupil_sql},
        plan(source_name),
    )


def _spread(by_file: pa.Table, at: pa.Array) -> pa.Table:
    """Each record's values of its file (``at``: the file's row in ``by_file``, as int32). A text is a dictionary
    over the files' values: nothing copied per record (the checking statement then costs 3% less than over
    copies)."""
    columns = {}
    for name in by_file.column_names:
        if name == "batch_file":
            continue
        column = by_file.column(name).combine_chunks()
        columns[name] = (
            pa.DictionaryArray.from_arrays(at, column) if pa.types.is_string(column.type) else column.take(at)
        )
    return pa.table(columns)


def check_batch(
    engine: DuckDBEngine, source_name: str, pupils: pa.Table, files: pa.Table
) -> tuple[Plan, pa.Table, pa.Table]:
    """Build ``collect_checked`` from a batch of files: ``pupils`` has the stage's columns but the header's,
    ``files`` one row per file, in the order of ``batch_file``, with the header's texts (``r_<field>``), which
    every record of its file takes. Returns the plan, the files' typed header fields (one row per file), and
    every record's texts as sent (``batch_file``, ``record_index`` and each ``r_<field>``), which
    ``collect_checked`` does not hold."""
    header = tuple(name.removeprefix("r_") for name in files.column_names if name != "batch_file")
    chosen = batch_plan(source_name, header)
    engine.register(FILES_VIEW, files)
    try:
        by_file = engine.arrow(chosen.file_sql, chosen.file_params or None)
    finally:
        engine.unregister(FILES_VIEW)
    numbers = files.column("batch_file").to_numpy()
    assert numbers.tolist() == by_file.column("batch_file").to_pylist()
    at = pa.array(np.searchsorted(numbers, pupils.column("batch_file").to_numpy()).astype(np.int32))
    for spread in (_spread(files, at), _spread(by_file, at)):
        for name in spread.column_names:
            pupils = pupils.append_column(name, spread.column(name))
    engine.execute(f"DROP TABLE IF EXISTS temp.{CHECKED}")
    engine.register(PUPILS_VIEW, pupils)
    try:
        engine.execute(chosen.pupil_sql, chosen.pupil_params or None)
    finally:
        engine.unregister(PUPILS_VIEW)
    mark_duplicates(engine, chosen.prepared)
    texts = ["batch_file", "record_index", *(f"r_{name}" for name in source(source_name).names)]
    return chosen.prepared, by_file, pupils.select(texts)


__all__ = ["BatchPlan", "batch_plan", "check_batch"]
