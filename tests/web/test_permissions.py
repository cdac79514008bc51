"""Who may see what: every route for every role, a sender's scope, signing in and out, links and API tokens."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from pupildata.collect import Summary
from pupildata.errors import UsageError
from pupildata.kernel.context import Context
from pupildata.settings import Settings
from pupildata.web import create_app
from pupildata.web.accounts import API, BROWSER, LINK, MAX_FAILURES, Accounts, SignInRefused, User
from pupildata.web.app import ROUTERS
from pupildata.web.auth import COOKIE, local_path, permission_of
from pupildata.web.permissions import MANAGE_ACCOUNTS, OWN_ACCOUNT, OWN_TOKENS, PUBLIC, ROLES, SEND_RETURNS
from tests.web.collect_home import CENSUS, collected_home, receipt_of, sign_in

PASSWORD = "correct horse battery"
SCHOOL_A, SCHOOL_B = "census_8742001.xml", "census_8744001.xml"


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Summary]:
    return collected_home(tmp_path_factory.mktemp("permissions") / "home")


@pytest.fixture(scope="module")
def app(collected: tuple[Settings, Summary]) -> FastAPI:
    return create_app(collected[0])


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _accounts(settings: Settings) -> Accounts:
    return Accounts(Context(settings).registry)


def _permission(route: APIRoute) -> list[str]:
    return [p for d in route.dependant.dependencies if (p := permission_of(d.call)) is not None]  # type: ignore[arg-type]


def _routes(app: FastAPI) -> list[APIRoute]:
    """Every route the portal serves: those of the routers ``create_app`` includes (FastAPI keeps an included
    router's routes behind an entry of its own in ``app.routes``). Signing out comes last, as it ends the session."""
    routes = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    assert len(routes) > 30  # the walk walks something
    return sorted(routes, key=lambda route: route.path == "/sign-out")


def test_every_route_declares_exactly_one_permission(app: FastAPI) -> None:
    for route in _routes(app):
        assert len(_permission(route)) == 1, route.path


def test_the_walk_takes_in_ones_own_password_and_tokens(app: FastAPI) -> None:
    """The self-service pages are walked with the permission each declares: one's password is every role's (as
    two-factor sign-in is), API tokens only the roles holding ``tokens:own``; revoking another's is the officer's."""
    declared = {(route.path, method): _permission(route)[0] for route in _routes(app) for method in route.methods}
    assert declared[("/account/password", "GET")] == declared[("/account/password", "POST")] == OWN_ACCOUNT
    for path, method in (("/account/tokens", "GET"), ("/account/tokens", "POST"), ("/account/tokens/revoke", "POST")):
        assert declared[(path, method)] == OWN_TOKENS, path
    assert declared[("/accounts/{account_id}/tokens-revoke", "POST")] == MANAGE_ACCOUNTS
    assert all(OWN_ACCOUNT in role.permissions for role in ROLES.values())
    assert {name for name, role in ROLES.items() if OWN_TOKENS not in role.permissions} == {
        "data-protection-officer", "sender",
    }  # fmt: skip


def test_the_walk_takes_in_sending_a_return(app: FastAPI) -> None:
    """Sending a return, in the portal or the API, is walked with ``returns:send``, which only senders hold: staff
    load files with the command line (least privilege)."""
    declared = {(route.path, method): _permission(route)[0] for route in _routes(app) for method in route.methods}
    for path, method in (("/returns/send", "GET"), ("/returns/send", "POST"), ("/api/v1/returns", "POST")):
        assert declared[(path, method)] == SEND_RETURNS, path
    assert {name for name, role in ROLES.items() if SEND_RETURNS in role.permissions} == {"sender"}


def _url(route: APIRoute, summary: Summary) -> str:
    receipt = str(receipt_of(summary, SCHOOL_A))
    values = {
        "receipt_id": receipt,
        "pair_id": "1",
        "name": CENSUS,
        "period": "2008-09",
        "file": "x.csv",
        "token": "not-a-token",
        "account_id": "999999",  # no such account: the walk changes no one's
    }
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m[1]], route.path)


def _refusal(response: Any) -> str | None:
    """How ``needs`` refused the request, if it did: sign in first, set up two-factor sign-in first, or no access.

    A route's own answers (a wrong password's 401, signing out's redirect) are not refusals."""
    location = response.headers.get("location", "")
    if response.status_code == 303 and location.startswith("/sign-in?next="):
        return "sign in"
    if response.status_code == 401 and response.headers.get("www-authenticate") == "Bearer":
        return "sign in"
    if response.status_code == 303 and location.startswith("/account/two-factor"):
        return "two-factor"
    if response.status_code == 403 and "Set up two-factor sign-in first" in response.text:
        return "two-factor"
    if response.status_code == 403 and "does not give you access" in response.text:
        return "no access"
    return None


