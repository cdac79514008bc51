"""Recovery codes of two-factor sign-in: ten shown once, only their hashes kept, each accepted once instead of the
app's code (and audited), a new set ending the old one, and none left after turning two-factor sign-in off."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import given
from hypothesis import strategies as st

from pupildata.kernel.context import Context
from pupildata.kernel.pseudonyms import KeyStore
from pupildata.kernel.registry import Registry
from pupildata.settings import Settings
from pupildata.web import recovery, totp
from pupildata.web.accounts import (
    BROWSER,
    LOCKED,
    MAX_FAILURES,
    WRONG_RECOVERY_CODE,
    Accounts,
    CodeRefused,
)  # fmt: skip
from pupildata.web.auth import COOKIE

PASSWORD = "correct horse battery"
NOW = datetime(2026, 3, 2, 9, 30, 10, tzinfo=UTC)
SHOWN = re.compile(r"<li><code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code></li>")


def _enrolled(accounts: Accounts, username: str, at: datetime = NOW) -> tuple[str, list[str]]:
    """An account with two-factor sign-in on since ``at``: its secret and its recovery codes."""
    accounts.add(username, username.title(), "statistician", password=PASSWORD)
    secret = accounts.begin_two_factor(username, at)
    return secret, accounts.confirm_two_factor(username, totp.code_at(secret, totp.time_step(at)), at)


# --- the codes --------------------------------------------------------------------------------------------------


@given(st.data())
def test_a_code_is_read_however_it_is_typed(data: st.DataObject) -> None:
    code = recovery.new_code()
    kept = recovery.normalise(code)
    assert kept == code.replace("-", "")
    assert len(kept) == recovery.LENGTH
    typed = "".join(
        data.draw(st.sampled_from([c, c.upper()])) + data.draw(st.sampled_from(["", " ", "-"])) for c in code
    )
    assert recovery.normalise(typed) == kept
    assert recovery.normalise(kept.replace("0", "o").replace("1", "l")) == kept  # look-alike letters
    assert recovery.normalise(kept[:-1]) is None
    assert recovery.normalise(kept + "0") is None


@given(st.text(max_size=40))
def test_anything_else_is_not_a_code(text: str) -> None:
    kept = recovery.normalise(text)
    assert kept is None or (len(kept) == recovery.LENGTH and set(kept) <= set(recovery.ALPHABET))
    assert totp.normalise(text) is None or kept is None  # a code from the app is never taken for one


def test_turning_on_gives_ten_codes_kept_only_as_hashes(accounts: Accounts, settings: Settings) -> None:
    _, codes = _enrolled(accounts, "ann")
    assert len(codes) == len(set(codes)) == recovery.COUNT
    assert accounts.recovery_codes_left("ann") == recovery.COUNT
    dump = b"".join(path.read_bytes() for path in settings.home.glob("registry.sqlite*"))
    for code in codes:
        assert code.encode() not in dump
        assert code.replace("-", "").encode() not in dump
    assert recovery.digest(recovery.normalise(codes[0]) or "").encode() in dump


def test_a_code_works_once(accounts: Accounts) -> None:
    _, codes = _enrolled(accounts, "bob")
    user = accounts.get("bob")
    signed, left = accounts.check_recovery_code(user, codes[3].upper(), NOW)
    assert (signed.username, left) == ("bob", 9)
    with pytest.raises(CodeRefused, match=WRONG_RECOVERY_CODE) as again:
        accounts.check_recovery_code(user, codes[3], NOW)
    assert not again.value.start_again
    assert accounts.check_recovery_code(user, codes[4], NOW)[1] == 8


def test_wrong_codes_count_in_the_lockout(accounts: Accounts) -> None:
    _, codes = _enrolled(accounts, "cy")
    user = accounts.get("cy")
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(CodeRefused, match=WRONG_RECOVERY_CODE):
            accounts.check_recovery_code(user, "0000-0000-0000-0000", NOW)
    with pytest.raises(CodeRefused, match=LOCKED) as locked:
        accounts.check_recovery_code(user, "0000-0000-0000-0000", NOW)
    assert locked.value.start_again
    with pytest.raises(CodeRefused, match=LOCKED):  # a right one too, while locked
        accounts.check_recovery_code(user, codes[0], NOW)
    assert accounts.recovery_codes_left("cy") == recovery.COUNT  # and it is not used up


def test_a_new_set_ends_the_old_one(accounts: Accounts) -> None:
    secret, old = _enrolled(accounts, "dee", at=NOW - timedelta(minutes=5))
    with pytest.raises(CodeRefused):
        accounts.new_recovery_codes("dee", totp.code_at(secret, totp.time_step(NOW) + 4), NOW)
    new = accounts.new_recovery_codes("dee", totp.code_at(secret, totp.time_step(NOW)), NOW)
    assert not set(new) & set(old)
    user = accounts.get("dee")
    with pytest.raises(CodeRefused):
        accounts.check_recovery_code(user, old[0], NOW)
    assert accounts.check_recovery_code(user, new[0], NOW)[1] == 9
    with pytest.raises(CodeRefused):  # the app's code that made them is used up
        accounts.new_recovery_codes("dee", totp.code_at(secret, totp.time_step(NOW)), NOW)


def test_turning_off_or_a_reset_ends_the_codes(accounts: Accounts) -> None:
    secret, _ = _enrolled(accounts, "eve", at=NOW - timedelta(minutes=5))
    accounts.turn_off_two_factor("eve", totp.code_at(secret, totp.time_step(NOW)), NOW)
    assert accounts.recovery_codes_left("eve") == 0
    _enrolled(accounts, "fay")
    assert accounts.reset_two_factor("fay")
    assert accounts.recovery_codes_left("fay") == 0


def test_recovery_codes_on_both_registries(registry: Registry, tmp_path: Path) -> None:
    """The migration's table, and using a code under the row lock, on SQLite and on PostgreSQL."""
    accounts = Accounts(registry, KeyStore(tmp_path / "keys"))
    _, codes = _enrolled(accounts, "gil")
    user = accounts.get("gil")
    assert accounts.check_recovery_code(user, codes[0], NOW)[1] == 9
    with pytest.raises(CodeRefused):
        accounts.check_recovery_code(user, codes[0], NOW)
    accounts.start(user, BROWSER, NOW)
    assert accounts.reset_two_factor("gil")
    assert accounts.recovery_codes_left("gil") == 0


