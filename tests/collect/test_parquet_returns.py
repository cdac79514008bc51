"""A return sent as Parquet is read like the same columns sent as CSV."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pupildata.collect import Options, collect
from pupildata.kernel.context import Context

FIXTURES = Path(__file__).parent / "fixtures"


def test_key_stage_results_as_parquet_take_their_key_stage_from_the_columns(context: Context, tmp_path: Path) -> None:
    parquet = tmp_path / "ks2.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * FROM read_csv('{FIXTURES / 'ks2.csv'}', all_varchar = true)) "
            f"TO '{parquet}' (FORMAT parquet)"
        )
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
