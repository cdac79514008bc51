"""The registry's schema comes from its migrations, identically on SQLite and PostgreSQL; runs are recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from pupildata.kernel.registry import HEAD, Base, Registry
from pupildata.kernel.runs import Runs


def test_migrations_build_exactly_the_models(registry: Registry) -> None:
    with registry.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert set(inspect(registry.engine).get_table_names()) >= {"audit_event", "audit_head", "run", "alembic_version"}


def test_upgrade_twice_is_harmless(registry: Registry) -> None:
    registry.upgrade()
    with registry.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is not None


def test_head_is_the_newest_migration(registry: Registry) -> None:
    """An up-to-date registry skips running the migrations: only if ``HEAD`` is truly their newest."""
    assert ScriptDirectory.from_config(registry.alembic_config()).get_current_head() == HEAD
    assert registry.revision() == HEAD


def test_a_registry_behind_is_brought_up_to_date(registry: Registry) -> None:
    config = registry.alembic_config()
    with registry.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    assert registry.revision() == "0003"
    registry.upgrade()
    assert registry.revision() == HEAD
    assert "portal_user" in inspect(registry.engine).get_table_names()


def test_labels_and_last_use_of_tokens_keep_the_sessions_there_were(registry: Registry) -> None:
    """Upgrading a registry at 0006 (before API tokens had labels) keeps its sessions and tokens, unlabelled."""
    config = registry.alembic_config()
    with registry.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    assert "label" not in {c["name"] for c in inspect(registry.engine).get_columns("portal_session")}
    now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    with registry.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO portal_user (username, display_name, role, scope, failed_sign_ins, created_at) "
                "VALUES ('kept', 'Kept', 'statistician', '[]', 0, :now)"
            ),
            {"now": now},
        )
        user_id = connection.execute(text("SELECT id FROM portal_user WHERE username = 'kept'")).scalar_one()
        for token_hash, kind in (("a" * 64, "browser"), ("b" * 64, "api")):
            connection.execute(
                text(
                    "INSERT INTO portal_session (token_hash, user_id, kind, created_at, expires_at) "
                    "VALUES (:token_hash, :user_id, :kind, :now, :later)"
                ),
                {
                    "token_hash": token_hash,
                    "user_id": user_id,
                    "kind": kind,
                    "now": now,
                    "later": now + timedelta(days=1),
                },
            )
    registry.upgrade()
    assert registry.revision() == HEAD
    with registry.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT token_hash, kind, label, last_used_at FROM portal_session ORDER BY token_hash")
        ).all()
    assert [tuple(row) for row in rows] == [("a" * 64, "browser", None, None), ("b" * 64, "api", None, None)]


def test_a_run_records_inputs_outputs_counts_and_timing(registry: Registry) -> None:
    runs = Runs(registry)
    with runs.record("collect", inputs=[{"file": "a.xml", "sha256": "ab"}], parameters={"source": "census"}) as run:
        assert runs.get(run.id).status == "running"  # type: ignore[union-attr]
        run.count("accepted", 10)
        run.add("quarantined")
        run.add("quarantined")
        run.output("table", "census_pupil")
    stored = runs.get(run.id)
    assert stored is not None
    assert stored.status == "succeeded"
    assert stored.inputs == [{"file": "a.xml", "sha256": "ab"}]
    assert stored.parameters == {"source": "census"}
    assert stored.counts == {"accepted": 10, "quarantined": 2}
    assert stored.outputs == [{"kind": "table", "ref": "census_pupil"}]
    assert stored.finished_at is not None
    assert stored.duration_seconds is not None
    assert stored.duration_seconds >= 0
    assert stored.actor.startswith("cli:")


def test_a_failed_run_keeps_its_error(registry: Registry) -> None:
    runs = Runs(registry)
    with pytest.raises(ValueError, match="bad file"), runs.record("collect") as run:
        run.count("accepted", 3)
        raise ValueError("bad file")
    stored = runs.get(run.id)
    assert stored is not None
    assert stored.status == "failed"
    assert stored.error == "bad file"
    assert stored.counts == {"accepted": 3}
    assert [r.id for r in runs.recent("collect")] == [run.id]
    assert runs.recent("publish") == []
