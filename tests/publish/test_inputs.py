"""The contract tables made from collected records and a spine: through synthesis, collection and publishing.

The spine here comes from the generator's truth (``linked.py``), standing in for matching; everything else is the
real path: ``synth`` writes the returns, ``collect`` loads them, ``install_release_inputs`` makes the contract
tables, and every release is published, protected and audited from them.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pupildata.collect import Options, collect
from pupildata.errors import DataError
from pupildata.kernel.context import Context
from pupildata.kernel.reference.tables import install_reference_tables
from pupildata.publish.inputs import install_release_inputs, release_inputs
from pupildata.publish.releases import RELEASES
from pupildata.publish.service import latest_year, publish_recorded
from pupildata.publish.sources import prepare
from pupildata.settings import Settings
from pupildata.synth import Scale, SynthConfig, generate
from pupildata.web.app import create_app

from .linked import link_from_truth, pmr_of


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("linked")
    settings = Settings(home=root / "home")
    synth = root / "synth"
    generate(SynthConfig(scale=Scale.school, pupils=1500, workers=1), synth)
    with Context(settings) as ctx:
        install_reference_tables(ctx.warehouse)
        collect(ctx, [synth], Options())
        link_from_truth(ctx.warehouse, synth)
        counts = install_release_inputs(ctx.warehouse)
    return settings, synth, counts


def _rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with Context(settings) as ctx:
        return ctx.warehouse.fetchall(sql)


def test_one_pupil_year_row_per_pupil_and_year(linked: tuple[Settings, Path, dict[str, int]]) -> None:
    settings, _, counts = linked
    assert all(n > 0 for n in counts.values()), counts
    [(rows, distinct)] = _rows(settings, "SELECT count(*), count(DISTINCT (pmr, year)) FROM pupil_year")
    assert rows == distinct == counts["pupil_year"]
    assert _rows(settings, "SELECT count(*) FROM pupil_year WHERE la_code IS NULL OR school_urn IS NULL") == [(0,)]


def test_contract_tables_are_kept_only_while_their_inputs_are_unchanged(
    linked: tuple[Settings, Path, dict[str, int]],
) -> None:
    settings, _, counts = linked
    with Context(settings) as ctx:
        engine = ctx.warehouse
        first = release_inputs(engine)
        again = release_inputs(engine)
        assert again.reused
        assert again.counts == first.counts == counts
        [(key, pmr)] = engine.fetchall(
            "SELECT m.record_key, m.pmr FROM link_member m JOIN pupil_year p USING (pmr) "
            "WHERE m.record_key LIKE 'census:%' ORDER BY 1 LIMIT 1"
        )
        try:  # matched differently: made again, with the new PMR
            engine.execute("UPDATE link_member SET pmr = 'P-moved' WHERE record_key = ?", [key])
            moved = release_inputs(engine)
            assert not moved.reused
            assert moved.fingerprint != again.fingerprint
            assert engine.fetchall("SELECT count(*) FROM pupil_year WHERE pmr = 'P-moved'") != [(0,)]
        finally:
            engine.execute("UPDATE link_member SET pmr = ? WHERE record_key = ?", [pmr, key])
        restored = release_inputs(engine)
        assert not restored.reused
        assert restored.fingerprint == again.fingerprint
        assert restored.counts == counts
        assert engine.fetchall("SELECT count(*) FROM pupil_year WHERE pmr = 'P-moved'") == [(0,)]


def test_characteristics_are_the_truths(linked: tuple[Settings, Path, dict[str, int]]) -> None:
    settings, synth, _ = linked
    people, states = str(synth / "truth" / "people.parquet"), str(synth / "truth" / "*" / "state.parquet")
    [(rows, sex, ethnicity, eal, fsm, school, nc_year)] = _rows(
        settings,
        f"""
        WITH state AS (SELECT *, CAST(regexp_extract(filename, '([0-9]+)-[0-9]+/state', 1) AS INTEGER) AS year
                       FROM read_parquet('{states}', filename = true))
        SELECT count(*), avg(CAST(py.sex = p.sex AS DOUBLE)),
               avg(CAST(py.ethnicity_major = coalesce(e.grouping, 'Unclassified') AS DOUBLE)),
               avg(CAST(py.eal = p.eal AS DOUBLE)), avg(CAST(py.fsm = s.fsm AS DOUBLE)),
               avg(CAST(py.school_laestab = s.laestab AS DOUBLE)),
               avg(CAST(py.nc_year = CASE WHEN s.nc_year = 0 THEN 'R' ELSE CAST(s.nc_year AS VARCHAR) END AS DOUBLE))
        FROM pupil_year py
        JOIN read_parquet('{people}') p ON '{pmr_of(0)[:-1]}' || p.person_id = py.pmr
        JOIN state s ON s.person_id = p.person_id AND s.year = py.year
        LEFT JOIN ref_code e ON e.code_set = 'ethnicity' AND e.code = p.ethnicity""",
    )[0:1]
    assert rows == _rows(settings, "SELECT count(*) FROM pupil_year")[0][0]
    for share in (sex, ethnicity, eal, fsm, school, nc_year):
        assert share > 0.98, (sex, ethnicity, eal, fsm, school, nc_year)


def test_attainment_is_near_the_generators_shares(linked: tuple[Settings, Path, dict[str, int]]) -> None:
    settings, _, _ = linked
    rates = dict(
        _rows(
            settings,
            "SELECT key_stage, avg(CAST(at_expected AS DOUBLE)) FROM ks_result WHERE pmr IS NOT NULL GROUP BY 1",
        )
    )
    # the generator cuts levels at: KS1 2+ 87%, KS2 4+ 80%, KS3 5+ 76%, KS4 C+ 64%
    for stage, expected in {1: 0.87, 2: 0.80, 3: 0.76, 4: 0.64}.items():
        assert rates[stage] == pytest.approx(expected, abs=0.06), (stage, rates)
    assert _rows(settings, "SELECT count(*) FROM ks_result WHERE level_value IS NULL AND at_expected") == [(0,)]


def test_child_measurement_reproduces_obesity(linked: tuple[Settings, Path, dict[str, int]]) -> None:
    settings, _, _ = linked
    with Context(settings) as ctx:
        view = prepare(ctx.warehouse, "ncmp")
        rates = dict(
            ctx.warehouse.fetchall(
                f"SELECT nc_year, avg(CAST(bmi_category = 'obese' AS DOUBLE)) FROM {view} GROUP BY 1"
            )
        )
    assert rates["R"] == pytest.approx(0.096, abs=0.04)
    assert rates["6"] == pytest.approx(0.183, abs=0.05)


def test_every_release_publishes_protected_and_the_portal_shows_them(
    linked: tuple[Settings, Path, dict[str, int]],
) -> None:
    settings, _, _ = linked
    published: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    with Context(settings) as ctx:
        year = latest_year(ctx.warehouse)
        for name, spec in RELEASES.items():
            try:
                published[name] = publish_recorded(ctx, spec, year)
            except DataError as exc:
                failed[name] = str(exc)
        threshold = ctx.policy.disclosure.min_frequency
    assert not failed, failed
    # three years collected cannot pair KS1 with KS2 (four years apart): that table is published as x, with a note
    notes = published["school-performance"]["notes"]
    assert any("Progress from key stage 1 to 2: not available (x)" in note for note in notes), notes
    for result in published.values():
        assert result["disclosure"]["counts"]["audit"]["passed"]
        folder = Path(result["folder"])
        for name in result["files"]:
            if not name.endswith(".csv") or name.endswith(".meta.csv"):
                continue
            with (folder / name).open(encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    for column, value in row.items():
                        counted = column.endswith("_count") or column in ("population", "pupils", "children_measured")
                        if counted and value.isdigit():
                            assert int(value) == 0 or int(value) >= threshold, (name, column, value)
    client = TestClient(create_app(settings))
    page = client.get("/releases")
    assert page.status_code == 200
    for name in published:
        assert name in page.text
