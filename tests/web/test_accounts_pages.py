"""The accounts pages and their JSON twins: only the Data Protection Officer manages accounts; every change is
audited with the officer as actor; an officer cannot disable or demote their own account."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from pupildata.kernel.context import Context
from pupildata.settings import Settings
from pupildata.web.accounts import BROWSER, Accounts, User
from pupildata.web.auth import COOKIE
from pupildata.web.permissions import MANAGE_ACCOUNTS, ROLES
from tests.web.collect_home import sign_in

OFFICER = "dana"
LINK = re.compile(r'id="sign-in-link">(http://testserver/sign-in/link/([\w-]+))</code>')


@pytest.fixture
def officer(client: TestClient, settings: Settings) -> User:
    """``client`` signed in as a Data Protection Officer (with two-factor sign-in on, as the role must)."""
    return sign_in(client, settings, OFFICER, "data-protection-officer")


def _post(client: TestClient, url: str, **data: str) -> Response:
    return client.post(url, data=data, follow_redirects=False)


def _events(ctx: Context, username: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(actor, action, detail) of the events about ``username``, oldest first (read afresh)."""
    with Context(ctx.settings) as other:
        found = other.audit.events(object_id=username)
    return [(e.actor, e.action, json.loads(e.detail)) for e in reversed(found)]


def _error(response: Response) -> str:
    """The error summary's one message."""
    match = re.search(r'govuk-error-summary__list">\s*<li>\s*<a href="#[\w-]+">([^<]+)</a>', response.text)
    assert match, response.text[:2000]
    return match[1].replace("&#39;", "'")


def test_only_the_data_protection_officer_holds_the_permission() -> None:
    assert [name for name, role in ROLES.items() if MANAGE_ACCOUNTS in role.permissions] == ["data-protection-officer"]


@pytest.mark.parametrize("role", ["statistician", "chief-statistician", "sender"])
def test_other_roles_are_refused(client: TestClient, settings: Settings, role: str) -> None:
    sign_in(client, settings, f"someone-{role}", role, ["8742001"] if role == "sender" else None)
    for url in ("/accounts", "/accounts/new", "/accounts/1", "/api/v1/accounts", "/api/v1/accounts/1"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 403, url
    assert _post(client, "/accounts/1/disable").status_code == 403
    assert client.patch("/api/v1/accounts/1", json={"disabled": True}).status_code == 403
    assert 'href="/accounts"' not in client.get("/account/two-factor").text  # no link in the account bar


def test_the_list_shows_every_account(client: TestClient, officer: User, accounts: Accounts) -> None:
    accounts.add("school", "Head Teacher", "sender", ["8742001", "la:875"])
    accounts.disable("school")
    page = client.get("/accounts")
    assert page.status_code == 200
    assert 'href="/accounts"' in page.text  # the account bar links here
    rows = re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', page.text, flags=re.DOTALL)
    school = next(row for row in rows if ">school</a>" in row)
    assert "8742001, la:875" in school
    assert "Disabled" in school
    assert "Never" in school  # never signed in
    mine = next(row for row in rows if f">{OFFICER}</a>" in row)
    assert "Active" in mine
    assert re.search(r"\d{4}, (\d{1,2}(:\d\d)?[ap]m|midday|midnight)", mine)  # signed in just now, in UK time
    assert re.search(r">\s*On\s*</td>", mine)  # two-factor sign-in
    listed = {a["username"]: a for a in client.get("/api/v1/accounts").json()}
    assert listed["school"]["status"] == "disabled"
    assert listed["school"]["senders"] == ["8742001", "la:875"]
    assert listed["school"]["last_sign_in_at"] is None
    assert listed[OFFICER]["two_factor"] is True
    assert listed[OFFICER]["last_sign_in_at"] is not None


def test_adding_an_account_shows_its_link_once_and_is_audited(
    client: TestClient, settings: Settings, officer: User, ctx: Context
) -> None:
    form = {"username": "sam", "name": "Sam Jones", "role": "sender", "senders": "8742001\n la:875 \n8742001"}
    created = _post(client, "/accounts/new", **form)
    assert created.status_code == 200
    assert "Account added" in created.text
    link, token = LINK.findall(created.text)[0]
    account = Accounts(ctx.registry).get("sam")
    assert account.scope == ("8742001", "la:875")  # trimmed, each once
    assert account.display_name == "Sam Jones"
    assert token not in client.get(f"/accounts/{account.id}").text  # shown only as the answer to the form
    events = _events(ctx, "sam")
    assert [(actor, action) for actor, action, _ in events] == [
        (f"portal:{OFFICER}", "account created"),
        (f"portal:{OFFICER}", "sign-in link made"),
    ]
    assert events[0][2]["role"] == "sender"
    assert events[0][2]["scope"] == ["8742001", "la:875"]
    assert token not in json.dumps([detail for *_, detail in events])
    with TestClient(client.app) as holder:  # the holder uses the link
        used = holder.post("/sign-in/link", data={"token": token}, follow_redirects=False)
        assert used.status_code == 303
        assert holder.get("/returns").status_code == 200
    assert link.startswith("http://testserver/")


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"username": "", "role": "statistician"}, "username", "Enter a username for the account."),
        ({"username": "Bad Name", "role": "statistician"}, "username", "'Bad Name' is not a usable username"),
        ({"username": "ok"}, "role", "Choose the account's role."),
        ({"username": "ok", "role": "wizard"}, "role", "There is no role called 'wizard'"),
        ({"username": "ok", "role": "sender"}, "senders", "The role 'sender' needs at least one sender:"),
        ({"username": "ok", "role": "sender", "senders": "la:87"}, "senders", "'la:87' is not a local authority"),
        ({"username": OFFICER, "role": "statistician"}, "username", f"There is already an account called '{OFFICER}'."),
    ],
)
def test_a_bad_new_account_is_one_sentence(
    client: TestClient, officer: User, form: dict[str, str], field: str, message: str
) -> None:
    refused = _post(client, "/accounts/new", **form)
    assert refused.status_code == 400
    assert _error(refused).startswith(message)
    assert f'href="#{field}"' in refused.text
    assert f'id="{field}"' in refused.text  # the summary links to the field
    assert "Error: Add an account" in refused.text


