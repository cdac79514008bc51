"""Receipts: every file received gets one, whatever happened to it — its hash, what it was, who sent it, for
which collection, and how many records were accepted, quarantined and queried (or why it was refused).

The warehouse row is written in the same transaction as the records, so it is the truth. The registry keeps a
copy for the portal (the warehouse is one process's file); ``mirror_receipts`` copies what the registry lacks,
so a receipt committed just before a crash reaches it at the next collect.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import func, insert, select

from pupildata.collect.warehouse import ISSUE, RECEIPT
from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.registry import Registry
from pupildata.kernel.registry.models import CollectReceipt

STATUSES = ("accepted", "partly accepted", "quarantined", "rejected", "duplicate")


#: The statuses of receipts whose records are in the warehouse (some perhaps quarantined).
LOADED = ("accepted", "partly accepted", "quarantined")
#: The statuses of files of which nothing was loaded: refused, or identical to one received before.
REFUSED = ("rejected", "duplicate")


@dataclass(frozen=True)
class Receipt:
    receipt_id: int
    sha256: str
    file_name: str
    size_bytes: int
    received_at: datetime
    status: str
    source: str | None = None
    format: str | None = None
    collection: str | None = None
    sender: str | None = None
    sender_name: str | None = None
    run_id: int | None = None
    records: int = 0
    accepted: int = 0
    quarantined: int = 0
    queried: int = 0
    superseded_by: int | None = None
    duplicate_of: int | None = None
    corrects: int | None = None
    rule_code: str | None = None
    message: str | None = None
    notes: str | None = None

    def but(self, **changes: Any) -> Receipt:
        return dataclasses.replace(self, **changes)

    @property
    def ok(self) -> bool:
        """Nothing in the file was refused."""
        return self.status in ("accepted", "duplicate")

    def fields(self) -> dict[str, Any]:
        """The receipt's fields by name (``dataclasses.asdict`` copies every value deeply: ten times slower)."""
        return {name: getattr(self, name) for name in FIELDS}

    def as_dict(self) -> dict[str, Any]:
        data = self.fields()
        data["received_at"] = self.received_at.isoformat()
        return data


FIELDS = [f.name for f in dataclasses.fields(Receipt)]
#: Each field's Arrow type, for ``insert_receipts``.
_ARROW = {
    f.name: pa.timestamp("us", tz="UTC")
    if f.name == "received_at"
    else pa.int64()
    if "int" in str(f.type)
    else pa.string()
    for f in dataclasses.fields(Receipt)
}
_RECEIPTS_VIEW = "collect_receipts_new"


def next_receipt_id(engine: DuckDBEngine) -> int:
    """The next receipt number (loads are serialised by the warehouse's single writer)."""
    return int(engine.scalar(f"SELECT coalesce(max(receipt_id), 0) + 1 FROM {RECEIPT}"))


def insert_receipt(engine: DuckDBEngine, receipt: Receipt) -> None:
    insert_receipts(engine, [receipt])


def insert_receipts(engine: DuckDBEngine, receipts: list[Receipt]) -> None:
    """Write receipts in one statement (a batch of files has a hundred or so), read from an Arrow table (binding
    a parameter per field of each receipt took five times as long)."""
    if not receipts:
        return
    columns = {name: pa.array([getattr(r, name) for r in receipts], type=kind) for name, kind in _ARROW.items()}
    engine.register(_RECEIPTS_VIEW, pa.table(columns))
    try:
        engine.execute(f"INSERT INTO {RECEIPT} ({', '.join(FIELDS)}) SELECT {', '.join(FIELDS)} FROM {_RECEIPTS_VIEW}")
    finally:
        engine.unregister(_RECEIPTS_VIEW)


def receipts(engine: DuckDBEngine, where: str = "true", params: dict[str, Any] | None = None) -> list[Receipt]:
    rows = engine.fetchall(
        f"SELECT {', '.join(FIELDS)} FROM {RECEIPT} WHERE {where} ORDER BY receipt_id", params or None
    )
    return [Receipt(**dict(zip(FIELDS, row, strict=True))) for row in rows]


def get_receipt(engine: DuckDBEngine, receipt_id: int) -> Receipt | None:
    found = receipts(engine, "receipt_id = $id", {"id": receipt_id})
    return found[0] if found else None


def rule_counts(engine: DuckDBEngine, receipt_id: int) -> dict[str, int]:
    rows = engine.fetchall(
        f"SELECT rule_code, count(*) FROM {ISSUE} WHERE receipt_id = $id GROUP BY rule_code ORDER BY rule_code",
        {"id": receipt_id},
    )
    return {str(code): int(n) for code, n in rows}


def _rule_counts_after(engine: DuckDBEngine, known: int) -> dict[int, dict[str, int]]:
    """``rule_counts`` of every receipt after ``known``, in one statement."""
    rows = engine.fetchall(
        f"SELECT receipt_id, rule_code, count(*) FROM {ISSUE} WHERE receipt_id > $known "
        "GROUP BY receipt_id, rule_code ORDER BY receipt_id, rule_code",
        {"known": known},
    )
    found: dict[int, dict[str, int]] = {}
    for receipt_id, code, n in rows:
        found.setdefault(int(receipt_id), {})[str(code)] = int(n)
    return found


def mirror_receipts(engine: DuckDBEngine, registry: Registry) -> int:
    """Copy to the registry every receipt it lacks, and supersessions it has not seen; returns how many."""
    with registry.session() as session:
        known = session.execute(select(func.coalesce(func.max(CollectReceipt.id), 0))).scalar_one()
        superseded = {
            row[0]: row[1] for row in session.execute(select(CollectReceipt.id, CollectReceipt.superseded_by))
        }
    fresh = receipts(engine, "receipt_id > $known", {"known": known})
    changed = receipts(engine, "superseded_by IS NOT NULL AND receipt_id <= $known", {"known": known})
    counts = _rule_counts_after(engine, known) if fresh else {}
    with registry.session() as session:
        if fresh:  # in one statement (a thousand ORM objects cost half a second)
            session.execute(insert(CollectReceipt), [_row(r, counts.get(r.receipt_id, {})) for r in fresh])
        for receipt in changed:
            if superseded.get(receipt.receipt_id) != receipt.superseded_by:
                row = session.get(CollectReceipt, receipt.receipt_id)
                if row is not None:
                    row.superseded_by = receipt.superseded_by
    return len(fresh)


def _row(receipt: Receipt, counts: dict[str, int]) -> dict[str, Any]:
    """A receipt as the registry's row (its columns' names)."""
    data = receipt.fields()
    data["id"] = data.pop("receipt_id")
    data["file_format"] = data.pop("format")
    data["rule_counts"] = counts
    return data
