"""The collection pages and their JSON twins, against a home where a few small returns have been collected."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pupildata.collect import Summary
from pupildata.kernel.context import Context
from pupildata.kernel.engine import DuckDBEngine
from pupildata.settings import Settings
from pupildata.web import create_app, warehouse
from tests.web.collect_home import (
    CENSUS,
    FORMULA,
    MISSING_SCHOOL,
    SCRIPT,
    collected_home,
    page_text,
    receipt_of,
    sign_in,
    warehouse_held,
)


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Summary]:
    return collected_home(tmp_path_factory.mktemp("collected") / "home")


@pytest.fixture(scope="module")
def client(collected: tuple[Settings, Summary]) -> Iterator[TestClient]:
    with TestClient(create_app(collected[0]), raise_server_exceptions=False) as test_client:
        sign_in(test_client, collected[0], "stats", "statistician")
        yield test_client


@pytest.fixture(scope="module")
def summary(collected: tuple[Settings, Summary]) -> Summary:
    return collected[1]


def test_collections_list_shows_each_collection_with_counts_and_a_chart(client: TestClient) -> None:
    response = client.get("/collections")
    assert response.status_code == 200
    page = page_text(response)
    assert "Spring census 2009" in page
    assert f'href="/collections/{CENSUS}"' in response.text
    assert "2 of 3 sent" in page  # the chart: two of the three expected schools
    assert '<svg class="app-chart__svg"' in response.text
    assert 'role="img"' in response.text
    assert '<title id="sent-chart-title">' in response.text
    assert "<desc" in response.text
    assert "style=" not in response.text  # the CSP forbids inline styles


def test_home_page_links_to_the_collections(client: TestClient) -> None:
    assert 'href="/collections"' in client.get("/").text


def test_status_page_shows_who_has_sent_and_who_has_not(client: TestClient, summary: Summary) -> None:
    response = client.get(f"/collections/{CENSUS}")
    assert response.status_code == 200
    page = page_text(response)
    assert "Not sent (1)" in page
    assert MISSING_SCHOOL[1] in page
    assert MISSING_SCHOOL[0] in page
    assert "Sent with errors (1)" in page
    assert "Sent (1)" in page
    census = receipt_of(summary, "census_8742001.xml")
    assert f'href="/receipts/{census}"' in response.text
    assert "CEN-UPN-06" in page  # error counts per sender, and the most common problems


@pytest.mark.parametrize(("show", "present", "absent"), [("not-sent", "Absent Primary", "Receipt 1"),
                                                          ("errors", "Receipt 1", "Absent Primary")])  # fmt: skip
def test_status_page_filters_one_group(client: TestClient, show: str, present: str, absent: str) -> None:
    page = page_text(client.get(f"/collections/{CENSUS}?show={show}"))
    assert present in page
    assert absent not in page
    assert 'aria-current="page"' in page


def test_receipt_page_lists_failing_records_with_rule_codes(client: TestClient, summary: Summary) -> None:
    receipt_id = receipt_of(summary, "census_8742001.xml")
    response = client.get(f"/receipts/{receipt_id}")
    assert response.status_code == 200
    page = page_text(response)
    found = next(r for r in summary.receipts if r.receipt_id == receipt_id)
    assert found.sha256 in page
    assert "census_8742001.xml" in page
    for code in ("CEN-UPN-05", "CEN-UPN-06", "CEN-ETH-03"):
        assert code in page
    words = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Ann Green born 2003-01-01" in words  # who the record is, so that the school can find it
    assert "TOM BROWN born 2000-05-05" in words  # accepted with a query: as loaded
    assert "Download the report (CSV)" in page
    assert f'href="/receipts/{receipt_id}/report.csv"' in response.text


def test_receipt_page_offers_the_quarantined_records_for_correction(client: TestClient, summary: Summary) -> None:
    receipt_id = receipt_of(summary, "formula.csv")
    assert f'href="/receipts/{receipt_id}/quarantine.csv"' in client.get(f"/receipts/{receipt_id}").text
    response = client.get(f"/receipts/{receipt_id}/quarantine.csv")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(row["RespondentID"], row["quarantine_rules"]) for row in rows] == [("'" + FORMULA, "SUR-CAS-06")] * 2
    accepted = receipt_of(summary, "census_8744001.xml")
    assert "quarantine.csv" not in client.get(f"/receipts/{accepted}").text
    assert client.get(f"/receipts/{accepted}/quarantine.csv").status_code == 404


def test_receipt_page_opens_the_warehouse_once_and_only_when_it_reads_it(
    client: TestClient, summary: Summary, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receipt with quarantined records reads its report's rows and whether they can be corrected: one opening
    of the warehouse for both. A refused file's page reads nothing from it."""
    opened: list[Path] = []
    original = warehouse.DuckDBEngine

    def counting(path: Path, **kwargs: Any) -> DuckDBEngine:
        opened.append(path)
        return original(path, **kwargs)

    monkeypatch.setattr(warehouse, "DuckDBEngine", counting)
    receipt_id = receipt_of(summary, "formula.csv")
    page = page_text(client.get(f"/receipts/{receipt_id}"))
    assert "SUR-CAS-06" in page  # the report's rows
    assert f'href="/receipts/{receipt_id}/quarantine.csv" download' in page  # and that they can be corrected
    assert len(opened) == 1
    opened.clear()
    assert client.get(f"/receipts/{receipt_of(summary, 'empty.csv')}").status_code == 200
    assert opened == []


