"""Loading a file whose records all pass, in the statement that checks them.

Most returns are clean: every record passes every rule. For a CSV or Parquet file (not a correction) the load
first assumes so (``load.py``): in one warehouse transaction it reads the file's facts (collection, sender,
provider, how many records) with one aggregate over the typed fields they need, then ONE statement types and
checks every record and writes those that fail no rule — error or query — straight into ``collect_<source>``
(no table of checked records in between), then one grouped pass over the records written finds any key a
duplicate rule forbids to repeat. When every record was written and no key repeats, the file is loaded: its
receipt and the supersession it brings are written as for any file (``_write_files`` over an empty
``collect_checked``), and it commits.

Otherwise (a record failed a rule, was set aside by the CSV reader, or repeats a key) ``NotClean`` is raised
inside the transaction, which rolls it back — nothing of the attempt stays, in the warehouse or its file — and
the file is loaded record by record as before: every record checked into ``collect_checked``, then accepted
records, quarantine, issues and receipt, in a transaction of its own.
"""

from __future__ import annotations

from typing import Any

from pupildata.collect.checks import CHECKED, clean_sql, over, plan, typed_sql_of
from pupildata.collect.readers import Staged
from pupildata.collect.receipts import Receipt
from pupildata.collect.schemas import Source
from pupildata.kernel.engine import DuckDBEngine


class NotClean(Exception):
    """The file has a record that fails a rule (or repeats a key): it is loaded record by record instead."""


def facts_clean(engine: DuckDBEngine, src: Source, staged: Staged, *, given_collection: str | None) -> dict[str, Any]:
    """``load._facts`` of a file read by ``staged.relation``, every record assumed to pass (then checked by
    ``write_clean``): one aggregate over the typed fields the facts need."""
    typed = over(typed_sql_of(src.name), staged.relation)
    collection = "NULL" if given_collection else src.collection_sql
    sender = (
        f"left(string_agg(DISTINCT {src.sender_field}, ',' ORDER BY {src.sender_field}), 200)"
        if src.sender_field
        else "NULL"
    )
    provider = "left(string_agg(DISTINCT provider_name, ', '), 200)" if "provider_name" in src.names else "NULL"
    row = engine.fetchone(
        f"SELECT {collection}, {sender}, {provider}, count(*) FROM ({typed}) t", staged.params or None
    )
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


def write_clean(engine: DuckDBEngine, src: Source, staged: Staged, receipt: Receipt) -> None:
    """Write a file's records that fail no rule into ``collect_<source>`` under its receipt; raise ``NotClean``
    unless that is every record (``receipt.records``) and no key repeats. Runs in the caller's transaction (which
    ``NotClean`` must roll back)."""
    sql = clean_sql(src.name)
    params = plan(src.name).params
    fields = ", ".join(src.names)
    engine.execute("SET preserve_insertion_order = false")  # each row carries its number: both cores can write
    try:
        row = engine.fetchone(
            f"INSERT INTO {src.table} (receipt_id, record_index, collection, sender, {fields}) "
            f"SELECT $rid, c.record_index, $collection, $sender, {', '.join('c.' + n for n in src.names)} "
            f"FROM ({over(sql, staged.relation)}) c",
            {
                **params,
                **staged.params,
                "rid": receipt.receipt_id,
                "collection": receipt.collection,
                "sender": receipt.sender,
            },
        )
    finally:
        engine.execute("RESET preserve_insertion_order")
    if row is None or int(row[0]) != receipt.records:
        raise NotClean
    for _, key in plan(src.name).duplicates:
        parts = ", ".join(key)
        present = " AND ".join(f"{k} IS NOT NULL" for k in key)
        repeated = engine.scalar(
            f"SELECT count(*) FROM (SELECT {parts} FROM {src.table} WHERE receipt_id = $rid AND {present} "
            f"GROUP BY {parts} HAVING count(*) > 1)",
            {"rid": receipt.receipt_id},
        )
        if repeated:
            raise NotClean


def empty_checked(engine: DuckDBEngine, src: Source, staged: Staged) -> None:
    """An empty ``collect_checked``, for ``_write_files`` to write a clean file's receipt (its records are written)."""
    prepared = plan(src.name)
    engine.execute(f"DROP TABLE IF EXISTS temp.{CHECKED}")
    engine.execute(over(prepared.sql, staged.relation) + " LIMIT 0", {**prepared.params, **staged.params} or None)


__all__ = ["NotClean", "empty_checked", "facts_clean", "write_clean"]
