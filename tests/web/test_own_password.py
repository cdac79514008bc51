"""One's own password in the portal: the current one needed (a wrong one counted in the lockout), none needed for
an account that has none yet, the policy's rule shown in the error summary, other browsers signed out and this
one kept, and the change audited without the password."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from pupildata.errors import UsageError
from pupildata.kernel.context import Context
from pupildata.settings import Settings
from pupildata.web.accounts import API, BROWSER, LOCKED, MAX_FAILURES, WRONG_CURRENT, Accounts, SignInRefused
from pupildata.web.auth import COOKIE
from pupildata.web.routers.credentials import NOT_THE_SAME

PASSWORD = "correct horse battery"
NEW = "staple paper clip lamp"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


# --- accounts -------------------------------------------------------------------------------------------------


def test_changing_needs_the_current_password(accounts: Accounts) -> None:
    user = accounts.add("ann", "Ann", "statistician", password=PASSWORD)
    assert accounts.has_password(user)
    with pytest.raises(SignInRefused, match="Your current password is not right"):
        accounts.change_password(user, "not the password", NEW)
    with pytest.raises(SignInRefused, match="Your current password is not right"):
        accounts.change_password(user, None, NEW)  # an account with a password must give it
    accounts.change_password(user, PASSWORD, NEW)
    assert accounts.sign_in("ann", NEW).username == "ann"
    with pytest.raises(SignInRefused):
        accounts.sign_in("ann", PASSWORD)


def test_an_account_without_a_password_sets_one_without(accounts: Accounts) -> None:
    user = accounts.add("bea", "Bea", "statistician")  # signs in with one-time links
    assert not accounts.has_password(user)
    accounts.change_password(user, None, NEW)
    assert accounts.has_password(user)
    assert accounts.sign_in("bea", NEW).username == "bea"


def test_the_new_password_keeps_the_rule(accounts: Accounts) -> None:
    user = accounts.add("cy", "Cy", "statistician", password=PASSWORD)
    with pytest.raises(UsageError, match="at least 12 characters; this one has 5"):
        accounts.change_password(user, PASSWORD, "short")
    assert accounts.sign_in("cy", PASSWORD).username == "cy"


def test_wrong_current_passwords_count_in_the_lockout(accounts: Accounts) -> None:
    user = accounts.add("dev", "Dev", "statistician", password=PASSWORD)
    with pytest.raises(SignInRefused):
        accounts.sign_in("dev", "wrong at sign-in", NOW)  # one wrong at the sign-in form...
    for _ in range(MAX_FAILURES - 2):
        with pytest.raises(SignInRefused, match="Your current password is not right"):
            accounts.change_password(user, "a wrong guess here", NEW, NOW)
    with pytest.raises(SignInRefused, match=re.escape(LOCKED)):  # ...and the fifth in a row locks
        accounts.change_password(user, "a wrong guess here", NEW, NOW)
    with pytest.raises(SignInRefused, match=re.escape(LOCKED)):  # the right one cannot get past the lock
        accounts.change_password(user, PASSWORD, NEW, NOW)
    with pytest.raises(SignInRefused, match="locked"):
        accounts.sign_in("dev", PASSWORD, NOW)  # the same lockout as signing in
    later = NOW + timedelta(minutes=16)
    accounts.change_password(user, PASSWORD, NEW, later)
    assert accounts.sign_in("dev", NEW, later).username == "dev"


# --- the page -------------------------------------------------------------------------------------------------


def _signed_in(client: TestClient, accounts: Accounts, username: str, password: str | None = PASSWORD) -> str:
    """An account (with ``password``) and ``client`` signed in to it; the session's secret."""
    user = accounts.add(username, username.title(), "statistician", password=password)
    token = accounts.start(user, BROWSER)
    client.cookies.set(COOKIE, token)
    return token


def _post(client: TestClient, **data: str) -> Response:
    return client.post("/account/password", data=data, follow_redirects=False)


def _errors(response: Response) -> list[str]:
    """The messages of the error summary, in order."""
    summary = re.search(r'govuk-error-summary__list">(.*?)</ul>', response.text, flags=re.DOTALL)
    assert summary, response.text[:2000]
    return [m.replace("&#39;", "'") for m in re.findall(r'<a href="#[\w-]+">([^<]+)</a>', summary[1])]


def _events(settings: Settings, username: str) -> list[tuple[str, str, dict[str, object]]]:
    with Context(settings) as other:
        return [(e.actor, e.action, json.loads(e.detail)) for e in reversed(other.audit.events(object_id=username))]


