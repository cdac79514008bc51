"""Matching what collection loaded: synthetic returns collected, then linked, a year at a time.

Two years are collected and linked, then a third year is collected and linked incrementally; the quality targets
are measured on the collected records against the generator's truth, through the receipts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pupildata.cli import main
from pupildata.collect import Options, collect
from pupildata.kernel.context import Context
from pupildata.link import inputs, pipeline, quality
from pupildata.settings import Settings
from pupildata.synth import generate, make_config

pytestmark = pytest.mark.slow

#: Large enough that every source has several hundred true pairs, so the recall target means something.
PUPILS = 5000
SOURCES = {"census", "ks1", "ks2", "ks3", "ks4", "ncmp", "post16", "survey"}


@dataclass
class Linked:
    ctx: Context
    folder: Path
    first: dict[str, Any]  # counts of the run over the first two years
    before: dict[str, str]  # its PMRs
    second: dict[str, Any]  # counts of the run after the third year was collected


def _pmrs(ctx: Context) -> dict[str, str]:
    return dict(ctx.warehouse.fetchall("SELECT record_key, pmr FROM link_member"))


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Linked]:
    folder = tmp_path_factory.mktemp("synth") / "out"
    generate(make_config("la", PUPILS, "2006/07..2008/09", 2009, folder, workers=2), folder)
    home = tmp_path_factory.mktemp("collected") / "home"
    with Context(Settings(home=home)) as ctx:
        collect(ctx, [folder / "2006-07", folder / "2007-08"], Options())
        first = pipeline.run(ctx)
        before = _pmrs(ctx)
        collect(ctx, [folder / "2008-09"], Options())
        second = pipeline.run(ctx)
        yield Linked(ctx, folder, first, before, second)


def test_link_record_is_a_view_of_the_current_collected_records(linked: Linked) -> None:
    engine = linked.ctx.warehouse
    kind = engine.scalar("SELECT table_type FROM information_schema.tables WHERE table_name = 'link_record'")
    assert kind == "VIEW"
    collected = " UNION ALL ".join(
        f"SELECT {inputs.record_key_sql(t)} FROM collect_{t}_current t" for t in inputs.COLLECTED_TABLES
    )
    accepted = engine.scalar("SELECT sum(accepted) FROM collect_receipt WHERE superseded_by IS NULL")
    assert engine.scalar(f"SELECT count(*) FROM ({collected})") == accepted
    keys = {r[0] for r in engine.fetchall(collected)}
    assert keys == {r[0] for r in engine.fetchall("SELECT record_key FROM link_member")}
    assert keys == {r[0] for r in engine.fetchall("SELECT record_key FROM link_record")}


def test_sources_years_and_returns_follow_the_contract(linked: Linked) -> None:
    engine = linked.ctx.warehouse
    rows = engine.fetchall("SELECT DISTINCT source, year FROM link_record ORDER BY ALL")
    assert rows == [(s, y) for s in sorted(SOURCES) for y in (2006, 2007, 2008)]
    # The spring census of 2009 is 2008/09.
    census = engine.fetchall("SELECT DISTINCT collection FROM collect_census_current ORDER BY 1")
    assert [c for (c,) in census] == ["census-2007-spr", "census-2008-spr", "census-2009-spr"]
    assert (
        engine.scalar(
            "SELECT count(*) FROM link_record r JOIN collect_census_current c "
            f"ON r.record_key = {inputs.record_key_sql('census', 'c')} WHERE r.year <> c.collection_year - 1"
        )
        == 0
    )
    # A child appears at most once per return; survey respondents keep their id across waves.
    assert (
        engine.scalar(
            "SELECT count(*) FROM (SELECT return_key, upn FROM link_record WHERE upn IS NOT NULL "
            "AND source <> 'post16' GROUP BY ALL HAVING count(*) > 1)"
        )
        == 0
    )
    assert engine.scalar("SELECT count(DISTINCT return_key) FROM link_record WHERE source = 'census'") == (
        engine.scalar("SELECT count(*) FROM collect_receipt WHERE source = 'census' AND accepted > 0")
    )
    survey = engine.fetchone(
        "SELECT count(*), count(source_id), count(DISTINCT source_id) FROM link_record WHERE source = 'survey'"
    )
    assert survey is not None
    assert survey[0] == survey[1] > survey[2]
    eth = engine.fetchone("SELECT count(ethnicity), count(fsm), count(eal) FROM link_record WHERE source = 'census'")
    assert eth is not None
    assert min(eth) > 0.9 * engine.scalar("SELECT count(*) FROM link_record WHERE source = 'census'")


def test_precision_and_recall_meet_the_targets_through_collection(linked: Linked) -> None:
    result = quality.with_truth(linked.ctx.warehouse, linked.folder)
    assert result["records_without_truth"] == 0
    assert result["records_measured"] == linked.ctx.warehouse.scalar("SELECT count(*) FROM link_member")
    sources = {row["source"]: row for row in result["by_source"]}
    assert set(sources) == SOURCES
    for source, row in sources.items():
        assert row["true_pairs"] >= 300, (source, row)
        assert row["precision"] >= 0.999, (source, row)
        assert row["recall"] >= 0.995, (source, row)


def test_the_report_with_truth_works_from_the_command_line(linked: Linked, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(linked.ctx.settings.home)
    capsys.readouterr()
    assert main(["--home", home, "link", "report", "--truth", str(linked.folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {row["source"] for row in report["truth"]["by_source"]} == SOURCES
    assert {row["source"] for row in report["match_rates"]["source"]} == SOURCES


def test_a_new_year_keeps_the_pmrs_and_a_rerun_changes_nothing(linked: Linked) -> None:
    after = _pmrs(linked.ctx)
    assert linked.second["new_records"] == len(after) - len(linked.before) > 0
    kept = sum(after[key] == pmr for key, pmr in linked.before.items())
    assert kept / len(linked.before) >= 0.999
    assert linked.second["merges"] + linked.second["splits"] <= 5
    counts = pipeline.run(linked.ctx)
    assert counts["new_records"] == counts["new_pmrs"] == counts["merges"] == counts["splits"] == 0
    assert _pmrs(linked.ctx) == after


def test_linking_needs_something_collected(tmp_path: Path) -> None:
    from pupildata.errors import DataError

    with Context(Settings(home=tmp_path / "home")) as ctx, pytest.raises(DataError, match="collected"):
        pipeline.run(ctx)
