from __future__ import annotations

import html as html_lib
import logging
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI

from pupildata import __version__
from pupildata.settings import Settings
from pupildata.web import assets, create_app
from pupildata.web.areas import AREAS, AUDIENCES
from tests.web.conftest import TestClient

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("a", "link") and values.get("href"):
            self.hrefs.append(str(values["href"]))
        if tag == "script":
            self.scripts.append(values)


def _parse(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def assert_secure(response: object, *, cacheable: bool = False) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, name
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["permissions-policy"]
    assert headers["cache-control"] == ("no-cache" if cacheable else "no-store")


def test_home_page_says_what_the_service_is_and_for_whom(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<title>Home – Pupil data service – GOV.UK</title>" in html
    assert "Pupil data service" in html
    assert "govuk-phase-banner" in html
    # The page's parts sit in landmarks: header (with the phase banner), main and footer.
    header = html[html.index('<header class="govuk-template__header"') : html.index("</header>")]
    assert "govuk-phase-banner" in header
    assert '<main class="govuk-main-wrapper" id="main-content"' in html
    assert '<footer class="govuk-template__footer"' in html
    assert ">Alpha<" in html.replace("\n", "").replace(" ", "")
    for area in AREAS:
        assert area.name in html_lib.unescape(html)
    for audience in AUDIENCES:
        assert audience.name in html_lib.unescape(html)


def test_every_link_on_the_home_page_leads_somewhere(client: TestClient) -> None:
    links = _parse(client.get("/").text)
    local = [href for href in links.hrefs if href.startswith("/") and not href.startswith("//")]
    assert "/privacy" in local
    for href in local:
        assert client.get(href).status_code == 200, href


def test_inline_script_carries_the_nonce_of_its_response(client: TestClient) -> None:
    first, second = client.get("/"), client.get("/")
    nonces = []
    for response in (first, second):
        match = re.search(r"'nonce-([A-Za-z0-9_-]+)'", response.headers["content-security-policy"])
        assert match
        nonces.append(match.group(1))
        inline = [s for s in _parse(response.text).scripts if "src" not in s]
        assert [s.get("nonce") for s in inline] == [match.group(1)]
    assert nonces[0] != nonces[1]


def test_govuk_frontend_starts_from_a_module_file(client: TestClient) -> None:
    scripts = _parse(client.get("/").text).scripts
    assert {"type": "module", "src": "/static/app.js"} in scripts
    assert "initAll" in client.get("/static/app.js").text


@pytest.mark.parametrize(
    ("path", "status", "cacheable"),
    [
        ("/", 200, False),
        ("/privacy", 200, False),
        ("/healthz", 200, False),
        ("/api/v1/", 200, False),
        ("/api/v1/health", 200, False),
        ("/api/v1/openapi.json", 200, False),
        ("/api/v1/docs", 200, False),
        ("/no-such-page", 404, False),
        ("/api/v1/no-such-thing", 404, False),
        ("/static/app.css", 200, True),
        ("/static/no-such-file.css", 404, True),
    ],
)
def test_every_response_has_the_security_headers(client: TestClient, path: str, status: int, cacheable: bool) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert_secure(response, cacheable=cacheable)


def test_health_reports_version_and_checks(settings: Settings) -> None:
    app = create_app(settings, checks={"registry": lambda: True, "warehouse": lambda: True})
    with TestClient(app) as client:
        response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__, "checks": {"registry": "ok", "warehouse": "ok"}}


def test_health_with_no_checks_is_ok(client: TestClient) -> None:
    assert client.get("/api/v1/health").json() == {"status": "ok", "version": __version__, "checks": {}}


def _broken() -> bool:
    raise ConnectionError("registry unreachable")


def test_a_failing_check_makes_the_service_degraded(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings, checks={"registry": _broken, "warehouse": lambda: False, "archive": lambda: True})
    with TestClient(app) as client, caplog.at_level(logging.WARNING, "pupildata.web"):
        response = client.get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"] == {"registry": "failed", "warehouse": "failed", "archive": "ok"}
    assert_secure(response)
    assert "registry" in caplog.text


def test_healthz_is_plain_text_and_does_not_run_checks(settings: Settings) -> None:
    app = create_app(settings, checks={"registry": _broken})
    with TestClient(app) as client:
        response = client.get("/healthz")
        head = client.head("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.strip() == "ok"
    assert head.status_code == 200


def test_page_not_found_is_a_govuk_page(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    assert "govuk-template" in response.text


def test_api_not_found_is_json(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": 404, "detail": "There is no API resource at /api/v1/no-such-thing."}


def test_wrong_method_on_the_api_is_json(client: TestClient) -> None:
    response = client.post("/api/v1/health")
    assert response.status_code == 405
    assert response.json()["status"] == 405


@pytest.fixture
def failing_client(app: FastAPI) -> TestClient:
    async def boom() -> None:
        raise RuntimeError("secret internal detail: pupil 123")

    app.add_api_route("/test-boom", boom)
    app.add_api_route("/api/v1/test-boom", boom)
    return TestClient(app, raise_server_exceptions=False)


def test_server_error_page_shows_no_traceback(failing_client: TestClient) -> None:
    response = failing_client.get("/test-boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Sorry, there is a problem with the service" in response.text
    for leak in ("Traceback", "RuntimeError", "secret internal detail", "boom"):
        assert leak not in response.text
    assert_secure(response)
    assert "'nonce-" in response.headers["content-security-policy"]


def test_server_error_on_the_api_is_json_without_details(failing_client: TestClient) -> None:
    response = failing_client.get("/api/v1/test-boom")
    assert response.status_code == 500
    assert response.json()["status"] == 500
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert_secure(response)


def test_openapi_lists_the_api_and_not_the_pages(client: TestClient) -> None:
    openapi = client.get("/api/v1/openapi.json").json()
    assert openapi["info"]["version"] == __version__
    paths = openapi["paths"]
    assert "/api/v1/health" in paths
    assert "/api/v1/" in paths
    assert "503" in paths["/api/v1/health"]["get"]["responses"]
    assert "/" not in paths
    assert "/privacy" not in paths


def test_framework_docs_are_not_served_at_the_root(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_api_reference_page_lists_the_endpoints(client: TestClient) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert "/api/v1/health" in response.text
    assert "Service health" in response.text
    assert "<script src" not in response.text  # no third-party scripts


def test_api_index_is_the_json_twin_of_the_home_page(client: TestClient) -> None:
    body = client.get("/api/v1/").json()
    assert body["service"] == "Pupil data service"
    assert [area["slug"] for area in body["areas"]] == [area.slug for area in AREAS]
    assert body["links"]["openapi"] == "/api/v1/openapi.json"
    for link in body["links"].values():
        assert client.get(link).status_code == 200


def test_the_guides_open_to_anyone_are_linked_from_the_home_page_and_open_without_signing_in(
    client: TestClient,
) -> None:
    """A school secretary who has not signed in finds what to send, and the rules it is checked against."""
    home = client.get("/").text
    guides = [g for area in client.get("/api/v1/").json()["areas"] for g in area["guides"]]
    assert {g["href"] for g in guides} >= {"/collections/formats", "/collections/rules"}
    for guide in guides:
        assert f'href="{guide["href"]}"' in home
        assert client.get(guide["href"], follow_redirects=False).status_code == 200


def test_govuk_fonts_are_served_where_the_stylesheet_looks(client: TestClient) -> None:
    if assets.missing_assets():
        pytest.skip("GOV.UK Frontend assets are not built")
    css = client.get("/static/govuk/govuk-frontend.min.css")
    assert css.status_code == 200
    urls = set(re.findall(r"url\((/assets/[^)]+)\)", css.text))
    assert any(url.endswith(".woff2") for url in urls)
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_app_starts_without_built_assets(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "app.css").write_text("/* ours */\n", encoding="utf-8")
    monkeypatch.setattr(assets, "STATIC_DIR", static)
    with caplog.at_level(logging.WARNING, "pupildata.web"):
        app = create_app(settings)
    assert "GOV.UK Frontend assets are not built" in caplog.text
    assert "npm ci" in caplog.text
    with TestClient(app) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "govuk-frontend.min.css" not in home.text
        assert "/static/app.js" not in home.text
        assert client.get("/assets/fonts/bold.woff2").status_code == 404
