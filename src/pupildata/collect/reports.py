"""Validation reports: for each file, every failing record with who it is (the pupil's surname, forename and date
of birth, by which the sender finds the record in its own system), its rule code, field, value as sent and a
message the sender can act on — as CSV for the sender, and as rows for the portal.

Every value that reaches a report is made safe for spreadsheets: a cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return gets a leading single quote (so it is never run as a formula), NUL bytes are shown as
``\\x00``, and values longer than 1,000 characters are cut with a note of their length.

Who a record is comes from the record as sent when it was quarantined, and from the record as loaded (names in
capitals, the date as year-month-day) when it was accepted with a query.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

from pupildata.collect.receipts import REFUSED, Receipt
from pupildata.collect.schemas import SOURCES
from pupildata.collect.warehouse import ISSUE, QUARANTINE, RULE
from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.spreadsheet import inert, sql_inert

LONGEST = 1000
#: The audit trail's action each time a person reads a report's rows (page, CSV, API or command line): they name
#: pupils.
VIEW_ACTION = "collect.report.view"
#: The fields that say who a record is, which every source has: the sender finds the pupil by them.
PUPIL = ("surname", "forename", "dob")
COLUMNS = ["receipt", "file", "record", *PUPIL, "rule", "severity", "field", "value", "message"]
#: A report's texts that come from the sender, each made safe as ``safe_cell`` makes it.
_SENT = ("value", *PUPIL)


def safe_cell(value: object) -> str:
    """A value as text that no spreadsheet will run and no terminal will mangle."""
    if value is None:
        return ""
    text = str(value).replace("\x00", "\\x00")
    if len(text) > LONGEST:
        text = text[:LONGEST] + f"… ({len(text):,} characters)"
    return inert(text)


def _cut_sql(text: str) -> str:
    """SQL cutting a text (NUL bytes already shown) to ``LONGEST`` characters, with a note of its length."""
    return (
        f"CASE WHEN length({text}) > {LONGEST} THEN left({text}, {LONGEST}) || '… (' || "
        f"format('{{:,}}', length({text})) || ' characters)' ELSE {text} END"
    )


def _quote_sql(text: str) -> str:
    """SQL putting a single quote before a text (already cut) that a spreadsheet would run as a formula."""
    return sql_inert(text)


def _shown_sql(expr: str) -> str:
    """SQL for a text with NUL bytes shown as ``\\x00`` (NULL as '')."""
    return f"replace(coalesce({expr}, ''), chr(0), '\\x00')"


def refused_row(receipt: Receipt) -> dict[str, str]:
    """A refused (or duplicate) file's one report row, its reason; it names no pupil."""
    code = receipt.rule_code or ("FILE-DUP-01" if receipt.status == "duplicate" else "")
    given = {
        "receipt": receipt.receipt_id,
        "file": receipt.file_name,
        "rule": code,
        "severity": receipt.status,
        "message": receipt.message,
    }
    return {column: safe_cell(given.get(column)) for column in COLUMNS}


def issue_rows(engine: DuckDBEngine, receipt: Receipt, limit: int | None = None) -> list[dict[str, Any]]:
    """The report's rows (already made safe), in record order; a refused file has one row, its reason.

    The escaping is ``safe_cell``'s, set-at-a-time, one step per layer of the query so that no step is computed
    more than once; the message shows the value already made safe."""
    if receipt.status in REFUSED:
        return [refused_row(receipt)]
    if receipt.quarantined == 0 and receipt.queried == 0:
        return []  # every record accepted without a query: nothing failed, nothing to look up
    return _issue_rows(engine, [receipt], limit)[receipt.receipt_id]


#: SQL keeping the rows of the receipts ``$rids`` (the range first, which DuckDB answers from each block's bounds).
_OF_RECEIPTS = "{0}receipt_id BETWEEN list_min($rids) AND list_max($rids) AND list_contains($rids, {0}receipt_id)"


