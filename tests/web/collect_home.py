"""A small data home with returns collected into it, for the collection pages' tests (HTTP and browser).

The hand-written returns of the collection tests, plus two hostile survey files (one whose values are spreadsheet
formulas, one whose values are HTML) and an empty file, which is refused. The spring census expects a third
school, which has not sent.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyotp
from fastapi.testclient import TestClient

from pupildata.collect import Options, Summary, collect
from pupildata.collect.collections import expect
from pupildata.collect.queries import recent_receipts
from pupildata.collect.receipts import Receipt
from pupildata.errors import UsageError
from pupildata.kernel.context import Context
from pupildata.settings import Settings
from pupildata.web.accounts import BROWSER, Accounts, User
from pupildata.web.auth import COOKIE

TESTS = Path(__file__).resolve().parents[1]
FIXTURES = TESTS / "collect" / "fixtures"
FORMULA = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert(1)</script>"
CENSUS = "census-2009-spr"
MISSING_SCHOOL = ("8749999", "Absent Primary School")

_HEADER = "RespondentID,Wave,InterviewDate,FirstName,LastName,DOB,Gender,Postcode,MainActivity\n"


def _survey(path: Path, case_id: str, wave: int) -> Path:
    """Two answers with the same respondent and wave: both fail SUR-CAS-06 and show ``case_id`` as the value."""
    row = f'"{case_id}",{wave},20090501,Ann,Lee,19960101,Female,PE1 1AA,At school\n'
    path.write_text(_HEADER + row + row, encoding="utf-8")
    return path


def collected_home(home: Path) -> tuple[Settings, Summary]:
    """Collect the fixtures into ``home``; returns its settings and the collect summary."""
    incoming = home.parent / "incoming"
    shutil.copytree(FIXTURES, incoming)
    _survey(incoming / "formula.csv", FORMULA.replace('"', '""'), 1)
    _survey(incoming / "script.csv", SCRIPT, 2)
    shutil.copy(TESTS / "collect" / "hostile" / "empty.csv", incoming / "empty.csv")
    settings = Settings(home=home)
    with Context(settings) as ctx:
        summary = collect(ctx, [incoming], Options())
        senders = [(r.sender, r.sender_name) for r in summary.receipts if r.collection == CENSUS and r.sender]
        expect(ctx.registry, CENSUS, "census", [*senders, MISSING_SCHOOL])
    return settings, summary


def receipt_of(summary: Summary, file_name: str) -> int:
    return next(r.receipt_id for r in summary.receipts if r.file_name == file_name)


def sign_in(
    client: TestClient,
    settings: Settings,
    username: str,
    role: str,
    senders: list[str] | None = None,
    *,
    two_factor: bool | None = None,
) -> User:
    """Make an account (unless it exists) and give ``client`` a browser session of it.

    The account has two-factor sign-in on when ``two_factor`` says so, by default when its role must have it (as
    after signing in with a code)."""
    with Context(settings) as ctx:
        accounts = Accounts(ctx.registry, ctx.keys)
        try:
            user = accounts.get(username)
        except UsageError:
            user = accounts.add(username, username.title(), role, senders or [])
            if two_factor if two_factor is not None else role in ctx.policy.sign_in.two_factor_roles:
                secret = accounts.begin_two_factor(username)
                accounts.confirm_two_factor(username, pyotp.TOTP(secret).now())
                user = accounts.get(username)
        client.cookies.set(COOKIE, accounts.start(user, BROWSER))
    return user


def page_text(response: object) -> str:
    """A page's text as a reader sees it (entities decoded)."""
    return html.unescape(response.text)  # type: ignore[attr-defined]


def all_receipts(settings: Settings) -> list[Receipt]:
    """Every receipt of the home, newest first."""
    with Context(settings) as ctx:
        return recent_receipts(ctx.registry, senders=None)


def kept_uploads(settings: Settings) -> list[Path]:
    """The files left in the home's incoming folder (an upload refused or collected must leave none)."""
    return [p for p in settings.incoming_dir.rglob("*") if p.is_file()] if settings.incoming_dir.exists() else []


#: A process that opens the warehouse for writing (as a command-line load does), says so, and keeps it.
_HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(60)
"""


@contextmanager
def warehouse_held(settings: Settings) -> Iterator[None]:
    """For the block, another process holds the home's warehouse for writing, as a load running on the command
    line does (no other process may then open it, even to read)."""
    writer = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(settings.warehouse)], stdout=subprocess.PIPE)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == b"locked"
        yield
    finally:
        writer.kill()
        writer.wait()