def _ask(client: TestClient, route: APIRoute, url: str) -> Any:
    method = sorted(route.methods - {"HEAD"})[0]
    return client.request(method, url, follow_redirects=False)


@pytest.mark.parametrize("role", [None, *ROLES])
def test_every_route_for_every_role(app: FastAPI, collected: tuple[Settings, Summary], role: str | None) -> None:
    """A page or API answer is given exactly to the roles holding the route's permission."""
    settings, summary = collected
    with TestClient(app, raise_server_exceptions=False) as client:
        if role is not None:
            sign_in(client, settings, f"walker-{role}", role, ["la:874"] if role == "sender" else None)
        for route in _routes(app):
            (permission,) = _permission(route)
            response = _ask(client, route, _url(route, summary))
            allowed = permission == PUBLIC or (role is not None and permission in ROLES[role].permissions)
            expected = None if allowed else "sign in" if role is None else "no access"
            assert _refusal(response) == expected, (role, route.path, response.status_code)
            if expected == "sign in":
                assert response.status_code == (401 if route.path.startswith("/api/") else 303), route.path
            assert response.status_code < 500, (role, route.path, response.status_code)


@pytest.mark.parametrize("role", ["chief-statistician", "data-protection-officer"])
def test_a_role_that_must_use_two_factors_sets_them_up_before_anything_else(
    app: FastAPI, collected: tuple[Settings, Summary], role: str
) -> None:
    """Signed in without two-factor sign-in, such an account may read public pages, set up two-factor sign-in and
    sign out; every other route sends it to set up two-factor sign-in (the API, asked from the browser: 403)."""
    settings, summary = collected
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, settings, f"unenrolled-{role}", role, two_factor=False)
        page = client.get("/collections?show=x", follow_redirects=False)
        assert page.headers["location"] == "/account/two-factor?next=%2Fcollections%3Fshow%3Dx"
        for route in _routes(app):
            (permission,) = _permission(route)
            response = _ask(client, route, _url(route, summary))
            expected = None if permission in (PUBLIC, OWN_ACCOUNT) else "two-factor"
            assert _refusal(response) == expected, (route.path, response.status_code)


def test_a_sender_sees_only_its_own_returns(client: TestClient, collected: tuple[Settings, Summary]) -> None:
    settings, summary = collected
    mine, theirs = receipt_of(summary, SCHOOL_A), receipt_of(summary, SCHOOL_B)
    sign_in(client, settings, "school-a", "sender", ["8742001"])
    assert client.get(f"/receipts/{mine}").status_code == 200
    assert client.get(f"/receipts/{mine}/report.csv").status_code == 200
    assert client.get(f"/api/v1/receipts/{mine}").status_code == 200
    for url in (f"/receipts/{theirs}", f"/receipts/{theirs}/report.csv", f"/api/v1/receipts/{theirs}"):
        assert client.get(url).status_code == 404, url  # not even told that it exists
    assert client.get("/collections").status_code == 403


def test_an_authority_sees_its_schools_returns(client: TestClient, collected: tuple[Settings, Summary]) -> None:
    settings, summary = collected
    sign_in(client, settings, "authority-874", "sender", ["la:874"])
    for name in (SCHOOL_A, SCHOOL_B):
        assert client.get(f"/receipts/{receipt_of(summary, name)}").status_code == 200
    survey = next(r.receipt_id for r in summary.receipts if r.source == "survey")
    assert client.get(f"/receipts/{survey}").status_code == 404


@given(sender=st.from_regex(r"\d{7}", fullmatch=True), la=st.from_regex(r"\d{3}", fullmatch=True))
def test_an_authority_scope_is_its_schools_numbers(sender: str, la: str) -> None:
    user = User(1, "la", "LA", "sender", (f"la:{la}",))
    assert user.may_see_sender(sender) == sender.startswith(la)
    assert not user.may_see_sender(f"{la}{sender}")  # not a school's number
    assert not user.may_see_sender(None)
    assert User(2, "s", "S", "statistician", ()).may_see_sender(sender)


def _form(client: TestClient, password: str, username: str = "pat", next_: str = "/collections") -> Any:
    data = {"username": username, "password": password, "next": next_}
    return client.post("/sign-in", data=data, follow_redirects=False)