def test_a_statisticians_senders_box_is_ignored(client: TestClient, officer: User, ctx: Context) -> None:
    """The senders box belongs to the sender's choice; left filled in under another role, it is not refused."""
    created = _post(client, "/accounts/new", username="stats", role="statistician", senders="8742001")
    assert created.status_code == 200
    assert Accounts(ctx.registry).get("stats").scope == ()


def test_forms_from_other_sites_are_refused(client: TestClient, officer: User, accounts: Accounts) -> None:
    target = accounts.add("victim", "Victim", "statistician")
    evil = {"Origin": "https://evil.example"}
    form = {"username": "x1", "role": "statistician"}
    assert client.post("/accounts/new", data=form, headers=evil).status_code == 403
    assert client.post(f"/accounts/{target.id}/disable", headers=evil).status_code == 403
    assert not accounts.get("victim").disabled


def test_disabling_and_enabling_are_audited(
    client: TestClient, officer: User, accounts: Accounts, ctx: Context
) -> None:
    sam = accounts.add("sam", "Sam", "statistician")
    session = accounts.start(sam, BROWSER)
    disabled = _post(client, f"/accounts/{sam.id}/disable")
    assert disabled.headers["location"] == f"/accounts/{sam.id}?done=disabled"
    assert "The account was disabled" in client.get(disabled.headers["location"]).text
    assert accounts.get("sam").disabled
    assert accounts.holder(session, BROWSER) is None  # its sessions ended
    assert "Sign-in link" in client.get(f"/accounts/{sam.id}").text
    refused = _post(client, f"/accounts/{sam.id}/sign-in-link")
    assert refused.status_code == 400
    assert _error(refused) == "The account 'sam' is disabled, so a sign-in link would not work: enable it first."
    assert _post(client, f"/accounts/{sam.id}/enable").status_code == 303
    assert not accounts.get("sam").disabled
    assert LINK.search(_post(client, f"/accounts/{sam.id}/sign-in-link").text)
    actions = [(actor, action) for actor, action, _ in _events(ctx, "sam")]
    assert actions == [
        (f"portal:{OFFICER}", "account disabled"),
        (f"portal:{OFFICER}", "account enabled"),
        (f"portal:{OFFICER}", "sign-in link made"),
    ]


def test_changing_a_role_is_audited_and_applies_at_once(
    client: TestClient, settings: Settings, officer: User, accounts: Accounts, ctx: Context
) -> None:
    school = accounts.add("school", "School", "sender", ["8742001"])
    with TestClient(client.app) as holder:
        holder.cookies.set(COOKIE, accounts.start(school, BROWSER))
        assert holder.get("/collections").status_code == 403
        changed = _post(client, f"/accounts/{school.id}/role", role="statistician", senders="8742001")
        assert changed.headers["location"] == f"/accounts/{school.id}?done=role"
        assert holder.get("/collections").status_code == 200  # its next page
    assert accounts.get("school").role == "statistician"
    assert accounts.get("school").scope == ()
    bad = _post(client, f"/accounts/{school.id}/role", role="sender", senders="")
    assert bad.status_code == 400
    assert _error(bad).startswith("The role 'sender' needs at least one sender")
    assert _post(client, f"/accounts/{school.id}/role", role="statistician").status_code == 303  # no change
    (event,) = [(actor, detail) for actor, action, detail in _events(ctx, "school") if action == "account role changed"]
    assert event[0] == f"portal:{OFFICER}"
    assert event[1]["role"] == "statistician"
    assert event[1]["was"] == {"role": "sender", "scope": ["8742001"]}


