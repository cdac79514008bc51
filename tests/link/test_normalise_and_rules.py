"""Normalisation as real files need it, the deterministic pass's distrust of shared UPNs, and bad input."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pupildata.cli import main
from pupildata.errors import DataError
from pupildata.kernel.context import Context
from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.identifiers import make_upn
from pupildata.link import contract, deterministic, normalise, pipeline


def _one(engine: DuckDBEngine, expression: str, value: object) -> object:
    return engine.scalar(f"SELECT {expression} FROM (SELECT ?::VARCHAR AS v)", [value])


@pytest.mark.parametrize(
    ("given", "expected"),
    [("M", "M"), ("male", "M"), (" 1 ", "M"), ("Boy", "M"), ("F", "F"), ("Female", "F"), ("2", "F"), ("X", None)],
)
def test_sex_codes(given: str, expected: str | None) -> None:
    assert _one(DuckDBEngine(), normalise.sex("v"), given) == expected


def test_names_and_postcodes() -> None:
    engine = DuckDBEngine()
    assert _one(engine, normalise.name("v"), " O'Brien ") == "obrien"
    assert _one(engine, normalise.name("v"), "ZOË") == "zoe"
    assert _one(engine, normalise.name("v"), "   ") is None
    assert _one(engine, normalise.name_parts("v"), "Smith-Jones") == ["smith", "jones"]
    assert _one(engine, normalise.postcode("v"), "pe1  7nd") == "PE1 7ND"
    assert _one(engine, normalise.postcode("v"), "not a postcode") is None
    assert _one(engine, normalise.postcode_sector("v"), "PE1 7ND") == "PE1 7"
    upn = make_upn(874, 2000, 6, 1)
    assert _one(engine, normalise.upn("v"), upn) == upn
    assert _one(engine, normalise.upn("v"), upn[:-1] + "9") is None


def _records(engine: DuckDBEngine, rows: list[tuple[object, ...]]) -> None:
    engine.execute(contract.create_sql())
    columns = ("record_key", "source", "year", "forename", "surname", "dob", "sex", "upn", "return_key")
    engine.executemany(f"INSERT INTO link_record ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
    normalise.install_forename_groups(engine)
    engine.execute(f"CREATE TABLE link_norm AS {normalise.normal_select('link_record')}")


def test_a_upn_shared_by_twins_is_not_trusted_but_nicknames_and_typos_are_fine() -> None:
    engine = DuckDBEngine()
    twin, other = make_upn(874, 2000, 6, 1), make_upn(874, 2000, 6, 2)
    birth = date(2001, 3, 4)
    _records(
        engine,
        [
            ("a", "census", 2007, "Jack", "Ward", birth, "M", twin, "c7"),
            ("b", "census", 2008, "Jack", "Ward", birth, "M", twin, "c8"),
            ("c", "ks1", 2008, "Oliver", "Ward", birth, "M", twin, "k8"),  # the twin given his brother's UPN
            ("d", "census", 2007, "Thomas", "Lee", birth, "M", other, "c7"),
            ("e", "ks1", 2008, "Tom", "Lee", date(2001, 4, 3), "M", other, "k8"),  # nickname, day-month swap
        ],
    )
    deterministic.run(engine)
    untrusted = engine.fetchall("SELECT id, reason FROM link_untrusted")
    assert untrusted == [(twin, "forename")]
    edges = set(engine.fetchall("SELECT a, b FROM link_det_edge"))
    assert edges == {("e", "d")}


def test_linking_before_anything_is_collected_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--home", str(tmp_path / "home"), "link"]) == 1
    err = capsys.readouterr().err.strip()
    assert "Nothing has been collected yet" in err
    assert "pupildata collect" in err
    assert err.count("\n") == 0


def test_a_source_with_no_identifying_field_is_refused(tmp_path: Path) -> None:
    from pupildata.settings import Settings

    with Context(Settings(home=tmp_path / "home")) as ctx:
        ctx.warehouse.execute(contract.create_sql())
        ctx.warehouse.execute(
            "INSERT INTO link_record (record_key, source, year, ethnicity) VALUES ('x1', 'mystery', 2008, 'WBRI')"
        )
        with pytest.raises(DataError, match="mystery") as raised:
            pipeline.run(ctx, from_collection=False)
    assert str(raised.value).count("\n") == 0
