"""One's own API tokens in the portal: made with a label and a lifetime and shown once (never cached), listed and
revoked by a public id among the account's own tokens only, their last use stamped at most every few minutes;
only the roles holding ``tokens:own``; the Data Protection Officer revokes all of an account's at once."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import given
from hypothesis import strategies as st

from pupildata.errors import UsageError
from pupildata.kernel.context import Context
from pupildata.kernel.pseudonyms import KeyStore
from pupildata.kernel.registry import Registry
from pupildata.settings import Settings
from pupildata.web import tokens
from pupildata.web.accounts import API, BROWSER, Accounts, User
from pupildata.web.administration import Administration
from pupildata.web.auth import COOKIE
from pupildata.web.permissions import OWN_TOKENS, ROLES
from tests.web.collect_home import sign_in

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SHOWN = re.compile(r'id="api-token">([\w-]{40,})</code>')


def _public_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


# --- the rules --------------------------------------------------------------------------------------------------


@given(st.integers(min_value=-1000, max_value=1000))
def test_a_lifetime_is_a_whole_number_of_days_up_to_a_year(days: int) -> None:
    if 1 <= days <= 365:
        assert tokens.check_days(str(days)) == days
        assert tokens.check_days(f" {days} ") == days
    else:
        with pytest.raises(UsageError, match="give a whole number of days from 1 to 365"):
            tokens.check_days(str(days))


@given(st.text(max_size=80))
def test_a_label_is_one_to_sixty_printable_characters(label: str) -> None:
    kept = label.strip()
    if kept and len(kept) <= tokens.MAX_LABEL and kept.isprintable():
        assert tokens.check_label(label) == kept
    else:
        with pytest.raises(UsageError, match="label"):
            tokens.check_label(label)


@pytest.mark.parametrize("days", ["", "1.5", "ninety", "0", "366", "1e2"])
def test_anything_else_is_not_a_lifetime(days: str) -> None:
    with pytest.raises(UsageError, match="is not a lifetime"):
        tokens.check_days(days)


# --- accounts -------------------------------------------------------------------------------------------------


def test_a_token_is_made_with_a_label_and_only_its_hash_kept(accounts: Accounts, settings: Settings) -> None:
    user = accounts.add("ann", "Ann", "statistician")
    secret, made = accounts.make_token(user, "  nightly export ", 7, NOW)
    assert made.label == "nightly export"
    assert made.public_id == _public_id(secret)
    assert made.expires_at == NOW + timedelta(days=7)
    assert accounts.holder(secret, API, NOW) == user
    listed = accounts.api_tokens(user, NOW)
    assert [(t.public_id, t.label, t.expires_at) for t in listed] == [(made.public_id, made.label, made.expires_at)]
    dump = b"".join(p.read_bytes() for p in settings.home.glob("registry.sqlite*"))
    assert secret.encode() not in dump


def test_each_account_lists_and_revokes_only_its_own(accounts: Accounts) -> None:
    ann = accounts.add("ann2", "Ann", "statistician")
    bob = accounts.add("bob", "Bob", "statistician")
    mine, made = accounts.make_token(ann, "mine", now=NOW)
    theirs, their_made = accounts.make_token(bob, "theirs", now=NOW)
    assert [t.label for t in accounts.api_tokens(ann, NOW)] == ["mine"]
    assert accounts.revoke_token(ann, their_made.public_id) is None  # another's: not found, not touched
    assert accounts.holder(theirs, API, NOW) == bob
    revoked = accounts.revoke_token(ann, made.public_id)
    assert revoked is not None
    assert revoked.label == "mine"
    assert accounts.holder(mine, API, NOW) is None
    assert accounts.api_tokens(ann, NOW) == []
    assert accounts.revoke_token(ann, made.public_id) is None  # once
    for odd in ("", "%", "_" * 12, made.public_id[:6], their_made.public_id.upper() + "%"):
        assert accounts.revoke_token(bob, odd) is None
    assert accounts.holder(theirs, API, NOW) == bob


def test_expired_tokens_and_other_secrets_are_not_listed(accounts: Accounts) -> None:
    user = accounts.add("cy", "Cy", "statistician")
    _, live = accounts.make_token(user, "live", 1, NOW)
    accounts.start(user, BROWSER, NOW)
    old_secret, _ = accounts.make_token(user, "old", 1, NOW - timedelta(days=2))  # expired a day ago, still kept
    assert [t.public_id for t in accounts.api_tokens(user, NOW)] == [live.public_id]
    assert accounts.holder(old_secret, API, NOW) is None
    assert [t.label for t in accounts.api_tokens(user, NOW - timedelta(days=1, hours=1))] == ["live", "old"]


def test_last_use_is_stamped_at_most_every_few_minutes(accounts: Accounts) -> None:
    user = accounts.add("dee", "Dee", "statistician")
    secret, _ = accounts.make_token(user, "stamped", now=NOW)
    assert accounts.api_tokens(user, NOW)[0].last_used_at is None
    accounts.holder(secret, API, NOW)
    assert accounts.api_tokens(user, NOW)[0].last_used_at == NOW
    accounts.holder(secret, API, NOW + timedelta(minutes=4))
    assert accounts.api_tokens(user, NOW)[0].last_used_at == NOW  # not written again so soon
    later = NOW + tokens.STAMP_EVERY
    accounts.holder(secret, API, later)
    assert accounts.api_tokens(user, NOW)[0].last_used_at == later
    accounts.holder("not-a-token", API, later + timedelta(hours=1))
    accounts.holder(accounts.start(user, BROWSER, later), BROWSER, later + timedelta(hours=1))
    assert accounts.api_tokens(user, NOW)[0].last_used_at == later


def test_tokens_on_both_registries(registry: Registry, tmp_path: Path) -> None:
    """The migration's columns, the filtered revoke and the stamp, on SQLite and on PostgreSQL."""
    accounts = Accounts(registry, KeyStore(tmp_path / "keys"))
    eve, fay = accounts.add("eve", "Eve", "statistician"), accounts.add("fay", "Fay", "statistician")
    secret, made = accounts.make_token(eve, "on both", 30, NOW)
    accounts.holder(secret, API, NOW + timedelta(minutes=1))
    (listed,) = accounts.api_tokens(eve, NOW)
    assert (listed.label, listed.last_used_at) == ("on both", NOW + timedelta(minutes=1))
    assert accounts.revoke_token(fay, made.public_id) is None
    assert accounts.revoke_token(eve, made.public_id) is not None
    assert accounts.holder(secret, API, NOW) is None


