"""Correcting quarantined records: export them, correct them, send them back as a correction of their receipt."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from pupildata.cli import main
from pupildata.collect import Options, collect
from pupildata.collect.collections import status
from pupildata.collect.corrections import EXTRA_COLUMNS, export_csv
from pupildata.collect.receipts import Receipt
from pupildata.errors import UsageError
from pupildata.kernel.context import Context
from pupildata.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
KS_HEADER = "UPN,Surname,Forenames,DOB,Gender,LAEstab,URN,EnglishLevel,MathsLevel,ScienceLevel"


def _collect(ctx: Context, path: Path, corrects: int | None = None) -> Receipt:
    (receipt,) = collect(ctx, [path], Options(corrects=corrects)).receipts
    return receipt


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _ks2(ctx: Context) -> Receipt:
    original = _collect(ctx, FIXTURES / "ks2.csv")
    assert (original.accepted, original.quarantined) == (4, 3)
    return original


def test_the_export_has_the_senders_columns_each_record_as_sent_and_its_rules(context: Context) -> None:
    original = _ks2(context)
    text, count = export_csv(context.warehouse, original.receipt_id, context.settings.archive_dir)
    rows = _rows(text)
    assert count == len(rows) == 3
    assert list(rows[0]) == [
        "UPN", "Surname", "Forenames", "DOB", "Gender", "Postcode", "LAEstab", "URN", "KeyStage", "ReadingTA",
        "WritingTA", "EnglishLevel", "MathsLevel", "ScienceLevel", "GCSEPassesAtoC", "FiveACEM", *EXTRA_COLUMNS,
    ]  # fmt: skip
    baker = rows[0]
    assert (baker["Surname"], baker["DOB"], baker["EnglishLevel"]) == ("Baker", "02/01/1998", "X")
    assert (baker["quarantine_record"], baker["quarantine_rules"]) == ("2", "KS-ENG-03")
    assert "'X'" in baker["quarantine_messages"]
    assert [r["quarantine_rules"] for r in rows[1:]] == ["KS-UPN-06", "KS-UPN-06"]


def test_a_correction_adds_its_records_to_the_return_and_resolves_the_quarantine(context: Context) -> None:
    original = _ks2(context)
    text, _ = export_csv(context.warehouse, original.receipt_id, context.settings.archive_dir)
    rows = _rows(text)
    rows[0]["EnglishLevel"] = "4"
    del rows[2]  # the second copy of the pupil sent twice
    fixed = _collect(context, _write(context.settings.home / "fixed.csv", rows), corrects=original.receipt_id)
    assert (fixed.status, fixed.records, fixed.accepted, fixed.quarantined) == ("accepted", 2, 2, 0)
    assert (fixed.corrects, fixed.collection, fixed.sender) == (
        original.receipt_id, original.collection, original.sender,
    )  # fmt: skip
    wh = context.warehouse
    assert wh.scalar("SELECT superseded_by FROM collect_receipt WHERE receipt_id = ?", [original.receipt_id]) is None
    current = wh.fetchall("SELECT surname, english FROM collect_ks_current ORDER BY record_index, receipt_id")
    assert len(current) == 6
    assert ("BAKER", "4") in current
    resolved = wh.fetchall("SELECT resolved_by, count(*) FROM collect_quarantine GROUP BY ALL")
    assert resolved == [(fixed.receipt_id, 3)]  # kept in the history, marked resolved
    with pytest.raises(UsageError, match=f"already corrected by receipt {fixed.receipt_id}"):
        export_csv(wh, original.receipt_id, context.settings.archive_dir)
    found = status(context.registry, str(original.collection))
    assert found is not None
    (sender,) = found.senders
    assert (sender.receipt_id, sender.status, sender.accepted, sender.quarantined) == (
        original.receipt_id, "accepted", 6, 0,
    )  # fmt: skip


def test_records_still_failing_stay_quarantined_with_their_new_codes(context: Context) -> None:
    original = _ks2(context)
    rows = _rows(export_csv(context.warehouse, original.receipt_id, context.settings.archive_dir)[0])
    rows[0]["UPN"] = "C874400198001"  # Adams's UPN: already accepted in this return
    rows[0]["EnglishLevel"] = "4"
    rows[1]["DOB"] = "31/02/1998"
    del rows[2]
    fixed = _collect(context, _write(context.settings.home / "fixed.csv", rows), corrects=original.receipt_id)
    assert (fixed.status, fixed.accepted, fixed.quarantined) == ("quarantined", 0, 2)
    codes = context.warehouse.fetchall(
        "SELECT record_index, errors FROM collect_quarantine WHERE receipt_id = ? ORDER BY 1", [fixed.receipt_id]
    )
    assert codes == [(1, ["KS-UPN-06"]), (2, ["KS-DOB-02"])]
    again = _rows(export_csv(context.warehouse, fixed.receipt_id, context.settings.archive_dir)[0])
    assert [(r["Surname"], r["quarantine_rules"]) for r in again] == [("Baker", "KS-UPN-06"), ("Evans", "KS-DOB-02")]


def test_census_records_are_exported_under_their_labels_and_corrected_as_csv(context: Context) -> None:
    original = _collect(context, FIXTURES / "census_8742001.xml")
    text, count = export_csv(context.warehouse, original.receipt_id, context.settings.archive_dir)
    assert count == original.quarantined == 5
    rows = _rows(text)
    assert list(rows[0])[:4] == ["LAESTAB", "SchoolName", "URN", "Term"]
    fixed = _collect(context, _write(context.settings.home / "again.csv", rows), corrects=original.receipt_id)
    assert (fixed.source, fixed.collection, fixed.records, fixed.quarantined) == (
        "census", original.collection, 5, 5,
    )  # fmt: skip
    before = context.warehouse.fetchall(
        "SELECT record_index, errors FROM collect_quarantine WHERE receipt_id = ? ORDER BY 1", [original.receipt_id]
    )
    after = context.warehouse.fetchall(
        "SELECT errors FROM collect_quarantine WHERE receipt_id = ? ORDER BY record_index", [fixed.receipt_id]
    )
    assert [codes for _, codes in before] == [codes for (codes,) in after]


def test_exported_cells_are_formula_safe(context: Context, tmp_path: Path) -> None:
    bad = tmp_path / "ks2.csv"
    bad.write_text(f"{KS_HEADER}\nC874400198001,=HYPERLINK(1),Zoe,01/10/1997,F,8742001,172001,X,5,4\n")
    original = _collect(context, bad)
    (row,) = _rows(export_csv(context.warehouse, original.receipt_id, context.settings.archive_dir)[0])
    assert row["Surname"] == "'=HYPERLINK(1)"


def test_the_commands_export_and_correct_with_collects_exit_codes(home: Path, tmp_path: Path) -> None:
    at = ["--home", str(home)]
    assert main([*at, "collect", str(FIXTURES / "ks2.csv")]) == 1
    exported = tmp_path / "quarantined.csv"
    assert main([*at, "collection", "quarantine", "1", "--out", str(exported)]) == 0
    rows = _rows(exported.read_text(encoding="utf-8"))
    assert main([*at, "collect", str(exported), str(FIXTURES / "ks2.csv"), "--corrects", "1"]) == 2
    assert main([*at, "collect", str(exported), "--corrects", "99"]) == 2
    rows[0]["EnglishLevel"] = "4"
    rows[1]["DOB"] = "31/02/1998"
    assert main([*at, "collect", str(_write(tmp_path / "some.csv", rows[:2])), "--corrects", "1"]) == 1
    assert main([*at, "collection", "quarantine", "1"]) == 2  # already corrected, by receipt 2
    assert main([*at, "collection", "quarantine", "2", "--out", str(exported)]) == 0
    (evans,) = _rows(exported.read_text(encoding="utf-8"))
    evans["DOB"] = "28/02/1998"
    assert main([*at, "collect", str(_write(tmp_path / "last.csv", [evans])), "--corrects", "2"]) == 0
    assert main([*at, "collection", "report", "1", "--out", str(tmp_path / "report.csv")]) == 0
    with Context(Settings(home=home)) as ctx:
        assert ctx.warehouse.scalar("SELECT count(*) FROM collect_ks_current") == 6
        events = ctx.audit.events(limit=1000)
    assert {"collect.correct", "collect.quarantine.export"} <= {e.action for e in events}
    (viewed,) = [e for e in events if e.action == "collect.report.view"]  # the report names pupils: its reading too
    assert (viewed.object_id, json.loads(viewed.detail)["how"]) == ("1", "command line")