def test_the_page_asks_for_the_current_password_only_when_there_is_one(client: TestClient, accounts: Accounts) -> None:
    _signed_in(client, accounts, "eve")
    page = client.get("/account/password")
    assert page.status_code == 200
    assert 'name="current"' in page.text
    assert 'autocomplete="new-password"' in page.text
    _signed_in(client, accounts, "fin", password=None)
    page = client.get("/account/password")
    assert 'name="current"' not in page.text
    assert "Set a password" in page.text


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({}, ["Enter your current password.", "Enter a new password."]),
        ({"current": PASSWORD, "new": "short one", "confirm": "short one"}, [
            "A password must have at least 12 characters; this one has 9."
        ]),
        ({"current": PASSWORD, "new": NEW, "confirm": NEW + "!"}, [NOT_THE_SAME]),
    ],
)  # fmt: skip
def test_mistakes_are_shown_in_the_error_summary(
    client: TestClient, accounts: Accounts, form: dict[str, str], expected: list[str]
) -> None:
    _signed_in(client, accounts, "gus")
    response = _post(client, **form)
    assert response.status_code == 400
    assert _errors(response) == expected
    assert "govuk-error-message" in response.text  # and by the field
    assert response.text.startswith("<!DOCTYPE html>")
    for typed in {v for v in form.values() if v}:
        assert f'value="{typed}"' not in response.text  # passwords are never put back into the form
    assert accounts.sign_in("gus", PASSWORD).username == "gus"  # nothing changed


def test_a_wrong_current_password_is_refused_counted_and_audited(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    _signed_in(client, accounts, "hal")
    for _ in range(MAX_FAILURES - 1):
        refused = _post(client, current="wrong password!", new=NEW, confirm=NEW)
        assert refused.status_code == 400
        assert _errors(refused) == [WRONG_CURRENT]
        assert "wrong password!" not in refused.text
    locked = _post(client, current="wrong password!", new=NEW, confirm=NEW)
    assert _errors(locked) == [LOCKED]
    assert _post(client, current=PASSWORD, new=NEW, confirm=NEW).status_code == 400  # locked, even the right one
    with pytest.raises(SignInRefused, match="locked"):
        accounts.sign_in("hal", PASSWORD)
    events = _events(settings, "hal")
    assert [action for _, action, _ in events].count("password change refused") == MAX_FAILURES + 1
    assert "wrong password!" not in json.dumps(events)


def test_changing_signs_out_the_other_browsers_and_keeps_this_one(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    this = _signed_in(client, accounts, "ivy")
    user = accounts.get("ivy")
    other = accounts.start(user, BROWSER)
    token = accounts.start(user, API)
    changed = _post(client, current=PASSWORD, new=NEW, confirm=NEW)
    assert changed.status_code == 303
    assert changed.headers["location"] == "/account/password?done=changed"
    page = client.get(changed.headers["location"])
    assert "Your password has been changed" in page.text
    assert accounts.holder(this, BROWSER) is not None
    assert accounts.holder(other, BROWSER) is None
    assert accounts.holder(token, API) is not None  # API tokens are listed and revoked on their own page
    assert accounts.sign_in("ivy", NEW).username == "ivy"
    changes = [event for event in _events(settings, "ivy") if event[1] == "password changed"]
    assert changes == [("portal:ivy", "password changed", {"from": "testclient", "browsers_signed_out": 1})]
    assert NEW not in json.dumps(_events(settings, "ivy"))
    assert PASSWORD not in json.dumps(_events(settings, "ivy"))


def test_a_link_account_sets_its_first_password(client: TestClient, accounts: Accounts, settings: Settings) -> None:
    _signed_in(client, accounts, "jo", password=None)
    assert _post(client, new=NEW, confirm=NEW).status_code == 303
    assert accounts.sign_in("jo", NEW).username == "jo"
    assert _events(settings, "jo")[-1][1] == "password set"


def test_only_the_portals_own_pages_and_browsers_may_change_it(client: TestClient, accounts: Accounts) -> None:
    _signed_in(client, accounts, "kai")
    form = {"current": PASSWORD, "new": NEW, "confirm": NEW}
    other_site = client.post("/account/password", data=form, headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403
    token = accounts.start(accounts.get("kai"), API)
    client.cookies.clear()
    by_token = client.post("/account/password", data=form, headers={"Authorization": f"Bearer {token}"})
    assert by_token.status_code == 403
    assert "not with an API token" in by_token.text
    assert accounts.sign_in("kai", PASSWORD).username == "kai"  # unchanged
    assert client.get("/account/password", follow_redirects=False).headers["location"].startswith("/sign-in?next=")
