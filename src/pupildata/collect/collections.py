"""Collections — e.g. the spring school census 2009 — who is expected to send, who has sent, and with how many
errors. Read from the registry (the portal cannot open the warehouse while a load runs).

A collection is created the first time a return for it arrives, or beforehand with its expected senders. When
no senders have been named, every sender that has sent the same source before is expected (for the census,
every school of the local authorities that have sent to this collection).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select

from pupildata.collect.schemas import SOURCES
from pupildata.kernel.registry import Registry
from pupildata.kernel.registry.models import CollectCollection, CollectExpectedSender, CollectReceipt

TERMS = {"aut": "Autumn", "spr": "Spring", "sum": "Summer"}


def title_of(name: str) -> str:
    """A readable title: census-2009-spr gives 'Spring census 2009', ks2-2008-09 'Key stage 2 results 2008/09'."""
    census = re.fullmatch(r"census-(\d{4})-(aut|spr|sum)", name)
    if census:
        return f"{TERMS[census[2]]} census {census[1]}"
    stage = re.fullmatch(r"ks([1-4])-(\d{4})-(\d{2})", name)
    if stage:
        return f"Key stage {stage[1]} results {stage[2]}/{stage[3]}"
    other = re.fullmatch(r"(ks|ncmp|ilr|survey)-(\d{4})-(\d{2})(.*)", name)
    if other:
        title = SOURCES[other[1]].title.split(" (")[0]
        return f"{title} {other[2]}/{other[3]}{other[4].replace('-', ' ')}"
    return name


@dataclass
class SenderStatus:
    sender: str
    sender_name: str | None
    expected: bool
    receipt_id: int | None = None
    status: str = "not sent"
    received_at: datetime | None = None
    records: int = 0
    accepted: int = 0
    quarantined: int = 0
    queried: int = 0
    rule_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class CollectionStatus:
    name: str
    title: str
    source: str
    senders: list[SenderStatus]

    @property
    def sent(self) -> int:
        return sum(s.receipt_id is not None for s in self.senders)

    @property
    def missing(self) -> list[SenderStatus]:
        return [s for s in self.senders if s.receipt_id is None]

    def totals(self) -> dict[str, int]:
        keys = ("records", "accepted", "quarantined", "queried")
        return {k: sum(getattr(s, k) for s in self.senders) for k in keys}


def ensure_collection(registry: Registry, name: str, source: str, due_on: date | None = None) -> None:
    with registry.session() as session:
        found = session.execute(select(CollectCollection).where(CollectCollection.name == name)).scalar_one_or_none()
        if found is None:
            session.add(
                CollectCollection(
                    name=name, title=title_of(name), source=source, due_on=due_on, created_at=datetime.now(UTC)
                )
            )
        elif due_on is not None:
            found.due_on = due_on


def expect(registry: Registry, name: str, source: str, senders: list[tuple[str, str | None]]) -> int:
    """Name the senders expected to send to a collection (adding to those already named); returns how many."""
    ensure_collection(registry, name, source)
    with registry.session() as session:
        collection = session.execute(select(CollectCollection).where(CollectCollection.name == name)).scalar_one()
        known = set(
            session.execute(
                select(CollectExpectedSender.sender).where(CollectExpectedSender.collection_id == collection.id)
            ).scalars()
        )
        for sender, sender_name in senders:
            if sender not in known:
                session.add(CollectExpectedSender(collection_id=collection.id, sender=sender, sender_name=sender_name))
                known.add(sender)
    return len(senders)


def collections(registry: Registry) -> list[CollectCollection]:
    with registry.session() as session:
        return list(session.execute(select(CollectCollection).order_by(CollectCollection.name)).scalars())


def status(registry: Registry, name: str) -> CollectionStatus | None:
    with registry.session() as session:
        collection = session.execute(
            select(CollectCollection).where(CollectCollection.name == name)
        ).scalar_one_or_none()
        if collection is None:
            return None
        named = {
            row.sender: row.sender_name
            for row in session.execute(
                select(CollectExpectedSender).where(CollectExpectedSender.collection_id == collection.id)
            ).scalars()
        }
        current = list(
            session.execute(
                select(CollectReceipt)
                .where(CollectReceipt.collection == name, CollectReceipt.superseded_by.is_(None))
                .where(CollectReceipt.status.in_(("accepted", "partly accepted", "quarantined")))
                .order_by(CollectReceipt.id)
            ).scalars()
        )
        expected = named or _usual_senders(session, collection.source, current)
    by_sender: dict[str, SenderStatus] = {
        sender: SenderStatus(sender, sender_name, True) for sender, sender_name in expected.items()
    }
    corrected = {r.corrects for r in current if r.corrects is not None}
    for receipt in current:
        if receipt.corrects is not None:
            continue
        sender = receipt.sender or "unknown"
        entry = by_sender.setdefault(sender, SenderStatus(sender, receipt.sender_name, False))
        entry.sender_name = entry.sender_name or receipt.sender_name
        entry.receipt_id, entry.status, entry.received_at = receipt.id, receipt.status, receipt.received_at
        entry.records, entry.accepted = receipt.records, receipt.accepted
        entry.quarantined, entry.queried = receipt.quarantined, receipt.queried
        entry.rule_counts = dict(receipt.rule_counts)
        if receipt.id in corrected:
            entry.quarantined = 0  # resolved by a correction; what it still quarantines is added below
    for receipt in current:  # a correction adds to its sender's return what it accepted and still quarantines
        sent = by_sender.get(receipt.sender or "unknown") if receipt.corrects is not None else None
        if sent is not None:
            sent.accepted += receipt.accepted
            sent.queried += receipt.queried
            sent.quarantined += 0 if receipt.id in corrected else receipt.quarantined
            sent.status = "accepted" if sent.quarantined == 0 else sent.status
    senders = sorted(by_sender.values(), key=lambda s: (s.receipt_id is not None, s.sender))
    return CollectionStatus(collection.name, collection.title, collection.source, senders)


def _usual_senders(session: object, source: str, current: list[CollectReceipt]) -> dict[str, str | None]:
    """Senders of earlier returns of the same source (for the census: in the LAs present in this collection)."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    rows = session.execute(
        select(CollectReceipt.sender, CollectReceipt.sender_name).where(
            CollectReceipt.source == source,
            CollectReceipt.status.in_(("accepted", "partly accepted", "quarantined")),
            CollectReceipt.corrects.is_(None),
        )
    ).all()
    senders = {str(s): n for s, n in rows if s}
    if source == "census":
        las = {(r.sender or "")[:3] for r in current}
        senders = {s: n for s, n in senders.items() if s[:3] in las}
    return senders
