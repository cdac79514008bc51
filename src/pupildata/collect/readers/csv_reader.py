"""CSV returns, read by DuckDB in parallel: every column as text, columns found by their header names.

The file is read once, in parallel, into a temporary table of its text (``collect_csv_raw``): DuckDB keeps the
rows in the file's order, so a row's ``rowid`` + 1 is its number in the file (``record_index``, not counting the
header) without a window over the file, which would serialise the statement. The checking and loading statements
read that table (a row's number counts from the first row's ``rowid``, which DuckDB numbers from a base of
its own inside a transaction). Rows with too few or too many columns do not stop the file: DuckDB sets them aside
(``store_rejects``); when it has, the stage table is made from the text table, where those rows become records
failing ``CSV-ROW-01`` with the row exactly as sent (so they can be quarantined and corrected) and every other
row keeps its true number.

The clean load reads the same query (``csv_select``) into a table of typed and checked records instead
(``direct.read_csv_checked``), numbered the same way, where DuckDB keeps the rows' order in that statement.
"""

from __future__ import annotations

import codecs
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pupildata.collect.readers import CORRECTION_COLUMNS, STAGE, Rejected, Staged, create_stage, raw_columns
from pupildata.collect.readers.sniff import choose_source, csv_header
from pupildata.collect.schemas import Source
from pupildata.kernel.engine import DuckDBEngine

MAX_LINE = 8 << 20
REJECTS = "collect_csv_rejects"
RAW = "collect_csv_raw"
SCANS = "collect_csv_scans"


