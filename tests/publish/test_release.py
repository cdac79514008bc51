"""Releases end to end: built from a warehouse that follows the input contract, protected, audited and written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pupildata.errors import DataError, UsageError
from pupildata.kernel.engine import DuckDBEngine
from pupildata.policy import Disclosure
from pupildata.publish.release import publish
from pupildata.publish.releases import RELEASES
from pupildata.publish.specs import ReleaseSpec, TableSpec

from .warehouse import make_warehouse

POLICY = Disclosure(solver_time_limit_seconds=60)


@pytest.fixture(scope="module")
def engine() -> DuckDBEngine:
    warehouse = DuckDBEngine()
    make_warehouse(warehouse, per_school_year=150)
    return warehouse


@pytest.fixture(scope="module")
def child_measurement(engine: DuckDBEngine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    outputs = tmp_path_factory.mktemp("outputs")
    publish(engine, RELEASES["child-measurement"], 2008, POLICY, outputs)
    return outputs / "releases" / "child-measurement" / "200809"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_no_published_count_is_below_the_threshold(child_measurement: Path) -> None:
    for name in ("ncmp_la.csv", "ncmp_health_area.csv"):
        rows = _rows(child_measurement / name)
        counts = [c for c in rows[0] if c.endswith("_count") or c in ("population", "eligible")]
        values = [row[c] for row in rows for c in counts]
        assert "c" in values  # the small areas of the fixture do need protecting
        numbers = [float(v) for v in values if v not in ("c", "z", "x")]
        assert not [n for n in numbers if 0 < n < POLICY.min_frequency]


def test_rates_of_hidden_counts_are_hidden_and_no_cell_is_blank(child_measurement: Path) -> None:
    rows = _rows(child_measurement / "ncmp_la.csv")
    assert {r["geographic_level"] for r in rows} == {"National", "Regional", "Local authority"}
    for row in rows:
        assert all(value != "" for value in row.values())
        for column in row:
            if column.endswith("_count") and row[column] == "c":
                stem = column.removesuffix("_count")
                assert row[f"{stem}_percent"] == "c"
                assert row[f"{stem}_ci_lower"] == row[f"{stem}_ci_upper"] == "c"
        if row["population"] == "c":
            assert row["mean_bmi"] == "c"


def test_the_release_records_its_rules_and_audit(child_measurement: Path) -> None:
    manifest = json.loads((child_measurement / "release.json").read_text())
    assert manifest["recipient"] == "health"
    assert manifest["disclosure"]["counts"]["audit"]["passed"] is True
    assert {r["code"] for r in manifest["disclosure"]["rules"]} == {"min-frequency", "dominance", "p-percent"}
    counts = manifest["disclosure"]["counts"]
    parts = counts["parts"]  # each part says whether it is proven optimal, else how far it may be from it
    assert parts
    assert sum(p["secondary"] for p in parts) == counts["secondary"]
    for part in parts:
        assert part["proven_optimal"] or part["gap"] > 0
        assert 0 <= part["gap"] <= 1
    assert counts["proven_optimal"] == all(p["proven_optimal"] for p in parts)
    meta = _rows(child_measurement / "ncmp_la.meta.csv")
    assert {m["col_type"] for m in meta} == {"Filter", "Indicator"}
    assert any(m["col_name"] == "obese_percent" and m["indicator_unit"] == "%" for m in meta)


def test_a_percentage_matches_its_published_counts(child_measurement: Path) -> None:
    for row in _rows(child_measurement / "ncmp_la.csv"):
        if row["obese_count"] not in ("c", "z") and row["population"] not in ("c", "z", "0"):
            assert float(row["obese_percent"]) == pytest.approx(
                100 * float(row["obese_count"]) / float(row["population"]), abs=0.05
            )


def _one_table(**changes: object) -> ReleaseSpec:
    base = RELEASES["post16-participation"]
    table = TableSpec(**{**base.tables[0].__dict__, **changes})  # type: ignore[arg-type]
    return ReleaseSpec(base.name, base.title, base.recipient, base.summary, (table,))


def test_a_spec_naming_an_unknown_field_publishes_nothing(engine: DuckDBEngine, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown field 'shoe_size'"):
        publish(engine, _one_table(breakdowns=("sex", "shoe_size")), 2008, POLICY, tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_threshold_below_the_floor_publishes_nothing(engine: DuckDBEngine, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="below the policy's floor"):
        publish(engine, _one_table(threshold=2), 2008, POLICY, tmp_path)
    assert not any(tmp_path.iterdir())


def test_protection_not_found_in_time_publishes_nothing(engine: DuckDBEngine, tmp_path: Path) -> None:
    hurried = Disclosure(solver_time_limit_seconds=0.01)
    with pytest.raises(DataError, match="nothing was published"):
        publish(engine, RELEASES["attainment"], 2008, hurried, tmp_path)
    assert not any(tmp_path.iterdir())


def test_post16_participation_is_published(engine: DuckDBEngine, tmp_path: Path) -> None:
    outcome = publish(engine, RELEASES["post16-participation"], 2008, POLICY, tmp_path)
    rows = _rows(outcome.folder / "participation.csv")
    topics = {r["breakdown_topic"] for r in rows}
    assert topics == {
        "Total",
        "Sex",
        "Ethnicity (major group)",
        "Free school meals",
        "Special educational needs",
        "First language",
    }
    assert "in_learning_percent" in rows[0]


def test_controlled_rounding_publishes_multiples_of_the_base(engine: DuckDBEngine, tmp_path: Path) -> None:
    rounding = Disclosure(method="rounding", rounding_base=5, solver_time_limit_seconds=60)
    outcome = publish(engine, RELEASES["child-measurement"], 2008, rounding, tmp_path)
    rows = _rows(outcome.folder / "ncmp_la.csv")
    counts = [c for c in rows[0] if c.endswith("_count") or c in ("population", "eligible")]
    values = [float(row[c]) for row in rows for c in counts if row[c] not in ("c", "z", "x")]
    assert values
    assert all(v % 5 == 0 for v in values)
    for row in rows:  # the rounded table still adds up: the categories make up the children measured
        parts = [row[f"{c}_count"] for c in ("underweight", "healthy_weight", "overweight", "obese")]
        if "c" not in parts and row["population"] != "c":
            assert sum(float(p) for p in parts) == float(row["population"])


def test_progress_without_prior_attainment_is_published_as_not_available(tmp_path: Path) -> None:
    warehouse = DuckDBEngine()
    make_warehouse(warehouse)
    warehouse.execute("DELETE FROM ks_result WHERE key_stage = 1")  # no KS1 results: no prior attainment for KS2
    outcome = publish(warehouse, RELEASES["school-performance"], 2008, POLICY, tmp_path)
    manifest = json.loads((outcome.folder / "release.json").read_text())
    missing = [t for t in manifest["tables"] if t.get("available") is False]
    assert [t["name"] for t in missing] == ["progress_ks1_ks2"]
    assert "not available (x)" in missing[0]["note"]
    assert manifest["notes"] == [missing[0]["note"]]
    assert manifest["disclosure"]["counts"]["audit"]["passed"] is True
    rows = _rows(outcome.folder / "progress_ks1_ks2.csv")
    assert {r["geographic_level"] for r in rows} == {"National", "Regional", "Local authority", "School"}
    indicators = [
        m["col_name"] for m in _rows(outcome.folder / "progress_ks1_ks2.meta.csv") if m["col_type"] == "Indicator"
    ]
    assert indicators
    assert all(row[c] == "x" for row in rows for c in indicators)
    # the rest of the release is published as usual
    attainment = _rows(outcome.folder / "ks2_attainment.csv")
    assert any(r["at_expected_count"] not in ("c", "x") for r in attainment)
    assert any(r["made_expected_count"] not in ("c", "x") for r in _rows(outcome.folder / "progress_ks2_ks4.csv"))


def test_a_release_with_no_table_available_publishes_nothing(tmp_path: Path) -> None:
    warehouse = DuckDBEngine()
    make_warehouse(warehouse)
    warehouse.execute("DELETE FROM ks_result WHERE key_stage IN (1, 2)")
    only_progress = ReleaseSpec(
        "p", "Progress", "inspectorate", "Progress.", RELEASES["school-performance"].tables[1:2]
    )
    with pytest.raises(DataError, match="nothing to publish"):
        publish(warehouse, only_progress, 2008, POLICY, tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_progress_spec_naming_an_unknown_field_is_still_refused(tmp_path: Path) -> None:
    base = RELEASES["school-performance"]
    table = TableSpec(**{**base.tables[1].__dict__, "breakdowns": ("shoe_size",)})  # type: ignore[arg-type]
    spec = ReleaseSpec(base.name, base.title, base.recipient, base.summary, (base.tables[0], table))
    with pytest.raises(UsageError, match="unknown field 'shoe_size'"):
        publish(DuckDBEngine(), spec, 2008, POLICY, tmp_path)
    assert not any(tmp_path.iterdir())
