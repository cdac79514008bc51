"""`pupildata validate`: one line per value, exit 0 when all are valid, 1 when any is not, 2 for a usage error."""

from __future__ import annotations

import json

import pytest

from pupildata.cli import main


def test_valid_upns_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "upn", "H801200001001", "B801200005001", "G80120000101A"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "H801200001001: valid",
        "B801200005001: valid",
        "G80120000101A: valid (temporary UPN)",
    ]


def test_invalid_upn_exits_1_and_names_the_check_letter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "upn", "H801200001002"]) == 1
    out = capsys.readouterr().out
    assert "check letter should be X" in out
    assert "H801200001002: invalid" in out


def test_one_invalid_among_valid_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "upn", "H801200001001", "H801200001002"]) == 1
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_valid_uln_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "uln", "1234567899"]) == 0
    assert capsys.readouterr().out.strip() == "1234567899: valid"


def test_invalid_uln_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "uln", "1234567890"]) == 1
    assert "check digit should be 9" in capsys.readouterr().out


def test_json_output_parses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "upn", "--json", "H801200001001", "H801200001002", "X00180001701A"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload == [
        {"value": "H801200001001", "valid": True, "reason": None, "temporary": False},
        {"value": "H801200001002", "valid": False, "reason": "check letter should be X", "temporary": False},
        {"value": "X00180001701A", "valid": True, "reason": None, "temporary": True},
    ]


def test_json_output_for_ulns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "uln", "1234567899", "0000000042", "--json"]) == 0
    assert [item["valid"] for item in json.loads(capsys.readouterr().out)] == [True, True]


@pytest.mark.parametrize(
    ("kind", "value"),
    [("postcode", "sw1a 1aa"), ("urn", "100000"), ("laestab", "8012000")],
)
def test_other_kinds(kind: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", kind, value]) == 0
    assert capsys.readouterr().out.strip() == f"{value}: valid"


def test_unknown_kind_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "nhs-number", "9434765919"]) == 2
    assert "nhs-number" in capsys.readouterr().err


def test_no_values_exits_2() -> None:
    assert main(["validate", "upn"]) == 2