def _accepted_tables(receipts: list[Receipt]) -> list[str]:
    """The tables holding the records of ``receipts`` accepted with a query."""
    return sorted({SOURCES[r.source].table for r in receipts if r.queried and r.source in SOURCES})


def _who_sql(tables: list[str]) -> str:
    """SQL for who each record of the receipts ``$rids`` that a rule failed is: receipt_id, record_index and the
    ``PUPIL`` fields as texts — as sent if it was quarantined, as loaded if it was accepted with a query (from
    ``tables``)."""
    paths = ", ".join(f"'$.{name}'" for name in PUPIL)
    sent = ", ".join(f"sent[{n}] AS {name}" for n, name in enumerate(PUPIL, 1))
    parts = [
        f"SELECT receipt_id, record_index, {sent} FROM (SELECT receipt_id, record_index, "
        f"json_extract_string(record, [{paths}]) AS sent FROM {QUARANTINE} WHERE {_OF_RECEIPTS.format('')})"
    ]
    loaded = ", ".join(f"strftime({n}, '%Y-%m-%d') AS {n}" if n == "dob" else f"{n}::VARCHAR AS {n}" for n in PUPIL)
    parts += [
        f"SELECT receipt_id, record_index, {loaded} FROM {table} WHERE {_OF_RECEIPTS.format('')} AND len(queries) > 0"
        for table in tables
    ]
    return " UNION ALL ".join(parts)


def _ranked_sql(tables: list[str], limit: int | None = None) -> str:
    """SQL for the report rows (already made safe) of the receipts ``$rids``, in order (``limit``: of each
    receipt's): receipt_id, record_index, the ``PUPIL`` fields, rule_code, severity, field, value, message.
    ``tables``: where the records accepted with a query are (``_accepted_tables``)."""
    shown = ", ".join(f"{_shown_sql(('i.' if c == 'value' else 'w.') + c)} AS {c}_1" for c in _SENT)
    issues = (
        f"SELECT i.receipt_id, i.record_index, i.rule_code, i.severity, coalesce(i.field, '') AS field, r.message, "
        f"{shown} FROM {ISSUE} i JOIN {RULE} r ON r.code = i.rule_code "
        f"LEFT JOIN ({_who_sql(tables)}) w ON w.receipt_id = i.receipt_id AND w.record_index = i.record_index "
        f"WHERE {_OF_RECEIPTS.format('i.')}"
    )
    cut = ", ".join(f"{_cut_sql(c + '_1')} AS {c}_2" for c in _SENT)
    safe = ", ".join(f"{_quote_sql(c + '_2')} AS {c}" for c in _SENT)
    values = f"SELECT *, {safe} FROM (SELECT *, {cut} FROM ({issues}))"
    message = _shown_sql("replace(message, '{value}', value)")
    messages = f"SELECT *, {_cut_sql('m1')} AS m2 FROM (SELECT *, {message} AS m1 FROM ({values}))"
    ranked = (
        f"SELECT receipt_id, record_index, {', '.join(PUPIL)}, rule_code, severity, field, value, "
        f"{_quote_sql('m2')} AS message FROM ({messages})"
    )
    if limit:
        ranked = (
            f"SELECT * FROM ({ranked}) QUALIFY row_number() OVER (PARTITION BY receipt_id "
            f"ORDER BY record_index, rule_code) <= {int(limit)}"
        )
    return ranked


def _issue_rows(
    engine: DuckDBEngine, receipts: list[Receipt], limit: int | None = None
) -> dict[int, list[dict[str, Any]]]:
    """The report rows of several loaded receipts, in one statement (``limit``: of each receipt's)."""
    files = {r.receipt_id: safe_cell(r.file_name) for r in receipts}
    sql = f"{_ranked_sql(_accepted_tables(receipts), limit)} ORDER BY receipt_id, record_index, rule_code"
    rows = engine.fetchall(sql, {"rids": list(files)})
    found: dict[int, list[dict[str, Any]]] = {rid: [] for rid in files}
    for rid, *rest in rows:
        values_ = [rid, files[rid], *rest]
        found[rid].append(dict(zip(COLUMNS, ["" if v is None else str(v) for v in values_], strict=True)))
    return found


