"""The collection's tables gain fields declared after they were made, keeping their rows; a warehouse already up
to date is left as it is."""

from __future__ import annotations

from pupildata.collect.schemas import CENSUS
from pupildata.collect.warehouse import RULE, SCHEMA_STATE, ensure_tables, schema_fingerprint, source_columns
from pupildata.kernel.engine import DuckDBEngine


def test_a_census_table_made_before_the_urn_gains_it() -> None:
    engine = DuckDBEngine()
    older = source_columns(CENSUS).replace("urn VARCHAR, ", "")
    engine.execute(f"CREATE TABLE collect_census ({older})")
    engine.execute("INSERT INTO collect_census (receipt_id, record_index, collection, sender) VALUES (1, 1, 'c', 's')")
    ensure_tables(engine)
    ensure_tables(engine)  # and again: nothing to add
    assert engine.fetchall("SELECT receipt_id, urn FROM collect_census") == [(1, None)]


def test_a_warehouse_made_by_this_code_is_seen_to_be_up_to_date_and_an_older_one_is_refreshed() -> None:
    engine = DuckDBEngine()
    ensure_tables(engine)
    assert engine.scalar(f"SELECT fingerprint FROM {SCHEMA_STATE}") == schema_fingerprint()
    rules = engine.scalar(f"SELECT count(*) FROM {RULE}")
    assert rules
    engine.execute(f"DELETE FROM {RULE} WHERE code LIKE 'KS-%'")
    ensure_tables(engine)  # up to date by its fingerprint: one query, nothing made again
    assert engine.scalar(f"SELECT count(*) FROM {RULE}") < rules
    engine.execute(f"UPDATE {SCHEMA_STATE} SET fingerprint = 'made by an older version'")
    ensure_tables(engine)
    assert engine.scalar(f"SELECT count(*) FROM {RULE}") == rules
    assert engine.scalar(f"SELECT fingerprint FROM {SCHEMA_STATE}") == schema_fingerprint()
