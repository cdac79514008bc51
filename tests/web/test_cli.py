from __future__ import annotations

import hashlib
import io
import json
import socket
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
import typer
from typer.testing import CliRunner

from pupildata.cli import main
from pupildata.errors import UsageError
from pupildata.settings import Settings
from pupildata.web import cli as web_cli
from pupildata.web import server


def test_register_adds_serve() -> None:
    app = typer.Typer()
    app.command()(lambda: None)  # a second command keeps typer in multi-command mode
    web_cli.register(app)
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.output
    assert "--port" in result.output


def test_serve_prints_the_address_then_serves(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[Settings, str, int]] = []
    monkeypatch.setattr(server, "serve", lambda settings, host, port: calls.append((settings, host, port)))
    app = typer.Typer()
    app.command()(lambda: None)
    web_cli.register(app)
    result = CliRunner().invoke(app, ["serve", "--home", str(tmp_path), "--port", "0"])
    assert result.exit_code != 0  # port 0 is outside 1-65535
    free = _free_port()
    result = CliRunner().invoke(app, ["serve", "--home", str(tmp_path), "--port", str(free)])
    assert result.exit_code == 0, result.output
    assert f"http://127.0.0.1:{free}/" in result.output
    assert calls == [(Settings(home=tmp_path), "127.0.0.1", free)]


def test_the_root_command_has_serve(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    assert "Serve the web portal" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_port_in_use_is_one_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(UsageError, match=f"Port {port} on 127.0.0.1 is already in use"):
            server.check_port_free("127.0.0.1", port)


@pytest.mark.parametrize(
    ("host", "url"),
    [("127.0.0.1", "http://127.0.0.1:8000/"), ("::1", "http://[::1]:8000/"), ("localhost", "http://localhost:8000/")],
)
def test_url_for(host: str, url: str) -> None:
    assert server.url_for(host, 8000) == url
    assert server.is_loopback(host)


def test_other_hosts_are_not_loopback() -> None:
    assert not server.is_loopback("0.0.0.0")
    assert not server.is_loopback("portal.example")


def _home(tmp_path: Path) -> list[str]:
    return ["--home", str(tmp_path / "home")]


def test_user_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from pupildata.kernel.context import Context
    from pupildata.web.accounts import API, BROWSER, LINK, Accounts

    home = _home(tmp_path)
    assert main(["user", "add", "alex", "--role", "sender", "--sender", "la:857", "--name", "Alex", *home]) == 0
    printed = capsys.readouterr().out
    assert "Account alex (School, local authority or other sender) created." in printed
    link = printed.split("Sign-in link (works once, for 30 minutes): ")[1].strip()
    assert link.startswith("http://127.0.0.1:8000/sign-in/link/")
    ctx = Context(Settings(home=tmp_path / "home"))
    accounts = Accounts(ctx.registry, ctx.keys)
    assert accounts.holder(link.rsplit("/", 1)[1], LINK) is not None

    assert main(["user", "token", "alex", "--days", "7", *home]) == 0
    token = capsys.readouterr().out.strip()
    assert accounts.holder(token, API) is not None
    assert main(["user", "token", "alex", "--label", "nightly export", *home]) == 0
    labelled = capsys.readouterr().out.strip()
    listed = {t.label: t for t in accounts.api_tokens(accounts.get("alex"))}
    assert sorted(listed) == ["command line", "nightly export"]  # as the holder's tokens page lists them
    assert listed["nightly export"].public_id == hashlib.sha256(labelled.encode()).hexdigest()[:12]
    assert listed["command line"].expires_at - listed["command line"].created_at == timedelta(days=7)

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["user", "password", "alex", *home]) == 0
    assert capsys.readouterr().out.strip() == "Password of alex set."
    assert accounts.sign_in("alex", "a long enough password").username == "alex"

    assert main(["user", "list", "--json", *home]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == [
        {"username": "alex", "name": "Alex", "role": "sender", "senders": ["la:857"], "disabled": False,
         "two_factor": False}
    ]  # fmt: skip

    secret = accounts.begin_two_factor("alex")  # a lost phone: the administrator resets two-factor sign-in
    accounts.confirm_two_factor("alex", pyotp.TOTP(secret).now())
    browser = accounts.start(accounts.get("alex"), BROWSER)
    assert main(["user", "list", *home]) == 0
    assert "(two-factor sign-in)" in capsys.readouterr().out
    assert main(["user", "two-factor-reset", "alex", *home]) == 0
    assert capsys.readouterr().out.strip() == "Two-factor sign-in of alex turned off, and its browsers signed out."
    assert not accounts.get("alex").two_factor
    assert accounts.holder(browser, BROWSER) is None
    assert accounts.holder(token, API) is not None  # API tokens are not signed out

    assert main(["user", "disable", "alex", *home]) == 0
    assert accounts.holder(token, API) is None
    assert accounts.get("alex").disabled
    with Context(Settings(home=tmp_path / "home")) as ctx:
        actions = {e.action for e in ctx.audit.events(object_id="alex")}
    assert {
        "account created", "sign-in link made", "API token made", "password set", "two-factor reset",
        "account disabled",
    } <= actions  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["user", "add", "x1", "--role", "sender"], "needs at least one --sender"),
        (["user", "link", "nobody"], "There is no account called 'nobody'."),
        (["user", "add", "x2", "--role", "admin"], "There is no role called 'admin'."),
        (["user", "token", "nobody", "--label", ""], "Enter a label for the token"),
    ],
)
def test_user_command_mistakes_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main([*args, *_home(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error


def test_the_demo_account_gets_a_new_link_each_time(tmp_path: Path) -> None:
    from pupildata.kernel.context import Context
    from pupildata.web.accounts import LINK, Accounts

    first = web_cli.demo_sign_in_link(tmp_path / "home", "http://127.0.0.1:8000/")
    second = web_cli.demo_sign_in_link(tmp_path / "home", "http://127.0.0.1:8000/")
    assert first != second
    accounts = Accounts(Context(Settings(home=tmp_path / "home")).registry)
    assert [u.username for u in accounts.all()] == ["demo"]
    assert accounts.holder(first.rsplit("/", 1)[1], LINK) is not None
