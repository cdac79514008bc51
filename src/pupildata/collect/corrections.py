"""Correcting quarantined records, record by record.

A receipt's quarantined records are exported as CSV (``export_csv``): for a CSV return, under the sender's own
column names; for census XML and Parquet returns, under each field's label (which any CSV return may use). Every
record keeps its values exactly as sent (each cell made formula-safe), and extra columns give its number in the
file it came from, its rule codes and their messages.

The sender corrects the records and sends the file back as a correction of that receipt
(``pupildata collect FILE --corrects RECEIPT``). It is archived like any file and checked with the same rules,
in one transaction with everything below, or nothing:

- its accepted records join the return it corrects — the same source, collection and sender, so the return's
  ``_current`` view includes them, and a later return from that sender supersedes them with the rest;
- a record whose key (e.g. its UPN) is already among the return's accepted records fails the duplicate rule, as
  it would have in the return itself;
- records still failing stay quarantined, under the correction's receipt and with their new codes (and can be
  corrected in turn);
- the corrected receipt's quarantine rows are marked resolved by the correction (``resolved_by``): kept in the
  history, never deleted, and no longer exported.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pupildata.collect.archive import archive_path
from pupildata.collect.checks import CHECKED, Plan
from pupildata.collect.readers import CORRECTION_COLUMNS, Rejected
from pupildata.collect.readers.sniff import csv_header
from pupildata.collect.receipts import LOADED, Receipt, get_receipt
from pupildata.collect.schemas import Source, source
from pupildata.collect.warehouse import ISSUE, QUARANTINE, RECEIPT, RULE
from pupildata.errors import UsageError
from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.spreadsheet import inert

EXTRA_COLUMNS = CORRECTION_COLUMNS


def correctable(engine: DuckDBEngine, receipt_id: int) -> Receipt:
    """The receipt ``receipt_id``, if it has quarantined records still to correct; else a usage error."""
    found = get_receipt(engine, receipt_id) if engine.table_exists(RECEIPT) else None
    if found is None:
        raise UsageError(f"There is no receipt {receipt_id}.")
    if found.status not in LOADED or not found.quarantined:
        raise UsageError(f"Receipt {receipt_id} has no quarantined records to correct.")
    if found.superseded_by is not None:
        raise UsageError(
            f"Receipt {receipt_id} was replaced by receipt {found.superseded_by}; correct that return's records."
        )
    resolved = engine.scalar(
        f"SELECT min(resolved_by) FROM {QUARANTINE} WHERE receipt_id = $rid AND resolved_by IS NOT NULL",
        {"rid": receipt_id},
    )
    if resolved is not None:
        raise UsageError(
            f"The quarantined records of receipt {receipt_id} were already corrected by receipt {resolved}; "
            f"correct those still quarantined there."
        )
    return found


def _headers(found: Receipt, src: Source, archive_root: Path) -> list[str]:
    """The column name of each field: the sender's own (a CSV return's header), else the field's label."""
    labels = [f.label for f in src.fields]
    if found.format != "csv":
        return labels
    try:
        header = csv_header(archive_path(archive_root, found.sha256))
    except (OSError, Rejected):
        return labels
    positions = src.match_headers(header)
    return [header[positions[f.name]].strip() if f.name in positions else f.label for f in src.fields]


def export_rows(engine: DuckDBEngine, found: Receipt, archive_root: Path) -> tuple[list[str], list[list[str]]]:
    """The header and rows (formula-safe) of the quarantined records of a receipt not yet corrected."""
    src = source(str(found.source))
    values = ", ".join(f"json_extract_string(q.record, '$.{f.name}')" for f in src.fields)
    rows = engine.fetchall(
        f"SELECT {values}, q.record_index, array_to_string(q.errors, '; '), "
        f"(SELECT string_agg(replace(r.message, '{{value}}', coalesce(i.value, '')), ' ' ORDER BY i.rule_code) "
        f" FROM {ISSUE} i JOIN {RULE} r ON r.code = i.rule_code WHERE i.receipt_id = q.receipt_id "
        f" AND i.record_index = q.record_index AND i.severity = 'error'), q.raw_line "
        f"FROM {QUARANTINE} q WHERE q.receipt_id = $rid AND q.resolved_by IS NULL ORDER BY q.record_index",
        {"rid": found.receipt_id},
    )
    header = _headers(found, src, archive_root) + list(EXTRA_COLUMNS)
    shown = [[inert("" if v is None else str(v).replace("\x00", "")) for v in row] for row in rows]
    return header, shown


def export_csv(engine: DuckDBEngine, receipt_id: int, archive_root: Path) -> tuple[str, int]:
    """A receipt's quarantined records as CSV for the sender to correct, and how many there are."""
    found = correctable(engine, receipt_id)
    header, rows = export_rows(engine, found, archive_root)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue(), len(rows)


def mark_duplicates_in_return(engine: DuckDBEngine, src: Source, prepared: Plan, original: Receipt) -> None:
    """Set the duplicate rule's bit on a correction's records whose key the return already holds."""
    for bit, key in prepared.duplicates:
        present = " AND ".join(f"c.{k} IS NOT NULL" for k in key)
        joined = " AND ".join(f"t.{k} = c.{k}" for k in key)
        engine.execute(
            f"UPDATE {CHECKED} c SET errors = c.errors | {1 << bit}::UBIGINT WHERE c.reader_error IS NULL "
            f"AND {present} AND EXISTS (SELECT 1 FROM {src.table} t JOIN {RECEIPT} r ON r.receipt_id = t.receipt_id "
            f"WHERE r.source = $source AND r.collection = $collection AND r.sender = $sender "
            f"AND r.superseded_by IS NULL AND {joined})",
            {"source": src.name, "collection": original.collection, "sender": original.sender},
        )


def resolve(engine: DuckDBEngine, original: int, correction: int) -> None:
    """Mark the quarantined records of ``original`` resolved by the receipt ``correction`` (kept, not deleted)."""
    engine.execute(
        f"UPDATE {QUARANTINE} SET resolved_by = $correction WHERE receipt_id = $original AND resolved_by IS NULL",
        {"original": original, "correction": correction},
    )


__all__ = ["EXTRA_COLUMNS", "correctable", "export_csv", "export_rows", "mark_duplicates_in_return", "resolve"]