# --- the portal -------------------------------------------------------------------------------------------------


def _post(client: TestClient, url: str, **data: str) -> Response:
    return client.post(url, data=data, follow_redirects=False)


def _events(settings: Settings, username: str) -> list[tuple[str, str, dict[str, object]]]:
    with Context(settings) as other:
        return [(e.actor, e.action, json.loads(e.detail)) for e in reversed(other.audit.events(object_id=username))]


def test_switching_on_shows_the_codes_once(client: TestClient, accounts: Accounts, settings: Settings) -> None:
    accounts.add("hal", "Hal", "statistician", password=PASSWORD)
    client.cookies.set(COOKIE, accounts.start(accounts.get("hal"), BROWSER))
    secret = accounts.begin_two_factor("hal")
    on = _post(client, "/account/two-factor", code=pyotp.TOTP(secret).now())
    assert on.status_code == 200
    codes = SHOWN.findall(on.text)
    assert len(codes) == recovery.COUNT
    assert "This is the only time these codes are shown" in on.text
    page = client.get("/account/two-factor").text
    assert not any(code in page for code in codes)
    assert re.search(r"You have <strong>10</strong> unused recovery\s+codes", page)
    assert ("portal:hal", "two-factor on", {"from": "testclient", "recovery_codes": 10}) in _events(settings, "hal")
    assert not any(code in json.dumps(_events(settings, "hal")) for code in codes)


def _pending(client: TestClient, username: str) -> None:
    client.cookies.clear()
    asked = _post(client, "/sign-in", username=username, password=PASSWORD, next="/collections")
    assert asked.headers["location"] == "/sign-in/code?next=%2Fcollections"


def test_signing_in_with_a_recovery_code(client: TestClient, accounts: Accounts, settings: Settings) -> None:
    _, codes = _enrolled(accounts, "ida", at=datetime.now(UTC) - timedelta(minutes=10))
    _pending(client, "ida")
    page = client.get("/sign-in/code?next=%2Fcollections").text
    assert "I cannot use my authenticator app" in page
    assert 'id="recovery-code"' in page
    malformed = _post(client, "/sign-in/code", code="not a code", kind="recovery", next="/collections")
    assert malformed.status_code == 400
    assert 'href="#recovery-code"' in malformed.text
    assert "Enter a recovery code: 16 letters and digits" in malformed.text
    used = _post(client, "/sign-in/code", code=codes[0], kind="recovery", next="/collections")
    assert used.status_code == 200
    assert "You signed in with a recovery code" in used.text
    assert re.search(r"You have\s+<strong>9</strong> recovery codes left", used.text)
    assert 'href="/collections"' in used.text
    assert client.get("/collections").status_code == 200  # signed in
    events = _events(settings, "ida")
    assert ("portal:ida", "recovery code used", {"from": "testclient", "left": 9}) in events
    assert ("portal:ida", "sign in", {"from": "testclient", "method": "recovery code"}) in events

    _pending(client, "ida")
    again = _post(client, "/sign-in/code", code=codes[0], kind="recovery", next="/collections")
    assert again.status_code == 401
    assert WRONG_RECOVERY_CODE in again.text
    assert 'href="#recovery-code"' in again.text
    assert COOKIE not in client.cookies
    assert ("portal:anonymous", "sign in refused", {"from": "testclient", "method": "recovery code"}) in _events(
        settings, "ida"
    )
    typed = codes[1].upper().replace("-", " ")  # in the app's code box, as typed from paper
    assert "9 recovery codes left" not in _post(client, "/sign-in/code", code=typed, next="/collections").text
    assert client.get("/collections").status_code == 200
    assert accounts.recovery_codes_left("ida") == 8


def test_a_new_set_in_the_portal(client: TestClient, accounts: Accounts, settings: Settings) -> None:
    secret, old = _enrolled(accounts, "jon", at=datetime.now(UTC) - timedelta(minutes=10))
    client.cookies.set(COOKIE, accounts.start(accounts.get("jon"), BROWSER))
    step = totp.time_step(datetime.now(UTC))
    wrong = _post(client, "/account/two-factor/recovery-codes", code=totp.code_at(secret, step + 4))
    assert wrong.status_code == 400
    assert 'href="#new-codes-code"' in wrong.text
    assert "The code is not right" in wrong.text
    assert _post(client, "/account/two-factor/recovery-codes", code="").status_code == 400
    made = _post(client, "/account/two-factor/recovery-codes", code=pyotp.TOTP(secret).now())
    assert made.status_code == 200
    assert "Your earlier codes no longer work" in made.text
    new = SHOWN.findall(made.text)
    assert len(new) == recovery.COUNT
    assert not set(new) & set(old)
    actions = [(actor, action) for actor, action, _ in _events(settings, "jon")]
    assert ("portal:jon", "recovery codes refused") in actions
    assert ("portal:jon", "recovery codes made") in actions
    _pending(client, "jon")
    assert _post(client, "/sign-in/code", code=old[0], kind="recovery").status_code == 401
    assert _post(client, "/sign-in/code", code=new[0], kind="recovery").status_code == 200
