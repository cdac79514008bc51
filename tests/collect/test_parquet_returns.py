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
