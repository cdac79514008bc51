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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    with Context(settings) as context:
        yield context


@pytest.fixture
def accounts(ctx: Context) -> Accounts:
    return Accounts(ctx.registry, ctx.keys)
