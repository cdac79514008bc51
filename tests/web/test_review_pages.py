"""Clerical review of matching in the portal: the queue, a pair side by side (audited), and a decision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from pupildata.kernel.context import Context
from pupildata.link import review
from pupildata.settings import Settings
from pupildata.web import create_app
from tests.web.collect_home import sign_in
from tests.web.review_home import LEFT, OTHER, RIGHT, review_home


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    return review_home(tmp_path / "home")


@pytest.fixture
def client(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home), raise_server_exceptions=False) as test_client:
        sign_in(test_client, home, "reviewer", "statistician")
        yield test_client


def _pair_id(settings: Settings, right: str) -> int:
    with Context(settings) as ctx:
        return next(p.id for p in review.open_pairs(ctx.registry) if p.right_key == right)


def test_the_queue_lists_open_pairs_most_likely_first(client: TestClient, home: Settings) -> None:
    page = client.get("/matching/review")
    assert page.status_code == 200
    assert "2 pairs are waiting" in page.text
    first, second = _pair_id(home, RIGHT), _pair_id(home, OTHER)
    assert page.text.index(f"/matching/review/{first}") < page.text.index(f"/matching/review/{second}")
    assert "83%" in page.text


def test_a_pair_side_by_side_is_audited(client: TestClient, home: Settings) -> None:
    pair = _pair_id(home, RIGHT)
    page = client.get(f"/matching/review/{pair}")
    assert page.status_code == 200
    assert "khan" in page.text
    assert "kahn" in page.text
    assert page.text.count("govuk-tag--green") == 5  # first name, date of birth, sex, UPN, authority
    assert page.text.count("govuk-tag--red") == 1  # surname (return, year and school are not compared)
    with Context(home) as ctx:
        (event,) = [e for e in ctx.audit.events(object_id=str(pair)) if e.action == "link.review.view"]
    assert event.actor == "portal:reviewer"
    assert LEFT in event.detail


def test_a_decision_is_kept_and_the_pair_leaves_the_queue(client: TestClient, home: Settings) -> None:
    pair = _pair_id(home, RIGHT)
    response = client.post(f"/matching/review/{pair}", data={"decision": "same"}, follow_redirects=False)
    assert response.status_code == 303
    queue = client.get(response.headers["location"])
    assert f"Pair {pair} recorded as the same child" in queue.text
    assert "1 pair is waiting" in queue.text
    with Context(home) as ctx:
        assert (LEFT, RIGHT, "same") in review.decisions(ctx.registry)
        decided = [e for e in ctx.audit.events(object_id=str(pair)) if e.action == "link.review.decide"]
    assert [e.actor for e in decided] == ["portal:reviewer"]
    assert client.get(f"/matching/review/{pair}").status_code == 404  # decided: not offered again


def test_bad_decisions_are_refused(client: TestClient, home: Settings) -> None:
    pair = _pair_id(home, OTHER)
    assert client.post(f"/matching/review/{pair}", data={"decision": "maybe"}).status_code == 400
    evil = client.post(
        f"/matching/review/{pair}", data={"decision": "same"}, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    assert client.post("/matching/review/9999", data={"decision": "same"}).status_code == 404
    with Context(home) as ctx:
        assert review.open_count(ctx.registry) == 2


def test_a_busy_warehouse_is_a_503_page(client: TestClient, home: Settings) -> None:
    pair = _pair_id(home, RIGHT)
    with duckdb.connect(str(home.warehouse)):  # a writer holds the file
        response = client.get(f"/matching/review/{pair}")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"


@pytest.mark.parametrize(
    ("probability", "shown"), [(0.83, "83%"), (0.9996, "99.96%"), (0.00004, "0.00%"), (1.0, "100%"), (0.0, "0%")]
)
def test_probabilities_for_people(probability: float, shown: str) -> None:
    from pupildata.web.routers.link import percent

    assert percent(probability) == shown


def test_the_json_twins(client: TestClient, home: Settings) -> None:
    queue = client.get("/api/v1/matching/review").json()
    assert [(p["left_key"], p["right_key"]) for p in queue] == [(LEFT, RIGHT), (LEFT, OTHER)]
    pair = queue[0]["pair_id"]
    body = client.get(f"/api/v1/matching/review/{pair}").json()
    fields = {f["field"]: f for f in body["fields"]}
    assert (fields["sn"]["left"], fields["sn"]["right"], fields["sn"]["agree"]) == ("khan", "kahn", False)
    assert fields["school"]["agree"] is None
    assert body["missing"] is False
    with Context(home) as ctx:
        assert any(e.action == "link.review.view" for e in ctx.audit.events(object_id=str(pair)))
    assert client.post(f"/api/v1/matching/review/{pair}", json={"decision": "maybe"}).status_code == 422
    decided = client.post(f"/api/v1/matching/review/{pair}", json={"decision": "different"})
    assert decided.status_code == 200
    with Context(home) as ctx:
        assert (LEFT, RIGHT, "different") in review.decisions(ctx.registry)
    assert client.get(f"/api/v1/matching/review/{pair}").status_code == 404


def test_only_statisticians_review(home: Settings) -> None:
    with TestClient(create_app(home), raise_server_exceptions=False) as other:
        assert other.get("/api/v1/matching/review").status_code == 401
        sign_in(other, home, "dpo", "data-protection-officer")
        assert other.get("/matching/review").status_code == 403
        assert other.post("/api/v1/matching/review/1", json={"decision": "same"}).status_code == 403
    with Context(home) as ctx:
        assert review.open_count(ctx.registry) == 2