# --- the pages ------------------------------------------------------------------------------------------------


def _post(client: TestClient, url: str, **data: str) -> Response:
    return client.post(url, data=data, follow_redirects=False)


def _events(settings: Settings, username: str) -> list[tuple[str, str, dict[str, object]]]:
    with Context(settings) as other:
        return [(e.actor, e.action, json.loads(e.detail)) for e in reversed(other.audit.events(object_id=username))]


def _error(response: Response) -> str:
    match = re.search(r'govuk-error-summary__list">\s*<li>\s*<a href="#([\w-]+)">([^<]+)</a>', response.text)
    assert match, response.text[:2000]
    text = match[2].replace("&#39;", "'")
    return f"{match[1]}: {text}"


def test_only_the_statisticians_hold_the_permission() -> None:
    """The roles whose work other systems do; not the officer's powers (a token skips two-factor codes), nor
    senders, who send files and read their receipts in the portal."""
    holders = [name for name, role in ROLES.items() if OWN_TOKENS in role.permissions]
    assert holders == ["statistician", "chief-statistician"]


@pytest.mark.parametrize("role", ["sender", "data-protection-officer"])
def test_other_roles_are_refused(client: TestClient, settings: Settings, role: str) -> None:
    sign_in(client, settings, f"no-tokens-{role}", role, ["8742001"] if role == "sender" else None)
    assert client.get("/account/tokens").status_code == 403
    assert _post(client, "/account/tokens", label="export", days="9").status_code == 403
    assert _post(client, "/account/tokens/revoke", token="0123456789ab").status_code == 403
    page = client.get("/account")
    assert 'href="/account/tokens"' not in page.text  # no way to tokens from one's account page
    assert 'href="/account/password"' in page.text


