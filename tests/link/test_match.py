"""`pupildata match`: two CSV files, as real files come, matched on the fields each has."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pupildata.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
LEFT = "forename=Given,surname=Family,dob=Birth,sex=Gender,postcode=PostCode"
RIGHT = "forename=forename,surname=surname,dob=dob,sex=sex,postcode=postcode"


def _run(tmp_path: Path, *extra: str) -> list[dict[str, str]]:
    out = tmp_path / "pairs.csv"
    code = main(
        [
            "--home",
            str(tmp_path / "home"),
            "match",
            str(FIXTURES / "agency.csv"),
            "--against",
            str(FIXTURES / "extract.csv"),
            "--columns",
            LEFT,
            "--against-columns",
            RIGHT,
            "--left-id",
            "RespondentRef",
            "--right-id",
            "id",
            "--dob-format",
            "%d/%m/%Y",
            "--out",
            str(out),
            *extra,
        ]
    )
    assert code == 0
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_two_files_are_matched_one_to_one(tmp_path: Path) -> None:
    rows = _run(tmp_path, "--one-to-one")
    assert list(rows[0]) == ["left_id", "right_id", "match_probability"]
    pairs = {(r["left_id"], r["right_id"]) for r in rows}
    # nickname + apostrophe, hyphenated surname part, and twins kept apart by forename and sex
    assert {("R1", "A"), ("R2", "B"), ("R3", "D"), ("R4", "C")} <= pairs
    assert ("R3", "C") not in pairs
    assert ("R4", "D") not in pairs
    assert not any(left == "R6" for left, _ in pairs)  # nobody to match
    assert all(0.9 <= float(r["match_probability"]) <= 1 for r in rows)


def test_the_output_copies_no_identity(tmp_path: Path) -> None:
    text = (tmp_path / "pairs.csv").read_text() if (tmp_path / "pairs.csv").exists() else ""
    rows = _run(tmp_path)
    text = (tmp_path / "pairs.csv").read_text()
    assert "Patel" not in text
    assert "PE3" not in text
    assert "1997" not in text
    assert rows


def test_a_missing_column_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--home",
            str(tmp_path / "h"),
            "match",
            str(FIXTURES / "agency.csv"),
            "--against",
            str(FIXTURES / "extract.csv"),
            "--columns",
            "forename=FirstName",
            "--out",
            str(tmp_path / "o.csv"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0
    assert "FirstName" in err


def test_an_empty_file_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code = main(
        [
            "--home",
            str(tmp_path / "h"),
            "match",
            str(empty),
            "--against",
            str(FIXTURES / "extract.csv"),
            "--columns",
            "forename=forename",
            "--out",
            str(tmp_path / "o.csv"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert "empty" in err
    assert err.count("\n") == 0


def test_an_unknown_field_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--home",
            str(tmp_path / "h"),
            "match",
            str(FIXTURES / "agency.csv"),
            "--columns",
            "shoe_size=Given",
            "--out",
            str(tmp_path / "o.csv"),
        ]
    )
    assert code == 2
    assert "shoe_size" in capsys.readouterr().err