def test_refused_file_shows_its_reason(client: TestClient, summary: Summary) -> None:
    page = page_text(client.get(f"/receipts/{receipt_of(summary, 'empty.csv')}"))
    assert "FILE-EMPTY-01" in page
    assert "was refused" in page


def test_hostile_values_are_escaped_on_the_page(client: TestClient, summary: Summary) -> None:
    response = client.get(f"/receipts/{receipt_of(summary, 'script.csv')}")
    assert response.status_code == 200
    assert SCRIPT not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    formula = client.get(f"/receipts/{receipt_of(summary, 'formula.csv')}")
    assert "'" + FORMULA in page_text(formula)  # shown as the report has it: never runnable as a formula


def test_csv_report_escapes_formulas(client: TestClient, summary: Summary) -> None:
    response = client.get(f"/receipts/{receipt_of(summary, 'formula.csv')}/report.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["rule"] for row in rows] == ["SUR-CAS-06", "SUR-CAS-06"]
    assert all(row["value"] == "'" + FORMULA for row in rows)
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())


def test_viewing_a_report_is_audited(client: TestClient, collected: tuple[Settings, Summary]) -> None:
    settings, summary = collected
    receipt_id = receipt_of(summary, "ks2.csv")
    for path in (f"/receipts/{receipt_id}", f"/receipts/{receipt_id}/report.csv", f"/api/v1/receipts/{receipt_id}"):
        assert client.get(path).status_code == 200
    with Context(settings) as ctx:
        events = ctx.audit.events(object_id=str(receipt_id))
        assert ctx.audit.verify().ok
    views = [e for e in events if e.action == "collect.report.view"]
    assert len(views) == 3
    assert {e.actor for e in views} == {"portal:stats"}  # the signed-in person, by their username
    assert {e.object_type for e in views} == {"receipt"}
    assert all('"client"' in e.detail for e in views)


def test_json_twins(client: TestClient, summary: Summary) -> None:
    listing = client.get("/api/v1/collections").json()
    census = next(c for c in listing if c["name"] == CENSUS)
    assert (census["expected"], census["sent"], census["not_sent"], census["with_errors"]) == (3, 2, 1, 1)
    status = client.get(f"/api/v1/collections/{CENSUS}").json()
    groups = {s["sender"]: s["group"] for s in status["senders"]}
    assert groups[MISSING_SCHOOL[0]] == "not sent"
    assert sorted(groups.values()) == ["not sent", "sent", "sent with errors"]
    assert status["rule_counts"]["CEN-UPN-06"] == 2
    receipt_id = receipt_of(summary, "census_8742001.xml")
    first = client.get(f"/api/v1/receipts/{receipt_id}?per_page=2").json()
    assert first["receipt"]["status"] == "partly accepted"
    assert first["report"]["total"] == sum(first["rule_counts"].values())
    assert len(first["report"]["rows"]) == 2
    assert first["report"]["pages"] >= 2
    second = client.get(f"/api/v1/receipts/{receipt_id}?per_page=2&page=2").json()
    assert second["report"]["rows"] != first["report"]["rows"]
    who = first["report"]["rows"][0]
    assert (who["forename"], who["surname"], who["dob"]) == ("John", "Smith", "2001-03-04")
    assert {"code", "severity", "message"} <= set(client.get("/api/v1/collections/rules").json()[0])