def test_signing_in_and_out(client: TestClient, collected: tuple[Settings, Summary]) -> None:
    settings, _ = collected
    _accounts(settings).add("pat", "Pat Jones", "statistician", password=PASSWORD)
    assert client.get("/collections", follow_redirects=False).headers["location"] == "/sign-in?next=%2Fcollections"
    refused = _form(client, "wrong password!")
    assert refused.status_code == 401
    assert "The username or password is not right" in refused.text
    unknown = _form(client, PASSWORD, username="nobody")
    assert unknown.text.count("The username or password is not right") == refused.text.count(
        "The username or password is not right"
    )  # the same words whether or not the username exists
    response = _form(client, PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/collections"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie.replace("Strict", "strict")
    page = client.get("/collections")
    assert page.status_code == 200
    assert "Pat Jones" in page.text
    first = client.cookies[COOKIE]
    assert _form(client, PASSWORD).status_code == 303  # signing in again ends the earlier session
    client.cookies.clear()
    client.cookies.set(COOKIE, first)
    assert client.get("/collections", follow_redirects=False).status_code == 303
    client.cookies.clear()
    assert _form(client, PASSWORD).status_code == 303
    session = client.cookies[COOKIE]
    assert client.post("/sign-out", follow_redirects=False).status_code == 303
    client.cookies.set(COOKIE, session)  # the old cookie signs no one in any more
    assert client.get("/collections", follow_redirects=False).status_code == 303
    with Context(settings) as ctx:
        actions = [(e.actor, e.action) for e in ctx.audit.events(object_id="pat")]
    assert ("portal:anonymous", "sign in refused") in actions
    assert ("portal:pat", "sign in") in actions
    assert ("portal:pat", "sign out") in actions


def test_wrong_passwords_lock_the_account(collected: tuple[Settings, Summary]) -> None:
    accounts = _accounts(collected[0])
    accounts.add("lee", "Lee", "statistician", password=PASSWORD)
    now = datetime.now(UTC)
    for _ in range(MAX_FAILURES):
        with pytest.raises(SignInRefused):
            accounts.sign_in("lee", "not it at all", now)
    with pytest.raises(SignInRefused, match="locked"):
        accounts.sign_in("lee", PASSWORD, now)
    assert accounts.sign_in("lee", PASSWORD, now + timedelta(minutes=16)).username == "lee"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "\\\\evil", "collections", ""])
def test_sign_in_goes_back_only_to_this_portal(target: str) -> None:
    assert local_path(target) == "/"


