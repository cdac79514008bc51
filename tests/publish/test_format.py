"""The open-data writer: mandatory columns, symbols not blanks, a complete matrix, inert text, atomic folders."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest

from pupildata.publish.format import Column, Symbol, escape, format_number, render, write_atomically

COLUMNS = (
    Column("sex", "Filter", "Sex", hint="Boys and girls"),
    Column("pupils", "Indicator", "Pupils"),
    Column("fsm_percent", "Indicator", "Eligible for free school meals", unit="%", dp=1),
)


def _row(level: str, sex: str, pupils: float | Symbol, percent: float | Symbol, **geo: str) -> dict:
    base = {
        "time_period": "200809",
        "time_identifier": "Academic year",
        "geographic_level": level,
        "country_code": "E92000001",
        "country_name": "England",
    }
    return {**base, **geo, "sex": sex, "pupils": pupils, "fsm_percent": percent}


LA = {"region_code": "E12000007", "region_name": "London", "old_la_code": "201", "new_la_code": "E09000001"}


def _rows() -> list[dict]:
    rows = []
    for sex in ("Total", "Boys", "Girls"):
        rows.append(_row("National", sex, 1000, 14.26))
        rows.append(_row("Local authority", sex, Symbol.confidential, 0.01, **LA, la_name="=HYPERLINK(1)"))
    return rows


def test_mandatory_columns_come_first_and_no_cell_is_blank() -> None:
    data, meta = render(_rows(), COLUMNS)
    table = list(csv.DictReader(io.StringIO(data)))
    assert list(table[0])[:5] == ["time_period", "time_identifier", "geographic_level", "country_code", "country_name"]
    assert all(value != "" for row in table for value in row.values())
    national = [r for r in table if r["geographic_level"] == "National"]
    assert {r["la_name"] for r in national} == {"z"}  # not applicable on a national row
    local = [r for r in table if r["geographic_level"] == "Local authority"]
    assert {r["pupils"] for r in local} == {"c"}
    assert {r["fsm_percent"] for r in local} == {"low"}  # 0.01 shows as 0.0 but is not 0
    assert {r["fsm_percent"] for r in national} == {"14.3"}
    assert {r["la_name"] for r in local} == {"'=HYPERLINK(1)"}
    described = list(csv.DictReader(io.StringIO(meta)))
    assert [m["col_name"] for m in described] == ["sex", "pupils", "fsm_percent"]
    assert described[2]["indicator_unit"] == "%"
    assert described[2]["indicator_dp"] == "1"


def test_symbols_and_rounding_to_low() -> None:
    assert format_number(0.004, 1) == "low"
    assert format_number(0.0, 1) == "0.0"
    assert format_number(math.nan, 0) == "x"
    assert format_number(Symbol.not_applicable, 2) == "z"
    assert escape("+44") == "'+44"
    assert escape("Bath") == "Bath"


def test_an_incomplete_matrix_is_refused() -> None:
    rows = _rows()[:-1]
    with pytest.raises(ValueError, match="not complete"):
        render(rows, COLUMNS)


def test_a_folder_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "releases" / "r" / "200809"
    write_atomically(target, {"a.csv": "1", "b.csv": "2"})
    write_atomically(target, {"c.csv": "3"})
    assert sorted(p.name for p in target.iterdir()) == ["c.csv"]
    assert [p.name for p in target.parent.iterdir()] == ["200809"]
