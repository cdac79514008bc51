"""Parquet bulk loads: any source's fields as columns (named as in its CSV header or warehouse table), read by
DuckDB and cast to text so that the same rules apply as to every other return."""

from __future__ import annotations

from pathlib import Path

from pupildata.collect.readers import STAGE, Rejected, Staged, create_stage, raw_columns
from pupildata.collect.readers.sniff import choose_source
from pupildata.collect.schemas import Source
from pupildata.kernel.engine import DuckDBEngine, EngineError


def read_parquet(engine: DuckDBEngine, path: Path, given: Source | None) -> Staged:
    try:
        described = engine.fetchall("DESCRIBE SELECT * FROM read_parquet($path)", {"path": str(path)})
    except EngineError:
        raise Rejected("PQ-01", "The file is not a readable Parquet file (its structure is damaged).") from None
    header = [str(row[0]) for row in described]
    src = choose_source(header, given, "parquet")
    positions = src.match_headers(header)
    # values every record takes from the columns present (which key stage), as for a CSV file with the same header
    constants = src.header_constants(header) if src.header_constants else {}
    create_stage(engine, src)
    picks = ", ".join(
        f"CAST({_quoted(header[positions[name]])} AS VARCHAR) AS r_{name}"
        if name in positions
        else f"${name}::VARCHAR AS r_{name}"
        if name in constants
        else f"NULL::VARCHAR AS r_{name}"
        for name in src.names
    )
    try:
        engine.execute(
            f"INSERT INTO {STAGE} (record_index, {', '.join(raw_columns(src))}) "
            f"SELECT row_number() OVER () AS record_index, {picks} FROM read_parquet($path)",
            {"path": str(path), **constants},
        )
    except EngineError as exc:
        raise Rejected("PQ-01", f"The Parquet file cannot be read: {exc.message[:200]}.") from None
    records = engine.scalar(f"SELECT count(*) FROM {STAGE}") or 0
    return Staged(src, "parquet", int(records))


def _quoted(name: str) -> str:
    """A column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
