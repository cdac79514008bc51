"""A return sent as Parquet is read like the same columns sent as CSV."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pupildata.collect import Options, collect
from pupildata.kernel.context import Context

FIXTURES = Path(__file__).parent / "fixtures"


def _ks2_parquet(folder: Path, more: str = "") -> Path:
    """The key stage 2 fixture's columns as Parquet (every column text, as in the CSV file), with ``more``."""
    parquet = folder / "ks2.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT *{more} FROM read_csv('{FIXTURES / 'ks2.csv'}', all_varchar = true)) "
            f"TO '{parquet}' (FORMAT parquet)"
        )
    return parquet


def test_key_stage_results_as_parquet_take_their_key_stage_from_the_columns(context: Context, tmp_path: Path) -> None:
    parquet = _ks2_parquet(tmp_path)
    from_csv = collect(context, [FIXTURES / "ks2.csv"], Options()).receipts[0]
    (receipt,) = collect(context, [parquet], Options()).receipts
    assert receipt.format == "parquet"
    assert (receipt.collection, receipt.records, receipt.accepted, receipt.quarantined) == (
        from_csv.collection, from_csv.records, from_csv.accepted, from_csv.quarantined
    )  # fmt: skip
    assert str(receipt.collection).startswith("ks2-")
    stages = context.warehouse.fetchall(
        "SELECT DISTINCT key_stage FROM collect_ks WHERE receipt_id = ?", [receipt.receipt_id]
    )
    assert stages == [("2",)]


def test_a_parquet_file_with_a_column_named_like_the_readers_row_number_is_numbered_all_the_same(
    context: Context, tmp_path: Path
) -> None:
    """A column the return does not use, named ``file_row_number``, must not stop the file or change its numbers."""
    parquet = _ks2_parquet(tmp_path, ", 'not a number' AS file_row_number")
    from_csv = collect(context, [FIXTURES / "ks2.csv"], Options()).receipts[0]
    (receipt,) = collect(context, [parquet], Options()).receipts
    assert receipt.status == from_csv.status
    assert (receipt.records, receipt.accepted, receipt.quarantined) == (
        from_csv.records, from_csv.accepted, from_csv.quarantined
    )  # fmt: skip
    numbers = context.warehouse.fetchall(
        "SELECT upn, record_index FROM collect_ks WHERE receipt_id = ? ORDER BY record_index", [receipt.receipt_id]
    )
    expected = context.warehouse.fetchall(
        "SELECT upn, record_index FROM collect_ks WHERE receipt_id = ? ORDER BY record_index", [from_csv.receipt_id]
    )
    assert numbers == expected


def test_typed_columns_are_read_as_their_values(context: Context, tmp_path: Path) -> None:
    """A bulk load written by pandas or Spark carries types: dates as timestamps at midnight (or instants with a
    time zone), numbers as numbers. Each is read as the value it is, as its text in a CSV file would be."""
    parquet = tmp_path / "typed.parquet"
    with duckdb.connect() as con:
        con.execute(
            "SET TimeZone = 'UTC'; "
            "COPY (SELECT 'C874400198001' AS UPN, 'Adams' AS Surname, 'Zoe' AS Forenames, "
            "TIMESTAMP_NS '1997-10-01 00:00:00' AS DOB, 'F' AS Gender, 8742001 AS LAEstab, 172001 AS URN, "
            "4 AS EnglishLevel, 5 AS MathsLevel, 4 AS ScienceLevel "
            "UNION ALL SELECT 'F874400197002', 'Baker', 'Sam', TIMESTAMP '1998-01-02 00:00:00', 'M', 8742001, 172001, "
            f"4, 4, 4) TO '{parquet}' (FORMAT parquet)"
        )
        zoned = tmp_path / "zoned.parquet"  # the same pupils, born at midnight in the UK: 23:00 UTC the day before
        con.execute(
            f"COPY (SELECT * REPLACE (CAST(timezone('Europe/London', DOB::TIMESTAMP) AS TIMESTAMPTZ) AS DOB) "
            f"FROM '{parquet}') TO '{zoned}' (FORMAT parquet)"
        )
    for path in (parquet, zoned):
        (receipt,) = collect(context, [path], Options()).receipts
        assert (receipt.status, receipt.accepted, receipt.quarantined) == ("accepted", 2, 0), path.name
        assert receipt.collection == "ks2-2008-09"  # told from the dates of birth, as from their text
        born = context.warehouse.fetchall(
            "SELECT surname, strftime(dob, '%Y-%m-%d'), english FROM collect_ks WHERE receipt_id = ? "
            "ORDER BY record_index",
            [receipt.receipt_id],
        )
        assert born == [("ADAMS", "1997-10-01", "4"), ("BAKER", "1998-01-02", "4")], path.name
    with duckdb.connect() as con:
        assert con.execute(
            f"SELECT column_type FROM (DESCRIBE FROM '{zoned}') WHERE column_name = 'DOB'"
        ).fetchone() == ("TIMESTAMP WITH TIME ZONE",)
