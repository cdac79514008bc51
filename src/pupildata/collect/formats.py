"""The data formats guide: what each kind of return holds and how to write it, made from the sources' declarations
(``schemas.py``) — the same declarations the readers and the rules are made from, so the guide cannot drift from
what the service accepts. The portal shows it (``/collections/formats``), the API gives it as data, and
``pupildata collection formats`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pupildata.collect import rules as r
from pupildata.collect.catalogue import code_set_labels
from pupildata.collect.schemas import SOURCES, Field, Kind, Source

#: What each kind of value is, in the words of the person filling the file in.
_KINDS = {
    Kind.text: "Text",
    Kind.date: "A date: " + ", ".join(r.DATE_FORMATS),
    Kind.integer: "A whole number",
    Kind.decimal: "A number",
    Kind.boolean: f"Yes or no: {', '.join(r.TRUE_TEXTS)} for yes; {', '.join(r.FALSE_TEXTS)} for no",
}
_FORMATS = {"xml": "XML", "csv": "CSV", "parquet": "Parquet"}
#: What a field's normalising does to its value, as the guide says it.
_NORMALISED = {
    "upper": "Read in capitals.",
    "sex": "1 or Male is read as M, 2 or Female as F.",
    "postcode": "Read in the standard form: capitals, one space before the last three characters.",
}


@dataclass(frozen=True)
class AllowedCode:
    """A value a field may take, and what it means (where the code set says)."""

    code: str
    label: str


@dataclass(frozen=True)
class FieldFormat:
    """One field of a return, as a sender writes it."""

    name: str  # the warehouse column
    label: str  # the CSV header or the census XML element
    other_names: tuple[str, ...]  # other headers that mean the same
    kind: str  # what the value is, in words
    mandatory: bool
    identifying: bool  # it identifies a person
    max_length: int | None  # for text
    codes: tuple[AllowedCode, ...]  # the values allowed, when there is a code set
    notes: str


@dataclass(frozen=True)
class SourceFormat:
    """One kind of return: who sends it, in what file formats, and its fields."""

    name: str
    title: str
    sender: str
    formats: tuple[str, ...]
    notes: str
    xml_roots: tuple[str, ...]  # an XML file's root element (the usual name first), for XML returns
    xml_records: tuple[str, ...]  # the element holding one record
    fields: tuple[FieldFormat, ...]


def _codes(code_set: str) -> tuple[AllowedCode, ...]:
    return tuple(AllowedCode(code, label) for code, label in code_set_labels(code_set))


def _field(f: Field) -> FieldFormat:
    described = f.description + "." if f.description else ""
    notes = " ".join(part for part in (described, _NORMALISED.get(f.normalise, "")) if part)
    return FieldFormat(
        name=f.name,
        label=f.label,
        other_names=tuple(a for a in dict.fromkeys(f.aliases) if a.lower() != f.label.lower()),
        kind=_KINDS[f.kind],
        mandatory=f.mandatory,
        identifying=f.identifying,
        max_length=f.max_length if f.kind is Kind.text and not f.code_set else None,
        codes=_codes(f.code_set) if f.code_set else (),
        notes=notes,
    )


def _source(src: Source) -> SourceFormat:
    return SourceFormat(
        name=src.name,
        title=src.title,
        sender=src.sender_kind,
        formats=tuple(_FORMATS[f] for f in src.formats),
        notes=src.notes,
        xml_roots=src.xml_roots,
        xml_records=src.xml_records,
        fields=tuple(_field(f) for f in src.fields),
    )


def xml_layout(src: SourceFormat) -> str:
    """Where an XML file's records are, in words: "one <Pupil> (or <PupilOnRoll>) per record, under ..."."""

    def named(names: tuple[str, ...]) -> str:
        first, *others = (f"<{n}>" for n in names)
        return first + (f" (or {', '.join(others)})" if others else "")

    return f"one {named(src.xml_records)} element per record, under {named(src.xml_roots)}"


@cache
def source_formats() -> tuple[SourceFormat, ...]:
    """Every kind of return the service takes, in the order of its declarations."""
    return tuple(_source(src) for src in SOURCES.values())


__all__ = ["AllowedCode", "FieldFormat", "SourceFormat", "source_formats", "xml_layout"]
