"""The audit trail detects an edited, deleted, inserted or reordered event — on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pupildata.kernel.audit import AuditTrail, Event
from pupildata.kernel.pseudonyms import KeyStore
from pupildata.kernel.registry import AuditEvent, Registry


@pytest.fixture
def trail(registry: Registry, tmp_path: Path) -> AuditTrail:
    trail = AuditTrail(registry, KeyStore(tmp_path / "keys"))
    for number in range(1, 7):
        trail.append(Event("user:alice", "view", "pupil", f"P{number}", reason="casework", detail={"n": number}))
    return trail


def _drop_guard(registry: Registry) -> None:
    """What an intruder with the database owner's rights would do first."""
    with registry.engine.begin() as connection:
        if registry.dialect == "sqlite":
            connection.execute(text("DROP TRIGGER audit_event_no_update"))
            connection.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:
            connection.execute(text("DROP TRIGGER audit_event_no_change ON audit_event"))


def _sql(registry: Registry, statement: str, **params: object) -> None:
    with registry.engine.begin() as connection:
        connection.execute(text(statement), params)


def test_intact_chain_verifies(trail: AuditTrail) -> None:
    result = trail.verify()
    assert result.ok, result.problem
    assert result.checked == 6
    assert "6 events verified" in result.describe()


def test_the_database_refuses_to_change_or_delete_events(trail: AuditTrail) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        _sql(trail.registry, "UPDATE audit_event SET reason = 'nothing' WHERE seq = 2")
    with pytest.raises(DBAPIError, match="append-only"):
        _sql(trail.registry, "DELETE FROM audit_event WHERE seq = 2")
    assert trail.verify().ok


def test_edited_event_is_named(trail: AuditTrail) -> None:
    _drop_guard(trail.registry)
    _sql(trail.registry, "UPDATE audit_event SET object_id = 'P999' WHERE seq = 3")
    result = trail.verify()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "event 3" in result.problem
    assert "edited" in result.problem


def test_deleted_event_is_named(trail: AuditTrail) -> None:
    _drop_guard(trail.registry)
    _sql(trail.registry, "DELETE FROM audit_event WHERE seq = 4")
    result = trail.verify()
    assert not result.ok
    assert result.first_bad_seq == 4
    assert "event 4 is missing" in result.problem


def test_deleted_last_event_is_named(trail: AuditTrail) -> None:
    _drop_guard(trail.registry)
    _sql(trail.registry, "DELETE FROM audit_event WHERE seq = 6")
    result = trail.verify()
    assert not result.ok
    assert result.first_bad_seq == 6
    assert "event 6 is missing" in result.problem


def test_inserted_event_is_named(trail: AuditTrail) -> None:
    _drop_guard(trail.registry)
    # Make room after event 2 and slip a forged event in, chained to event 2 as a careful forger would.
    _sql(trail.registry, "UPDATE audit_event SET seq = seq + 100 WHERE seq > 2")
    _sql(trail.registry, "UPDATE audit_event SET seq = seq - 99 WHERE seq > 100")
    with trail.registry.session() as session:
        second = session.query(AuditEvent).filter_by(seq=2).one()
        forged = AuditEvent(
            seq=3,
            occurred_at=second.occurred_at,
            actor="user:mallory",
            action="view",
            object_type="pupil",
            object_id="P1",
            reason="",
            detail="{}",
            prev_hash=second.hash,
            hash="f" * 64,
        )
        session.add(forged)
    result = trail.verify()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "user:mallory" in result.problem


def test_appended_copy_of_an_event_is_named(trail: AuditTrail) -> None:
    _sql(
        trail.registry,
        "INSERT INTO audit_event (seq, occurred_at, actor, action, object_type, object_id, reason, detail, "
        "prev_hash, hash) SELECT 7, occurred_at, actor, action, object_type, object_id, reason, detail, prev_hash, "
        "hash FROM audit_event WHERE seq = 6",
    )
    result = trail.verify()
    assert not result.ok
    assert result.first_bad_seq == 7


def test_reordered_events_are_named(trail: AuditTrail) -> None:
    _drop_guard(trail.registry)
    _sql(trail.registry, "UPDATE audit_event SET seq = -1 WHERE seq = 4")
    _sql(trail.registry, "UPDATE audit_event SET seq = 4 WHERE seq = 5")
    _sql(trail.registry, "UPDATE audit_event SET seq = 5 WHERE seq = -1")
    result = trail.verify()
    assert not result.ok
    assert result.first_bad_seq == 4


def test_events_wait_for_the_commit_they_record(registry: Registry, tmp_path: Path) -> None:
    trail = AuditTrail(registry, KeyStore(tmp_path / "keys"))
    with pytest.raises(RuntimeError), registry.session() as session:
        trail.record_after_commit(session, Event("user:bob", "search", "pupil", "P1"))
        raise RuntimeError("the search failed")
    assert trail.events() == []
    with registry.session() as session:
        trail.record_after_commit(session, Event("user:bob", "search", "pupil", "P2", detail={"results": 1}))
        trail.record_after_commit(session, Event("user:bob", "view", "pupil", "P2"))
        assert trail.events() == []  # nothing is written before the commit
    events = trail.events()
    assert [(e.seq, e.action, e.object_id) for e in events] == [(2, "view", "P2"), (1, "search", "P2")]
    assert trail.verify().ok


def test_a_different_key_cannot_verify_the_chain(trail: AuditTrail, tmp_path: Path) -> None:
    other = AuditTrail(trail.registry, KeyStore(tmp_path / "other-keys"))
    result = other.verify()
    assert not result.ok
    assert result.first_bad_seq == 1
