"""The reference data as DuckDB tables, so that warehouse queries can join to it.

Each table is loaded from the package's CSV files in one statement (``read_csv`` with the column types given, not
guessed), and regions are derived from the local authorities. Re-running replaces the tables.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.reference import _DATA


@dataclass(frozen=True)
class _CsvTable:
    name: str
    file: str
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type), in the file's order
    key: tuple[str, ...]


_CSV_TABLES = (
    _CsvTable(
        "ref_local_authority",
        "local_authorities_2008.csv",
        (
            ("old_la_code", "INTEGER"),
            ("new_la_code", "VARCHAR"),
            ("la_name", "VARCHAR"),
            ("region_code", "VARCHAR"),
            ("region_name", "VARCHAR"),
        ),
        ("old_la_code",),
    ),
    _CsvTable(
        "ref_health_area",
        "primary_care_trusts_2008.csv",
        (("pct_code", "VARCHAR"), ("pct_name", "VARCHAR"), ("sha_code", "VARCHAR"), ("sha_name", "VARCHAR")),
        ("pct_code",),
    ),
    _CsvTable(
        "ref_health_area_la",
        "pct_la_2008.csv",
        (("pct_code", "VARCHAR"), ("old_la_code", "INTEGER")),
        ("pct_code", "old_la_code"),
    ),
    _CsvTable(
        "ref_code",
        "code_sets.csv",
        (("code_set", "VARCHAR"), ("code", "VARCHAR"), ("label", "VARCHAR"), ("grouping", "VARCHAR")),
        ("code_set", "code"),
    ),
)

REFERENCE_TABLES = (*(table.name for table in _CSV_TABLES), "ref_region")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _load(engine: DuckDBEngine, table: _CsvTable) -> None:
    source = _DATA / table.file
    with source.open("r", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    expected = [name for name, _ in table.columns]
    if header != expected:
        raise ValueError(f"{table.file} has columns {header}, expected {expected}")
    columns = ", ".join(f"{_quote(name)} {sql_type} NOT NULL" for name, sql_type in table.columns)
    key = ", ".join(_quote(name) for name in table.key)
    engine.execute(f"CREATE OR REPLACE TABLE {table.name} ({columns}, PRIMARY KEY ({key}))")
    types = ", ".join(f"{_sql_string(name)}: {_sql_string(sql_type)}" for name, sql_type in table.columns)
    with resources.as_file(source) as path:
        engine.execute(
            f"INSERT INTO {table.name} SELECT * FROM read_csv(?, header = true, auto_detect = false, "
            f"columns = {{{types}}})",
            [str(path)],
        )


def install_reference_tables(engine: DuckDBEngine) -> dict[str, int]:
    """Create (or replace) the reference tables, all or none; returns each table's row count.

    Tables: ref_local_authority, ref_region, ref_health_area (primary care trusts), ref_health_area_la (which
    local authorities each one covered) and ref_code (the school census code sets).
    """
    with engine.transaction():
        for table in _CSV_TABLES:
            _load(engine, table)
        engine.execute(
            "CREATE OR REPLACE TABLE ref_region "
            "(region_code VARCHAR NOT NULL PRIMARY KEY, region_name VARCHAR NOT NULL)"
        )
        engine.execute(
            "INSERT INTO ref_region SELECT DISTINCT region_code, region_name FROM ref_local_authority "
            "ORDER BY region_code"
        )
        return {name: int(engine.scalar(f"SELECT count(*) FROM {name}")) for name in REFERENCE_TABLES}
