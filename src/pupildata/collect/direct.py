"""Loading a CSV or Parquet file in one pass over its records, as most returns are clean.

For a CSV or Parquet file (not a correction), in one warehouse transaction (``load._load_clean``): one aggregate
over the typed fields they need reads the file's facts (collection, sender, provider, how many records); ONE
statement types and checks every record and writes those that fail no rule — error or query — straight into
``collect_<source>`` (no table of checked records in between). If every record was written, ``collect_checked``
is empty; otherwise a second pass checks the file again and keeps in ``collect_checked`` only the records not
written (failing an error rule, or accepted with a query), which ``_write_files`` then writes as ever (accepted
records with their queries, quarantine, issues), with the supersession and the receipt. A grouped pass over the
records written and those checked finds any key a duplicate rule forbids to repeat.

A key repeated within the file fails the duplicate rule on every record that has it: found by a grouped pass over
the records written and those checked (cheap, for the common file where none repeats), those already written are
then checked again into ``collect_checked`` and taken out of the warehouse table (in the same transaction). A CSV
row set aside by the reader raises ``NotClean`` inside the transaction, which rolls it back — nothing of the
attempt stays, in the warehouse or its file — and the file is loaded record by record, every record checked into
``collect_checked`` first, in a transaction of its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from pupildata.collect.checks import CHECKED, checked_sql, clean_sql, over, plan, typed_sql, typed_sql_of
from pupildata.collect.readers import Staged, raw_columns
from pupildata.collect.readers.csv_reader import csv_select, read_in_order
from pupildata.collect.receipts import Receipt
from pupildata.collect.schemas import Source
from pupildata.collect.warehouse import PLAN_ORDER
from pupildata.kernel.engine import DuckDBEngine

#: The keys that repeat within a file (for a duplicate rule).
REPEATED = "collect_repeated_keys"
#: A CSV file's records, typed and checked as the file is read (see ``read_csv_checked``).
CSV_CHECKED = "collect_csv_checked"


def read_csv_checked(engine: DuckDBEngine, path: Path, given: Source | None) -> Staged | None:
    """A UTF-8 CSV file read, typed and checked in ONE statement (in parallel, in the file's order) into a
    temporary table of the records' typed fields and whether each is ``clean`` (fails no rule, error or query) —
    not the text as sent, which only a record failing a rule needs (``check_rest`` reads the file again for it).
    A record's number is its row's ``rowid`` from the first; ``rows_set_aside`` tells whether the reader set rows
    aside (the file is then loaded record by record). A field no column of the file gives has the same value in
    every record: it is typed once, not stored in the table (the query over it gives it, as a parameter).

    None when DuckDB would not keep the file's order in that statement (a rule joining another table, e.g. the
    growth reference): the file is then read into a table of its text first (``csv_reader.read_csv``)."""
    read = csv_select(path, given)
    src = read.source
    prepared = plan(src.name)
    relation = (
        f"SELECT 0 AS batch_file, NULL::BIGINT AS record_index, NULL::VARCHAR AS reader_error, "
        f"NULL::VARCHAR AS raw_line, * FROM ({read.select})"
    )
    varying = [name for name in src.names if name not in read.constants]
    select = (
        f"SELECT {', '.join(varying)}, errors = 0 AND queries = 0 AS clean "
        f"FROM ({over(checked_sql(src.name), relation)})"
    )
    params = _used(select, {**prepared.params, **read.params})
    # a long IN list is otherwise made a join, and a join does not keep the order of the rows
    engine.execute("SET disabled_optimizers = 'in_clause'")
    try:
        if not _keeps_order(engine, CSV_CHECKED, select, params):
            return None
        first = read_in_order(engine, CSV_CHECKED, select, params)
    finally:
        engine.execute("RESET disabled_optimizers")
    constant = _typed_constants(engine, src, read.constants, read.params)
    given_fields = "".join(f", $constant_{name}::{src.field(name).sql_type} AS {name}" for name in constant)
    checked = f"SELECT rowid - $csv_checked_first + 1 AS record_index, *{given_fields} FROM {CSV_CHECKED}"
    params = {"csv_checked_first": first, **{f"constant_{name}": value for name, value in constant.items()}}
    return Staged(src, "csv", None, notes=read.notes, params=params, checked=checked)


def _typed_constants(
    engine: DuckDBEngine, src: Source, constants: dict[str, str | None], params: dict[str, Any]
) -> dict[str, Any]:
    """The typed value of each field whose text is the same in every record (``constants``), as the checking
    statement types it."""
    if not constants:
        return {}
    texts = ", ".join(
        f"${name}::VARCHAR AS r_{name}" if text is not None else f"NULL::VARCHAR AS r_{name}"
        for name, text in constants.items()
    )
    typed = ", ".join(f"{typed_sql(src.field(name))} AS {name}" for name in constants)
    sql = f"SELECT {typed} FROM (SELECT {texts}) s"
    row = engine.fetchone(sql, _used(sql, params) or None)
    assert row is not None
    return dict(zip(constants, row, strict=True))


#: Whether DuckDB keeps the order of the rows in a statement, by statement and number of threads (its plan
#: depends on nothing else, for a given version of DuckDB).
_ORDER_KEPT: dict[tuple[str, int], bool] = {}


def _keeps_order(engine: DuckDBEngine, table: str, select: str, params: dict[str, Any]) -> bool:
    """Whether DuckDB plans ``CREATE TEMP TABLE table AS select`` to insert the rows in the order they are read
    (its ``BATCH_CREATE_TABLE_AS``, in parallel), as a row's number is taken from its place in the table. Asked
    once per statement, version of DuckDB and number of threads (the plan of so long a statement takes a few
    hundredths of a second), and the answer kept in the warehouse (``PLAN_ORDER``) for the next run."""
    threads = int(engine.scalar("SELECT current_setting('threads')"))
    key = (select, threads)
    if key not in _ORDER_KEPT:
        statement = hashlib.sha256(select.encode()).hexdigest()
        asked = [duckdb.__version__, threads, statement]
        known = engine.fetchone(
            f"SELECT keeps_order FROM {PLAN_ORDER} WHERE duckdb_version = ? AND threads = ? AND statement = ?", asked
        )
        if known is None:
            engine.execute("SET preserve_insertion_order = true")
            plan_json = engine.fetchone(f"EXPLAIN (FORMAT JSON) CREATE TEMP TABLE {table} AS {select}", params or None)
            assert plan_json is not None
            root = json.loads(str(plan_json[1]))
            known = (bool(root) and root[0].get("name") == "BATCH_CREATE_TABLE_AS",)
            engine.execute(f"INSERT INTO {PLAN_ORDER} VALUES (?, ?, ?, ?)", [*asked, known[0]])
        _ORDER_KEPT[key] = bool(known[0])
    return _ORDER_KEPT[key]


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a statement uses (DuckDB refuses any other)."""
    return {name: value for name, value in params.items() if f"${name}" in sql}


