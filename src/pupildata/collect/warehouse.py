"""The collection's tables in the warehouse — what matching and everything downstream reads.

- ``collect_receipt``: one row per file received (accepted, rejected, duplicate or a correction).
- ``collect_<source>`` (census, ks, ncmp, ilr, survey): the accepted records, typed and normalised, with their
  provenance (receipt, record number in the file) and the codes of any queries.
- ``collect_<source>_current``: the same, with each record's collection and sender (its receipt's), without the
  records of returns that a later one superseded.
- ``collect_quarantine``: records that failed an error rule, exactly as sent (JSON), with the rule codes, until a
  correction resolves them.
- ``collect_issue``: every rule failure (errors and queries) of every record: rule, field, value as sent.
- ``collect_rule``: the catalogue of rules, so the warehouse explains its own codes.
- ``collect_plan_order``: whether DuckDB keeps a file's order in the statement that reads, types and checks a
  CSV file (see ``direct._keeps_order``), by version of DuckDB, number of threads and statement.
- ``collect_schema_state``: a fingerprint of all the above as this code declares them, so that a warehouse
  already up to date is seen to be so by one query (every ``collect`` begins by making sure of its tables).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from pupildata.collect.catalogue import all_rules
from pupildata.collect.growth import LMS_TABLE, install_lms
from pupildata.collect.schemas import SOURCES, Source
from pupildata.kernel.engine import DuckDBEngine

RECEIPT = "collect_receipt"
QUARANTINE = "collect_quarantine"
ISSUE = "collect_issue"
RULE = "collect_rule"
SCHEMA_STATE = "collect_schema_state"
PLAN_ORDER = "collect_plan_order"
#: What a record has from its file's receipt, the same for every record of the file: stored once, in the receipt,
#: and given with each record by the ``_current`` views.
RECEIPT_FIELDS = ("collection", "sender")

_RECEIPT_COLUMNS = """
    receipt_id BIGINT NOT NULL, sha256 VARCHAR NOT NULL, file_name VARCHAR NOT NULL, size_bytes BIGINT NOT NULL,
    source VARCHAR, format VARCHAR, collection VARCHAR, sender VARCHAR, sender_name VARCHAR,
    received_at TIMESTAMPTZ NOT NULL, run_id BIGINT, status VARCHAR NOT NULL,
    records BIGINT NOT NULL DEFAULT 0, accepted BIGINT NOT NULL DEFAULT 0, quarantined BIGINT NOT NULL DEFAULT 0,
    queried BIGINT NOT NULL DEFAULT 0, superseded_by BIGINT, duplicate_of BIGINT, corrects BIGINT,
    rule_code VARCHAR, message VARCHAR, notes VARCHAR