def test_sign_in_from_another_site_is_refused(client: TestClient, collected: tuple[Settings, Summary]) -> None:
    _accounts(collected[0]).add("kim", "Kim", "statistician", password=PASSWORD)
    data = {"username": "kim", "password": PASSWORD, "next": "/"}
    response = client.post("/sign-in", data=data, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert response.status_code == 403
    assert COOKIE not in response.headers.get("set-cookie", "")


def test_a_sign_in_link_works_once(client: TestClient, collected: tuple[Settings, Summary]) -> None:
    accounts = _accounts(collected[0])
    user = accounts.add("new-starter", "New Starter", "data-protection-officer")
    token = accounts.start(user, LINK)
    assert client.get(f"/sign-in/link/{token}").status_code == 200  # opening the link uses nothing up
    assert client.get(f"/sign-in/link/{token}").status_code == 200
    used = client.post("/sign-in/link", data={"token": token}, follow_redirects=False)
    assert used.status_code == 303
    assert used.headers["location"] == "/account/two-factor"  # the role must set up two-factor sign-in first
    assert client.get("/account/two-factor").status_code == 200
    client.cookies.clear()
    again = client.post("/sign-in/link", data={"token": token}, follow_redirects=False)
    assert again.status_code == 401
    assert "does not work" in again.text


def test_api_tokens(client: TestClient, collected: tuple[Settings, Summary]) -> None:
    settings, summary = collected
    accounts = _accounts(settings)
    user = accounts.add("robot", "Loader", "statistician")
    token = accounts.start(user, API)
    url = f"/api/v1/receipts/{receipt_of(summary, SCHOOL_A)}"
    assert client.get(url).status_code == 401
    assert client.get(url).headers["www-authenticate"] == "Bearer"
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get(url, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    browser = accounts.start(user, BROWSER)
    assert client.get(url, headers={"Authorization": f"Bearer {browser}"}).status_code == 401  # kinds don't mix
    old = accounts.start(user, API, now=datetime.now(UTC) - timedelta(days=91))
    assert client.get(url, headers={"Authorization": f"Bearer {old}"}).status_code == 401  # expired
    accounts.disable("robot")
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_only_hashes_of_secrets_are_kept(collected: tuple[Settings, Summary]) -> None:
    settings, _ = collected
    accounts = _accounts(settings)
    user = accounts.add("hashes", "Hashes", "statistician", password=PASSWORD)
    token = accounts.start(user, BROWSER)
    dump = Path(settings.home / "registry.sqlite").read_bytes()
    assert token.encode() not in dump
    assert PASSWORD.encode() not in dump


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Bad Name", "Bad", "statistician"), "not a usable username"),
        (("ok-name", "Ok", "wizard"), "no role called 'wizard'"),
        (("school", "School", "sender"), "needs at least one --sender"),
        (("stat2", "Stat", "statistician", ["8742001"]), "takes no --sender"),
        (("la", "LA", "sender", ["la:87"]), "is not a local authority"),
    ],
)
def test_bad_accounts_are_one_clear_sentence(
    collected: tuple[Settings, Summary], args: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        _accounts(collected[0]).add(*args)


def test_short_passwords_are_refused(collected: tuple[Settings, Summary]) -> None:
    with pytest.raises(UsageError, match="at least 12 characters"):
        _accounts(collected[0]).add("shorty", "Shorty", "statistician", password="short")


def test_your_returns_lists_only_the_accounts_own(client: TestClient, collected: tuple[Settings, Summary]) -> None:
    settings, summary = collected
    sign_in(client, settings, "school-b", "sender", ["8744001"])
    page = client.get("/returns")
    assert page.status_code == 200
    assert f'href="/receipts/{receipt_of(summary, SCHOOL_B)}"' in page.text
    assert f'href="/receipts/{receipt_of(summary, SCHOOL_A)}"' not in page.text
    assert 'href="/returns"' in page.text  # linked from the account bar
    assert "The files received from Fixture Academy & Sixth Form (8744001)," in html.unescape(page.text)
    sign_in(client, settings, "authority-874b", "sender", ["la:874"])
    both = client.get("/returns").text
    assert "The files received from the schools of local authority 874," in both
    words = " ".join(re.sub(r"<[^>]+>", " ", both).split())
    assert "Spring census 2009" in words  # the collection by its title
    assert "8 5 quarantined" in words  # census_8742001.xml: its records, and how many were held back
    assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4} (\d{1,2}(:\d\d)?[ap]m|midday|midnight)", words)  # when it came
    assert all(f'href="/receipts/{receipt_of(summary, name)}"' in both for name in (SCHOOL_A, SCHOOL_B))
    survey = next(r.receipt_id for r in summary.receipts if r.source == "survey")
    assert f'href="/receipts/{survey}"' not in both
    sign_in(client, settings, "stats-all", "statistician")
    assert f'href="/receipts/{survey}"' in client.get("/returns").text


def test_your_returns_json_twin(client: TestClient, collected: tuple[Settings, Summary]) -> None:
    settings, summary = collected
    sign_in(client, settings, "school-a-api", "sender", ["8742001"])
    listed = client.get("/api/v1/returns").json()
    assert [r["receipt_id"] for r in listed] == [receipt_of(summary, SCHOOL_A)]


def _area_links(page: str) -> dict[str, str | None]:
    """Each area heading of the home page and where its name leads (None: not a link)."""
    found = re.findall(
        r'<h3 class="govuk-heading-m" id="area-([\w-]+)">\s*(?:<a class="govuk-link" href="([^"]+)">)?', page
    )
    return {slug: href or None for slug, href in found}


def test_the_home_page_leads_each_person_where_their_account_goes(
    client: TestClient, collected: tuple[Settings, Summary]
) -> None:
    """No one signed in is led to a page that refuses them: a school to its own returns, not every collection."""
    settings, _ = collected
    assert _area_links(client.get("/").text)["collections"] == "/collections"  # not signed in: asked to sign in
    sign_in(client, settings, "home-school", "sender", ["8744001"])
    school = _area_links(client.get("/").text)
    assert school["collections"] == "/returns"
    assert school["matching"] is None
    assert school["audit"] is None
    assert school["statistics"] == "/releases"  # open to anyone
    assert client.get("/returns").status_code == 200
    for refused in ("/collections", "/matching/review", "/audit"):  # the permissions the areas declare are the routes'
        assert client.get(refused).status_code == 403
    sign_in(client, settings, "home-stats", "statistician")
    staff = _area_links(client.get("/").text)
    assert (staff["collections"], staff["matching"], staff["audit"]) == ("/collections", "/matching/review", None)
    sign_in(client, settings, "home-dpo", "data-protection-officer")
    assert _area_links(client.get("/").text)["audit"] == "/audit"
