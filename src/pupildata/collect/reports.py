"""Validation reports: for each file, every failing record with its rule code, field, value as sent and a
message the sender can act on — as CSV for the sender, and as rows for the portal.

Every value that reaches a report is made safe for spreadsheets: a cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return gets a leading single quote (so it is never run as a formula), NUL bytes are shown as
``\\x00``, and values longer than 1,000 characters are cut with a note of their length.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from pupildata.collect.receipts import Receipt
from pupildata.collect.warehouse import ISSUE, RULE
from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.spreadsheet import inert, sql_inert

LONGEST = 1000
COLUMNS = ["receipt", "file", "record", "rule", "severity", "field", "value", "message"]


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


def issue_rows(engine: DuckDBEngine, receipt: Receipt, limit: int | None = None) -> list[dict[str, Any]]:
    """The report's rows (already made safe), in record order; a refused file has one row, its reason.

    The escaping is ``safe_cell``'s, set-at-a-time, one step per layer of the query so that no step is computed
    more than once; the message shows the value already made safe."""
    if receipt.status in ("rejected", "duplicate"):
        code = receipt.rule_code or ("FILE-DUP-01" if receipt.status == "duplicate" else "")
        row = [receipt.receipt_id, receipt.file_name, None, code, receipt.status, None, None, receipt.message]
        return [dict(zip(COLUMNS, [safe_cell(v) for v in row], strict=True))]
    if receipt.quarantined == 0 and receipt.queried == 0:
        return []  # every record accepted without a query: nothing failed, nothing to look up
    issues = (
        f"SELECT i.record_index, i.rule_code, i.severity, coalesce(i.field, '') AS field, r.message, "
        f"{_shown_sql('i.value')} AS v1 FROM {ISSUE} i JOIN {RULE} r ON r.code = i.rule_code WHERE i.receipt_id = $rid"
    )
    values = f"SELECT *, {_quote_sql('v2')} AS value FROM (SELECT *, {_cut_sql('v1')} AS v2 FROM ({issues}))"
    message = _shown_sql("replace(message, '{value}', value)")
    messages = f"SELECT *, {_cut_sql('m1')} AS m2 FROM (SELECT *, {message} AS m1 FROM ({values}))"
    rows = engine.fetchall(
        f"SELECT $rid, $file, record_index, rule_code, severity, field, value, {_quote_sql('m2')} FROM ({messages}) "
        f"ORDER BY record_index, rule_code" + (f" LIMIT {int(limit)}" if limit else ""),
        {"rid": receipt.receipt_id, "file": safe_cell(receipt.file_name)},
    )
    return [dict(zip(COLUMNS, ["" if v is None else str(v) for v in row], strict=True)) for row in rows]


def report_csv(engine: DuckDBEngine, receipt: Receipt) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(issue_rows(engine, receipt))
    return buffer.getvalue()


def report_path(outputs: Path, receipt_id: int) -> Path:
    return outputs / "collect" / "reports" / f"receipt-{receipt_id}.csv"


def write_report(engine: DuckDBEngine, receipt: Receipt, outputs: Path) -> Path:
    """Write (or rewrite) a receipt's validation report; returns where."""
    path = report_path(outputs, receipt.receipt_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(report_csv(engine, receipt), encoding="utf-8")
    temporary.replace(path)
    return path