def _create_empty_checked(engine: DuckDBEngine, src: Source) -> None:
    """``collect_checked`` with no record, made from its columns (planning the checking query costs more): the
    stage's, the typed fields, then the two masks — in the order of ``checks.checked_sql``."""
    texts = ", ".join(f"{c} VARCHAR" for c in raw_columns(src))
    typed = ", ".join(f"{f.name} {f.sql_type}" for f in src.fields)
    engine.execute(
        f"CREATE TEMP TABLE {CHECKED} (batch_file INTEGER, record_index BIGINT, reader_error VARCHAR, "
        f"raw_line VARCHAR, {texts}, {typed}, errors UBIGINT, queries UBIGINT)"
    )


class NotClean(Exception):
    """The file cannot be loaded in one pass (a CSV row set aside): it is loaded record by record instead."""


def facts_clean(engine: DuckDBEngine, src: Source, staged: Staged, *, given_collection: str | None) -> dict[str, Any]:
    """``load._facts`` of a file read by ``staged.relation``, every record assumed to pass (then checked by
    ``write_clean``): one aggregate over the typed fields the facts need (typed as the file was read, for a CSV
    file)."""
    typed = staged.checked or over(typed_sql_of(src.name, staged.by_record), staged.relation)
    collection = "NULL" if given_collection else src.collection_sql
    sender = (
        f"left(string_agg(DISTINCT {src.sender_field}, ',' ORDER BY {src.sender_field}), 200)"
        if src.sender_field
        else "NULL"
    )
    provider = "left(string_agg(DISTINCT provider_name, ', '), 200)" if "provider_name" in src.names else "NULL"
    sql = f"SELECT {collection}, {sender}, {provider}, count(*) FROM ({typed}) t"
    row = engine.fetchone(sql, _used(sql, staged.params) or None)
    assert row is not None
    records = int(row[3])
    return {
        "collection": row[0],
        "sender": row[1],
        "provider": str(row[2]) if row[2] else None,
        "records": records,
        "accepted": records,
        "quarantined": 0,
        "queried": 0,
    }


def write_clean(engine: DuckDBEngine, src: Source, staged: Staged, receipt: Receipt) -> int:
    """Write a file's records that fail no rule (error or query) into ``collect_<source>`` under its receipt;
    returns how many. Runs in the caller's transaction."""
    if staged.checked is not None:  # typed and checked as read
        clean, params = f"SELECT * FROM ({staged.checked}) WHERE clean", dict(staged.params)
    else:
        clean = over(clean_sql(src.name, staged.by_record), staged.relation)
        params = {**plan(src.name).params, **staged.params}
    fields = ", ".join(src.names)
    sql = (
        f"INSERT INTO {src.table} (receipt_id, record_index, {fields}) "
        f"SELECT $rid, c.record_index, {', '.join('c.' + n for n in src.names)} "
        f"FROM ({clean}) c"
    )
    engine.execute("SET preserve_insertion_order = false")  # each row carries its number: both cores can write
    try:
        row = engine.fetchone(
            sql,
            {**_used(sql, params), "rid": receipt.receipt_id},
        )
    finally:
        engine.execute("RESET preserve_insertion_order")
    return int(row[0]) if row else 0


