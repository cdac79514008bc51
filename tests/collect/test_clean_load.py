"""A CSV or Parquet file whose records all pass is loaded in the statement that checks it; a file with any record
that fails a rule (or repeats a key) gets the same outcome as ever: its clean records written in that statement,
the others checked again (a CSV row set aside by the reader sends the file record by record)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pupildata.collect import Options, collect, load
from pupildata.collect.receipts import Receipt
from pupildata.kernel.context import Context
from pupildata.kernel.identifiers import sql_upn_expected_letter

HEADER = "UPN,Surname,Forenames,DOB,Gender,LAEstab,URN,EnglishLevel,MathsLevel,ScienceLevel"
BODY = "('874' || lpad((2000 + i // 1000)::VARCHAR, 4, '0') || '09' || lpad((i % 1000)::VARCHAR, 3, '0'))"
#: Valid key stage 2 results, row i (from 0) with surname 'S<i>'.
ROWS = (
    f"SELECT {sql_upn_expected_letter(chr(39) + 'A' + chr(39) + ' || b')} || b AS UPN, 'S' || i AS Surname, "
    "'Ann' AS Forenames, strftime(DATE '1997-09-01' + (i % 365)::INTEGER, '%d/%m/%Y') AS DOB, 'F' AS Gender, "
    "'8742001' AS LAEstab, '172001' AS URN, '4' AS EnglishLevel, '4' AS MathsLevel, '5' AS ScienceLevel "
    f"FROM (SELECT i, {BODY} AS b FROM range(?) t(i))"
)


def _write(path: Path, rows: int, fmt: str = "csv") -> None:
    options = "(HEADER)" if fmt == "csv" else "(FORMAT parquet, ROW_GROUP_SIZE 2048)"
    with duckdb.connect() as con:
        con.execute(f"COPY ({ROWS}) TO '{path}' {options}", [rows])


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def record_by_record(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files loaded record by record (the clean load having found a record that fails)."""
    loaded: list[str] = []
    original = load._load_checked

    def spy(engine, archived, root, base, **kwargs):  # type: ignore[no-untyped-def]
        loaded.append(base.file_name)
        return original(engine, archived, root, base, **kwargs)

    monkeypatch.setattr(load, "_load_checked", spy)
    return loaded


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_clean_file_is_loaded_in_one_pass_each_record_numbered_as_in_the_file(
    context: Context, tmp_path: Path, record_by_record: list[str], fmt: str
) -> None:
    # big enough for DuckDB to read the CSV file in parallel (several parts) and the Parquet file's row groups
    rows = 150_000 if fmt == "csv" else 20_000
    path = tmp_path / f"ks2.{fmt}"
    _write(path, rows, fmt)
    (receipt,) = collect(context, [path], Options()).receipts
    assert record_by_record == []
    assert (receipt.status, receipt.records, receipt.accepted, receipt.quarantined, receipt.queried) == (
        "accepted", rows, rows, 0, 0
    )  # fmt: skip
    wh = context.warehouse
    misplaced = wh.scalar(
        "SELECT count(*) FROM collect_ks WHERE receipt_id = ? AND surname <> 'S' || (record_index - 1)",
        [receipt.receipt_id],
    )
    numbers = wh.fetchone(
        "SELECT count(*), count(DISTINCT record_index), min(record_index), max(record_index) FROM collect_ks "
        "WHERE receipt_id = ?",
        [receipt.receipt_id],
    )
    assert misplaced == 0
    assert numbers == (rows, rows, 1, rows)
    assert wh.scalar("SELECT count(*) FROM collect_issue") == 0
    assert str(receipt.collection).startswith("ks2-")


