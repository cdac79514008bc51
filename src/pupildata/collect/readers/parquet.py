"""Parquet bulk loads: any source's fields as columns (named as in its CSV header or warehouse table), read by
DuckDB and cast to text so that the same rules apply as to every other return. The file is read by the checking
statement itself (``Staged.relation``); a file damaged beyond its schema is refused there (``PQ-01``). A record's
number is its row's place in the file, as the reader counts it."""

from __future__ import annotations

from pathlib import Path

from pupildata.collect.readers import Rejected, Staged
from pupildata.collect.readers.sniff import choose_source
from pupildata.collect.schemas import Kind, Source
from pupildata.kernel.engine import DuckDBEngine, EngineError
from pupildata.kernel.local_time import TIME_ZONE


def read_parquet(engine: DuckDBEngine, path: Path, given: Source | None) -> Staged:
    try:
        described = engine.fetchall("DESCRIBE SELECT * FROM read_parquet($path)", {"path": str(path)})
    except EngineError:
        raise Rejected("PQ-01", "The file is not a readable Parquet file (its structure is damaged).") from None
    header = [str(row[0]) for row in described]
    types = [str(row[1]) for row in described]
    src = choose_source(header, given, "parquet")
    positions = src.match_headers(header)
    # values every record takes from the columns present (which key stage), as for a CSV file with the same header
    constants = src.header_constants(header) if src.header_constants else {}
    used = {name: value for name, value in constants.items() if name not in positions}  # no column says
    dates = {f.name for f in src.fields if f.kind is Kind.date}
    picks = ", ".join(
        f"{_as_text(_quoted(header[positions[name]]), types[positions[name]], name in dates)} AS r_{name}"
        if name in positions
        else f"${name}::VARCHAR AS r_{name}"
        if name in used
        else f"NULL::VARCHAR AS r_{name}"
        for name in src.names
    )
    # the reader numbers the rows itself (``file_row_number``, from 0): no window over the file, which would
    # serialise the statement that reads it — unless the file has a column of that name, when the rows are
    # numbered as they are read (in the file's order) instead
    if any(name.lower() == "file_row_number" for name in header):
        number, reading = "row_number() OVER ()", "read_parquet($path)"
    else:
        number, reading = "file_row_number + 1", "read_parquet($path, file_row_number = true)"
    relation = (
        f"SELECT 0 AS batch_file, {number} AS record_index, NULL::VARCHAR AS reader_error, "
        f"NULL::VARCHAR AS raw_line, {picks} FROM {reading}"
    )
    return Staged(src, "parquet", None, relation=relation, params={"path": str(path), **used})


def _as_text(column: str, sql_type: str, date: bool) -> str:
    """A column as the text every rule reads. A timestamp where a date is asked for (pandas and Spark write dates
    as timestamps at midnight) gives its calendar date — in the service's time zone if the timestamp has one — as
    a DATE column does; anything else is cast as it is."""
    if date and sql_type.startswith("TIMESTAMP"):
        moment = f"timezone('{TIME_ZONE}', {column})" if "TIME ZONE" in sql_type else column
        return f"CAST(CAST({moment} AS DATE) AS VARCHAR)"
    return f"CAST({column} AS VARCHAR)"


def _quoted(name: str) -> str:
    """A column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
