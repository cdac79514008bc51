from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pupildata.kernel.context import Context
from pupildata.settings import Settings
from pupildata.web import create_app
from pupildata.web.accounts import Accounts
from tests.web.collect_home import sign_in


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """A new home; with the settings a test module names in ``SETTINGS`` (e.g. a smaller upload limit)."""
    return Settings(home=tmp_path / "home", **getattr(request.module, "SETTINGS", {}))


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI, settings: Settings, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """The portal; signed in as the account a test module names in ``SIGNED_IN`` (username, role, senders)."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        signed_in = getattr(request.module, "SIGNED_IN", None)
        if signed_in is not None:
            sign_in(test_client, settings, *signed_in)
        yield test_client


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    with Context(settings) as context:
        yield context


@pytest.fixture
def accounts(ctx: Context) -> Accounts:
    return Accounts(ctx.registry, ctx.keys)
