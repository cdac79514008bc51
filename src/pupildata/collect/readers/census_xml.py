"""School census XML, streamed with lxml and refused at the first sign of anything unsafe.

The parser never resolves entities, never touches the network, keeps the default limits on text size and depth,
and any document type declaration (where entities, external or expanding, would be declared) refuses the whole
file. Records are built in batches of columns (Arrow), not one row at a time in SQL. A plain file (nearly every
one) is read instead by ``census_fast``, to the same table without Python per pupil; any other file, and every
refusal, is this streaming parser's.

``parse_census`` needs no warehouse, so several files can be parsed at once in worker processes while the main
process loads them one transaction at a time.

The format (elements are case-sensitive; unknown elements are ignored)::

    <SchoolCensus>                            (or <Message>, the older root)
      <Header>
        <CollectionDetails><Collection>SC</Collection><Term>SPR</Term><Year>2009</Year>
          <ReferenceDate>2009-01-15</ReferenceDate></CollectionDetails>
        <Source><LEA>874</LEA><Estab>2001</Estab><URN>100001</URN><SchoolName>...</SchoolName></Source>
      </Header>
      <Pupils>
        <Pupil><UPN/><FormerUPN/><Surname/><Forename/><MiddleNames/><FormerSurname/><PreferredSurname/><DOB/>
          <Gender/><Ethnicity/><Language/><FSMeligible/><SENprovision/><NCyearActual/><EntryDate/>
          <Address><AddressLines>...</AddressLines><PostCode/></Address><Contacts>...</Contacts></Pupil>
      </Pupils>                                 (<PupilOnRoll> is read as <Pupil>)
    </SchoolCensus>

Only a pupil's own elements are read: the names in ``Contacts`` (parents and carers) are not the pupil's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from lxml import etree

from pupildata.collect.readers import STAGE, Rejected, Staged, create_stage
from pupildata.collect.readers.census_fast import HARDENED, MAX_BYTES, read_plain
from pupildata.collect.schemas import CENSUS

if TYPE_CHECKING:
    from pupildata.kernel.engine import DuckDBEngine

HEADER_FIELDS = ("LEA", "Estab", "URN", "SchoolName", "Term", "Year", "ReferenceDate")
BATCH = 50_000
ROOTS = CENSUS.xml_roots
RECORDS = CENSUS.xml_records
_NOT_RECORD = {"laestab", "urn", "school_name", "collection_term", "collection_year", "reference_date", "postcode"}
RECORD_FIELDS = [f for f in CENSUS.fields if f.name not in _NOT_RECORD] + [CENSUS.field("postcode")]
POSTCODE = len(RECORD_FIELDS) - 1
WIDTH = len(RECORD_FIELDS)
INDEX = {tag: i for i, f in enumerate(RECORD_FIELDS[:POSTCODE]) for tag in (f.label, *f.aliases)}
#: Each record column's element names (the postcode's last: read from the address, or the pupil's own).
_FIELD_TAGS = [(f.label, *f.aliases) for f in RECORD_FIELDS]
_NAMES = ["record_index", *(f"r_{f.name}" for f in RECORD_FIELDS)]
_HEADER = ("laestab", "urn", "school_name", "collection_term", "collection_year", "reference_date")
#: The name under which a batch of parsed files is shown to SQL.
BATCH_VIEW = "collect_xml_batch"
#: The columns of a batch of parsed files: the stage's.
SCHEMA = pa.schema(
    [("batch_file", pa.int32()), ("record_index", pa.int64()), ("reader_error", pa.string()), ("raw_line", pa.string())]
    + [(f"r_{f.name}", pa.string()) for f in RECORD_FIELDS]
    + [(f"r_{k}", pa.string()) for k in _HEADER]
)


@dataclass
class Parsed:
    """One census file, parsed (in any process)."""

    header: dict[str, str] = field(default_factory=dict)
    table: pa.Table | None = None
    rejected: tuple[str, str] | None = None


def _refuse(code: str, message: str) -> Parsed:
    return Parsed(rejected=(code, message))


def _xml_error(exc: etree.XMLSyntaxError) -> Parsed:
    line, column = exc.position if exc.position else (0, 0)
    text = str(exc.msg or exc).splitlines()[0][:200]
    where = f"line {line}, column {column}"
    if "encoding" in text.lower() or "utf-8" in text.lower() or "bytes" in text.lower():
        return _refuse(
            "FILE-ENC-01",
            f"The file's bytes do not match its declared encoding (UTF-8 unless the XML declaration names "
            f"another, e.g. windows-1252) at {where}.",
        )
    return _refuse("XML-WF-01", f"The XML is not well-formed at {where}: {text}.")


class _Columns:
    """Records gathered in rows and turned into Arrow batches every ``BATCH`` records."""

    def __init__(self) -> None:
        self.rows: list[list[str | None]] = []
        self.batches: list[pa.RecordBatch] = []
        self.seen = 0

    def add(self, row: list[str | None]) -> None:
        self.rows.append(row)
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        self.batches.append(_batch(self.rows, self.seen))
        self.seen += len(self.rows)
        self.rows = []

    def table(self) -> pa.Table:
        if self.rows or not self.batches:
            self.flush()
        return pa.Table.from_batches(self.batches)


def parse_census(path: Path) -> Parsed:
    """Parse one census file into a table of raw text columns (``record_index`` and ``r_<field>``).

    A plain file (nearly every one) is read by ``census_fast`` without Python per pupil; any other, and any file
    with a fault, by the streaming parser below, which gives the same table and every refusal."""
    if path.stat().st_size <= MAX_BYTES:
        plain = read_plain_census(path.read_bytes())
        if plain is not None:
            header, columns = plain
            rows = len(columns[0])
            index = pa.array(np.arange(1, rows + 1, dtype=np.int64))
            return _with_header(header, pa.Table.from_arrays([index, *columns], names=_NAMES))
    return parse_streaming(path)


def read_plain_census(data: bytes) -> tuple[dict[str, str], list[pa.Array]] | None:
    """A census file's header and record columns by the fast reading, or None when the file is not plain."""
    return read_plain(data, roots=ROOTS, records=RECORDS, header_fields=HEADER_FIELDS, fields=_FIELD_TAGS)


