"""The portal in a real browser: GOV.UK styles and fonts load, the strict CSP holds, and axe finds no serious
accessibility problems.

Needs Debian's Chromium (``apt-get install chromium``), ``npm ci`` and ``python scripts/build_assets.py``.
Without them the tests are skipped, or fail when ``PUPILDATA_REQUIRE_BROWSER=1`` is set.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
import uvicorn

from pupildata.collect import Options, collect
from pupildata.collect.corrections import export_csv
from pupildata.kernel.context import Context
from pupildata.settings import Settings
from pupildata.web import assets, create_app
from pupildata.web.accounts import LINK, Accounts
from pupildata.web.auth import COOKIE
from tests.web.collect_home import CENSUS, FIXTURES, collected_home
from tests.web.review_home import review_home

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("PUPILDATA_CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PAGES = ("/", "/privacy", "/api/v1/docs", "/no-such-page", "/sign-in", "/collections/formats")
USERNAME = "sam"
DPO = "dana"
PASSWORD = "correct horse battery"

# Collects Content Security Policy violations; init scripts run outside the page's CSP.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def _missing_requirements() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if not AXE.exists():
        missing.append("node_modules/axe-core (npm ci)")
    if assets.missing_assets():
        missing.append("the built GOV.UK Frontend assets (python scripts/build_assets.py)")
    return missing


def _submit(page: Any, button: str) -> None:
    """Press a form's button and wait for the page it leads to."""
    page.click(button)
    page.wait_for_load_state("networkidle")


