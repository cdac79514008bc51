"""Two-factor sign-in: setting it up, its secret encrypted at rest, codes (drift, replay, lockout), the second step
of signing in, and the roles that must use it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update

from pupildata.errors import UsageError
from pupildata.kernel.context import Context
from pupildata.kernel.pseudonyms import KeyStore
from pupildata.kernel.registry import Registry
from pupildata.kernel.registry.models import PortalUser
from pupildata.settings import Settings
from pupildata.web import create_app, totp
from pupildata.web.accounts import (
    API,
    BROWSER,
    LINK,
    LOCKED,
    MAX_FAILURES,
    PENDING,
    WRONG_CODE,
    Accounts,
    CodeRefused,
    SignInRefused,
    User,
)  # fmt: skip
from pupildata.web.auth import COOKIE, PENDING_COOKIE

PASSWORD = "correct horse battery"
NOW = datetime(2026, 3, 2, 9, 30, 10, tzinfo=UTC)


def _code(secret: str, moment: datetime, steps: int = 0) -> str:
    return totp.code_at(secret, totp.time_step(moment) + steps)


def _enrolled(accounts: Accounts, username: str, role: str = "statistician", at: datetime = NOW) -> str:
    """An account with two-factor sign-in on since ``at``; its secret."""
    accounts.add(username, username.title(), role, password=PASSWORD)
    secret = accounts.begin_two_factor(username, at)
    accounts.confirm_two_factor(username, _code(secret, at), at)
    return secret


def _stored(ctx: Context, username: str) -> PortalUser:
    with ctx.registry.session() as session:
        row = session.scalar(select(PortalUser).where(PortalUser.username == username))
        assert row is not None
        return row


# --- accounts -------------------------------------------------------------------------------------------------


def test_setting_up_needs_a_right_code(accounts: Accounts) -> None:
    accounts.add("ann", "Ann", "statistician", password=PASSWORD)
    secret = accounts.begin_two_factor("ann", NOW)
    assert len(secret) == 32
    assert pyotp.TOTP(secret).at(NOW) == _code(secret, NOW)  # what an authenticator app computes
    assert accounts.begin_two_factor("ann", NOW + timedelta(minutes=5)) == secret  # reloading keeps what was scanned
    with pytest.raises(CodeRefused, match="The code is not right, or has expired"):
        accounts.confirm_two_factor("ann", _code(secret, NOW, steps=-2), NOW)
    assert not accounts.get("ann").two_factor  # still off
    accounts.confirm_two_factor("ann", _code(secret, NOW), NOW)
    assert accounts.get("ann").two_factor
    with pytest.raises(UsageError, match="already on"):
        accounts.begin_two_factor("ann", NOW)


def test_a_key_shown_long_ago_is_replaced(accounts: Accounts) -> None:
    accounts.add("bob", "Bob", "statistician", password=PASSWORD)
    old = accounts.begin_two_factor("bob", NOW)
    later = NOW + timedelta(minutes=31)
    with pytest.raises(CodeRefused, match="has expired"):
        accounts.confirm_two_factor("bob", _code(old, later), later)
    new = accounts.begin_two_factor("bob", later)
    assert new != old
    accounts.confirm_two_factor("bob", _code(new, later), later)


def test_the_secret_is_encrypted_at_rest(ctx: Context, accounts: Accounts, settings: Settings, tmp_path: Path) -> None:
    secret = _enrolled(accounts, "cat")
    stored = _stored(ctx, "cat").totp_secret
    assert stored is not None
    assert stored.startswith("v1.")
    assert secret not in stored
    dump = (settings.home / "registry.sqlite").read_bytes() + (settings.home / "registry.sqlite-wal").read_bytes()
    assert secret.encode() not in dump
    key = ctx.keys.key(totp.PURPOSE)
    cat = _stored(ctx, "cat").id
    assert totp.unseal(key, stored, cat) == secret
    with pytest.raises(totp.TamperedSecret):  # copied onto another account
        totp.unseal(key, stored, cat + 1)
    with pytest.raises(totp.TamperedSecret):  # another data home's key
        totp.unseal(KeyStore(tmp_path / "other-keys").key(totp.PURPOSE), stored, cat)
    edited = stored[:-5] + ("A" if stored[-5] != "A" else "B") + stored[-4:]
    with pytest.raises(totp.TamperedSecret):
        totp.unseal(key, edited, cat)
    assert totp.seal(key, secret, cat) != stored  # a fresh nonce each time


def test_a_code_works_once_within_a_step_of_the_clock(accounts: Accounts) -> None:
    secret = _enrolled(accounts, "dee", at=NOW - timedelta(minutes=10))
    user = accounts.get("dee")
    for steps in (-2, 2):  # two steps of drift are too many
        with pytest.raises(CodeRefused, match="The code is not right"):
            accounts.check_code(user, _code(secret, NOW, steps), NOW)
    assert accounts.check_code(user, _code(secret, NOW, -1), NOW).username == "dee"  # the clock is a step behind
    assert accounts.check_code(user, _code(secret, NOW), NOW).username == "dee"
    with pytest.raises(CodeRefused, match="The code is not right"):  # a replay
        accounts.check_code(user, _code(secret, NOW), NOW)
    with pytest.raises(CodeRefused, match="The code is not right"):  # nor an earlier one
        accounts.check_code(user, _code(secret, NOW, -1), NOW)
    code = _code(secret, NOW, 1)
    spaced = f"{code[:3]} {code[3:]}"  # typed with a space
    assert accounts.check_code(user, spaced, NOW).username == "dee"  # the clock is a step ahead


def test_wrong_codes_count_in_the_lockout(accounts: Accounts) -> None:
    secret = _enrolled(accounts, "eve", at=NOW - timedelta(minutes=10))
    user = accounts.get("eve")
    for _ in range(MAX_FAILURES - 2):
        with pytest.raises(CodeRefused, match="not right") as refused:
            accounts.check_code(user, next(c for c in ("000000", "111111") if c != _code(secret, NOW)), NOW)
        assert not refused.value.start_again
    assert accounts.sign_in("eve", PASSWORD, NOW).two_factor  # a right password does not clear the count ...
    with pytest.raises(SignInRefused):
        accounts.sign_in("eve", "not the password", NOW)  # ... which a wrong one adds to
    with pytest.raises(CodeRefused, match="locked") as locked:
        accounts.check_code(user, "abcdef", NOW)
    assert locked.value.start_again
    with pytest.raises(CodeRefused, match="locked"):  # the right code is refused while locked
        accounts.check_code(user, _code(secret, NOW), NOW)
    with pytest.raises(SignInRefused, match="locked"):
        accounts.sign_in("eve", PASSWORD, NOW)
    later = NOW + timedelta(minutes=16)
    assert accounts.check_code(user, _code(secret, later), later).username == "eve"
    assert LOCKED.startswith("This account is locked")


def test_turning_off_needs_a_right_code_and_a_reset_needs_none(accounts: Accounts) -> None:
    secret = _enrolled(accounts, "fay", at=NOW - timedelta(minutes=10))
    with pytest.raises(CodeRefused, match=WRONG_CODE[:20]):
        accounts.turn_off_two_factor("fay", _code(secret, NOW, 5), NOW)
    assert accounts.get("fay").two_factor
    accounts.turn_off_two_factor("fay", _code(secret, NOW), NOW)
    assert not accounts.get("fay").two_factor
    _enrolled(accounts, "gus")
    user = accounts.get("gus")
    browser, pending, api = (accounts.start(user, kind) for kind in (BROWSER, PENDING, API))
    assert accounts.reset_two_factor("gus")
    assert not accounts.get("gus").two_factor
    assert accounts.holder(browser, BROWSER) is None
    assert accounts.holder(pending, PENDING) is None
    assert accounts.holder(api, API) is not None  # machines keep their tokens
    assert not accounts.reset_two_factor("gus")


# --- the portal -------------------------------------------------------------------------------------------------


def _post(client: TestClient, url: str, **data: str) -> Response:
    return client.post(url, data=data, follow_redirects=False)


def _wrong(secret: str) -> str:
    """Six digits that are not a code of ``secret`` now, nor a step either side."""
    step = totp.time_step(datetime.now(UTC))
    valid = {totp.code_at(secret, s) for s in range(step - 2, step + 3)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in valid)


def _password(client: TestClient, username: str, next_: str = "/collections") -> Response:
    return _post(client, "/sign-in", username=username, password=PASSWORD, next=next_)


def test_signing_in_with_a_code(client: TestClient, ctx: Context, accounts: Accounts) -> None:
    secret = _enrolled(accounts, "hal", at=datetime.now(UTC) - timedelta(minutes=10))
    first = _password(client, "hal")
    assert first.status_code == 303
    assert first.headers["location"] == "/sign-in/code?next=%2Fcollections"
    cookie = first.headers["set-cookie"]
    assert f"{PENDING_COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "Path=/sign-in" in cookie
    assert "samesite=strict" in cookie.lower()
    assert COOKIE not in client.cookies  # a right password alone signs no one in
    assert client.get("/collections", follow_redirects=False).status_code == 303
    client.cookies.set(COOKIE, client.cookies[PENDING_COOKIE])  # the pending secret is no session
    assert client.get("/collections", follow_redirects=False).headers["location"].startswith("/sign-in?")
    del client.cookies[COOKIE]

    page = client.get("/sign-in/code?next=%2Fcollections")
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.text
    assert 'inputmode="numeric"' in page.text
    assert _post(client, "/sign-in/code", code="12345", next="/collections").status_code == 400
    wrong = _post(client, "/sign-in/code", code=_wrong(secret), next="/collections")
    assert wrong.status_code == 401
    assert WRONG_CODE in wrong.text
    assert "govuk-error-summary" in wrong.text
    foreign = client.post(
        "/sign-in/code", data={"code": pyotp.TOTP(secret).now()}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    right = _post(client, "/sign-in/code", code=pyotp.TOTP(secret).now(), next="/collections")
    assert right.status_code == 303
    assert right.headers["location"] == "/collections"
    assert client.get("/collections").status_code == 200
    assert client.get("/sign-in/code").status_code == 401  # the pending secret is used up
    with Context(ctx.settings) as other:
        events = [(e.actor, e.action, str(e.detail)) for e in other.audit.events(object_id="hal")]
    actions = [(actor, action) for actor, action, _ in events]
    assert ("portal:hal", "sign in code asked") in actions
    assert ("portal:anonymous", "sign in refused") in actions
    assert ("portal:hal", "sign in") in actions
    assert not any(secret in detail or pyotp.TOTP(secret).now() in detail for *_, detail in events)


def test_a_link_also_asks_for_the_code(client: TestClient, accounts: Accounts) -> None:
    secret = _enrolled(accounts, "ida", at=datetime.now(UTC) - timedelta(minutes=10))
    token = accounts.start(accounts.get("ida"), LINK)
    used = _post(client, "/sign-in/link", token=token)
    assert used.headers["location"] == "/sign-in/code"
    assert COOKIE not in client.cookies
    assert _post(client, "/sign-in/code", code=pyotp.TOTP(secret).now()).status_code == 303
    assert COOKIE in client.cookies


def test_the_second_step_expires(client: TestClient, accounts: Accounts) -> None:
    secret = _enrolled(accounts, "jon", at=datetime.now(UTC) - timedelta(minutes=10))
    stale = accounts.start(accounts.get("jon"), PENDING, now=datetime.now(UTC) - timedelta(minutes=6))
    client.cookies.set(PENDING_COOKIE, stale)
    expired = _post(client, "/sign-in/code", code=pyotp.TOTP(secret).now())
    assert expired.status_code == 401
    assert "Sign in again" in expired.text
    assert COOKIE not in client.cookies
    assert client.get("/sign-in/code").status_code == 401  # nor without any pending secret


def test_locking_out_at_the_second_step_starts_again(client: TestClient, ctx: Context, accounts: Accounts) -> None:
    secret = _enrolled(accounts, "kay", at=datetime.now(UTC) - timedelta(minutes=10))
    with ctx.registry.session() as session:
        session.execute(update(PortalUser).where(PortalUser.username == "kay").values(failed_sign_ins=MAX_FAILURES - 1))
    _password(client, "kay")
    locked = _post(client, "/sign-in/code", code="abcdef")
    assert locked.status_code == 400  # not a code at all: not counted
    refused = _post(client, "/sign-in/code", code=_wrong(secret))
    assert refused.status_code == 401
    assert "locked" in refused.text
    assert client.get("/sign-in/code").status_code == 401  # the pending secret has ended


def test_a_role_that_must_use_two_factors_sets_them_up(client: TestClient, accounts: Accounts) -> None:
    accounts.add("lyn", "Lyn Officer", "data-protection-officer", password=PASSWORD)
    other = accounts.start(accounts.get("lyn"), BROWSER)  # another browser, signed in with the password alone
    signed = _password(client, "lyn", next_="/audit")
    assert signed.headers["location"] == "/account/two-factor?next=%2Faudit"
    assert client.get("/audit", follow_redirects=False).headers["location"] == "/account/two-factor?next=%2Faudit"
    assert client.get("/api/v1/audit/events").status_code == 403
    page = client.get("/account/two-factor?next=%2Faudit")
    assert page.status_code == 200
    assert "Your role must use two-factor sign-in" in page.text
    secret = accounts.begin_two_factor("lyn")
    assert totp.grouped(secret) in page.text
    assert f"secret={secret}" in page.text  # the otpauth:// address
    assert "<svg" in page.text  # and as a QR code
    assert 'autocomplete="one-time-code"' in page.text
    wrong = _post(client, "/account/two-factor", code=_code(secret, datetime.now(UTC), 3), next="/audit")
    assert wrong.status_code == 400
    assert WRONG_CODE in wrong.text
    on = _post(client, "/account/two-factor", code=pyotp.TOTP(secret).now(), next="/audit")
    assert on.status_code == 200  # the recovery codes, shown once, then on to the page asked for
    assert "Your recovery codes" in on.text
    assert 'href="/audit"' in on.text
    assert client.get("/audit").status_code == 200
    assert accounts.holder(other, BROWSER) is None  # the browser signed in without the second factor is signed out
    on_page = client.get("/account/two-factor")
    assert "Two-factor sign-in is on" in on_page.text
    assert secret not in on_page.text
    api = accounts.start(accounts.get("lyn"), API)
    del client.cookies[COOKIE]
    assert client.get("/api/v1/audit/events", headers={"Authorization": f"Bearer {api}"}).status_code == 200


def test_turning_off_in_the_portal_needs_a_code(client: TestClient, ctx: Context, accounts: Accounts) -> None:
    secret = _enrolled(accounts, "max", role="chief-statistician", at=datetime.now(UTC) - timedelta(minutes=10))
    client.cookies.set(COOKIE, accounts.start(accounts.get("max"), BROWSER))
    assert _post(client, "/account/two-factor/off", code="").status_code == 400
    assert accounts.get("max").two_factor
    off = _post(client, "/account/two-factor/off", code=pyotp.TOTP(secret).now())
    assert off.headers["location"] == "/account/two-factor?done=off"
    assert not accounts.get("max").two_factor
    assert client.get("/collections", follow_redirects=False).headers["location"].startswith("/account/two-factor")
    with Context(ctx.settings) as other:
        actions = {e.action for e in other.audit.events(object_id="max")}
    assert "two-factor off" in actions


def test_any_account_may_turn_it_on(client: TestClient, accounts: Accounts) -> None:
    accounts.add("ned", "Ned", "sender", ["8742001"], password=PASSWORD)
    assert _password(client, "ned", next_="/returns").headers["location"] == "/returns"
    assert "Two-factor sign-in is off" in client.get("/account/two-factor").text
    secret = accounts.begin_two_factor("ned")
    assert "Your recovery codes" in _post(client, "/account/two-factor", code=pyotp.TOTP(secret).now()).text
    assert accounts.get("ned").two_factor


def test_the_policy_names_the_roles(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[sign_in]\ntwo_factor_roles = ["chief-statisticain"]\n')
    with pytest.raises(UsageError, match="names 'chief-statisticain', which is not a role"):
        create_app(Settings(home=tmp_path / "home", policy_file=policy))
    policy.write_text("[sign_in]\ntwo_factor_roles = []\n")
    settings = Settings(home=tmp_path / "home", policy_file=policy)
    with TestClient(create_app(settings)) as client, Context(settings) as ctx:
        Accounts(ctx.registry, ctx.keys).add("ola", "Ola", "data-protection-officer", password=PASSWORD)
        assert _password(client, "ola", next_="/audit").headers["location"] == "/audit"


def test_a_user_carries_whether_it_has_two_factors() -> None:
    assert not User(1, "x", "X", "statistician", ()).two_factor


def test_two_factor_on_both_registries(registry: Registry, tmp_path: Path) -> None:
    """The migration's columns and the row locks of checking a code, on SQLite and on PostgreSQL."""
    accounts = Accounts(registry, KeyStore(tmp_path / "keys"))
    secret = _enrolled(accounts, "pia", at=NOW - timedelta(minutes=10))
    user = accounts.get("pia")
    assert accounts.check_code(user, _code(secret, NOW), NOW).two_factor
    with pytest.raises(CodeRefused):
        accounts.check_code(user, _code(secret, NOW), NOW)
    assert accounts.reset_two_factor("pia")
