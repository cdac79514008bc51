"""The input contract of matching: one warehouse table or view, ``link_record``, one row per collected record.

Collection provides it (``pupildata.link.inputs`` maps collection's tables into it); tests and benchmarks build it
from synthetic files. Values are as received: matching normalises names, sex codes and postcodes itself, so a
source only has to put each field in the right column. A field a source does not carry is NULL.
"""

from __future__ import annotations

from dataclasses import dataclass

from pupildata.errors import DataError
from pupildata.kernel.engine import DuckDBEngine

TABLE = "link_record"


@dataclass(frozen=True)
class Field:
    name: str
    sql_type: str
    meaning: str


FIELDS: tuple[Field, ...] = (
    Field("record_key", "VARCHAR", "unique and stable: the same record always has the same key (NOT NULL)"),
    Field("source", "VARCHAR", "census, ks1..ks4, ncmp, post16, survey, ... (NOT NULL)"),
    Field("year", "INTEGER", "the calendar year the academic year begins in: 2008 for 2008/09 (NOT NULL)"),
    Field("forename", "VARCHAR", "first forename as given"),
    Field("middle_names", "VARCHAR", "other forenames as given"),
    Field("surname", "VARCHAR", "legal surname as given"),
    Field("former_surname", "VARCHAR", "an earlier surname"),
    Field("preferred_surname", "VARCHAR", "the surname the child is known by, where different"),
    Field("dob", "DATE", "date of birth (NULL when unparseable)"),
    Field("sex", "VARCHAR", "as given: M/F, Male/Female, 1/2"),
    Field("postcode", "VARCHAR", "home postcode as given"),
    Field("address", "VARCHAR", "home address lines, joined with ', '"),
    Field("upn", "VARCHAR", "unique pupil number as given"),
    Field("former_upn", "VARCHAR", "an earlier UPN (e.g. the temporary one)"),
    Field("uln", "VARCHAR", "unique learner number as given"),
    Field("school_urn", "VARCHAR", "the school's URN"),
    Field("laestab", "VARCHAR", "the school's LA and establishment number"),
    Field("la_code", "VARCHAR", "three-digit LA code of the school or sender"),
    Field("source_id", "VARCHAR", "the sender's own id for the person, stable within that source (e.g. a survey's)"),
    Field("return_key", "VARCHAR", "the return the record came in: one child appears at most once per return"),
    Field("ethnicity", "VARCHAR", "ethnicity code (census) — for the quality report only"),
    Field("fsm", "BOOLEAN", "eligible for free school meals — for the quality report only"),
    Field("eal", "BOOLEAN", "English as an additional language — for the quality report only"),
)
NAMES = tuple(f.name for f in FIELDS)
IDENTIFYING = ("forename", "surname", "dob", "upn", "uln", "postcode")


def create_sql(table: str = TABLE) -> str:
    """An empty table of the contract's shape."""
    columns = ",\n  ".join(f"{f.name} {f.sql_type}" for f in FIELDS)
    return f"CREATE OR REPLACE TABLE {table} (\n  {columns}\n)"


def select_sql(table: str = TABLE) -> str:
    """The contract's columns of a table, in order and with their types."""
    return "SELECT " + ", ".join(f"CAST({f.name} AS {f.sql_type}) AS {f.name}" for f in FIELDS) + f" FROM {table}"


def check(engine: DuckDBEngine, table: str = TABLE) -> int:
    """The number of records, after checking the table exists, has every column and keys are unique."""
    rows = engine.fetchall(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main'", [table]
    )
    if not rows:
        raise DataError(f"There is nothing to match: the warehouse has no '{table}' table (run pupildata collect).")
    missing = [name for name in NAMES if name not in {r[0] for r in rows}]
    if missing:
        raise DataError(f"The '{table}' table lacks the column(s) {', '.join(missing)} that matching needs.")
    total, keys, bad = engine.fetchone(
        f"SELECT count(*), count(DISTINCT record_key), count(*) FILTER (WHERE record_key IS NULL OR source IS NULL "
        f"OR year IS NULL) FROM {table}"
    ) or (0, 0, 0)
    if bad:
        raise DataError(f"{bad} record(s) of '{table}' have no record_key, source or year.")
    if keys != total:
        raise DataError(f"'{table}' has {total - keys} duplicated record_key value(s); each record needs its own.")
    return int(total)