@pytest.fixture(scope="module")
def requirements() -> None:
    if missing := _missing_requirements():
        message = "Browser tests need " + "; ".join(missing)
        if os.environ.get("PUPILDATA_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


def _serve(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free local port in a thread for the length of the module; yields its address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("The portal did not start for the browser tests")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def base_url(requirements: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _serve(create_app(Settings(home=tmp_path_factory.mktemp("home"))))


@pytest.fixture(scope="module")
def collected_settings(requirements: None, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home where a few returns, hostile ones among them, have been collected, with a statistician's account."""
    settings, _ = collected_home(tmp_path_factory.mktemp("collected") / "home")
    review_home(settings.home)  # and two pairs of records waiting for review (numbered 1 and 2)
    with Context(settings) as ctx:
        Accounts(ctx.registry).add(USERNAME, "Sam Statistician", "statistician", password=PASSWORD)
        Accounts(ctx.registry).add(DPO, "Dana Officer", "data-protection-officer")
    return settings


@pytest.fixture(scope="module")
def collected_url(collected_settings: Settings) -> Iterator[str]:
    """The portal of that home."""
    yield from _serve(create_app(collected_settings))


@pytest.fixture(scope="module")
def signed_in(browser: Any, collected_url: str) -> dict[str, Any]:
    """A browser that signed in through the sign-in form: asking for a page sends it to sign in, and back."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(collected_url + "/collections", wait_until="networkidle")
        assert page.url.startswith(collected_url + "/sign-in?next=")
        page.fill("#username", USERNAME)
        page.fill("#password", "not the password")
        _submit(page, "form button[type=submit]")
        assert "The username or password is not right" in page.inner_text(".govuk-error-summary")
        page.fill("#password", PASSWORD)
        _submit(page, "form button[type=submit]")
        assert page.url == collected_url + "/collections"
        assert "Sam Statistician" in page.inner_text(".app-account")
        state: dict[str, Any] = context.storage_state()
    finally:
        context.close()
    cookie = next(c for c in state["cookies"] if c["name"] == COOKIE)
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    return state


@pytest.fixture(scope="module")
def officer(browser: Any, collected_url: str, collected_settings: Settings) -> dict[str, Any]:
    """A browser signed in as the Data Protection Officer, whose role must use two-factor sign-in: with a one-time
    link, sent to set up an authenticator app (its code computed here), then signed out and in again with a new
    link and a code."""
    with Context(collected_settings) as ctx:
        accounts = Accounts(ctx.registry)
        first, second = (accounts.start(accounts.get(DPO), LINK) for _ in range(2))
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        page.goto(f"{collected_url}/sign-in/link/{first}", wait_until="networkidle")
        _submit(page, "main form button[type=submit]")
        assert page.url == collected_url + "/account/two-factor"  # before anything else
        assert "Your role must use two-factor sign-in" in page.inner_text("main")
        assert page.locator(".app-qr-code svg[role=img]").count() == 1  # the QR code
        authenticator = pyotp.TOTP((page.text_content("#setup-key") or "").replace(" ", ""))
        page.fill("#code", "000000" if authenticator.now() != "000000" else "111111")
        _submit(page, "main form button[type=submit]")
        assert "The code is not right, or has expired" in page.inner_text(".govuk-error-summary")
        page.fill("#code", authenticator.now())
        _submit(page, "main form button[type=submit]")
        assert "Two-factor sign-in is on" in page.inner_text(".govuk-notification-banner")
        assert page.evaluate("window.__cspViolations") == []
        _submit(page, ".app-account button[type=submit]")  # sign out
        page.goto(f"{collected_url}/sign-in/link/{second}", wait_until="networkidle")
        _submit(page, "main form button[type=submit]")
        assert page.url == collected_url + "/sign-in/code"
        assert page.get_attribute("#code", "autocomplete") == "one-time-code"
        assert page.evaluate("window.__cspViolations") == []
        page.fill("#code", authenticator.at(time.time() + 30))  # the next step's: the first code is used up
        _submit(page, "main form button[type=submit]")
        assert page.url == collected_url + "/"
        assert "Dana Officer" in page.inner_text(".app-account")
        state: dict[str, Any] = context.storage_state()
    finally:
        context.close()
    assert COOKIE in {c["name"] for c in state["cookies"]}
    return state


def test_audit_pages_are_clean_under_the_csp_and_accessible(
    browser: Any, collected_url: str, officer: dict[str, Any]
) -> None:
    for path in ("/audit", "/audit?action=collect.report.view", "/audit/verify", "/account/two-factor"):
        _assert_clean(browser, collected_url + path, officer)


@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    responses: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    font_family: str = ""
    body_classes: str = ""


def visit(browser: Any, url: str, screenshot: Path | None = None, state: dict[str, Any] | None = None) -> Visit:
    """Load a page under the real CSP and record what the browser fetched and complained about."""
    record = Visit()
    context = browser.new_context(storage_state=state)
    try:
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        page.on("response", lambda r: record.responses.__setitem__(r.url, r.status))
        page.on("requestfailed", lambda r: record.failed.append(r.url))
        page.on("console", lambda m: record.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: record.console_errors.append(str(e)))
        page.goto(url, wait_until="networkidle")
        page.evaluate("document.fonts.ready.then(() => true)")
        page.wait_for_load_state("networkidle")
        record.csp_violations = page.evaluate("window.__cspViolations")
        record.font_family = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
        record.body_classes = page.evaluate("document.body.className")
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    return record


def test_home_page_loads_govuk_styles_and_fonts(browser: Any, base_url: str, tmp_path: Path) -> None:
    record = visit(browser, base_url + "/", screenshot=tmp_path / "home.png")
    assert record.responses[base_url + "/"] == 200
    assert record.responses[base_url + "/static/govuk/govuk-frontend.min.css"] == 200
    assert record.responses[base_url + "/static/govuk/govuk-frontend.min.js"] == 200
    fonts = {url: status for url, status in record.responses.items() if "/assets/fonts/" in url}
    assert fonts, "no GOV.UK font was requested"
    assert all(status == 200 for status in fonts.values()), fonts
    assert "GDS Transport" in record.font_family
    assert not record.failed
    bad = {url: status for url, status in record.responses.items() if status >= 400}
    assert not bad
    assert (tmp_path / "home.png").stat().st_size > 0


@pytest.mark.parametrize("path", PAGES)
def test_strict_csp_holds_and_console_is_clean(browser: Any, base_url: str, path: str) -> None:
    record = visit(browser, base_url + path)
    assert record.csp_violations == []
    errors = [e for e in record.console_errors if not (path == "/no-such-page" and "404" in e)]
    assert errors == []
    # The nonce let the template's inline script run, and GOV.UK Frontend JS is supported.
    assert "js-enabled" in record.body_classes.split()
    assert "govuk-frontend-supported" in record.body_classes.split()


@pytest.mark.parametrize("path", PAGES)
def test_no_serious_accessibility_problems(browser: Any, base_url: str, path: str) -> None:
    # axe is injected as an inline script, which the portal's CSP rightly blocks: this context bypasses it.
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(base_url + path, wait_until="networkidle")
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate(
            """async () => (await axe.run(document)).violations.map(
                 (v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' '))}))"""
        )
    finally:
        context.close()
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


@contextmanager
def _signed_in(browser: Any, url: str, username: str) -> Iterator[tuple[Any, Any]]:
    """A browser context signed in to the portal at ``url`` as ``username`` with ``PASSWORD``, and its page, which
    records any breach of the CSP (``window.__cspViolations``); closed afterwards."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        page.goto(url + "/sign-in", wait_until="networkidle")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        _submit(page, "main form button[type=submit]")
        yield context, page
    finally:
        context.close()


def _assert_clean(browser: Any, url: str, state: dict[str, Any], screenshot: Path | None = None) -> Visit:
    """The page at ``url`` answers 200, with nothing the CSP blocked, no console error and no serious or critical
    accessibility fault (axe); its visit, for more checks."""
    record = visit(browser, url, screenshot=screenshot, state=state)
    assert record.responses[url] == 200, url
    assert record.csp_violations == [], url
    assert record.console_errors == [], url
    serious = [v for v in _axe_violations(browser, url, state) if v["impact"] in ("serious", "critical")]
    assert serious == [], (url, serious)
    return record


def _axe_violations(browser: Any, url: str, state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    # axe is injected as an inline script, which the portal's CSP rightly blocks: this context bypasses it.
    context = browser.new_context(bypass_csp=True, storage_state=state)
    try:
        page = context.new_page()
        page.goto(url, wait_until="networkidle")
        page.add_script_tag(path=str(AXE))
        violations: list[dict[str, Any]] = page.evaluate(
            """async () => (await axe.run(document)).violations.map(
                 (v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' '))}))"""
        )
    finally:
        context.close()
    return violations


COLLECT_PAGES = (
    "/collections", f"/collections/{CENSUS}", "/receipts/1", "/receipts/1?page=1", "/collections/rules", "/returns",
    "/matching/review", "/matching/review/1", "/account/two-factor",
)  # fmt: skip


def test_collection_pages_are_clean_under_the_csp_and_accessible(
    browser: Any, collected_url: str, signed_in: dict[str, Any], tmp_path: Path
) -> None:
    for path in COLLECT_PAGES:
        record = _assert_clean(browser, collected_url + path, signed_in, screenshot=tmp_path / "page.png")
        assert "GDS Transport" in record.font_family
        bad = {url: status for url, status in record.responses.items() if status >= 400}
        assert not bad, path


def test_the_officer_adds_an_account_and_hands_over_its_link(
    browser: Any, collected_url: str, officer: dict[str, Any]
) -> None:
    """The Data Protection Officer adds a school's account from the accounts pages (a refused username first), sees
    its one-time sign-in link, and the link signs the school in."""
    context = browser.new_context(storage_state=officer)
    try:
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        page.goto(collected_url + "/accounts", wait_until="networkidle")
        assert "Dana Officer" in page.inner_text("#accounts")
        _submit(page, "main a.govuk-button")  # Add an account
        assert page.url == collected_url + "/accounts/new"
        page.fill("#username", "Head Teacher")
        page.check("input[name=role][value=sender]")
        page.fill("#senders", "8742001")
        _submit(page, "main form button[type=submit]")
        assert "'Head Teacher' is not a usable username" in page.inner_text(".govuk-error-summary")
        assert page.input_value("#senders") == "8742001"  # what was typed is kept
        page.fill("#username", "head.teacher")
        page.fill("#name", "Head Teacher")
        _submit(page, "main form button[type=submit]")
        assert "Account added" in page.inner_text(".govuk-panel")
        link = page.inner_text("#sign-in-link")
        assert link.startswith(collected_url + "/sign-in/link/")
        assert "8742001" in page.inner_text(".govuk-summary-list")
        assert page.evaluate("window.__cspViolations") == []
    finally:
        context.close()
    holder = browser.new_context()
    try:
        page = holder.new_page()
        page.goto(link, wait_until="networkidle")
        _submit(page, "main form button[type=submit]")
        assert "Head Teacher" in page.inner_text(".app-account")
    finally:
        holder.close()
    for path in ("/accounts", "/accounts/new", "/accounts/1"):
        _assert_clean(browser, collected_url + path, officer)


def test_a_statistician_changes_their_password_and_makes_and_revokes_a_token(
    browser: Any, collected_url: str, collected_settings: Settings
) -> None:
    """From the account bar: a wrong current password refused, then changed; a token made (shown once, with how to
    send it), listed by its label and revoked. Each page holds under the CSP and is accessible."""
    with Context(collected_settings) as ctx:
        Accounts(ctx.registry).add("kit", "Kit Statistician", "statistician", password=PASSWORD)
    new = "a new and longer password"
    with _signed_in(browser, collected_url, "kit") as (context, page):
        _submit(page, ".app-account a[href='/account']")
        _submit(page, "main a[href='/account/password']")
        page.fill("#current", "not my password")
        page.fill("#new", new)
        page.fill("#confirm", new)
        _submit(page, "main form button[type=submit]")
        assert "Your current password is not right" in page.inner_text(".govuk-error-summary")
        assert page.input_value("#new") == ""  # never put back into the form
        page.fill("#current", PASSWORD)
        page.fill("#new", new)
        page.fill("#confirm", new)
        _submit(page, "main form button[type=submit]")
        assert "Your password has been changed" in page.inner_text(".govuk-notification-banner")
        _submit(page, ".app-account a[href='/account']")
        _submit(page, "main a[href='/account/tokens']")
        page.fill("#label", "nightly export")
        page.fill("#days", "30")
        _submit(page, "main form button[type=submit]")
        secret = page.inner_text("#api-token")
        assert f"Authorization: Bearer {secret}" in page.inner_text("main")
        _submit(page, "main a.govuk-button")  # I have copied the token
        assert page.url == collected_url + "/account/tokens"
        assert "nightly export" in page.inner_text("main table")
        assert secret not in page.content()
        assert page.evaluate("window.__cspViolations") == []
        state: dict[str, Any] = context.storage_state()
        for path in ("/account", "/account/password", "/account/tokens"):
            _assert_clean(browser, collected_url + path, state)
        _submit(page, "main table form button[type=submit]")  # revoke
        assert "The token was revoked" in page.inner_text(".govuk-notification-banner")
        assert "You have no API token that still works" in page.inner_text("main")
        assert page.evaluate("window.__cspViolations") == []
    with Context(collected_settings) as ctx:
        assert Accounts(ctx.registry).sign_in("kit", new).username == "kit"


def test_a_school_sends_its_return_and_lands_on_its_receipt(
    browser: Any, collected_url: str, collected_settings: Settings, tmp_path: Path
) -> None:
    """From "Your returns": the send page (no file chosen first: one sentence), then a census file chosen with the
    file input and sent; the browser lands on its receipt, with a banner saying what became of it. The send page
    holds under the CSP and is accessible."""
    with Context(collected_settings) as ctx:
        Accounts(ctx.registry).add("head", "Fixture Primary", "sender", ["8742001"], password=PASSWORD)
    corrected = tmp_path / "census_8742001_corrected.xml"
    text = (FIXTURES / "census_8742001.xml").read_text(encoding="utf-8")
    corrected.write_text(text.replace("XXXX", "WBRI"), encoding="utf-8")  # a new file: loaded, not a repeat
    with _signed_in(browser, collected_url, "head") as (context, page):
        page.goto(collected_url + "/returns", wait_until="networkidle")
        _submit(page, "main a.govuk-button")  # Send a return
        assert page.url == collected_url + "/returns/send"
        _submit(page, "main form button[type=submit]")
        assert "Select a file to send." in page.inner_text(".govuk-error-summary")
        page.set_input_files("input[type=file][name=file]", str(corrected))
        _submit(page, "main form button[type=submit]")
        assert page.url.startswith(collected_url + "/receipts/")
        assert page.url.endswith("?sent=1")
        assert "records were accepted" in page.inner_text(".govuk-notification-banner")
        assert corrected.name in page.inner_text("h1")
        assert page.evaluate("window.__cspViolations") == []
        state: dict[str, Any] = context.storage_state()
    _assert_clean(browser, collected_url + "/returns/send", state)
    _assert_clean(browser, collected_url + "/returns", state)


def test_a_school_sends_its_corrections_from_the_receipt_page(browser: Any, requirements: None, tmp_path: Path) -> None:
    """From a receipt with quarantined records: "Send corrections", the corrected quarantine file chosen with the
    file input and sent; the browser lands on the new receipt, whose banner says how many records joined the
    return. The corrections page holds under the CSP and is accessible, with its form and without it."""
    settings = Settings(home=tmp_path / "home")
    with Context(settings) as ctx:
        (original,) = collect(ctx, [FIXTURES / "census_8742001.xml"], Options(), workers=0).receipts
        text, _ = export_csv(ctx.warehouse, original.receipt_id, settings.archive_dir)
        Accounts(ctx.registry).add("office", "School Office", "sender", ["8742001"], password=PASSWORD)
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        row["Ethnicity"] = "WBRI" if row["Surname"] == "Green" else row["Ethnicity"]
    fixed = tmp_path / "corrected.csv"
    with fixed.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    served = _serve(create_app(settings))
    url = next(served)
    with _signed_in(browser, url, "office") as (context, page):
        page.goto(f"{url}/receipts/{original.receipt_id}", wait_until="networkidle")
        _submit(page, f"main a.govuk-button[href='/receipts/{original.receipt_id}/corrections']")
        assert page.url == f"{url}/receipts/{original.receipt_id}/corrections"
        page.set_input_files("input[type=file][name=file]", str(fixed))
        _submit(page, "main form button[type=submit]")
        assert page.url.startswith(url + "/receipts/")
        assert page.url.endswith("?sent=1")
        new = int(page.url.rsplit("/", 1)[1].split("?")[0])
        assert new != original.receipt_id
        banner = page.inner_text(".govuk-notification-banner")
        assert "1 record was corrected and joined the return, and 4 are still quarantined" in banner
        assert page.evaluate("window.__cspViolations") == []
        state: dict[str, Any] = context.storage_state()
    try:
        _assert_clean(browser, f"{url}/receipts/{new}/corrections", state)  # the form
        _assert_clean(browser, f"{url}/receipts/{original.receipt_id}/corrections", state)  # already corrected
        _assert_clean(browser, f"{url}/receipts/{new}?sent=1", state)
    finally:
        served.close()


def test_a_file_over_the_limit_gets_the_send_page_with_one_sentence_not_a_dropped_connection(
    browser: Any, requirements: None, tmp_path: Path
) -> None:
    """A file larger than the portal accepts, chosen and sent: the browser, still sending when the portal has
    stopped keeping it, gets the send page back with the one sentence that says so, and nothing is kept."""
    settings = Settings(home=tmp_path / "home", portal_max_upload_mb=1)
    with Context(settings) as ctx:
        Accounts(ctx.registry).add("office", "School Office", "sender", ["8742001"], password=PASSWORD)
    large = tmp_path / "census_8742001.xml"
    large.write_bytes(b"<SchoolCensus>" + b" " * (24 << 20) + b"</SchoolCensus>")
    served = _serve(create_app(settings))
    url = next(served)
    try:
        with _signed_in(browser, url, "office") as (_, page):
            page.goto(url + "/returns/send", wait_until="networkidle")
            page.set_input_files("input[type=file][name=file]", str(large))
            _submit(page, "main form button[type=submit]")
            assert page.url == url + "/returns/send"
            summary = page.inner_text(".govuk-error-summary")
            assert "larger than 1 MB, the largest file the portal accepts" in summary
    finally:
        served.close()
    assert not [p for p in settings.incoming_dir.rglob("*") if p.is_file()]