def test_a_repeated_key_quarantines_every_record_that_has_it_after_the_clean_load(
    context: Context, tmp_path: Path, record_by_record: list[str]
) -> None:
    path = tmp_path / "ks2.csv"
    _write(path, 50)
    lines = _lines(path)
    lines.insert(31, lines[11])  # row 10 again, as row 31
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (receipt,) = collect(context, [path], Options()).receipts
    assert record_by_record == []
    assert (receipt.status, receipt.records, receipt.accepted, receipt.quarantined) == ("partly accepted", 51, 49, 2)
    wh = context.warehouse
    quarantined = wh.fetchall(
        "SELECT record_index, errors FROM collect_quarantine WHERE receipt_id = ? ORDER BY record_index",
        [receipt.receipt_id],
    )
    assert quarantined == [(11, ["KS-UPN-06"]), (31, ["KS-UPN-06"])]
    # the repeated records, written by the clean load, were taken out again: each accepted record once
    numbers = wh.fetchone(
        "SELECT count(*), count(DISTINCT record_index), max(record_index) FROM collect_ks WHERE receipt_id = ?",
        [receipt.receipt_id],
    )
    assert numbers == (49, 49, 51)
    assert wh.scalar("SELECT count(*) FROM collect_ks") == 49


@pytest.mark.parametrize("set_aside", [False, True], ids=["second-pass", "record-by-record"])
def test_a_query_or_a_failing_row_mid_file_is_reported_as_before(
    context: Context, tmp_path: Path, record_by_record: list[str], set_aside: bool
) -> None:
    """Records failing a rule are checked again and written by their outcome after the clean records (a row
    set aside by the CSV reader sends the whole file record by record)."""
    path = tmp_path / "ks2.csv"
    _write(path, 40)
    lines = _lines(path)
    upn = lines[6].split(",")[0]
    wrong_letter = ("B" if upn[0] != "B" else "C") + upn[1:]
    lines[6] = ",".join([wrong_letter, *lines[6].split(",")[1:]])  # record 6: a query (check letter)
    lines[20] = lines[20].replace(",F,", ",Q,")  # record 20: an error (gender code)
    if set_aside:
        lines[30] = lines[30] + ",extra"  # record 30: too many columns, set aside by the reader
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (receipt,) = collect(context, [path], Options()).receipts
    assert record_by_record == (["ks2.csv"] if set_aside else [])
    counts = (40, 38, 2, 1) if set_aside else (40, 39, 1, 1)
    assert (receipt.records, receipt.accepted, receipt.quarantined, receipt.queried) == counts
    assert receipt.status == "partly accepted"
    wh = context.warehouse
    issues = wh.fetchall(
        "SELECT record_index, rule_code, severity, value FROM collect_issue WHERE receipt_id = ? ORDER BY 1",
        [receipt.receipt_id],
    )
    assert issues[0] == (6, "KS-UPN-05", "query", wrong_letter)
    assert issues[1] == (20, "KS-GEN-03", "error", "Q")
    assert len(issues) == (3 if set_aside else 2)
    if set_aside:
        assert issues[2][:3] == (30, "CSV-ROW-01", "error")
    quarantined = wh.fetchall(
        "SELECT record_index, errors, json_extract_string(record, '$.gender') FROM collect_quarantine "
        "WHERE receipt_id = ? ORDER BY 1",
        [receipt.receipt_id],
    )
    assert quarantined[0] == (20, ["KS-GEN-03"], "Q")
    assert wh.scalar("SELECT count(*) FROM collect_ks WHERE receipt_id = ?", [receipt.receipt_id]) == counts[1]
    queried = wh.fetchall(
        "SELECT record_index, queries FROM collect_ks WHERE receipt_id = ? AND queries IS NOT NULL",
        [receipt.receipt_id],
    )
    assert queried == [(6, ["KS-UPN-05"])]
    misplaced = wh.scalar(
        "SELECT count(*) FROM collect_ks WHERE receipt_id = ? AND surname <> 'S' || (record_index - 1)",
        [receipt.receipt_id],
    )
    assert misplaced == 0


