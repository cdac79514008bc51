"""The README's commands, one after another, on a fresh home: each step finds what the one before it made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pupildata.cli import main


def test_synth_collect_link_publish(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    home, returns = str(tmp_path / "home"), str(tmp_path / "returns")
    assert main(["synth", "--scale", "school", "--years", "2008/09", "--seed", "7", "--out", returns]) == 0
    capsys.readouterr()
    assert main(["--home", home, "collect", returns, "--json"]) in (0, 1)  # 1: some records quarantined
    collected = json.loads(capsys.readouterr().out)
    assert collected["totals"]["accepted"] > 0
    assert collected["totals"]["rejected"] == 0
    assert main(["--home", home, "link"]) == 0
    assert "Matched" in capsys.readouterr().out
    assert main(["--home", home, "publish", "child-measurement", "--json"]) == 0
    published = json.loads(capsys.readouterr().out)
    assert "child-measurement" in json.dumps(published)
    release = Path(home) / "outputs" / "releases" / "child-measurement" / "200809"
    assert (release / "release.json").is_file()
    assert main(["--home", home, "audit", "verify"]) == 0