def test_making_shows_the_token_once_and_never_caches_it(
    client: TestClient, settings: Settings, accounts: Accounts
) -> None:
    user = sign_in(client, settings, "sam", "statistician")
    page = client.get("/account/tokens")
    assert page.status_code == 200
    assert "You have no API token that still works" in page.text
    made = _post(client, "/account/tokens", label="nightly export", days="30")
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    (secret,) = SHOWN.findall(made.text)
    assert f"Authorization: Bearer {secret}" in made.text
    assert "only time this token is shown" in made.text
    assert accounts.holder(secret, API) == user
    assert client.get("/api/v1/returns", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listed = client.get("/account/tokens")
    assert secret not in listed.text
    assert _public_id(secret) in listed.text
    row = re.search(rf'<tr class="govuk-table__row" id="token-{_public_id(secret)}">(.*?)</tr>', listed.text, re.S)
    assert row
    cells = re.findall(r'<td class="govuk-table__cell">(.*?)</td>', row[1], re.S)
    assert cells[0] == "nightly export"
    assert re.search(r"\d{4}, (\d{1,2}(:\d\d)?[ap]m|midday|midnight)$", cells[4])  # last used: just now, by the API
    assert f'name="token" value="{_public_id(secret)}"' in row[1]
    assert '<span class="govuk-visually-hidden"> the token nightly export</span>' in row[1]  # which token, for a reader
    events = _events(settings, "sam")
    assert ("portal:sam", "API token made", {
        "from": "testclient", "label": "nightly export", "days": 30, "token": _public_id(secret)
    }) in events  # fmt: skip
    assert secret not in json.dumps(events)


def test_revoking_ends_only_ones_own_token(client: TestClient, settings: Settings, accounts: Accounts) -> None:
    other = accounts.add("other", "Other", "statistician")
    their_secret, theirs = accounts.make_token(other, "theirs")
    sign_in(client, settings, "tia", "statistician")
    secret = SHOWN.findall(_post(client, "/account/tokens", label="to revoke", days="5").text)[0]
    refused = _post(client, "/account/tokens/revoke", token=theirs.public_id)
    assert refused.status_code == 404
    assert _error(refused).startswith(f"tokens: You have no token '{theirs.public_id}' that still works")
    assert accounts.holder(their_secret, API) == other
    revoked = _post(client, "/account/tokens/revoke", token=_public_id(secret))
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/account/tokens?done=revoked"
    assert "The token was revoked" in client.get(revoked.headers["location"]).text
    assert accounts.holder(secret, API) is None
    assert client.get("/api/v1/returns", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert ("portal:tia", "API token revoked", {
        "from": "testclient", "label": "to revoke", "token": _public_id(secret)
    }) in _events(settings, "tia")  # fmt: skip
    assert _post(client, "/account/tokens/revoke", token=_public_id(secret)).status_code == 404  # once


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"label": "  ", "days": "90"}, "label: Enter a label for the token"),
        ({"label": "x" * 61, "days": "90"}, "label: The label has 61 characters: a token's label has at most 60."),
        ({"label": "tab\there", "days": "90"}, "label: The label has a character that cannot be shown"),
        ({"label": "export", "days": "0"}, "days: '0' is not a lifetime: give a whole number of days from 1 to 365."),
        ({"label": "export", "days": "366"}, "days: '366' is not a lifetime"),
        ({"label": "export", "days": "soon"}, "days: 'soon' is not a lifetime"),
    ],
)
def test_mistakes_are_one_sentence_by_the_field(
    client: TestClient, settings: Settings, accounts: Accounts, form: dict[str, str], message: str
) -> None:
    user = sign_in(client, settings, "uma", "statistician")
    response = _post(client, "/account/tokens", **form)
    assert response.status_code == 400
    assert _error(response).startswith(message)
    assert f'value="{form["days"]}"' in response.text  # what was typed is kept
    assert accounts.api_tokens(user) == []


