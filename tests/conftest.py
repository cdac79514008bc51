"""Shared fixtures: a fresh data home, and registries on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pupildata.kernel.context import Context
from pupildata.kernel.registry import Registry
from pupildata.settings import Settings

POSTGRES_URL = os.environ.get("PUPILDATA_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("PUPILDATA_REQUIRE_POSTGRES") == "1"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings(home=home)


@pytest.fixture
def context(settings: Settings) -> Iterator[Context]:
    with Context(settings) as ctx:
        yield ctx


def _postgres_database() -> Iterator[str]:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("PUPILDATA_TEST_POSTGRES_URL is not set, but the PostgreSQL tests are required")
        pytest.skip("no PostgreSQL server (make test starts one)")
    name = f"pupildata_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty registry database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def registry(registry_url: str) -> Iterator[Registry]:
    registry = Registry(registry_url)
    registry.upgrade()
    yield registry
    registry.dispose()
