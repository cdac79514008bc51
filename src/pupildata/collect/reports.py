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

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LONGEST = 1000
COLUMNS = ["receipt", "file", "record", "rule", "severity", "field", "value", "message"]


def safe_cell(value: object) -> str:
    """A value as text that no spreadsheet will run and no terminal will mangle."""
    if value is None:
        return ""
    text = str(value).replace("\x00", "\\x00")
    if len(text) > LONGEST:
        text = text[:LONGEST] + f"… ({len(text):,} characters)"
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    return text


def _safe_sql(expr: str) -> str:
    """The same escaping in SQL, for reports written set-at-a-time."""
    text = f"replace(coalesce({expr}, ''), chr(0), '\\x00')"
    cut = (
        f"CASE WHEN length({text}) > {LONGEST} THEN left({text}, {LONGEST}) || '… (' || "
        f"format('{{:,}}', length({text})) || ' characters)' ELSE {text} END"
    )
    return f"CASE WHEN regexp_matches({cut}, '^[=+\\-@\\t\\r]') THEN '''' || {cut} ELSE {cut} END"


def issue_rows(engine: DuckDBEngine, receipt: Receipt, limit: int | None = None) -> list[dict[str, Any]]:
    """The report's rows (already made safe), in record order; a refused file has one row, its reason."""
    if receipt.status in ("rejected", "duplicate"):
        code = receipt.rule_code or ("FILE-DUP-01" if receipt.status == "duplicate" else "")
        row = [receipt.receipt_id, receipt.file_name, None, code, receipt.status, None, None, receipt.message]
        return [dict(zip(COLUMNS, [safe_cell(v) for v in row], strict=True))]
    message = f"replace(r.message, '{{value}}', {_safe_sql('i.value')})"
    rows = engine.fetchall(
        f"SELECT $rid, {_safe_sql('$file')}, i.record_index, i.rule_code, i.severity, coalesce(i.field, ''), "
        f"{_safe_sql('i.value')}, {_safe_sql(message)} FROM {ISSUE} i JOIN {RULE} r ON r.code = i.rule_code "
        f"WHERE i.receipt_id = $rid ORDER BY i.record_index, i.rule_code" + (f" LIMIT {int(limit)}" if limit else ""),
        {"rid": receipt.receipt_id, "file": receipt.file_name},
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
