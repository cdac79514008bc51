"""Reads of the registry's copy of the receipts, for the portal: one receipt, the files of a collection, and how
many files each collection has had. The portal reads these instead of the warehouse, which a load may hold.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select

from pupildata.collect.receipts import Receipt
from pupildata.kernel.registry import Registry
from pupildata.kernel.registry.models import CollectReceipt


def _receipt(row: CollectReceipt) -> Receipt:
    return Receipt(
        receipt_id=row.id,
        sha256=row.sha256,
        file_name=row.file_name,
        size_bytes=row.size_bytes,
        received_at=row.received_at,
        status=row.status,
        source=row.source,
        format=row.file_format,
        collection=row.collection,
        sender=row.sender,
        sender_name=row.sender_name,
        run_id=row.run_id,
        records=row.records,
        accepted=row.accepted,
        quarantined=row.quarantined,
        queried=row.queried,
        superseded_by=row.superseded_by,
        duplicate_of=row.duplicate_of,
        corrects=row.corrects,
        rule_code=row.rule_code,
        message=row.message,
        notes=row.notes,
    )


def find_receipt(registry: Registry, receipt_id: int) -> tuple[Receipt, dict[str, int]] | None:
    """A receipt and the number of failures of each rule in its file, or None if there is no such receipt."""
    with registry.session() as session:
        row = session.get(CollectReceipt, receipt_id)
        if row is None:
            return None
        return _receipt(row), {str(code): int(n) for code, n in sorted(row.rule_counts.items())}


def receipts_of(registry: Registry, collection: str) -> list[Receipt]:
    """Every file received for a collection, whatever happened to it, in the order received."""
    with registry.session() as session:
        rows = session.execute(
            select(CollectReceipt).where(CollectReceipt.collection == collection).order_by(CollectReceipt.id)
        ).scalars()
        return [_receipt(row) for row in rows]


def recent_receipts(
    registry: Registry, *, senders: list[str] | None, prefixes: tuple[str, ...] = (), limit: int = 1000
) -> list[Receipt]:
    """The latest files received (newest first): of every sender (``senders`` None), or of the senders named and
    of 7-character sender numbers starting with one of ``prefixes`` (an authority's schools)."""
    query = select(CollectReceipt).order_by(CollectReceipt.id.desc()).limit(limit)
    if senders is not None:
        conditions: list[ColumnElement[bool]] = [CollectReceipt.sender.in_(senders)] if senders else []
        conditions += [
            (func.length(CollectReceipt.sender) == 7) & CollectReceipt.sender.startswith(prefix, autoescape=True)
            for prefix in prefixes
        ]
        if not conditions:
            return []
        query = query.where(or_(*conditions))
    with registry.session() as session:
        return [_receipt(row) for row in session.execute(query).scalars()]


def file_counts(registry: Registry) -> dict[str, int]:
    """How many files each collection has received (refused and repeated files included)."""
    with registry.session() as session:
        rows = session.execute(
            select(CollectReceipt.collection, func.count()).group_by(CollectReceipt.collection)
        ).all()
    return {str(name): int(n) for name, n in rows if name is not None}


__all__ = ["file_counts", "find_receipt", "receipts_of", "recent_receipts"]
