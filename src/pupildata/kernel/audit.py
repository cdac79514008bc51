"""The audit trail: append-only, hash-chained events in the registry.

Every access to a person's data by a person, and every decision about data, becomes an ``Event``. Events are
appended only after the action they record has committed (``record_after_commit``), in strict order: appending
locks the chain's head row. Each event's hash is an HMAC-SHA256, keyed by the home's ``audit-chain`` key, over
its contents and the previous event's hash, so editing, deleting, inserting or reordering any event breaks the
chain from that point — ``verify`` names the first bad event. The database also refuses updates and deletes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pupildata.kernel.pseudonyms import Key, KeyStore
from pupildata.kernel.registry import AuditEvent, AuditHead, Registry

GENESIS = "0" * 64
KEY_PURPOSE = "audit-chain"
_PENDING = "pupildata_pending_audit"


@dataclass(frozen=True)
class Event:
    """Who did what to which object, and why."""

    actor: str
    action: str
    object_type: str
    object_id: str
    reason: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


def _canonical(detail: Mapping[str, Any]) -> str:
    return json.dumps(dict(detail), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _chain_hash(key: Key, row: AuditEvent) -> str:
    payload = json.dumps(
        [
            row.seq,
            row.occurred_at,
            row.actor,
            row.action,
            row.object_type,
            row.object_id,
            row.reason,
            row.detail,
            row.prev_hash,
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return key.hexdigest(payload)


@dataclass(frozen=True)
class Verification:
    """The outcome of checking the whole chain."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"The audit trail is intact: {self.checked} events verified."
        return f"The audit trail has been tampered with: {self.problem}"


class AuditTrail:
    def __init__(self, registry: Registry, keys: KeyStore) -> None:
        self.registry = registry
        self._key = keys.key(KEY_PURPOSE)

    def append(self, event: Event) -> int:
        """Append one event in its own transaction; returns its sequence number."""
        with self.registry.session() as session:
            return self._append(session, event)

    def _append(self, session: Session, event: Event) -> int:
        # Taking the head row first serialises appenders (a row lock on PostgreSQL, the write lock on SQLite).
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1))
        head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
        row = AuditEvent(
            seq=head.seq,
            occurred_at=datetime.now(UTC).isoformat(timespec="microseconds"),
            actor=event.actor,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            reason=event.reason,
            detail=_canonical(event.detail),
            prev_hash=head.hash,
        )
        row.hash = _chain_hash(self._key, row)
        session.add(row)
        head.hash = row.hash
        session.flush()
        return row.seq

    def record_after_commit(self, session: Session, event: Event) -> None:
        """Append ``event`` once ``session`` commits, and not at all if it rolls back."""
        pending: list[Event] = session.info.setdefault(_PENDING, [])
        pending.append(event)
        if len(pending) == 1:
            sa_event.listen(session, "after_commit", self._flush_pending, once=True)
            sa_event.listen(session, "after_rollback", self._drop_pending, once=True)

    def _flush_pending(self, session: Session) -> None:
        for pending in session.info.pop(_PENDING, []):
            self.append(pending)

    @staticmethod
    def _drop_pending(session: Session) -> None:
        session.info.pop(_PENDING, None)

    def events(self, *, object_id: str | None = None, limit: int = 100) -> list[AuditEvent]:
        with self.registry.session() as session:
            query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
            if object_id is not None:
                query = query.where(AuditEvent.object_id == object_id)
            return list(session.execute(query).scalars())

    def search(
        self, *, actor: str = "", action: str = "", object_id: str = "", offset: int = 0, limit: int = 50
    ) -> tuple[list[AuditEvent], int, dict[str, int]]:
        """Events matching every filter given (exact values), newest first: one page of them, how many match in
        all, and how many of those each action has."""
        conditions = [
            column == value
            for column, value in (
                (AuditEvent.actor, actor),
                (AuditEvent.action, action),
                (AuditEvent.object_id, object_id),
            )
            if value
        ]
        with self.registry.session() as session:
            page = select(AuditEvent).where(*conditions).order_by(AuditEvent.seq.desc()).offset(offset).limit(limit)
            rows = list(session.execute(page).scalars())
            counted = select(AuditEvent.action, func.count()).where(*conditions).group_by(AuditEvent.action)
            actions = {str(name): int(n) for name, n in session.execute(counted).all()}
        return rows, sum(actions.values()), dict(sorted(actions.items(), key=lambda kv: (-kv[1], kv[0])))

    def _rows(self, session: Session) -> Iterator[AuditEvent]:
        query = select(AuditEvent).order_by(AuditEvent.seq, AuditEvent.id).execution_options(yield_per=1000)
        yield from session.execute(query).scalars()

    def verify(self) -> Verification:
        """Walk the whole chain; name the first event that is missing, out of place, forged or edited."""
        with self.registry.session() as session:
            prev, checked = GENESIS, 0
            for row in self._rows(session):
                problem = self._check(row, checked + 1, prev)
                if problem:
                    return Verification(False, checked, min(row.seq, checked + 1), problem)
                prev, checked = row.hash, checked + 1
            head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
            problem = self._check_head(head, checked, prev)
            if problem:
                return Verification(False, checked, checked + 1 if head and head.seq > checked else checked, problem)
            return Verification(True, checked)

    def _check(self, row: AuditEvent, expected: int, prev: str) -> str:
        if row.seq > expected:
            return f"event {expected} is missing (deleted); the next event present is {row.seq}."
        if row.seq < expected:
            return f"event {row.seq} appears twice (an event was inserted or copied)."
        if row.prev_hash != prev:
            return (
                f"event {row.seq} does not follow event {row.seq - 1}: an event before it was changed, inserted "
                "or reordered."
            )
        if _chain_hash(self._key, row) != row.hash:
            return f"event {row.seq} ({row.action} by {row.actor}) was edited or forged: its contents do not match."
        return ""

    @staticmethod
    def _check_head(head: AuditHead | None, checked: int, prev: str) -> str:
        if head is None:
            return "the head of the chain has been removed."
        if head.seq > checked:
            return (
                f"event {checked + 1} is missing (deleted): the chain records {head.seq} events but only {checked} "
                "are present."
            )
        if head.seq < checked or head.hash != prev:
            return f"event {checked} is not the event the chain recorded last (added or replaced)."
        return ""
