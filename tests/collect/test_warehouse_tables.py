"""The collection's tables gain fields declared after they were made, keeping their rows."""

from __future__ import annotations

from pupildata.collect.schemas import CENSUS
from pupildata.collect.warehouse import ensure_tables, source_columns
from pupildata.kernel.engine import DuckDBEngine


def test_a_census_table_made_before_the_urn_gains_it() -> None:
    engine = DuckDBEngine()
    older = source_columns(CENSUS).replace("urn VARCHAR, ", "")
    engine.execute(f"CREATE TABLE collect_census ({older})")
    engine.execute("INSERT INTO collect_census (receipt_id, record_index, collection, sender) VALUES (1, 1, 'c', 's')")
    ensure_tables(engine)
    ensure_tables(engine)  # and again: nothing to add
    assert engine.fetchall("SELECT receipt_id, urn FROM collect_census") == [(1, None)]