def transcode(path: Path, encoding: str, workdir: Path) -> Path:
    """A UTF-8 copy of a file in another encoding, or a refusal naming where it stops making sense."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError:
        raise Rejected("FILE-ENC-01", f"'{encoding}' is not an encoding this service knows.") from None
    workdir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=workdir, prefix=".utf8-", suffix=".csv")
    offset = 0
    try:
        with path.open("rb") as reader, os.fdopen(fd, "w", encoding="utf-8", newline="") as writer:
            while chunk := reader.read(1 << 22):
                try:
                    writer.write(decoder.decode(chunk))
                except UnicodeDecodeError as exc:
                    raise Rejected(
                        "FILE-ENC-01",
                        f"The file is not valid {encoding} text: byte 0x{chunk[exc.start]:02X} at position "
                        f"{offset + exc.start} cannot be read.",
                    ) from None
                offset += len(chunk)
            writer.write(decoder.decode(b"", True))
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


@dataclass(frozen=True)
class CsvSelect:
    """How a CSV file is read: its source, a query giving each field's text (``r_<field>``) in file order, with
    its parameters, and notes for the sender. ``constants``: the fields no column gives, each with the text every
    record of the file has (the header's, e.g. a key stage results file's key stage, or None)."""

    source: Source
    select: str
    params: dict[str, Any]
    notes: list[str]
    constants: dict[str, str | None]


def csv_select(path: Path, given: Source | None) -> CsvSelect:
    """The query reading a UTF-8 CSV file's fields as text (rows with too few or too many columns set aside in
    ``collect_csv_rejects``), from its header; or a refusal when the header does not fit a source."""
    header = csv_header(path)
    src = choose_source(header, given, "csv")
    positions = src.match_headers(header)
    constants = src.header_constants(header) if src.header_constants else {}
    used = {name: value for name, value in constants.items() if name not in positions}  # no column says
    if src.header_constants and not constants:
        raise Rejected(
            "CSV-HDR-01", f"The columns of this {src.title.lower()} file do not say which key stage it holds."
        )
    names = {f"c{i}": "VARCHAR" for i in range(len(header))}
    columns = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in names) + "}"
    picks = ", ".join(
        f"c{positions[name]} AS r_{name}"
        if name in positions
        else f"${name}::VARCHAR AS r_{name}"
        if name in used
        else f"NULL::VARCHAR AS r_{name}"
        for name in src.names
    )
    # a row of nothing but commas is no record, as an empty line is not (which the reader itself skips): a
    # spreadsheet saves such rows after the data when cells beyond it were formatted
    filled = " OR ".join(f"c{i} IS NOT NULL" for i in range(len(header)))
    select = (
        f"SELECT {picks} FROM read_csv($path, header = true, "
        f"auto_detect = false, columns = {columns}, delim = ',', quote = '\"', escape = '\"', "
        f"store_rejects = true, rejects_table = '{REJECTS}', rejects_scan = '{SCANS}', "
        f"max_line_size = {MAX_LINE}, strict_mode = true) WHERE {filled}"
    )
    notes = []
    unused = [
        h
        for i, h in enumerate(header)
        if i not in positions.values() and h.strip() and h.strip().lower() not in CORRECTION_COLUMNS
    ]
    if unused:
        notes.append(f"Columns not used by this return were ignored: {', '.join(unused)[:300]}.")
    fixed = {name: used.get(name) for name in src.names if name not in positions}
    return CsvSelect(src, select, {"path": str(path), **used}, notes, fixed)


def read_in_order(engine: DuckDBEngine, table: str, select: str, params: dict[str, Any]) -> int:
    """Make the temporary ``table`` from ``select`` (which reads a CSV file), its rows in the file's order; the
    ``rowid`` of its first row (a row's number in the file is its ``rowid`` - that + 1)."""
    drop_rejects(engine)
    engine.execute(f"DROP TABLE IF EXISTS temp.{table}")
    # insertion order is preserved (the default, and set here in case a caller changed it): rowid is file order
    engine.execute("SET preserve_insertion_order = true")
    engine.execute(f"CREATE TEMP TABLE {table} AS {select}", params)
    # rows made in a transaction are numbered from a base of DuckDB's, in order: the first row's is read once,
    # and the numbers are checked to run without a gap (else record numbers would not be row numbers)
    numbers = engine.fetchone(f"SELECT coalesce(min(rowid), 0), coalesce(max(rowid), -1), count(*) FROM {table}")
    assert numbers is not None
    first, last, count = (int(n) for n in numbers)
    if last - first + 1 != count:
        raise RuntimeError(f"the rows of a CSV file were not numbered in one run ({count} rows, {first} to {last})")
    return first


def read_csv(engine: DuckDBEngine, path: Path, given: Source | None) -> Staged:
    """A UTF-8 CSV file read into the text table; the stage is a query over it (then ``rows_set_aside`` tells
    whether rows had to be set aside, and ``restage`` must make the stage table after all)."""
    read = csv_select(path, given)
    src = read.source
    first = read_in_order(engine, RAW, read.select, read.params)
    relation = (
        f"SELECT 0 AS batch_file, rowid - $csv_first_row + 1 AS record_index, NULL::VARCHAR AS reader_error, "
        f"NULL::VARCHAR AS raw_line, {', '.join(raw_columns(src))} FROM {RAW}"
    )
    return Staged(src, "csv", None, notes=read.notes, relation=relation, params={"csv_first_row": first})


def restage(engine: DuckDBEngine, staged: Staged) -> Staged:
    """The stage table of a CSV file whose reading set rows aside: its rows, each with its number in the file,
    and the rows set aside as records failing ``CSV-ROW-01``."""
    src = staged.source
    create_stage(engine, src)
    stage_columns = f"batch_file, record_index, reader_error, raw_line, {', '.join(raw_columns(src))}"
    assert staged.relation is not None
    engine.execute(f"INSERT INTO {STAGE} ({stage_columns}) {staged.relation}", staged.params)
    _stage_rejected_rows(engine)
    drop_rejects(engine)
    records = engine.scalar(f"SELECT count(*) FROM {STAGE}") or 0
    return Staged(src, "csv", int(records), notes=staged.notes)


def rows_set_aside(engine: DuckDBEngine) -> bool:
    """Whether the last read of a CSV file set rows aside (too few or too many columns)."""
    return bool(engine.scalar(f"SELECT count(*) FROM {REJECTS}"))


def drop_rejects(engine: DuckDBEngine) -> None:
    """Drop the tables a CSV file's reading made (its text, and the rows set aside)."""
    engine.execute(f"DROP TABLE IF EXISTS temp.{REJECTS}")
    engine.execute(f"DROP TABLE IF EXISTS temp.{SCANS}")
    engine.execute(f"DROP TABLE IF EXISTS temp.{RAW}")


def _stage_rejected_rows(engine: DuckDBEngine) -> None:
    """Give each good row its true row number, then stage the rejected rows as records failing CSV-ROW-01."""
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE collect_csv_bad AS SELECT DISTINCT line - 1 AS row_number, "
        f"first(csv_line) AS csv_line FROM {REJECTS} GROUP BY line"
    )
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE collect_csv_gaps AS SELECT row_number - row_number() OVER "
        "(ORDER BY row_number) AS good_before FROM collect_csv_bad"
    )
    engine.execute(
        f"UPDATE {STAGE} SET record_index = record_index + (SELECT count(*) FROM collect_csv_gaps g "
        f"WHERE g.good_before < {STAGE}.record_index)"
    )
    engine.execute(
        f"INSERT INTO {STAGE} (record_index, reader_error, raw_line) "
        "SELECT row_number, 'CSV-ROW-01', csv_line FROM collect_csv_bad"
    )
    engine.execute("DROP TABLE temp.collect_csv_bad")
    engine.execute("DROP TABLE temp.collect_csv_gaps")
