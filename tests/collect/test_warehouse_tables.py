"""The collection's tables gain fields declared after they were made, and lose those now kept in the receipt alone,
keeping their rows; a warehouse already up to date is left as it is."""

from __future__ import annotations

from pupildata.collect.schemas import CENSUS
from pupildata.collect.warehouse import RULE, SCHEMA_STATE, ensure_tables, schema_fingerprint, source_columns
from pupildata.kernel.engine import DuckDBEngine


def test_a_census_table_made_before_the_urn_gains_it() -> None:
    engine = DuckDBEngine()
    older = source_columns(CENSUS).replace("urn VARCHAR, ", "")
    engine.execute(f"CREATE TABLE collect_census ({older})")
    engine.execute("INSERT INTO collect_census (receipt_id, record_index) VALUES (1, 1)")
    ensure_tables(engine)
    ensure_tables(engine)  # and again: nothing to add
    assert engine.fetchall("SELECT receipt_id, urn FROM collect_census") == [(1, None)]


def test_a_table_that_wrote_the_collection_and_sender_in_every_record_takes_them_from_the_receipt() -> None:
    engine = DuckDBEngine()
    older = source_columns(CENSUS).replace(
        "record_index BIGINT NOT NULL, ", "record_index BIGINT NOT NULL, collection VARCHAR NOT NULL, sender VARCHAR, "
    )
    engine.execute(f"CREATE TABLE collect_census ({older})")
    engine.execute(
        "INSERT INTO collect_census (receipt_id, record_index, collection, sender, upn) VALUES (1, 1, 'c', 's', 'A1')"
    )
    ensure_tables(engine)
    columns = {str(c) for (c,) in engine.fetchall("SELECT column_name FROM (DESCRIBE collect_census)")}
    assert "upn" in columns
    assert not columns & {"collection", "sender"}
    engine.execute(
        "INSERT INTO collect_receipt (receipt_id, sha256, file_name, size_bytes, received_at, status, collection, "
        "sender) VALUES (1, 'h', 'f.xml', 1, now(), 'accepted', 'census-2009-spr', '8742001')"
    )
    assert engine.fetchall("SELECT upn, collection, sender FROM collect_census_current") == [
        ("A1", "census-2009-spr", "8742001")
    ]


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
