"""End to end on the generator's `school`-scale output: every file is read with the counts the generator wrote,
and the records it deliberately corrupted land in quarantine with the right rule codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pupildata.collect import Options, collect
from pupildata.kernel.context import Context
from pupildata.settings import Settings


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Context]:
    from pupildata.synth import SynthConfig, generate
    from pupildata.synth.config import Scale

    out = tmp_path_factory.mktemp("synth") / "out"
    generate(SynthConfig(scale=Scale.school, pupils=1200), out)
    ctx = Context(Settings(home=tmp_path_factory.mktemp("home")))
    collect(ctx, [out], Options())
    return out, ctx


def test_every_file_is_collected_with_the_generators_counts(synthetic: tuple[Path, Context]) -> None:
    out, ctx = synthetic
    manifest = json.loads((out / "manifest.json").read_text())
    got = dict(ctx.warehouse.fetchall("SELECT sha256, records FROM collect_receipt WHERE status <> 'rejected'"))
    assert {f["sha256"]: f["records"] for f in manifest["files"]} == got


def test_corrupted_upns_are_quarantined_with_their_rule_codes(synthetic: tuple[Path, Context]) -> None:
    out, ctx = synthetic
    ctx.warehouse.execute(
        "CREATE OR REPLACE TEMP TABLE truth AS SELECT * FROM read_parquet($p, union_by_name = true)",
        {"p": str(out / "truth" / "*" / "census.parquet")},
    )
    rows = ctx.warehouse.fetchall(
        "SELECT t.upn_missing, t.upn_wrong, list_sort(list_distinct(flatten(list(q.errors)))) "
        "FROM truth t JOIN collect_receipt r ON r.file_name = parse_filename(t.file) "
        "AND r.collection LIKE 'census-' || (left(split_part(t.file, '/', 1), 4)::INTEGER + 1) || '%' "
        "JOIN collect_quarantine q ON q.receipt_id = r.receipt_id AND q.record_index = t.record_index + 1 "
        "WHERE t.upn_missing OR t.upn_wrong GROUP BY ALL"
    )
    codes = {(bool(m), bool(w)): set(c) for m, w, c in rows}
    assert "CEN-UPN-01" in codes[(True, False)]
    assert "CEN-UPN-05" in codes[(False, True)]
    missing = ctx.warehouse.scalar("SELECT count(*) FROM truth WHERE upn_missing OR upn_wrong")
    quarantined = ctx.warehouse.scalar(
        "SELECT count(*) FROM collect_issue WHERE rule_code IN ('CEN-UPN-01', 'CEN-UPN-05')"
    )
    assert missing > 0
    assert quarantined == missing


def test_census_records_keep_the_schools_urn_from_the_header(synthetic: tuple[Path, Context]) -> None:
    out, ctx = synthetic
    census = sorted(out.rglob("*.xml"))[0]
    urn = census.read_text(encoding="utf-8").split("<URN>", 1)[1].split("</URN>", 1)[0]
    got = ctx.warehouse.fetchall(
        "SELECT DISTINCT c.urn FROM collect_census c JOIN collect_receipt r USING (receipt_id) WHERE r.file_name = ?",
        [census.name],
    )
    assert got == [(urn,)]
    assert ctx.warehouse.scalar("SELECT count(*) FROM collect_census WHERE urn IS NULL") == 0


def test_generated_census_files_are_read_fast_with_the_streaming_parsers_table(
    synthetic: tuple[Path, Context],
) -> None:
    from pupildata.collect.readers import census_xml

    out, _ = synthetic
    files = sorted(out.rglob("*.xml"))
    assert files
    for path in files:
        plain = census_xml.read_plain_census(path.read_bytes())
        assert plain is not None, path.name  # the generator writes plain files: the fast reading takes them
        fast, streamed = census_xml.parse_census(path), census_xml.parse_streaming(path)
        assert fast.header == streamed.header
        assert fast.table is not None
        assert streamed.table is not None
        assert fast.table.to_pylist() == streamed.table.to_pylist()