def test_an_officer_cannot_disable_or_demote_themself(
    client: TestClient, officer: User, accounts: Accounts, ctx: Context
) -> None:
    demoted = _post(client, f"/accounts/{officer.id}/role", role="statistician")
    assert demoted.status_code == 400
    assert _error(demoted) == (
        "You cannot change your own role to 'statistician': an administrator cannot take away their own right to "
        "manage accounts, so ask another Data Protection Officer."
    )
    disabled = _post(client, f"/accounts/{officer.id}/disable")
    assert disabled.status_code == 400
    assert _error(disabled) == f"You cannot disable your own account, '{OFFICER}': ask another Data Protection Officer."
    reset = _post(client, f"/accounts/{officer.id}/two-factor-reset")
    assert reset.status_code == 400
    assert 'href="#own-account"' in reset.text
    assert 'id="own-account"' in reset.text  # the summary's link goes somewhere
    assert f'action="/accounts/{officer.id}/disable"' not in reset.text  # not offered at all
    assert "turn it off on your Two-factor sign-in page" in _error(reset)
    assert client.patch(f"/api/v1/accounts/{officer.id}", json={"role": "sender", "senders": ["1"]}).status_code == 400
    api = client.patch(f"/api/v1/accounts/{officer.id}", json={"disabled": True})
    assert api.status_code == 400
    assert api.json()["detail"].startswith("You cannot disable your own account")
    me = accounts.get(OFFICER)
    assert (me.role, me.disabled, me.two_factor) == ("data-protection-officer", False, True)
    assert not [action for _, action, _ in _events(ctx, OFFICER) if action.startswith(("account", "two-factor"))]
    assert client.get("/accounts").status_code == 200  # still an officer


def test_resetting_two_factor_sign_in(
    client: TestClient, settings: Settings, officer: User, accounts: Accounts, ctx: Context
) -> None:
    with TestClient(client.app) as other:
        chief = sign_in(other, settings, "chief", "chief-statistician")
        assert accounts.recovery_codes_left("chief") == 10
        page = client.get(f"/accounts/{chief.id}").text
        assert "On, 10 recovery codes left" in page
        assert _post(client, f"/accounts/{chief.id}/two-factor-reset").status_code == 303
        assert not accounts.get("chief").two_factor
        assert accounts.recovery_codes_left("chief") == 0
        assert other.get("/collections", follow_redirects=False).headers["location"].startswith("/sign-in")
    assert ("portal:dana", "two-factor reset", {"from": "testclient", "was_on": True}) in _events(ctx, "chief")
    assert "Reset two-factor sign-in" not in client.get(f"/accounts/{chief.id}").text  # nothing left to reset


def test_the_json_twins(client: TestClient, officer: User, accounts: Accounts, ctx: Context) -> None:
    created = client.post("/api/v1/accounts", json={"username": "api-made", "role": "sender", "senders": ["la:874"]})
    assert created.status_code == 201
    body = created.json()
    assert body["account"]["senders"] == ["la:874"]
    assert body["account"]["name"] == "api-made"
    assert body["sign_in_link"].startswith("http://testserver/sign-in/link/")
    number = body["account"]["id"]
    assert client.get(f"/api/v1/accounts/{number}").json()["username"] == "api-made"
    assert client.get("/api/v1/accounts/999999").status_code == 404
    assert client.get("/accounts/999999").status_code == 404
    assert client.get("/accounts/not-a-number").status_code == 404
    taken = client.post("/api/v1/accounts", json={"username": "api-made", "role": "statistician"})
    assert taken.status_code == 400
    assert taken.json()["detail"] == "There is already an account called 'api-made'."
    assert client.patch(f"/api/v1/accounts/{number}", json={"senders": ["la:874", "8750001"]}).json()["senders"] == [
        "la:874", "8750001",
    ]  # fmt: skip
    promoted = client.patch(f"/api/v1/accounts/{number}", json={"role": "statistician"}).json()
    assert (promoted["role"], promoted["senders"]) == ("statistician", [])
    assert client.patch(f"/api/v1/accounts/{number}", json={"disabled": True}).json()["status"] == "disabled"
    assert client.post(f"/api/v1/accounts/{number}/sign-in-link").status_code == 400
    assert client.patch(f"/api/v1/accounts/{number}", json={"disabled": False}).json()["status"] == "active"
    assert client.post(f"/api/v1/accounts/{number}/sign-in-link").json()["sign_in_link"].startswith("http://")
    reset = client.post(f"/api/v1/accounts/{number}/two-factor-reset")
    assert reset.json()["two_factor"] is False
    actions = [action for _, action, _ in _events(ctx, "api-made")]
    assert actions == [
        "account created", "sign-in link made", "account role changed", "account role changed", "account disabled",
        "account enabled", "sign-in link made", "two-factor reset",
    ]  # fmt: skip
