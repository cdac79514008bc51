"""CSV returns, read by DuckDB in parallel: every column as text, columns found by their header names.

The file is read by the checking statement itself (no copy of its text in a stage table first). Rows with too few
or too many columns do not stop the file: DuckDB sets them aside (``store_rejects``); when it has, the file is
read again into the stage table, where they become records failing ``CSV-ROW-01`` with the row exactly as sent
(so they can be quarantined and corrected) and every other row keeps its true number. ``record_index`` is the
row's number in the file, not counting the header.
"""

from __future__ import annotations

import codecs
import os
import tempfile
from pathlib import Path

from pupildata.collect.readers import CORRECTION_COLUMNS, STAGE, Rejected, Staged, create_stage, raw_columns
from pupildata.collect.readers.sniff import choose_source, csv_header
from pupildata.collect.schemas import Source
from pupildata.kernel.engine import DuckDBEngine

MAX_LINE = 8 << 20
REJECTS = "collect_csv_rejects"
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


def read_csv(engine: DuckDBEngine, path: Path, given: Source | None, *, staged: bool = False) -> Staged:
    """A UTF-8 CSV file as a stage: by default a query the checking statement reads the file with (then
    ``rows_set_aside`` tells whether rows had to be set aside, and the file must be staged after all); with
    ``staged``, copied into the stage table, rows set aside included as records failing ``CSV-ROW-01``."""
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
    engine.execute(f"DROP TABLE IF EXISTS temp.{REJECTS}")
    engine.execute(f"DROP TABLE IF EXISTS temp.{SCANS}")
    reading = (
        f"SELECT 0 AS batch_file, row_number() OVER () AS record_index, NULL::VARCHAR AS reader_error, "
        f"NULL::VARCHAR AS raw_line, {picks} FROM read_csv($path, header = true, "
        f"auto_detect = false, columns = {columns}, delim = ',', quote = '\"', escape = '\"', "
        f"store_rejects = true, rejects_table = '{REJECTS}', rejects_scan = '{SCANS}', "
        f"max_line_size = {MAX_LINE}, strict_mode = true)"
    )
    params = {"path": str(path), **used}
    notes = []
    unused = [
        h
        for i, h in enumerate(header)
        if i not in positions.values() and h.strip() and h.strip().lower() not in CORRECTION_COLUMNS
    ]
    if unused:
        notes.append(f"Columns not used by this return were ignored: {', '.join(unused)[:300]}.")
    if not staged:
        return Staged(src, "csv", None, notes=notes, relation=reading, params=params)
    create_stage(engine, src)
    stage_columns = f"batch_file, record_index, reader_error, raw_line, {', '.join(raw_columns(src))}"
    engine.execute(f"INSERT INTO {STAGE} ({stage_columns}) {reading}", params)
    if rows_set_aside(engine):
        _stage_rejected_rows(engine)
    drop_rejects(engine)
    records = engine.scalar(f"SELECT count(*) FROM {STAGE}") or 0
    return Staged(src, "csv", int(records), notes=notes)


def rows_set_aside(engine: DuckDBEngine) -> bool:
    """Whether the last read of a CSV file set rows aside (too few or too many columns)."""
    return bool(engine.scalar(f"SELECT count(*) FROM {REJECTS}"))


def drop_rejects(engine: DuckDBEngine) -> None:
    engine.execute(f"DROP TABLE IF EXISTS temp.{REJECTS}")
    engine.execute(f"DROP TABLE IF EXISTS temp.{SCANS}")


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
