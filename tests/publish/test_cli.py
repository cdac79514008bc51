"""``pupildata publish``: one line per release, JSON on request, each release a run and an audit event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pupildata.cli import main
from pupildata.kernel.context import Context
from pupildata.kernel.engine import open_warehouse
from pupildata.settings import Settings

from .warehouse import make_warehouse


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    with open_warehouse(Settings(home=home).warehouse) as engine:
        make_warehouse(engine, per_school_year=150)
    return home


def test_publish_records_a_run_and_an_audit_event(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["publish", "child-measurement", "--home", str(home), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    [result] = json.loads(out)
    assert result["time_period"] == "200809"
    folder = Path(result["folder"])
    assert folder == home / "outputs" / "releases" / "child-measurement" / "200809"
    assert sorted(p.name for p in folder.iterdir()) == sorted(result["files"])
    with Context(Settings(home=home)) as ctx:
        [run] = ctx.runs.recent("publish")
        assert run.status == "succeeded"
        assert run.parameters["release"] == "child-measurement"
        assert run.counts["cells"] > 0
        assert ctx.audit.verify().ok
        assert ctx.audit.verify().checked == 1


def test_an_unknown_release_is_one_line_and_exit_2(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["publish", "fish-counts", "--home", str(home)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "Unknown release 'fish-counts'" in err


def test_publishing_without_a_linked_warehouse_says_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["publish", "--home", str(tmp_path / "empty")])
    err = capsys.readouterr().err
    assert code == 1
    assert "pupildata link" in err
