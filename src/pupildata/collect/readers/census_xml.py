"""School census XML, streamed with lxml and refused at the first sign of anything unsafe.

The parser never resolves entities, never touches the network, keeps the default limits on text size and depth,
and any document type declaration (where entities, external or expanding, would be declared) refuses the whole
file. Records are built in batches of columns (Arrow), not one row at a time in SQL.

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

import pyarrow as pa
from lxml import etree

from pupildata.collect.readers import STAGE, Rejected, Staged, create_stage
from pupildata.collect.schemas import CENSUS

if TYPE_CHECKING:
    from pupildata.kernel.engine import DuckDBEngine

HEADER_FIELDS = ("LEA", "Estab", "URN", "SchoolName", "Term", "Year", "ReferenceDate")
BATCH = 50_000
ROOTS = ("SchoolCensus", "Message")
RECORDS = ("Pupil", "PupilOnRoll")
_NOT_RECORD = {"laestab", "urn", "school_name", "collection_term", "collection_year", "reference_date", "postcode"}
RECORD_FIELDS = [f for f in CENSUS.fields if f.name not in _NOT_RECORD] + [CENSUS.field("postcode")]
POSTCODE = len(RECORD_FIELDS) - 1
WIDTH = len(RECORD_FIELDS)
INDEX = {tag: i for i, f in enumerate(RECORD_FIELDS[:POSTCODE]) for tag in (f.label, *f.aliases)}
_HEADER = ("laestab", "urn", "school_name", "collection_term", "collection_year", "reference_date")


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
    """Parse one census file into a table of raw text columns (``record_index`` and ``r_<field>``)."""
    header: dict[str, str] = {}
    columns = _Columns()
    checked = False
    try:
        events = etree.iterparse(
            str(path),
            events=("end",),
            tag=("Header", *RECORDS),
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
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
    missing = [name for name in ("LEA", "Estab", "Term", "Year") if not header.get(name, "").strip()]
    if missing:
        return _refuse("XML-HDR-01", f"The census header does not give {', '.join(missing)}; every return must.")
    return Parsed(header, columns.table())


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
    tables = []
    staged: dict[int, Staged] = {}
    for number, parsed in files.items():
        if parsed.rejected or parsed.table is None:
            continue
        constants = _constants(parsed)
        table = parsed.table
        rows = table.num_rows
        table = table.append_column("batch_file", pa.array([number] * rows, type=pa.int32()))
        for name, value in constants.items():
            table = table.append_column(f"r_{name}", pa.array([value] * rows, type=pa.string()))
        tables.append(table)
        header = {k: v for k, v in constants.items() if v is not None}
        staged[number] = Staged(CENSUS, "xml", rows, header=header)
    if not tables:
        return staged
    names = ["batch_file", "record_index", *(f"r_{f.name}" for f in RECORD_FIELDS), *(f"r_{k}" for k in _HEADER)]
    engine.register("collect_xml_batch", pa.concat_tables(tables).select(names))
    try:
        engine.execute(f"INSERT INTO {STAGE} ({', '.join(names)}) SELECT {', '.join(names)} FROM collect_xml_batch")
    finally:
        engine.unregister("collect_xml_batch")
    return staged