def test_only_the_portals_own_pages_and_browsers_may_make_or_revoke(
    client: TestClient, settings: Settings, accounts: Accounts
) -> None:
    user = sign_in(client, settings, "val", "statistician")
    evil = {"Origin": "https://evil.example"}
    assert client.post("/account/tokens", data={"label": "x", "days": "9"}, headers=evil).status_code == 403
    secret, made = accounts.make_token(user, "kept")
    assert client.post("/account/tokens/revoke", data={"token": made.public_id}, headers=evil).status_code == 403
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/account/tokens", headers=bearer).status_code == 403  # a token cannot make tokens
    assert client.post("/account/tokens", data={"label": "x", "days": "9"}, headers=bearer).status_code == 403
    assert client.post("/account/tokens/revoke", data={"token": made.public_id}, headers=bearer).status_code == 403
    assert [t.label for t in accounts.api_tokens(user)] == ["kept"]


# --- the Data Protection Officer -----------------------------------------------------------------------------


def test_the_officer_sees_how_many_and_revokes_them_all(
    client: TestClient, settings: Settings, accounts: Accounts, ctx: Context
) -> None:
    holder = accounts.add("wes", "Wes", "statistician")
    secrets = [accounts.make_token(holder, f"job {n}")[0] for n in range(2)]
    accounts.make_token(holder, "expired", 1, datetime.now(UTC) - timedelta(days=2))
    browser = accounts.start(holder, BROWSER)
    officer: User = sign_in(client, settings, "dana", "data-protection-officer")
    page = client.get(f"/accounts/{holder.id}")
    assert re.search(r"API tokens\s*</dt>\s*<dd[^>]*>\s*2 that still work", page.text)
    assert f'action="/accounts/{holder.id}/tokens-revoke"' in page.text
    assert client.get(f"/api/v1/accounts/{holder.id}").json()["api_tokens"] == 2
    done = _post(client, f"/accounts/{holder.id}/tokens-revoke")
    assert done.status_code == 303
    assert "API tokens were revoked" in client.get(done.headers["location"]).text
    assert all(accounts.holder(secret, API) is None for secret in secrets)
    assert accounts.holder(browser, BROWSER) == holder  # its browsers stay signed in
    assert client.get(f"/accounts/{holder.id}").text.count("tokens-revoke") == 0
    assert ("portal:dana", "API tokens revoked", {"from": "testclient", "count": 2}) in _events(settings, "wes")
    view = Administration(ctx, officer, "here").view(holder.id)
    assert view is not None
    assert view.api_tokens == 0
    assert client.post(f"/api/v1/accounts/{holder.id}/tokens-revoke").json()["api_tokens"] == 0
    client.cookies.set(COOKIE, accounts.start(holder, BROWSER))
    assert client.post(f"/accounts/{holder.id}/tokens-revoke", follow_redirects=False).status_code == 403


def test_a_label_is_shown_as_text(client: TestClient, settings: Settings, accounts: Accounts) -> None:
    user = sign_in(client, settings, "xan", "statistician")
    accounts.make_token(user, '<script>alert("x")</script>')
    page = client.get("/account/tokens").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_ones_account_page_shows_each_setting_and_the_way_to_change_it(
    client: TestClient, settings: Settings, accounts: Accounts
) -> None:
    """The account bar's one link about oneself: the account at a glance, with its tokens only where the role may
    make them."""
    user = sign_in(client, settings, "sam", "statistician", two_factor=False)
    page = client.get("/account")
    assert page.status_code == 200
    assert 'class="govuk-link" href="/account"' in page.text  # the account bar's link
    rows = dict(
        re.findall(r'<dt class="govuk-summary-list__key">\s*(.*?)\s*</dt>\s*<dd[^>]*>\s*(.*?)\s*</dd>', page.text)
    )
    assert (rows["Username"], rows["Role"], rows["Two-factor sign-in"], rows["API tokens"]) == (
        "sam",
        "Statistician",
        "Off",
        "None",
    )
    for href in ("/account/password", "/account/two-factor", "/account/tokens"):
        assert f'href="{href}"' in page.text
    accounts.make_token(user, "nightly export", 7)
    page = client.get("/account")
    assert "1 that works" in page.text
    sign_in(client, settings, "office", "sender", ["8742001"])
    page = client.get("/account")
    assert "8742001" in page.text
    assert 'href="/account/tokens"' not in page.text