def parse_streaming(path: Path) -> Parsed:
    """``parse_census`` by lxml's ``iterparse``, a pupil at a time: any census file, and every refusal."""
    header: dict[str, str] = {}
    columns = _Columns()
    checked = False
    try:
        events = etree.iterparse(
            str(path),
            events=("end",),
            tag=("Header", *RECORDS),
            **HARDENED,
        )
        for _event, element in events:
            if not checked:
                refusal = _check_document(element)
                if refusal:
                    return refusal
                checked = True
            if element.tag == "Header":
                for item in element.iter(*HEADER_FIELDS):
                    header[item.tag] = item.text or ""
            else:
                columns.add(_record(element))
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
        root = events.root
    except etree.XMLSyntaxError as exc:
        return _xml_error(exc)
    refusal = None if checked else _check_document(root)
    if refusal:
        return refusal
    return _with_header(header, columns.table())


def _with_header(header: dict[str, str], table: pa.Table) -> Parsed:
    missing = [name for name in ("LEA", "Estab", "Term", "Year") if not header.get(name, "").strip()]
    if missing:
        return _refuse("XML-HDR-01", f"The census header does not give {', '.join(missing)}; every return must.")
    return Parsed(header, table)


def _record(element: etree._Element) -> list[str | None]:
    """A pupil's own elements (not its contacts'), and the postcode of its address (or its own ``PostCode``).

    One pass over the pupil's children, each looked up by its tag (faster than asking lxml for them by name)."""
    row: list[str | None] = [None] * WIDTH
    position = INDEX.get
    for item in element:
        tag = item.tag
        at = position(tag)
        if at is not None:
            row[at] = item.text or ""
        elif tag == "Address":
            postcode = item.find("PostCode")
            if postcode is not None:
                row[POSTCODE] = postcode.text or ""
        elif tag == "PostCode" and row[POSTCODE] is None:
            row[POSTCODE] = item.text or ""
    return row