def _copy_reports(engine: DuckDBEngine, receipts: list[Receipt], outputs: Path) -> list[Receipt]:
    """Write the CSV reports of loaded receipts with failing records, their rows made and written by DuckDB in one
    statement (a file per receipt, in record order: on one thread, as a partitioned copy on more does not keep
    it), each file moved into place whole. Returns the receipts whose report it did not write (their rows did
    not come as a single file), for the caller to write."""
    files = {r.receipt_id: safe_cell(r.file_name) for r in receipts}
    folder = report_path(outputs, 0).parent
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=folder))
    # in the columns' order; an empty text is written as an empty cell, as the csv module writes it (DuckDB
    # quotes an empty text, not a NULL)
    columns = [*PUPIL, "rule_code", "severity", "field", "value", "message"]  # the report's, after its record
    texts = ", ".join(f"nullif({c}, '') AS {c.removesuffix('_code')}" for c in columns)
    select = (
        "SELECT receipt_id AS receipt, nullif($files[list_position($rids, receipt_id)], '') AS file, "
        f"record_index AS record, {texts} "
        f"FROM ({_ranked_sql(_accepted_tables(receipts))}) ORDER BY receipt_id, record_index, rule_code"
    )
    target = str(staging).replace("'", "''")
    sql = (
        f"COPY ({select}) TO '{target}' (FORMAT csv, HEADER, PARTITION_BY (receipt), WRITE_PARTITION_COLUMNS true, "
        "NEW_LINE '\r\n')"
    )
    left: list[Receipt] = []
    try:
        with engine.threads(1):
            engine.execute(sql, {"rids": list(files), "files": list(files.values())})
        for receipt in receipts:
            written = list((staging / f"receipt={receipt.receipt_id}").glob("*.csv"))
            if len(written) == 1:
                written[0].replace(report_path(outputs, receipt.receipt_id))
            else:
                left.append(receipt)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return left


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def report_csv(engine: DuckDBEngine, receipt: Receipt) -> str:
    return _csv(issue_rows(engine, receipt))


def report_path(outputs: Path, receipt_id: int) -> Path:
    return outputs / "collect" / "reports" / f"receipt-{receipt_id}.csv"


def write_report(engine: DuckDBEngine, receipt: Receipt, outputs: Path) -> Path:
    """Write (or rewrite) a receipt's validation report; returns where."""
    return _write(outputs, receipt.receipt_id, report_csv(engine, receipt))


def write_reports(
    engine: DuckDBEngine, receipts: list[Receipt], outputs: Path, writer: Executor | None = None
) -> Future[None] | None:
    """Write the validation reports of several receipts: those with failing records by one statement
    (``_copy_reports``), the rest (a header, or a refused file's reason) by ``writer`` if given (creating a file
    costs the system about 0.3 ms; the caller waits for the future returned)."""
    failing = [r for r in receipts if r.status not in REFUSED and (r.quarantined or r.queried)]
    left = {r.receipt_id for r in _copy_reports(engine, failing, outputs)} if failing else set()
    copied = {r.receipt_id for r in failing} - left
    reports = {r.receipt_id: report_csv(engine, r) for r in receipts if r.receipt_id not in copied}
    if writer is not None:
        return writer.submit(_write_all, outputs, reports)
    _write_all(outputs, reports)
    return None


def _write_all(outputs: Path, reports: dict[int, str]) -> None:
    for receipt_id, report in reports.items():
        _write(outputs, receipt_id, report)


def _write(outputs: Path, receipt_id: int, text: str) -> Path:
    path = report_path(outputs, receipt_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
    return path
