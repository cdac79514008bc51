from __future__ import annotations

import socket
from pathlib import Path

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