def _check_document(element: etree._Element) -> Parsed | None:
    tree = element.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        return _refuse(
            "XML-DTD-01", "The XML has a document type declaration (<!DOCTYPE>); census files must not have one."
        )
    root = tree.getroot()
    if root.tag not in ROOTS:
        shown = str(root.tag)[:60]
        return _refuse(
            "XML-ROOT-01", f"The XML's root element is <{shown}>, not <SchoolCensus>: it is not a census return."
        )
    return None


def _batch(rows: list[list[str | None]], start: int) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in RECORD_FIELDS]
    arrays = [pa.array(range(start + 1, start + len(rows) + 1), type=pa.int64())]
    arrays += [pa.array(column, type=pa.string()) for column in columns]
    names = ["record_index", *(f"r_{f.name}" for f in RECORD_FIELDS)]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _constants(parsed: Parsed) -> dict[str, str | None]:
    """The header's values, which every record of the file takes."""
    h = parsed.header
    return {
        "laestab": h["LEA"].strip() + h["Estab"].strip(),
        "urn": h.get("URN"),
        "school_name": h.get("SchoolName"),
        "collection_term": h["Term"],
        "collection_year": h["Year"],
        "reference_date": h.get("ReferenceDate"),
    }


def stage_census(engine: DuckDBEngine, parsed: Parsed) -> Staged:
    """Put a parsed census file into the stage, the header's values on every record."""
    if parsed.rejected:
        raise Rejected(*parsed.rejected)
    assert parsed.table is not None
    staged = stage_census_batch(engine, {0: parsed})
    return staged[0]


def stage_census_batch(engine: DuckDBEngine, files: dict[int, Parsed]) -> dict[int, Staged]:
    """Put several parsed census files into the stage at once (``batch_file`` tells them apart), each record with
    its file's header values: one statement for the batch rather than one per file. Refused files are not staged."""
    create_stage(engine, CENSUS)
    table, staged = census_batch(files)
    if table is None:
        return staged
    names = ", ".join(table.column_names)
    engine.register(BATCH_VIEW, table)
    try:
        engine.execute(f"INSERT INTO {STAGE} ({names}) SELECT {names} FROM {BATCH_VIEW}")
    finally:
        engine.unregister(BATCH_VIEW)
    return staged


def census_batch(files: dict[int, Parsed], *, with_header: bool = True) -> tuple[pa.Table | None, dict[int, Staged]]:
    """Several parsed census files as one table with the stage's columns (``batch_file`` telling them apart,
    each record with its file's header values; without them when not ``with_header``: see ``census_files``), which
    the checking statement can read without a stage table; and each file's ``Staged``. Refused files are left out
    (None: no file is left)."""
    batches: list[pa.RecordBatch] = []
    staged: dict[int, Staged] = {}
    schema = SCHEMA if with_header else pa.schema([f for f in SCHEMA if f.name.removeprefix("r_") not in _HEADER])
    for number, parsed in files.items():
        if parsed.rejected or parsed.table is None:
            continue
        constants = _constants(parsed)
        table = parsed.table
        rows = table.num_rows
        table = table.combine_chunks()
        nothing = pa.nulls(rows, pa.string())
        columns = [pa.repeat(pa.scalar(number, pa.int32()), rows), table.column("record_index").chunk(0)]
        columns += [nothing, nothing, *(table.column(f"r_{f.name}").chunk(0) for f in RECORD_FIELDS)]
        if with_header:
            columns += [pa.repeat(pa.scalar(value, pa.string()), rows) for value in constants.values()]
        batches.append(pa.RecordBatch.from_arrays(columns, schema=schema))
        header = {k: v for k, v in constants.items() if v is not None}
        staged[number] = Staged(CENSUS, "xml", rows, header=header)
    if not staged:
        return None, staged
    return pa.Table.from_batches(batches, schema=schema), staged


def census_files(files: dict[int, Parsed]) -> pa.Table:
    """The header's values of the files ``census_batch`` keeps, one row per file: ``batch_file`` and the stage's
    columns of the header (``r_<field>``), which every record of the file takes."""
    kept = {n: _constants(p) for n, p in files.items() if not p.rejected and p.table is not None}
    columns = {"batch_file": pa.array(list(kept), type=pa.int32())}
    columns |= {f"r_{k}": pa.array([c[k] for c in kept.values()], type=pa.string()) for k in _HEADER}
    return pa.table(columns)
