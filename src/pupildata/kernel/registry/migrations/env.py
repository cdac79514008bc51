"""Alembic environment: migrations run on the connection the Registry hands over."""

from __future__ import annotations

from alembic import context

from pupildata.kernel.registry.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the registry always passes its connection
    raise RuntimeError("run migrations through pupildata.kernel.registry.Registry.upgrade")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