def test_json_twins_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/collections", "/api/v1/collections/{name}", "/api/v1/receipts/{receipt_id}"):
        assert "get" in paths[path]


@pytest.mark.parametrize("path", ["/collections/no-such-collection", "/receipts/999", "/receipts/abc",
                                  "/receipts/1?page=99", "/receipts/1?page=0", "/receipts/999/report.csv"])  # fmt: skip
def test_unknown_names_and_numbers_are_a_friendly_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize("path", ["/api/v1/collections/no-such-collection", "/api/v1/receipts/999"])
def test_unknown_names_and_numbers_are_a_json_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["detail"].startswith("There is no")


def test_an_empty_home_has_no_collections(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    with TestClient(create_app(settings)) as empty:
        sign_in(empty, settings, "stats", "statistician")
        assert "No returns have been received yet" in empty.get("/collections").text
        assert empty.get("/api/v1/collections").json() == []


def test_a_busy_warehouse_gives_a_503_page_not_an_error(
    client: TestClient, collected: tuple[Settings, Summary]
) -> None:
    settings, summary = collected
    receipt_id = receipt_of(summary, "census_8742001.xml")
    with warehouse_held(settings):
        page = client.get(f"/receipts/{receipt_id}")
        assert page.status_code == 503
        assert "new returns are being loaded" in page.text
        assert "Traceback" not in page.text
        assert page.headers["retry-after"]
        api = client.get(f"/api/v1/receipts/{receipt_id}")
        assert api.status_code == 503
        assert "being loaded" in api.json()["detail"]
        assert client.get(f"/collections/{CENSUS}").status_code == 200  # the registry still answers


def test_the_portal_does_not_keep_the_warehouse_open(client: TestClient, collected: tuple[Settings, Summary]) -> None:
    settings, summary = collected
    assert client.get(f"/receipts/{receipt_of(summary, 'census_8742001.xml')}").status_code == 200
    with warehouse_held(settings):  # another process takes it for writing: the portal has closed it
        pass


def test_pagination_links_the_ends_and_the_neighbours_of_the_current_page() -> None:
    from pupildata.web.pagination import pagination

    assert pagination("/receipts/1", 1, 1) is None
    options = pagination("/receipts/1", 5, 9)
    assert options is not None
    numbers = [item.get("number", "…") for item in options["items"]]
    assert numbers == [1, "…", 4, 5, 6, "…", 9]
    assert options["previous"] == {"href": "/receipts/1?page=4"}
    assert options["next"] == {"href": "/receipts/1?page=6"}
    assert [item["number"] for item in options["items"] if item.get("current")] == [5]


def test_sent_shares_fill_each_bar() -> None:
    from pupildata.web.charts import Series, stacked_bars

    chart = stacked_bars("t", "d", (Series("Sent", "sent"), Series("Not sent", "not-sent")),
                         [("a", (1, 0)), ("b", (7, 3))], shares=True)  # fmt: skip
    widths = [sum(s.width for s in row.segments) for row in chart.rows]
    assert widths[0] == pytest.approx(widths[1], abs=0.2)
    assert [s.value for s in chart.rows[1].segments] == [7, 3]


def test_a_refusal_that_points_to_the_formats_guide_links_to_it(tmp_path: Path) -> None:
    """The file's own column names are shown escaped; the guide the sentence names is a link to it."""
    from pupildata.collect import Options, collect

    settings = Settings(home=tmp_path / "home")
    odd = tmp_path / "odd.csv"
    odd.write_text("Name,<b>Score</b>\nAnn,3\n", encoding="utf-8")
    with Context(settings) as ctx:
        (refused,) = collect(ctx, [odd], Options(), workers=0).receipts
    assert refused.rule_code == "CSV-HDR-01"
    with TestClient(create_app(settings)) as client:
        sign_in(client, settings, "sam", "statistician")
        page = client.get(f"/receipts/{refused.receipt_id}").text
    assert '<a class="govuk-link" href="/collections/formats">/collections/formats</a>' in page
    assert "&lt;b&gt;Score&lt;/b&gt;" in page
    assert "<b>Score</b>" not in page
