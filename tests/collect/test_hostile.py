"""The hostile-input corpus (tests/collect/hostile/, written by make_hostile.py): no crash, no partial load, and a
rule code or one clear sentence for every refusal. The whole corpus is collected once, as one folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pupildata.cli import main
from pupildata.collect import Options, Summary, collect
from pupildata.collect.receipts import Receipt
from pupildata.collect.reports import issue_rows, report_csv, report_path
from pupildata.kernel.context import Context
from pupildata.settings import Settings

CORPUS = Path(__file__).parent / "hostile"

# file -> (status, file-level rule code, the record rule codes expected among the issues)
EXPECTED: dict[str, tuple[str, str | None, set[str]]] = {
    "xxe_external_entity.xml": ("rejected", "XML-DTD-01", set()),
    "billion_laughs.xml": ("rejected", "XML-DTD-01", set()),
    "external_dtd.xml": ("rejected", "XML-DTD-01", set()),
    "malformed.xml": ("rejected", "XML-WF-01", set()),
    "truncated.xml": ("rejected", "XML-WF-01", set()),
    "wrong_root.xml": ("rejected", "XML-ROOT-01", set()),
    "utf16_no_declaration.xml": ("rejected", "FILE-ENC-02", set()),
    "windows1252_declared.xml": ("accepted", None, set()),
    "windows1252_undeclared.xml": ("rejected", "FILE-ENC-01", set()),
    "invalid_utf8.xml": ("rejected", "FILE-ENC-01", set()),
    "nul_in_xml.xml": ("rejected", "XML-WF-01", set()),
    "huge_field.xml": ("quarantined", None, {"CEN-SUR-04"}),
    "formula_injection.xml": ("quarantined", None, {"CEN-ETH-03"}),
    "missing_header.xml": ("rejected", "XML-HDR-01", set()),
    "no_pupils.xml": ("rejected", "FILE-EMPTY-01", set()),
    "comments_and_pis.xml": ("accepted", None, set()),
    "entities_and_cdata.xml": ("accepted", None, set()),
    "duplicate_upns.xml": ("quarantined", None, {"CEN-UPN-06"}),
    "dob_in_future.xml": ("quarantined", None, {"CEN-DOB-07", "CEN-NCY-08"}),
    "dob_nc_year_mismatch.xml": ("quarantined", None, {"CEN-NCY-08"}),
    "unknown_codes.xml": ("quarantined", None, {"CEN-GEN-03", "CEN-SEN-03"}),
    "bad_check_letter.xml": ("quarantined", None, {"CEN-UPN-05"}),
    "deep_nesting.xml": ("rejected", "XML-WF-01", set()),
    "sql_in_values.xml": ("accepted", None, set()),
    "empty.csv": ("rejected", "FILE-EMPTY-01", set()),
    "whitespace_only.csv": ("rejected", "FILE-EMPTY-01", set()),
    "only_header.csv": ("rejected", "FILE-EMPTY-01", set()),
    "no_header.csv": ("rejected", "CSV-HDR-01", set()),
    "missing_column.csv": ("rejected", "CSV-HDR-01", set()),
    "extra_columns.csv": ("accepted", None, set()),
    "ragged_rows.csv": ("partly accepted", None, {"CSV-ROW-01"}),
    "duplicate_header.csv": ("rejected", "CSV-HDR-02", set()),
    "bom_crlf.csv": ("accepted", None, set()),
    "quotes_in_names.csv": ("accepted", None, set()),
    "windows1252_undeclared.csv": ("rejected", "FILE-ENC-01", set()),
    "utf16_with_bom.csv": ("accepted", None, set()),
    "utf16_no_bom.csv": ("rejected", "FILE-ENC-02", set()),
    "embedded_nul.csv": ("quarantined", None, {"KS-ENG-03"}),
    "semicolons.csv": ("rejected", "CSV-SEP-01", set()),
    "comma_only_rows.csv": ("accepted", None, set()),
    "excel_workbook.xlsx": ("rejected", "FILE-TYPE-01", set()),
    "excel_97.xls": ("rejected", "FILE-TYPE-01", set()),
    "a_letter.pdf": ("rejected", "FILE-TYPE-01", set()),
    "tab_separated.csv": ("rejected", "CSV-SEP-01", set()),
    "formula_injection.csv": ("quarantined", None, {"SUR-CAS-06"}),
    "binary_junk.csv": ("rejected", "FILE-ENC-01", set()),
    "impossible_heights.csv": ("quarantined", None, {"NCMP-HGT-07", "NCMP-WGT-07"}),
    "bad_dates.csv": ("quarantined", None, {"ILR-DOB-02", "ILR-SDT-02"}),
    "name with 'quote' and space.csv": ("accepted", None, set()),
    "not_parquet.parquet": ("rejected", "PQ-01", set()),
    "truncated.parquet": ("rejected", "PQ-01", set()),
    "text_named_parquet.parquet": ("rejected", "CSV-HDR-01", set()),
    "good_ks.csv": ("accepted", None, set()),
    "bad_empty.csv": ("rejected", "FILE-EMPTY-01", set()),
    "bad_xml.xml": ("rejected", "XML-WF-01", set()),
    "good_census.xml": ("accepted", None, set()),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Context, dict[str, Receipt]]]:
    home = tmp_path_factory.mktemp("hostile") / "home"
    with Context(Settings(home=home)) as ctx:
        summary: Summary = collect(ctx, [CORPUS], Options())
        yield ctx, {r.file_name: r for r in summary.receipts}


def test_the_corpus_is_large_enough_and_every_file_has_an_expectation() -> None:
    files = sorted(p.name for p in CORPUS.rglob("*") if p.is_file())
    assert len(files) >= 30
    assert sorted(EXPECTED) == files


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_hostile_file_has_its_expected_outcome(corpus: tuple[Context, dict[str, Receipt]], name: str) -> None:
    ctx, receipts = corpus
    status, code, record_codes = EXPECTED[name]
    receipt = receipts[name]
    assert (receipt.status, receipt.rule_code) == (status, code), receipt.message
    issues = {row[0] for row in ctx.warehouse.fetchall(
        "SELECT DISTINCT rule_code FROM collect_issue WHERE receipt_id = ?", [receipt.receipt_id])}  # fmt: skip
    assert record_codes <= issues
    if status == "rejected":
        assert receipt.message
        assert "\n" not in receipt.message
        assert receipt.message.endswith(".")
        for table in ("collect_census", "collect_ks", "collect_ncmp", "collect_ilr", "collect_survey",
                      "collect_quarantine", "collect_issue"):  # fmt: skip
            assert ctx.warehouse.scalar(f"SELECT count(*) FROM {table} WHERE receipt_id = ?", [receipt.receipt_id]) == 0
    else:
        loaded = ctx.warehouse.scalar(
            f"SELECT count(*) FROM collect_{receipt.source} WHERE receipt_id = ?", [receipt.receipt_id]
        )
        quarantined = ctx.warehouse.scalar(
            "SELECT count(*) FROM collect_quarantine WHERE receipt_id = ?", [receipt.receipt_id]
        )
        assert (loaded, quarantined) == (receipt.accepted, receipt.quarantined)
        assert receipt.accepted + receipt.quarantined == receipt.records


def test_text_is_decoded_as_declared_and_stored_as_sent(corpus: tuple[Context, dict[str, Receipt]]) -> None:
    ctx, receipts = corpus

    def value(sql: str, name: str) -> object:
        return ctx.warehouse.scalar(sql, [receipts[name].receipt_id])

    assert (
        value("SELECT surname FROM collect_census WHERE receipt_id = ?", "windows1252_declared.xml") == "ZOË ÅNGSTRÖM"
    )
    assert (
        value("SELECT surname FROM collect_census WHERE receipt_id = ?", "entities_and_cdata.xml") == "O'BRIEN & CO É"
    )
    assert value("SELECT surname FROM collect_census WHERE receipt_id = ?", "sql_in_values.xml") == (
        "ROBERT'); DROP TABLE COLLECT_CENSUS;--"
    )
    assert value("SELECT surname || '|' || forename FROM collect_survey WHERE receipt_id = ?",
                 "quotes_in_names.csv") == 'O"BRIEN, JR|MARY\nANN'  # fmt: skip
    assert value("SELECT length(record->>'surname') FROM collect_quarantine WHERE receipt_id = ?",
                 "huge_field.xml") == 1_048_576  # fmt: skip
    assert value("SELECT record->>'english' FROM collect_quarantine WHERE receipt_id = ?",
                 "embedded_nul.csv") == "4\x00"  # fmt: skip
    assert value("SELECT record->>'case_id' FROM collect_quarantine WHERE receipt_id = ? LIMIT 1",
                 "formula_injection.csv") == "=cmd|' /C calc'!A0"  # fmt: skip


def test_reports_escape_formulas_nuls_and_huge_values(corpus: tuple[Context, dict[str, Receipt]]) -> None:
    ctx, receipts = corpus
    injected = report_csv(ctx.warehouse, receipts["formula_injection.csv"])
    assert "'=cmd|' /C calc'!A0" in injected
    assert ",=cmd" not in injected
    xml = issue_rows(ctx.warehouse, receipts["formula_injection.xml"])
    assert xml[0]["value"].startswith("'=HYPERLINK")
    nul = issue_rows(ctx.warehouse, receipts["embedded_nul.csv"])
    assert nul[0]["value"] == "4\\x00"
    assert "\x00" not in report_csv(ctx.warehouse, receipts["embedded_nul.csv"])
    huge = issue_rows(ctx.warehouse, receipts["huge_field.xml"])
    assert len(huge[0]["value"]) < 1100
    assert "1,048,576 characters" in huge[0]["value"]
    # who the record is, as sent, made safe the same way
    assert xml[0]["surname"] == "'=cmd|' /C calc'!A0"
    names = [(r["forename"], r["surname"]) for r in issue_rows(ctx.warehouse, receipts["formula_injection.csv"])]
    assert ("'-2+3", "'@SUM(A1)") in names
    assert ("'\tAnn", "'+Lee") in names
    assert ",@SUM" not in injected
    assert len(huge[0]["surname"]) < 1100
    assert huge[0]["surname"].endswith("(1,048,576 characters)")


def test_the_report_files_written_by_a_run_are_the_reports(corpus: tuple[Context, dict[str, Receipt]]) -> None:
    """A run writes each report from one statement for many files; each file is what ``report_csv`` gives."""
    ctx, receipts = corpus
    with_rows = 0
    for receipt in receipts.values():
        written = report_path(ctx.settings.outputs_dir, receipt.receipt_id).read_bytes().decode("utf-8")
        assert written == report_csv(ctx.warehouse, receipt), receipt.file_name
        with_rows += written.count("\r\n") > 1
    assert with_rows >= 20


def test_rows_of_only_commas_are_no_records(corpus: tuple[Context, dict[str, Receipt]]) -> None:
    """As an empty line is not a record, nor is a row of nothing but commas: one pupil, not four."""
    _, receipts = corpus
    receipt = receipts["comma_only_rows.csv"]
    assert (receipt.records, receipt.accepted, receipt.quarantined) == (1, 1, 0)


def test_the_ragged_rows_are_quarantined_as_sent(corpus: tuple[Context, dict[str, Receipt]]) -> None:
    ctx, receipts = corpus
    rows = ctx.warehouse.fetchall(
        "SELECT record_index, errors, raw_line FROM collect_quarantine WHERE receipt_id = ? ORDER BY record_index",
        [receipts["ragged_rows.csv"].receipt_id],
    )
    assert [(r[0], r[1]) for r in rows] == [(2, ["CSV-ROW-01"]), (3, ["CSV-ROW-01"])]
    assert "C874400198001,Adams" in rows[0][2]


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = ["--home", str(tmp_path / "home")]
    assert main([*home, "collect", str(CORPUS / "mixed_directory" / "good_ks.csv")]) == 0
    assert main([*home, "collect", str(CORPUS / "mixed_directory")]) == 1
    assert main([*home, "collect", str(tmp_path / "no-such-file.csv")]) == 2
    assert main([*home, "collect", "--source", "nonsense", str(CORPUS / "empty.csv")]) == 2
    capsys.readouterr()
    # an encoding no one has heard of is the command's mistake, told before any file is received
    assert main([*home, "collect", "--encoding", "nonsense", str(CORPUS / "windows1252_undeclared.csv")]) == 2
    assert "'nonsense' is not an encoding this service knows" in capsys.readouterr().err
    with Context(Settings(home=tmp_path / "home")) as ctx:
        received = ctx.warehouse.scalar("SELECT count(*) FROM collect_receipt WHERE file_name LIKE 'windows1252%'")
    assert received == 0


def test_a_run_of_many_files_sums_up_by_collection_and_lists_the_files_to_act_on_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Beyond ``LIST_EVERY`` files, the summary is a line per collection and then the files needing attention:
    refused ones first, then the most records quarantined; at most ``ATTENTION`` of them, and how many more."""
    from rich.console import Console

    from pupildata.collect import cli

    monkeypatch.setattr(cli, "out", Console(width=200, highlight=False, soft_wrap=True))  # a row to a line
    monkeypatch.setattr(cli, "LIST_EVERY", 3)
    monkeypatch.setattr(cli, "ATTENTION", 2)
    names = ["bad_check_letter.xml", "duplicate_upns.xml", "unknown_codes.xml", "empty.csv", "bom_crlf.csv"]
    folder = tmp_path / "returns"
    folder.mkdir()
    for name in names:
        shutil.copy(CORPUS / name, folder / name)
    assert main(["--home", str(tmp_path / "home"), "collect", str(folder)]) == 1
    printed = capsys.readouterr().out
    assert "Returns received: 5 files" in printed
    assert "census-2009-spr" in printed  # a line per collection
    listed = printed.split("Files with records quarantined, or refused: ", 1)[1]
    rows = [line for line in listed.splitlines() if line.startswith("│")]
    assert len(rows) == 2
    assert "empty.csv" in rows[0]  # refused: first
    assert "rejected" in rows[0]
    assert "... and " in listed
    assert "more: 'pupildata collection status COLLECTION'" in listed


def test_a_refused_csv_says_how_to_save_it_and_the_totals_count_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--home", str(tmp_path / "home"), "collect", str(CORPUS / "windows1252_undeclared.csv")]) == 1
    printed = " ".join(capsys.readouterr().out.split())  # as one line, however the terminal wrapped it
    assert "save it as UTF-8 (in Excel: Save As, 'CSV UTF-8')" in printed
    assert "1 file: 0 records accepted" in printed
    assert "1 file refused" in printed
