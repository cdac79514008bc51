"""The quality targets on the synthetic `la` data with default noise."""

from __future__ import annotations

from pathlib import Path

import pytest

from pupildata.kernel.context import Context
from pupildata.link import quality

pytestmark = pytest.mark.slow


def test_precision_and_recall_meet_the_targets_for_every_source(linked_la: Context, la_folder: Path) -> None:
    result = quality.with_truth(linked_la.warehouse, la_folder)
    assert result["measured_on"] == "pairs of records"
    sources = {row["source"]: row for row in result["by_source"]}
    assert set(sources) == {"census", "ks1", "ks2", "ks3", "ks4", "ncmp", "post16", "survey"}
    for source, row in sources.items():
        assert row["precision"] >= 0.999, (source, row)
        assert row["recall"] >= 0.995, (source, row)


def test_recall_is_even_across_ethnic_groups(linked_la: Context, la_folder: Path) -> None:
    groups = quality.with_truth(linked_la.warehouse, la_folder)["recall_by_ethnicity"]
    big = [g["recall"] for g in groups if g["true_pairs"] >= 1000]
    assert len(big) >= 5
    assert max(big) - min(big) <= 0.005


def test_match_rates_are_reported_by_source_year_and_characteristic(linked_la: Context) -> None:
    rates = quality.rates(linked_la.warehouse)
    assert set(rates) == {"source", "year", "sex", "ethnicity", "fsm", "eal"}
    census = next(r for r in rates["source"] if r["source"] == "census")
    assert census["match_rate"] > 0.95
    assert {r["sex"] for r in rates["sex"]} == {"F", "M"}
    assert {r["fsm"] for r in rates["fsm"]} >= {"true", "false"}


def test_a_probabilistic_match_is_explained_comparison_by_comparison(linked_la: Context) -> None:
    a, b, probability = linked_la.warehouse.fetchone(
        "SELECT a, b, probability FROM link_model_edge ORDER BY a LIMIT 1"
    ) or ("", "", 0.0)
    path = linked_la.settings.home / "models" / f"link-{linked_la.run_counts['run_id']}.json"  # type: ignore[attr-defined]
    rows = quality.explain(linked_la.warehouse, path, a, b)
    names = [r["comparison"] for r in rows]
    assert names[0] == "prior"
    assert names[-1] == "total"
    assert {"forename", "surname", "date of birth", "postcode"} <= set(names)
    total = sum(r["match_weight"] for r in rows[:-1])
    assert total == pytest.approx(rows[-1]["match_weight"], abs=0.01)
    assert rows[-1]["match_probability"] >= 0.95
    # Splink, given the model saved for the pair's sources, scores the pair exactly as the run did.
    assert rows[-1]["match_probability"] == pytest.approx(probability, rel=1e-9)


def test_pmrs_are_fixed_length_codes_that_encode_nothing(linked_la: Context) -> None:
    rows = linked_la.warehouse.fetchall("SELECT pmr, anchor_key FROM link_spine WHERE status = 'active'")
    assert len(rows) > 30_000
    assert all((len(p) == 12 and p.isalnum() and p.isupper()) or p.isdigit() for p, _ in rows[:1000])
    assert len({p for p, _ in rows}) == len(rows)
    upns = {u for (u,) in linked_la.warehouse.fetchall("SELECT upn FROM link_norm WHERE upn IS NOT NULL LIMIT 1000")}
    assert not any(p in u for p, _ in rows[:1000] for u in list(upns)[:50])


def test_each_source_pair_has_its_own_model_and_splink_agrees_with_every_score(linked_la: Context) -> None:
    import json

    path = linked_la.settings.home / "models" / f"link-{linked_la.run_counts['run_id']}.json"  # type: ignore[attr-defined]
    own = {p.stem for p in path.with_suffix("").glob("*.json")}
    assert {"census--ncmp", "census--ks2", "census--survey", "ncmp--post16"} <= own
    dob = [
        [
            lv.get("m_probability")
            for lv in json.loads((path.with_suffix("") / f"{name}.json").read_text())["comparisons"][2][
                "comparison_levels"
            ]
        ]
        for name in ("census--ncmp", "census--ks2")
    ]
    assert dob[0] != dob[1]  # trained per source pair
    edges = linked_la.warehouse.fetchall(
        """
        SELECT arg_min(e.a, e.a), arg_min(e.b, e.a), arg_min(e.probability, e.a)
        FROM link_model_edge e JOIN link_norm x ON x.record_key = e.a JOIN link_norm y ON y.record_key = e.b
        GROUP BY least(x.source, y.source), greatest(x.source, y.source)
        """
    )
    assert len(edges) >= 5
    for a, b, probability in edges:
        total = quality.explain(linked_la.warehouse, path, a, b)[-1]
        assert total["match_probability"] == pytest.approx(probability, rel=1e-9), (a, b)
