"""The audit trail in the portal: the Data Protection Officer's view of every event, and the chain's check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from pupildata.kernel.audit import Event
from pupildata.kernel.context import Context
from pupildata.settings import Settings
from pupildata.web import create_app
from tests.web.collect_home import sign_in


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home")
    with Context(settings) as ctx:
        for n in range(60):
            ctx.audit.append(Event("portal:sam", "collect.report.view", "receipt", str(n % 3), "validation report"))
        ctx.audit.append(Event("cli:ops", "publish", "release", "attainment/2009", "Statistics"))
    return settings


@pytest.fixture
def client(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home), raise_server_exceptions=False) as test_client:
        sign_in(test_client, home, "dpo", "data-protection-officer")
        yield test_client


def test_events_newest_first_with_filters_pages_and_a_chart(client: TestClient) -> None:
    page = client.get("/audit")
    assert page.status_code == 200
    assert "61 events found" in page.text  # this view itself is recorded after the search
    assert page.text.index("attainment/2009") < page.text.index("collect.report.view</a>")
    assert '<svg class="app-chart__svg"' in page.text
    sam = client.get("/audit", params={"actor": "portal:sam", "object_id": "1"})
    assert "20 events found" in sam.text
    assert "attainment/2009" not in sam.text
    second = client.get("/audit", params={"actor": "portal:sam", "page": "2"})
    assert second.status_code == 200
    assert 'href="/audit?actor=portal%3Asam&amp;page=1"' in second.text
    assert client.get("/audit", params={"page": "9"}).status_code == 404


def test_reading_the_trail_is_on_the_record(client: TestClient, home: Settings) -> None:
    client.get("/audit", params={"action": "publish"})
    with Context(home) as ctx:
        (view,) = [e for e in ctx.audit.events(object_id="events") if e.action == "audit.view"]
    assert view.actor == "portal:dpo"
    assert '"action":"publish"' in view.detail


def test_the_chain_check_finds_an_edited_event(client: TestClient, home: Settings) -> None:
    assert "The audit trail is intact" in client.get("/audit/verify").text
    assert client.get("/api/v1/audit/verify").json()["intact"] is True
    with Context(home) as ctx, ctx.registry.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
        connection.execute(text("UPDATE audit_event SET actor = 'portal:someone-else' WHERE seq = 5"))
    page = client.get("/audit/verify")
    assert "The audit trail has been tampered with" in page.text
    assert "event 5" in page.text
    body = client.get("/api/v1/audit/verify").json()
    assert (body["intact"], body["first_bad"]) == (False, 5)


def test_the_json_twin(client: TestClient) -> None:
    body = client.get("/api/v1/audit/events", params={"action": "publish"}).json()
    assert body["total"] == 1
    assert body["events"][0]["detail"] == {}
    assert body["actions"] == {"publish": 1}


def test_only_the_data_protection_officer(home: Settings) -> None:
    with TestClient(create_app(home), raise_server_exceptions=False) as other:
        sign_in(other, home, "stats", "statistician")
        assert other.get("/audit").status_code == 403
        assert other.get("/api/v1/audit/events").status_code == 403
