"""Recognising a file: its format from its first bytes, its source from its structure (root element, header
line or Parquet columns), and the encoding problems worth one clear sentence."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pupildata.collect.readers import Rejected
from pupildata.collect.schemas import SOURCES, Source

BOMS = {b"\xef\xbb\xbf": "utf-8", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}
HEADER_LIMIT = 1 << 20
#: How to save a spreadsheet as a return, said wherever a file is a spreadsheet or was saved the wrong way.
SAVE_AS_CSV = "open it in Excel and Save As 'CSV UTF-8 (Comma delimited)', then send that file"
#: Files that are neither text nor Parquet, by their first bytes: what a sender would call them.
NOT_RETURNS = {
    b"PK\x03\x04": "a zipped file (an Excel workbook, .xlsx, is one)",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an Office document (an Excel 97-2003 workbook, .xls, is one)",
    b"%PDF-": "a PDF document",
    b"\x1f\x8b": "a gzip-compressed file",
}


def utf16_bom(head: bytes) -> bool:
    return head.startswith((b"\xff\xfe", b"\xfe\xff"))


def detect_format(head: bytes, size: int) -> str:
    """'parquet', 'xml' or 'csv' from the first bytes; refuses empty files and UTF-16 without a BOM."""
    if size == 0 or not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise Rejected("FILE-EMPTY-01", "The file is empty: it holds no records.")
    if head.startswith(b"PAR1"):
        return "parquet"
    for magic, what in NOT_RETURNS.items():
        if head.startswith(magic):
            raise Rejected(
                "FILE-TYPE-01",
                f"The file is {what}, not a CSV, XML or Parquet return: if it is a spreadsheet, {SAVE_AS_CSV}.",
            )
    sample = head[:1024]
    if not head.startswith(tuple(BOMS)) and sample.count(b"\x00") > len(sample) // 4:
        raise Rejected(
            "FILE-ENC-02", "The file looks like UTF-16 text without a byte order mark; save it as UTF-8 (or CSV UTF-8)."
        )
    text = head
    for bom in BOMS:
        if text.startswith(bom):
            text = text[len(bom) :]
            break
    stripped = text.lstrip(b" \t\r\n")
    if stripped.startswith((b"<", b"\x00<")):
        return "xml"
    return "csv"


def csv_header(path: Path) -> list[str]:
    """The column names on the first line of a UTF-8 CSV file."""
    with path.open("rb") as handle:
        data = handle.read(HEADER_LIMIT)
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    if "\n" not in text and len(data) >= HEADER_LIMIT:
        raise Rejected("CSV-HDR-01", "The first line is longer than 1 MB, so it cannot be a header of column names.")
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error as exc:
        raise Rejected("CSV-HDR-01", f"The first line cannot be read as column names: {exc}.") from None
    if not [h for h in header if h.strip()]:
        raise Rejected("CSV-HDR-01", "The first line is blank; it must name the columns.")
    return header


def choose_source(columns: list[str], given: Source | None, formats: str) -> Source:
    """The source whose mandatory fields the columns name (or the one given), else a clear refusal."""
    if formats == "csv":
        _commas_between(columns)
    lowered = [c.strip().lower() for c in columns]
    candidates = [given] if given else [s for s in SOURCES.values() if formats in s.formats]
    scored = sorted(candidates, key=lambda s: (s.header_score(columns), len(s.match_headers(columns))), reverse=True)
    best = scored[0] if scored else None
    if given is None and (best is None or best.header_score(columns) < 0.5):
        shown = ", ".join(c for c in columns[:8] if c.strip())[:200]
        raise Rejected(
            "CSV-HDR-01",
            f"The columns ({shown}) are not those of any return this service takes; the data formats guide "
            "(/collections/formats in the portal) lists each return's columns.",
        )
    repeated = sorted({c for c in lowered if c and lowered.count(c) > 1})
    if repeated:
        raise Rejected("CSV-HDR-02", f"The column '{repeated[0]}' is named more than once in the header.")
    if best is not None and best.header_score(columns) == 1.0:
        return best
    assert best is not None
    present = best.match_headers(columns)
    missing = [f.label for f in best.fields if f.mandatory and f.name not in present]
    what = f"the column {missing[0]} is" if len(missing) == 1 else f"the columns {', '.join(missing)} are"
    said = "was sent as" if given else "looks like"
    raise Rejected("CSV-HDR-01", f"This {said} a {best.title.lower()} return, but {what} missing.")


#: Other characters a spreadsheet may put between the columns of a "CSV" file, by the name a sender knows them by.
SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _commas_between(columns: list[str]) -> None:
    """Refuse a header line read as one column that another separator splits into several (a spreadsheet set to
    another country's list separator saves semicolons): every return has several columns, separated by commas."""
    if len(columns) != 1:
        return
    for separator, name in SEPARATORS.items():
        if columns[0].count(separator) >= 2:
            raise Rejected(
                "CSV-SEP-01",
                f"The columns are separated by {name}, not commas. Save the file as CSV with commas between the "
                f"columns: {SAVE_AS_CSV}.",
            )
