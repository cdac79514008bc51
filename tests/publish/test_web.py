"""The portal's statistics pages: a list, a page per release with an accessible chart, downloads, JSON twins."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pupildata.kernel.engine import DuckDBEngine
from pupildata.policy import Disclosure
from pupildata.publish.release import publish
from pupildata.publish.releases import RELEASES
from pupildata.settings import Settings
from pupildata.web import create_app

from .warehouse import make_warehouse


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    engine = DuckDBEngine()
    make_warehouse(engine, per_school_year=150)
    publish(engine, RELEASES["child-measurement"], 2008, Disclosure(solver_time_limit_seconds=60), settings.outputs_dir)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_the_list_links_to_each_release(client: TestClient) -> None:
    page = client.get("/releases")
    assert page.status_code == 200
    assert 'href="/releases/child-measurement/200809"' in page.text


def test_a_release_page_has_a_chart_with_a_text_alternative_and_downloads(client: TestClient) -> None:
    page = client.get("/releases/child-measurement/200809")
    assert page.status_code == 200
    assert 'role="img"' in page.text
    assert re.search(r"<title id=\"chart-title\">[^<]+</title>", page.text)
    assert '<th scope="row" class="govuk-table__header">England</th>' in page.text
    assert "style=" not in page.text.split("<svg", 1)[1].split("</svg>", 1)[0]
    release = client.get("/api/v1/releases/child-measurement/200809").json()
    if release["disclosure"]["counts"]["proven_optimal"]:  # the page says whether the fewest were withheld
        assert "The fewest further figures possible are withheld" in page.text
    else:
        assert "of the further figures withheld may be more than needed" in page.text
    link = re.search(r'href="(/releases/child-measurement/200809/files/ncmp_la\.csv)"', page.text)
    assert link
    data = client.get(link.group(1))
    assert data.status_code == 200
    assert data.text.startswith("time_period,time_identifier,geographic_level")


def test_only_listed_files_can_be_downloaded(client: TestClient) -> None:
    assert client.get("/releases/child-measurement/200809/files/release.json").status_code == 404
    assert client.get("/releases/child-measurement/200809/files/..%2F..%2Fsettings.toml").status_code == 404
    assert client.get("/releases/nothing/200809").status_code == 404


def test_json_twins(client: TestClient) -> None:
    listed = client.get("/api/v1/releases").json()
    assert [r["release"] for r in listed] == ["child-measurement"]
    one = client.get("/api/v1/releases/child-measurement/200809").json()
    assert one["disclosure"]["counts"]["audit"]["passed"] is True
    assert "ncmp_la.csv" in one["files"]


def test_paths_written_are_inside_the_home(client: TestClient) -> None:
    home = Path(client.app.state.settings.home)  # type: ignore[attr-defined]
    assert (home / "outputs" / "releases" / "child-measurement" / "200809" / "release.json").is_file()