def _outcome(context: Context, receipt_id: int) -> tuple[list[tuple[object, ...]], ...]:
    wh = context.warehouse
    return (
        wh.fetchall(  # every field, as typed (those no column gives, e.g. the key stage, included)
            "SELECT * EXCLUDE (receipt_id) FROM collect_ks WHERE receipt_id = ? ORDER BY record_index", [receipt_id]
        ),
        wh.fetchall(
            "SELECT record_index, errors, record FROM collect_quarantine WHERE receipt_id = ? ORDER BY 1", [receipt_id]
        ),
        wh.fetchall(
            "SELECT record_index, rule_code, severity, field, value FROM collect_issue WHERE receipt_id = ? "
            "ORDER BY 1, 2",
            [receipt_id],
        ),
    )


def _same_as_record_by_record(
    context: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[str], clean: Receipt, first: object
) -> None:
    """The same records, sent again in another file (not recognised as identical) and loaded record by record,
    give the same counts, records, quarantine and issues as the clean load gave."""

    def no_clean_load(*args: object, **kwargs: object) -> None:
        raise load.NotClean

    monkeypatch.setattr(load, "_load_clean", no_clean_load)
    other = tmp_path / "again" / "ks2.csv"
    other.parent.mkdir()
    other.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    (checked,) = collect(context, [other], Options()).receipts
    assert (clean.records, clean.accepted, clean.quarantined, clean.queried) == (
        checked.records, checked.accepted, checked.quarantined, checked.queried
    )  # fmt: skip
    assert first == _outcome(context, checked.receipt_id)


