"""The synth command: impossible options give one line and exit 2; the same seed gives the same bytes."""

from __future__ import annotations

import hashlib
import json

import pytest

from pupildata.cli import main


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--pupils", "0"], "--pupils must be a positive number"),
        (["--pupils", "-3"], "--pupils must be a positive number"),
        (["--scale", "planet"], "--scale 'planet' is not one of"),
        (["--years", "2009/10..2006/07"], "runs backwards"),
        (["--years", "2008/10"], "--years"),
    ],
)
def test_impossible_options_exit_2_with_one_line(args, says, tmp_path, capsys) -> None:
    assert main(["synth", *args, "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert says in lines[0]
    assert not (tmp_path / "out").exists()


def test_output_folder_that_is_a_file_exits_2(tmp_path, capsys) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    assert main(["synth", "--scale", "school", "--out", str(target)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "is a file" in lines[0]


def test_folder_of_other_files_is_refused(tmp_path, capsys) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["synth", "--scale", "school", "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err


def _digests(folder) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_whatever_the_workers(tmp_path, capsys) -> None:
    args = ["synth", "--scale", "school", "--years", "2007/08..2008/09", "--seed", "11"]
    assert main([*args, "--out", str(tmp_path / "a"), "--workers", "1"]) == 0
    assert "census" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "b"), "--workers", "2", "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["seed"] == 11
    assert {f["source"] for f in manifest["files"]} >= {"census", "ks2", "ncmp", "post16", "survey"}
    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert first == second
    assert len(first) > 20
    # Run again into the same folder: it is replaced, byte for byte.
    assert main([*args, "--out", str(tmp_path / "a"), "--workers", "2"]) == 0
    assert _digests(tmp_path / "a") == first
    # Another seed gives other people.
    assert main(["synth", "--scale", "school", "--years", "2008/09", "--seed", "12", "--out", str(tmp_path / "c")]) == 0
    assert _digests(tmp_path / "c")["truth/people.parquet"] != first["truth/people.parquet"]
