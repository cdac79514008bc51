"""Collecting the hand-written returns: counts, rule codes, quarantine, provenance, duplicates, supersession."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from pupildata.collect import Options, Summary, collect
from pupildata.collect.archive import archive_path
from pupildata.collect.receipts import Receipt
from pupildata.collect.reports import issue_rows, report_path
from pupildata.kernel.context import Context

FIXTURES = Path(__file__).parent / "fixtures"


def _by_file(summary: Summary) -> dict[str, Receipt]:
    return {r.file_name: r for r in summary.receipts}


def _codes(ctx: Context, receipt_id: int) -> dict[int, list[str]]:
    rows = ctx.warehouse.fetchall(
        "SELECT record_index, list(rule_code ORDER BY rule_code) FROM collect_issue WHERE receipt_id = ? "
        "GROUP BY record_index ORDER BY record_index",
        [receipt_id],
    )
    return {int(i): list(codes) for i, codes in rows}


def test_every_source_is_recognised_and_counted(collected: tuple[Context, Summary]) -> None:
    _ctx, summary = collected
    got = {name: (r.source, r.status, r.records, r.accepted, r.quarantined, r.queried)
           for name, r in _by_file(summary).items()}  # fmt: skip
    assert got == {
        "census_8742001.xml": ("census", "partly accepted", 8, 3, 5, 2),
        "census_8744001.xml": ("census", "accepted", 3, 3, 0, 0),
        "learners.csv": ("ilr", "partly accepted", 3, 2, 1, 1),
        "ks2.csv": ("ks", "partly accepted", 7, 4, 3, 1),
        "ncmp_PCT874.csv": ("ncmp", "partly accepted", 5, 3, 2, 0),
        "responses.csv": ("survey", "partly accepted", 4, 1, 3, 0),
    }
    assert not summary.ok


def test_failing_records_carry_the_right_rule_codes(collected: tuple[Context, Summary]) -> None:
    ctx, summary = collected
    receipts = _by_file(summary)
    assert _codes(ctx, receipts["census_8742001.xml"].receipt_id) == {
        1: ["CEN-UPN-06"],
        3: ["CEN-UPN-05"],
        4: ["CEN-NCY-09"],
        5: ["CEN-UPN-06"],
        6: ["CEN-ETH-03"],
        7: ["CEN-NCY-08"],
        8: ["CEN-PC-07"],
    }
    assert _codes(ctx, receipts["ks2.csv"].receipt_id) == {2: ["KS-ENG-03"], 4: ["KS-UPN-05"], 5: ["KS-UPN-06"],
                                                            6: ["KS-UPN-06"]}  # fmt: skip
    assert _codes(ctx, receipts["ncmp_PCT874.csv"].receipt_id) == {3: ["NCMP-HGT-07"], 4: ["NCMP-WGT-02"]}
    assert _codes(ctx, receipts["learners.csv"].receipt_id) == {2: ["ILR-ULN-05"], 3: ["ILR-PC-07"]}
    assert _codes(ctx, receipts["responses.csv"].receipt_id) == {2: ["SUR-CAS-06"], 3: ["SUR-CAS-06"],
                                                                 4: ["SUR-HWK-02"]}  # fmt: skip
    collections = {r.file_name: (r.collection, r.sender) for r in summary.receipts}
    assert collections["ks2.csv"] == ("ks2-2008-09", "assessment body")
    assert collections["ncmp_PCT874.csv"] == ("ncmp-2008-09", "PCT874")
    assert collections["responses.csv"] == ("survey-2008-09-wave-3", "survey agency")


def test_accepted_records_are_typed_normalised_and_traceable(collected: tuple[Context, Summary]) -> None:
    ctx, summary = collected
    receipt = _by_file(summary)["census_8742001.xml"]
    rows = ctx.warehouse.fetchall(
        "SELECT record_index, collection, sender, upn, surname, dob, fsm_eligible, postcode, queries "
        "FROM collect_census_current WHERE receipt_id = ? ORDER BY record_index",
        [receipt.receipt_id],
    )
    assert [r[0] for r in rows] == [2, 4, 8]
    second = rows[0]
    assert second[1:8] == ("census-2009-spr", "8742001", "N874200103002", "JONES", second[5], True, "PE3 6XY")
    assert str(second[5]) == "2002-10-10"
    assert rows[1][8] == ["CEN-NCY-09"]
    assert rows[2][4] == "O'NEILL"
    assert receipt.sender_name == "Fixture Primary School"


def test_quarantine_keeps_the_record_as_sent(collected: tuple[Context, Summary]) -> None:
    ctx, summary = collected
    receipt = _by_file(summary)["census_8742001.xml"]
    row = ctx.warehouse.fetchone(
        "SELECT errors, record->>'ethnicity', record->>'surname', resolved_by FROM collect_quarantine "
        "WHERE receipt_id = ? AND record_index = 6",
        [receipt.receipt_id],
    )
    assert row == (["CEN-ETH-03"], "XXXX", "Green", None)


def test_the_report_says_who_each_failing_record_is(collected: tuple[Context, Summary]) -> None:
    """A school finds a failing record by the pupil's names and date of birth: as sent for a record quarantined,
    as loaded for one accepted with a query. One report row per failing rule, however the record is found."""
    ctx, summary = collected
    receipt = _by_file(summary)["ks2.csv"]
    rows = issue_rows(ctx.warehouse, receipt)
    assert [(r["record"], r["surname"], r["forename"], r["dob"], r["rule"]) for r in rows] == [
        ("2", "Baker", "Sam", "02/01/1998", "KS-ENG-03"),  # quarantined
        ("4", "DUNN", "RAY", "1998-04-04", "KS-UPN-05"),  # accepted, with a query
        ("5", "Evans", "Kay", "05/05/1998", "KS-UPN-06"),
        ("6", "Evans", "Kay", "05/05/1998", "KS-UPN-06"),
    ]
    written = report_path(ctx.settings.outputs_dir, receipt.receipt_id).read_text(encoding="utf-8")
    assert list(csv.DictReader(io.StringIO(written))) == rows
    census = issue_rows(ctx.warehouse, _by_file(summary)["census_8742001.xml"])
    issues = ctx.warehouse.scalar(
        "SELECT count(*) FROM collect_issue WHERE receipt_id = ?", [_by_file(summary)["census_8742001.xml"].receipt_id]
    )
    assert len(census) == issues
    assert all(r["surname"] and r["forename"] and r["dob"] for r in census)


def test_every_file_is_archived_unchanged(collected: tuple[Context, Summary]) -> None:
    ctx, summary = collected
    for receipt in summary.receipts:
        stored = archive_path(ctx.settings.archive_dir, receipt.sha256)
        assert stored.read_bytes() == (FIXTURES / receipt.file_name).read_bytes()


def test_an_identical_file_is_not_loaded_twice(collected: tuple[Context, Summary]) -> None:
    ctx, summary = collected
    before = ctx.warehouse.scalar("SELECT count(*) FROM collect_ks")
    again = collect(ctx, [FIXTURES / "ks2.csv"], Options())
    (receipt,) = again.receipts
    assert receipt.status == "duplicate"
    assert receipt.duplicate_of is not None
    assert again.ok
    assert ctx.warehouse.scalar("SELECT count(*) FROM collect_ks") == before
    (row,) = issue_rows(ctx.warehouse, receipt)  # its report's one row names a rule the catalogue explains
    assert (row["rule"], row["severity"]) == ("FILE-DUP-01", "duplicate")
    assert ctx.warehouse.scalar("SELECT severity FROM collect_rule WHERE code = 'FILE-DUP-01'") == "file"
    (census,) = collect(ctx, [FIXTURES / "census_8742001.xml"], Options()).receipts
    (original,) = [r for r in summary.receipts if r.receipt_id == census.duplicate_of]
    assert original.sender_name  # the school's name, which the duplicate's receipt names as well
    assert (census.status, census.sender, census.sender_name) == ("duplicate", original.sender, original.sender_name)


def test_a_resubmission_supersedes_the_earlier_return_and_keeps_it(
    collected: tuple[Context, Summary], tmp_path: Path
) -> None:
    ctx, summary = collected
    first = _by_file(summary)["census_8742001.xml"]
    corrected = (FIXTURES / "census_8742001.xml").read_text(encoding="utf-8")
    corrected = corrected.replace("D874200103003", "C874200103003").replace("XXXX", "WBRI")
    path = tmp_path / "census_8742001_v2.xml"
    path.write_text(corrected, encoding="utf-8")
    (second,) = collect(ctx, [path], Options()).receipts
    assert (second.accepted, second.quarantined) == (5, 3)
    assert ctx.warehouse.scalar("SELECT superseded_by FROM collect_receipt WHERE receipt_id = ?",
                                [first.receipt_id]) == second.receipt_id  # fmt: skip
    current = ctx.warehouse.fetchall("SELECT DISTINCT receipt_id FROM collect_census_current WHERE sender = '8742001'")
    assert current == [(second.receipt_id,)]
    history = ctx.warehouse.scalar(
        "SELECT count(*) FROM collect_census JOIN collect_receipt USING (receipt_id) WHERE sender = '8742001'"
    )
    assert history == 3 + 5


def test_collection_status_names_who_has_sent(collected: tuple[Context, Summary]) -> None:
    from pupildata.collect.collections import expect, status

    ctx, _summary = collected
    expect(ctx.registry, "census-2009-spr", "census", [("8742001", None), ("8743001", "Silent School")])
    found = status(ctx.registry, "census-2009-spr")
    assert found is not None
    assert found.title == "Spring census 2009"
    assert [(s.sender, s.status) for s in found.senders] == [
        ("8743001", "not sent"),
        ("8742001", "partly accepted"),
        ("8744001", "accepted"),
    ]
    assert found.senders[1].rule_counts["CEN-UPN-06"] == 2
    assert found.totals()["quarantined"] == 5


def test_a_run_and_an_audit_event_record_the_collection(collected: tuple[Context, Summary]) -> None:
    ctx, summary = collected
    run = ctx.runs.get(summary.run_id or 0)
    assert run is not None
    assert run.status == "succeeded"
    assert run.counts["files"] == 6
    assert run.counts["quarantined"] == 14
    assert ctx.audit.events(object_id=str(run.id))[0].action == "collect.run"


def test_a_source_can_be_given_and_a_parquet_bulk_load_is_read(context: Context, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "learners.parquet"
    table = pa.table({
        "UKPRN": ["10005555", "10005555"], "ULN": ["1234567899", "1234567890"],
        "FamilyName": ["Roe", "Doe"], "GivenNames": ["Ann", "Bo"], "DateOfBirth": ["1992-01-01", "1992-02-02"],
        "Sex": ["F", "M"], "Postcode": ["PE1 1AA", "PE1 1AA"], "LearnStartDate": ["2008-09-01", "2008-09-01"],
    })  # fmt: skip
    pq.write_table(table, path)
    (receipt,) = collect(context, [path], Options()).receipts
    assert (receipt.source, receipt.format, receipt.accepted, receipt.quarantined) == ("ilr", "parquet", 1, 1)
    shutil.copy(FIXTURES / "learners.csv", tmp_path / "plain.csv")
    from pupildata.collect.schemas import SOURCES

    (given,) = collect(context, [tmp_path / "plain.csv"], Options(source=SOURCES["ilr"])).receipts
    assert given.source == "ilr"