def test_a_messy_file_has_the_same_outcome_as_when_loaded_record_by_record(
    context: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Repeated keys (one copy also failing another rule, one key three times), a query and an error: the clean
    load and the record-by-record load write the same records, quarantine, issues and counts."""
    path = tmp_path / "ks2.csv"
    _write(path, 60)
    lines = _lines(path)
    upn = lines[6].split(",")[0]
    lines[6] = ",".join([("B" if upn[0] != "B" else "C") + upn[1:], *lines[6].split(",")[1:]])  # a query
    lines[20] = lines[20].replace(",F,", ",Q,")  # an error
    lines.append(lines[11].replace(",F,", ",Q,"))  # row 10 again, also with a wrong gender
    lines.append(lines[16])
    lines.append(lines[16])  # row 15 three times
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (clean,) = collect(context, [path], Options()).receipts
    first = _outcome(context, clean.receipt_id)
    _same_as_record_by_record(context, tmp_path, monkeypatch, lines, clean, first)
    assert (clean.records, clean.quarantined) == (63, 6)
    assert [row[:2] for row in first[1] if row[0] > 60] == [
        (61, ["KS-GEN-03", "KS-UPN-06"]), (62, ["KS-UPN-06"]), (63, ["KS-UPN-06"])
    ]  # fmt: skip


def test_missing_wrong_and_long_values_have_the_same_outcome_as_when_loaded_record_by_record(
    context: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV file is typed and checked as it is read, and read again as text for the records that fail a rule:
    blank, blank-looking and impossible dates, texts too long in characters (not only in bytes) and padded
    values give the same records, quarantine, issues and counts as the record-by-record load."""
    path = tmp_path / "ks2.csv"
    _write(path, 40)
    lines = _lines(path)

    def with_field(row: int, column: int, value: str) -> None:
        parts = lines[row + 1].split(",")
        parts[column] = value
        lines[row + 1] = ",".join(parts)

    with_field(3, 3, "")  # record 4: no date of birth
    with_field(5, 3, "   ")  # only spaces
    with_field(7, 3, "31/02/2001")  # not a date
    with_field(9, 3, "\u00a012/03/2001\u00a0")  # padded with no-break spaces: a date
    with_field(11, 5, "87420011")  # LAEstab one character too long
    with_field(13, 1, "É" * 100)  # 100 characters, 200 bytes: not too long
    with_field(15, 1, "É" * 101)  # too long
    with_field(17, 2, " Ann ")  # padded
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (clean,) = collect(context, [path], Options()).receipts
    first = _outcome(context, clean.receipt_id)
    codes = sorted((row[0], row[1]) for row in first[2])
    assert codes == [(4, "KS-DOB-01"), (6, "KS-DOB-01"), (8, "KS-DOB-02"), (12, "KS-EST-04"), (16, "KS-SUR-04")]
    assert (clean.records, clean.accepted, clean.quarantined, clean.queried) == (40, 35, 5, 0)
    _same_as_record_by_record(context, tmp_path, monkeypatch, lines, clean, first)


def test_a_csv_file_is_typed_as_read_only_where_duckdb_keeps_the_order_of_its_rows(tmp_path: Path) -> None:
    """A record's number is its row's place in the table it is read into, so the statement that types and
    checks a CSV file as it reads it must be planned to keep the file's order; a source whose rules join another
    table (the growth reference of height and weight returns) is read into a table of its text first."""
    from pupildata.collect.direct import _ORDER_KEPT, _keeps_order, read_csv_checked
    from pupildata.collect.warehouse import PLAN_ORDER, ensure_tables
    from pupildata.kernel.engine import DuckDBEngine

    ks = tmp_path / "ks2.csv"
    _write(ks, 10)
    ncmp = tmp_path / "ncmp.csv"
    ncmp.write_text(
        "NHS_PCT,SchoolURN,Surname,Forename,DOB,Sex,Postcode,DateOfMeasurement,HeightCm,WeightKg\n"
        "5QA,100001,SMITH,ANN,2002-03-04,2,PE1 1AA,2008-01-10,130.5,28.1\n",
        encoding="utf-8",
    )
    _ORDER_KEPT.clear()  # as in a new process
    with DuckDBEngine() as engine:
        ensure_tables(engine)
        with engine.transaction():
            staged = read_csv_checked(engine, ks, None)
            assert staged is not None
            assert staged.checked is not None
            numbered = engine.fetchall(f"SELECT record_index, clean FROM ({staged.checked}) ORDER BY 1", staged.params)
            assert numbered[:2] == [(1, True), (2, True)]
            assert read_csv_checked(engine, ncmp, None) is None
        read = f"read_csv('{ks}', all_varchar = true)"
        assert _keeps_order(engine, "t", f"SELECT upper(UPN) FROM {read}", {})
        assert not _keeps_order(engine, "t", f"SELECT UPN FROM {read} r JOIN range(10) s(i) ON r.URN = s.i", {})
        # the answers are kept in the warehouse, for the next run (another process) to read instead of asking
        kept = engine.fetchall(f"SELECT keeps_order FROM {PLAN_ORDER} ORDER BY keeps_order")
        assert kept == [(False,), (False,), (True,), (True,)]  # the two files' statements, and the two above
        engine.execute(f"UPDATE {PLAN_ORDER} SET keeps_order = NOT keeps_order")
        _ORDER_KEPT.clear()
        assert not _keeps_order(engine, "t", f"SELECT upper(UPN) FROM {read}", {})
        _ORDER_KEPT.clear()


def test_a_long_report_is_written_whole_and_in_record_order(context: Context, tmp_path: Path) -> None:
    """A report of many failing records (more than DuckDB reads in one chunk) is the file ``report_csv`` gives:
    every record, in order, as the csv module writes it."""
    from pupildata.collect.reports import report_csv, report_path

    path = tmp_path / "ks2.csv"
    with duckdb.connect() as con:  # every other record's English level is not a level (and needs quoting)
        con.execute(
            f"COPY (SELECT * REPLACE (CASE WHEN Surname[-1:] IN ('0', '2', '4', '6', '8') THEN 'Z, \"9\"' "
            f"ELSE '' END AS EnglishLevel) FROM ({ROWS})) TO '{path}' (HEADER)",
            [30_000],
        )
    (receipt,) = collect(context, [path], Options()).receipts
    assert receipt.quarantined == 15_000
    written = report_path(context.settings.outputs_dir, receipt.receipt_id).read_bytes().decode("utf-8")
    assert written == report_csv(context.warehouse, receipt)
    records = [int(line.split(",")[2]) for line in written.split("\r\n")[1:-1]]
    assert records == list(range(1, 30_000, 2))
    assert ',"Z, ""9""",' in written
    assert not list(report_path(context.settings.outputs_dir, 0).parent.glob(".writing-*"))