def check_rest(
    engine: DuckDBEngine,
    src: Source,
    staged: Staged,
    receipt: Receipt,
    written: int,
    *,
    texts: Callable[[], Staged] | None = None,
) -> Receipt:
    """``collect_checked`` with the records ``write_clean`` did not write (those failing a rule, error or query),
    for ``_write_files`` to write as ever (accepted records with queries, quarantine, issues); the receipt with
    the counts of the whole file. A key a duplicate rule forbids to repeat, repeating among all the file's
    records, fails that rule on each of them: those already written are taken out of the warehouse table again
    and checked into ``collect_checked`` with the rest (a file with a repeated key costs one more pass).

    A CSV file typed and checked as it was read (``staged.checked``) is read again, as text, by ``texts`` (the
    stage of ``csv_reader.read_csv``) only when a record needs its text: one failing a rule (only those records
    are checked again) or one with a repeated key."""
    prepared = plan(src.name)
    relation, params = staged.relation, {**prepared.params, **staged.params}
    text: list[Staged] = []

    def reread() -> tuple[str, dict[str, Any]]:
        """The file as text (read once), and the parameters of a statement over it."""
        if not text:
            assert texts is not None
            text.append(texts())
        return str(text[0].relation), {**prepared.params, **staged.params, **text[0].params}

    engine.execute(f"DROP TABLE IF EXISTS temp.{CHECKED}")
    if written == receipt.records:
        _create_empty_checked(engine, src)
    else:
        if staged.checked is not None:
            relation, params = reread()
            relation = (
                f"SELECT * FROM ({relation}) r "
                f"WHERE r.record_index IN (SELECT record_index FROM ({staged.checked}) WHERE NOT clean)"
            )
        sql = (
            f"CREATE TEMP TABLE {CHECKED} AS SELECT * FROM ({over(checked_sql(src.name, staged.by_record), relation)}) "
            "WHERE errors <> 0 OR queries <> 0"
        )
        engine.execute(sql, _used(sql, params) or None)
    for bit, key in prepared.duplicates:
        parts = ", ".join(key)
        present = " AND ".join(f"{k} IS NOT NULL" for k in key)
        # every record's key: those written and those checked again, or all of a file checked as it was read
        keys = (
            f"SELECT {parts} FROM ({staged.checked})"
            if staged.checked is not None
            else f"SELECT {parts} FROM {src.table} WHERE receipt_id = $rid "
            f"UNION ALL SELECT {parts} FROM {CHECKED} WHERE reader_error IS NULL"
        )
        sql = (
            f"CREATE OR REPLACE TEMP TABLE {REPEATED} AS SELECT {parts} FROM ({keys}) "
            f"WHERE {present} GROUP BY {parts} HAVING count(*) > 1"
        )
        engine.execute(sql, _used(sql, {"rid": receipt.receipt_id, **staged.params}) or None)
        if engine.scalar(f"SELECT count(*) FROM {REPEATED}"):
            repeats = f"EXISTS (SELECT 1 FROM {REPEATED} k WHERE {' AND '.join(f'k.{n} = c.{n}' for n in key)})"
            # the written records with a repeated key, checked again (they failed nothing else) ...
            relation, params = reread() if staged.checked is not None else (staged.relation, params)
            sql = (
                f"INSERT INTO {CHECKED} SELECT * FROM ({over(checked_sql(src.name, staged.by_record), relation)}) c "
                f"WHERE c.errors = 0 AND c.queries = 0 AND {repeats} "
                f"AND c.record_index NOT IN (SELECT record_index FROM {CHECKED})"
            )
            engine.execute(sql, _used(sql, params) or None)
            # ... and taken out of the warehouse table
            moved = engine.fetchone(
                f"DELETE FROM {src.table} c WHERE c.receipt_id = $rid AND {repeats}", {"rid": receipt.receipt_id}
            )
            written -= int(moved[0]) if moved else 0
            engine.execute(
                f"UPDATE {CHECKED} c SET errors = c.errors | {1 << bit}::UBIGINT "
                f"WHERE c.reader_error IS NULL AND {repeats}"
            )
        engine.execute(f"DROP TABLE IF EXISTS temp.{REPEATED}")
    row = engine.fetchone(
        f"SELECT count(*) FILTER (WHERE errors = 0), count(*) FILTER (WHERE errors <> 0), "
        f"count(*) FILTER (WHERE errors = 0 AND queries <> 0) FROM {CHECKED}"
    )
    assert row is not None
    return receipt.but(accepted=written + int(row[0]), quarantined=int(row[1]), queried=int(row[2]))


__all__ = ["CSV_CHECKED", "NotClean", "check_rest", "facts_clean", "read_csv_checked", "write_clean"]