"""

ACADEMIC_YEAR_MACRO = (
    "CREATE OR REPLACE MACRO collect_academic_year(d) AS "
    "CAST(year(d) - CASE WHEN month(d) < 9 THEN 1 ELSE 0 END AS VARCHAR) || '-' || "
    "lpad(CAST((year(d) - CASE WHEN month(d) < 9 THEN 1 ELSE 0 END + 1) % 100 AS VARCHAR), 2, '0')"
)


def source_columns(src: Source) -> str:
    fields = ", ".join(f"{f.name} {f.sql_type}" for f in src.fields)
    return f"receipt_id BIGINT NOT NULL, record_index BIGINT NOT NULL, {fields}, queries VARCHAR[]"


_QUARANTINE_COLUMNS = (
    "receipt_id BIGINT NOT NULL, record_index BIGINT NOT NULL, source VARCHAR NOT NULL, errors VARCHAR[] NOT NULL, "
    "record JSON, raw_line VARCHAR, resolved_by BIGINT"
)
_ISSUE_COLUMNS = (
    "receipt_id BIGINT NOT NULL, record_index BIGINT, rule_code VARCHAR NOT NULL, severity VARCHAR NOT NULL, "
    "field VARCHAR, value VARCHAR"
)
_RULE_COLUMNS = "code VARCHAR NOT NULL, severity VARCHAR NOT NULL, field VARCHAR, message VARCHAR NOT NULL"
_PLAN_ORDER_COLUMNS = (
    "duckdb_version VARCHAR NOT NULL, threads INTEGER NOT NULL, statement VARCHAR NOT NULL, "
    "keeps_order BOOLEAN NOT NULL"
)


def _rule_rows() -> list[tuple[str, str, str | None, str]]:
    return [(r["code"], r["severity"], r["field"] or None, r["message"]) for r in all_rules()]


@cache
def schema_fingerprint() -> str:
    """A fingerprint of every table, view, macro and rule ``ensure_tables`` makes, as this code declares them."""
    declared = {
        "macro": ACADEMIC_YEAR_MACRO,
        "receipt": _RECEIPT_COLUMNS,
        "sources": {src.table: source_columns(src) for src in SOURCES.values()},
        "quarantine": _QUARANTINE_COLUMNS,
        "issue": _ISSUE_COLUMNS,
        "rule": _RULE_COLUMNS,
        "plan_order": _PLAN_ORDER_COLUMNS,
        "rules": _rule_rows(),
        "growth": LMS_TABLE,
    }
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()


def _up_to_date(engine: DuckDBEngine) -> bool:
    if not engine.table_exists(SCHEMA_STATE):
        return False
    return bool(engine.scalar(f"SELECT max(fingerprint) FROM {SCHEMA_STATE}") == schema_fingerprint())


def ensure_tables(engine: DuckDBEngine) -> None:
    """Create what is missing (idempotent), in one transaction; refresh the rule catalogue. A warehouse whose
    tables were made by this same code (``schema_fingerprint``) is left as it is."""
    if _up_to_date(engine):
        return
    with engine.transaction():
        engine.execute(ACADEMIC_YEAR_MACRO)
        present = {
            (str(table), str(column))
            for table, column in engine.fetchall(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main' "
                "AND table_catalog = current_database() AND table_name LIKE 'collect_%'"
            )
        }
        engine.execute(f"CREATE TABLE IF NOT EXISTS {RECEIPT} ({_RECEIPT_COLUMNS})")
        for src in SOURCES.values():
            engine.execute(f"CREATE TABLE IF NOT EXISTS {src.table} ({source_columns(src)})")
            for f in src.fields:  # a field declared since the table was made (e.g. the census URN)
                if any(t == src.table for t, _ in present) and (src.table, f.name) not in present:
                    engine.execute(f"ALTER TABLE {src.table} ADD COLUMN {f.name} {f.sql_type}")
            for column in RECEIPT_FIELDS:  # once written in every record, now its receipt's alone
                if (src.table, column) in present:
                    engine.execute(f"ALTER TABLE {src.table} DROP COLUMN {column}")
            engine.execute(
                f"CREATE OR REPLACE VIEW {src.table}_current AS SELECT t.*, "
                f"{', '.join('r.' + c for c in RECEIPT_FIELDS)} FROM {src.table} t "
                f"JOIN {RECEIPT} r ON r.receipt_id = t.receipt_id WHERE r.superseded_by IS NULL"
            )
        engine.execute(f"CREATE TABLE IF NOT EXISTS {QUARANTINE} ({_QUARANTINE_COLUMNS})")
        engine.execute(f"CREATE TABLE IF NOT EXISTS {ISSUE} ({_ISSUE_COLUMNS})")
        engine.execute(f"CREATE OR REPLACE TABLE {RULE} ({_RULE_COLUMNS})")
        engine.executemany(f"INSERT INTO {RULE} VALUES (?, ?, ?, ?)", _rule_rows())
        # a plan is asked again whenever the code changes (its statements may have)
        engine.execute(f"CREATE OR REPLACE TABLE {PLAN_ORDER} ({_PLAN_ORDER_COLUMNS})")
        install_lms(engine)
        engine.execute(f"CREATE OR REPLACE TABLE {SCHEMA_STATE} (fingerprint VARCHAR NOT NULL)")
        engine.execute(f"INSERT INTO {SCHEMA_STATE} VALUES (?)", [schema_fingerprint()])
