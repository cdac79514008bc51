"""Stability: re-runs, a new year, merges and splits, review decisions, and interrupted runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pupildata.kernel.context import Context
from pupildata.link import pipeline, review, spine
from pupildata.settings import Settings

from .conftest import load, pmrs

pytestmark = pytest.mark.slow


def test_a_rerun_changes_nothing(linked_la: Context) -> None:
    before = pmrs(linked_la)
    counts = pipeline.run(linked_la, from_collection=False)
    assert counts["new_records"] == 0
    assert counts["new_pmrs"] == 0
    assert counts["merges"] == 0
    assert counts["splits"] == 0
    assert pmrs(linked_la) == before


def test_a_new_year_links_incrementally_and_keeps_every_pmr(tmp_path: Path, la_records: Path) -> None:
    with Context(Settings(home=tmp_path / "home")) as ctx:
        load(ctx, la_records, years={2006, 2007})
        pipeline.run(ctx, from_collection=False)
        before = pmrs(ctx)
        load(ctx, la_records)
        counts = pipeline.run(ctx, from_collection=False)
        after = pmrs(ctx)
    assert counts["new_records"] == len(after) - len(before) > 40_000
    assert counts["probes"] < counts["new_records"] / 4  # most of the new year joins through the UPN
    kept = sum(after[key] == pmr for key, pmr in before.items())
    assert kept / len(before) > 0.999
    assert counts["merges"] + counts["splits"] < 20


def test_the_same_inputs_give_the_same_pmrs_in_another_home(tmp_path: Path, la_records: Path) -> None:
    """PMRs depend only on the inputs and the spine key: a copy of the key gives the same references."""
    first, second = tmp_path / "one", tmp_path / "two"
    results = []
    for home in (first, second):
        with Context(Settings(home=home)) as ctx:
            if home == second:
                (second / "keys").mkdir(parents=True, exist_ok=True)
                (second / "keys" / "spine.key").write_bytes((first / "keys" / "spine.key").read_bytes())
            load(ctx, la_records, years={2008})
            pipeline.run(ctx, from_collection=False)
            results.append(pmrs(ctx))
    assert results[0] == results[1]


def _two_people(ctx: Context) -> tuple[str, str, str, str]:
    """Two records of two different PMRs (keys and PMRs), each PMR with several records."""
    rows = ctx.warehouse.fetchall(
        "SELECT s.pmr, s.anchor_key FROM link_spine s JOIN link_member m USING (pmr) WHERE s.status = 'active' "
        "GROUP BY ALL HAVING count(*) >= 3 ORDER BY s.pmr LIMIT 2"
    )
    (p1, k1), (p2, k2) = rows
    return k1, p1, k2, p2


def test_a_same_decision_merges_and_the_earliest_pmr_survives(linked_la: Context) -> None:
    ctx = linked_la
    k1, p1, k2, p2 = _two_people(ctx)
    years = dict(ctx.warehouse.fetchall("SELECT pmr, first_year FROM link_spine WHERE pmr IN (?, ?)", [p1, p2]))
    review.decide_keys(ctx.registry, k1, k2, "same", "test")
    counts = pipeline.run(ctx, from_collection=False)
    assert counts["merges"] == 1
    after = pmrs(ctx)
    survivor = min((years[p1], p1), (years[p2], p2))[1]
    retired = p2 if survivor == p1 else p1
    assert after[k1] == after[k2] == survivor
    event = ctx.warehouse.fetchone(
        "SELECT kind, pmr, other_pmr FROM link_spine_event WHERE kind = 'merge' ORDER BY run_id DESC LIMIT 1"
    )
    assert event == ("merge", retired, survivor)
    assert ctx.warehouse.scalar("SELECT status FROM link_spine WHERE pmr = ?", [retired]) == "merged"

    # A later "different" decision splits them again; the retired PMR comes back with its anchor.
    review.decide_keys(ctx.registry, k1, k2, "different", "test")
    counts = pipeline.run(ctx, from_collection=False)
    assert counts["splits"] >= 1
    after = pmrs(ctx)
    assert {after[k1], after[k2]} == {p1, p2}
    assert ctx.warehouse.scalar("SELECT count(*) FROM link_spine_event WHERE kind = 'split'") >= 1


def test_a_different_decision_on_a_model_link_splits_and_is_honoured_later(linked_la: Context) -> None:
    ctx = linked_la
    a, b = ctx.warehouse.fetchone(
        "SELECT e.a, e.b FROM link_model_edge e JOIN link_norm n ON n.record_key = e.a "
        "WHERE e.how = 'model' AND n.source = 'survey' ORDER BY e.a LIMIT 1"
    ) or ("", "")
    assert pmrs(ctx)[a] == pmrs(ctx)[b]
    review.decide_keys(ctx.registry, a, b, "different", "test")
    counts = pipeline.run(ctx, from_collection=False)
    assert counts["splits"] >= 1
    assert pmrs(ctx)[a] != pmrs(ctx)[b]
    pipeline.run(ctx, from_collection=False)  # and every later run keeps them apart
    assert pmrs(ctx)[a] != pmrs(ctx)[b]


def test_review_pairs_are_queued_and_decided(linked_la: Context) -> None:
    pairs = review.open_pairs(linked_la.registry, 5)
    assert pairs, "the la data gives some uncertain pairs"
    pair = review.decide(linked_la.registry, linked_la.audit, pairs[0].id, "same", "test")
    assert (pair.left_key, pair.right_key, "same") in {
        (a, b, d) for a, b, d in review.decisions(linked_la.registry)
    } | {(b, a, d) for a, b, d in review.decisions(linked_la.registry)}
    pipeline.run(linked_la, from_collection=False)
    assert pmrs(linked_la)[pair.left_key] == pmrs(linked_la)[pair.right_key]


def test_an_interrupted_run_leaves_the_previous_spine(
    tmp_path: Path, la_records: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Context(Settings(home=tmp_path / "home")) as ctx:
        load(ctx, la_records, years={2006})
        pipeline.run(ctx, from_collection=False)
        before = pmrs(ctx)
        spine_rows = ctx.warehouse.fetchall("SELECT * FROM link_spine ORDER BY pmr")
        load(ctx, la_records, years={2006, 2007})

        def boom(*_args: object, **_kwargs: object) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(spine, "swap", boom)
        with pytest.raises(KeyboardInterrupt):
            pipeline.run(ctx, from_collection=False)
        assert pmrs(ctx) == before
        assert ctx.warehouse.fetchall("SELECT * FROM link_spine ORDER BY pmr") == spine_rows
        assert ctx.runs.recent("link", 1)[0].status == "failed"
