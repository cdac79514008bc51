"""The command line: exit codes, one-line errors without tracebacks, --home everywhere, --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pupildata.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.startswith("pupildata ")


def test_audit_verify_on_a_new_home(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "audit", "verify", "--home", str(tmp_path / "h"))
    assert code == 0
    assert "intact: 0 events verified" in out
    code, out, _ = run(capsys, "--home", str(tmp_path / "h"), "audit", "verify", "--json")
    assert code == 0
    assert json.loads(out) == {"ok": True, "checked": 0, "first_bad_seq": None, "problem": None}


def test_audit_verify_reports_tampering_with_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import sqlite3

    from pupildata.kernel.audit import Event
    from pupildata.kernel.context import Context
    from pupildata.settings import Settings

    with Context(Settings(home=tmp_path / "h")) as ctx:
        for n in range(3):
            ctx.audit.append(Event("user:a", "view", "pupil", str(n)))
    con = sqlite3.connect(tmp_path / "h" / "registry.sqlite")
    con.execute("DROP TRIGGER audit_event_no_delete")
    con.execute("DELETE FROM audit_event WHERE seq = 2")
    con.commit()
    con.close()
    code, out, _ = run(capsys, "audit", "verify", "--home", str(tmp_path / "h"))
    assert code == 1
    assert "event 2 is missing" in out


def test_runs_lists_recorded_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from pupildata.kernel.context import Context
    from pupildata.settings import Settings

    with Context(Settings(home=tmp_path / "h")) as ctx, ctx.runs.record("collect") as handle:
        handle.count("accepted", 1234)
    code, out, _ = run(capsys, "runs", "--home", str(tmp_path / "h"))
    assert code == 0
    assert "collect" in out
    assert "accepted 1,234" in out
    code, out, _ = run(capsys, "runs", "--home", str(tmp_path / "h"), "--json")
    assert json.loads(out)[0]["counts"] == {"accepted": 1234}


def test_home_that_is_a_file_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    code, out, err = run(capsys, "audit", "verify", "--home", str(tmp_path / "f"))
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "is a file, not a directory" in err
    assert "Traceback" not in err + out


def test_broken_settings_file_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "settings.toml"
    bad.write_text("warehouse_threads = 'many'\n")
    monkeypatch.setenv("PUPILDATA_SETTINGS_FILE", str(bad))
    code, _, err = run(capsys, "audit", "verify", "--home", str(tmp_path / "h"))
    assert code == 2
    assert "'warehouse_threads' is invalid" in err


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "frobnicate")
    assert code == 2
    assert "No such command" in err


def test_installed_console_script_runs() -> None:
    script = Path(sys.executable).parent / "pupildata"
    result = subprocess.run(
        [str(script), "validate", "upn", "H801200001002"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 1
    assert "check letter should be X" in result.stdout


def test_tables_sent_to_a_file_are_not_folded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written to no terminal, a table has room for its values (Rich would fold them to 80 columns)."""
    monkeypatch.delenv("COLUMNS", raising=False)
    census = Path(__file__).parent / "collect" / "fixtures" / "census_8742001.xml"
    home = ["--home", str(tmp_path / "home")]
    assert main([*home, "collect", str(census)]) == 1
    capsys.readouterr()
    assert main([*home, "collection", "status", "census-2009-spr"]) == 0
    lines = capsys.readouterr().out.splitlines()
    (school,) = [line for line in lines if "8742001" in line]
    for whole in ("Fixture Primary School", "partly accepted", "CEN-ETH-03 ×1"):
        assert whole in school
