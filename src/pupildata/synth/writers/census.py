"""The spring school census: one XML file per school, in the style of the common basic data set (CBDS).

``<SchoolCensus>`` holds a ``<Header>`` (collection, term, year, reference date; the school's LA, establishment
number, URN and name), ``<SchoolInformation>`` and ``<Pupils>``, one ``<Pupil>`` each with UPN, former UPN,
names, date of birth, gender, ethnicity, first language, free-meal eligibility, SEN provision, NC year, entry
date, address and contacts. UTF-8, declared; text escaped for XML.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pupildata.synth.names import ethnicities
from pupildata.synth.places import PRIMARY, SECONDARY
from pupildata.synth.population import PARENTS
from pupildata.synth.records import FileEntry, Job, JobResult, codes, names, shown_records, truth, year_label
from pupildata.synth.vectors import format_dates, ymd
from pupildata.synth.world import World
from pupildata.synth.writers.text import byte_offsets, concatenated, write_file, xml_element, xml_escape

NC_CODES = ("R", *(str(n) for n in range(1, 15)))
SEN_CODES = ("N", "A", "P", "S")
PUPIL = "    "
FIELD = "      "


def reference_date(year: int) -> date:
    """Census day: the third Thursday of January in the academic year."""
    first = date(year + 1, 1, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 14)


def jobs(world: World, year: int) -> list[Job]:
    state = world.years[year]
    la_of = world.geo.schools.la[np.maximum(state["school"], 0)]
    counts = np.bincount(la_of[state["school"] >= 0], minlength=world.geo.la_codes.size)
    return [Job("census", year, str(la), int(counts[la])) for la in range(world.geo.la_codes.size)]


def run(world: World, job: Job, out: Path, rng: np.random.Generator) -> JobResult:
    year, la = job.year, int(job.part)
    geo, p = world.geo, world.people
    s = geo.schools
    state = world.years[year]
    school_all = state["school"]
    idx = np.flatnonzero((school_all >= 0) & (s.la[np.maximum(school_all, 0)] == la))
    idx = idx[np.lexsort((p["pid"][idx], state["nc"][idx], school_all[idx]))]
    school = school_all[idx]
    shown = shown_records(world, idx, year, school, "upn", rates=world.config.census_noise, rng=rng)
    rows = _pupils(world, idx, year, shown)
    offsets = byte_offsets(rows)
    body = concatenated(rows)
    schools = np.flatnonzero(s.la == la)
    starts = np.searchsorted(school, schools)
    ends = np.searchsorted(school, schools, side="right")
    result = JobResult()
    folder = out / f"{year}-{(year + 1) % 100:02d}" / "census"
    file_no = np.zeros(idx.size, dtype=np.int64)
    for n, (school_no, a, b) in enumerate(zip(schools.tolist(), starts.tolist(), ends.tolist(), strict=True)):
        laestab = int(geo.laestab[school_no])
        header = _header(world, school_no, year, b - a)
        path = folder / f"{laestab}.xml"
        digest, size = write_file(path, [header, body[offsets[a] : offsets[b]], _FOOTER])
        result.files.append(
            FileEntry(path.relative_to(out).as_posix(), "census", year_label(year), b - a, digest, size)
        )
        file_no[a:b] = n
    record_index = np.arange(idx.size) - starts[np.searchsorted(schools, school)] if idx.size else file_no
    temporary = p["temp_year"][idx] == year
    result.truth = truth(world, idx, file_no, record_index, shown, extra={"upn_temporary": temporary})
    return result


_FOOTER = b"  </Pupils>\n</SchoolCensus>\n"


def _header(world: World, school: int, year: int, pupils: int) -> bytes:
    geo = world.geo
    s = geo.schools
    phase = {PRIMARY: "PS", SECONDARY: "SS"}.get(int(s.phase[school]), "SP")
    name = xml_escape(pa.array([s.name[school]])).to_pylist()[0]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<SchoolCensus>\n  <Header>\n    <CollectionDetails>\n'
        f"      <Collection>SCHOOL CENSUS</Collection>\n      <Term>SPR</Term>\n      <Year>{year + 1}</Year>\n"
        f"      <ReferenceDate>{reference_date(year).isoformat()}</ReferenceDate>\n    </CollectionDetails>\n"
        f"    <Source>\n      <SourceLevel>S</SourceLevel>\n      <LEA>{geo.la_codes[s.la[school]]}</LEA>\n"
        f"      <Estab>{s.estab[school]}</Estab>\n      <URN>{s.urn[school]}</URN>\n"
        f"      <SchoolName>{name}</SchoolName>\n      <Phase>{phase}</Phase>\n      <SerialNo>1</SerialNo>\n"
        f"    </Source>\n  </Header>\n  <SchoolInformation>\n    <NumberOfPupils>{pupils}</NumberOfPupils>\n"
        f"    <SixthForm>{'true' if s.sixth_form[school] else 'false'}</SixthForm>\n  </SchoolInformation>\n"
        "  <Pupils>\n"
    ).encode()


def _pupils(world: World, idx: np.ndarray, year: int, shown: object) -> pa.Array:
    from pupildata.synth.noise import Shown

    assert isinstance(shown, Shown)
    p = world.people
    state = world.years[year]
    changed = (p["former_sur"][idx] >= 0) & (p["sur_change_year"][idx] <= year)
    former_upn = np.where((p["temp_year"][idx] >= 0) & (p["temp_year"][idx] < year), 1, 0)
    temp = pa.array(np.ascontiguousarray(p["temp_upn"][idx]).view("S13").ravel()).cast(pa.string())
    town = codes(tuple(n.split(",")[0] for n in world.geo.la_names), state["la"][idx])
    street = codes(_streets(), state["street"][idx])
    line1 = pc.binary_join_element_wise(pa.array(state["house"][idx]).cast(pa.string()), street, " ")
    entry = ymd(state["entry"][idx])
    dob = format_dates(shown.year, shown.month, shown.day, "iso")
    postcode = world.geo.postcode_strings(shown.postcode)
    assert shown.upn is not None
    parts: list[pa.Array | str] = [
        f"{PUPIL}<Pupil>\n",
        xml_element("UPN", shown.upn, FIELD, escape=False),
        "\n",
        xml_element("FormerUPN", pc.if_else(pa.array(former_upn == 1), temp, ""), FIELD, escape=False),
        "\n",
        xml_element("Surname", shown.surname, FIELD),
        "\n",
        xml_element("Forename", shown.forename, FIELD),
        "\n",
        xml_element("MiddleNames", names(p["middle"][idx]), FIELD),
        "\n",
        xml_element("FormerSurname", names(np.where(changed, p["former_sur"][idx], -1)), FIELD),
        "\n",
        xml_element("PreferredSurname", names(p["pref_sur"][idx]), FIELD),
        "\n",
        f"{FIELD}<DOB>",
        dob,
        "</DOB>\n",
        f"{FIELD}<Gender>",
        codes(("M", "F"), p["sex"][idx]),
        "</Gender>\n",
        f"{FIELD}<Ethnicity>",
        codes(tuple(e.code for e in ethnicities()), p["eth"][idx]),
        "</Ethnicity>\n",
        f"{FIELD}<Language>",
        codes(("ENG", "OTH"), p["eal"][idx].astype(np.int64)),
        "</Language>\n",
        f"{FIELD}<FSMeligible>",
        codes(("false", "true"), state["fsm"][idx].astype(np.int64)),
        "</FSMeligible>\n",
        f"{FIELD}<SENprovision>",
        codes(SEN_CODES, p["sen"][idx]),
        "</SENprovision>\n",
        f"{FIELD}<NCyearActual>",
        codes(NC_CODES, np.clip(state["nc"][idx], 0, 14)),
        "</NCyearActual>\n",
        f"{FIELD}<EntryDate>",
        format_dates(*entry, "iso"),
        "</EntryDate>\n",
        f"{FIELD}<Address>\n{FIELD}  <AddressLines>\n{FIELD}    <AddressLine1>",
        xml_escape(line1),
        f"</AddressLine1>\n{FIELD}    <AddressLine2>",
        xml_escape(town),
        f"</AddressLine2>\n{FIELD}  </AddressLines>\n",
        f"{FIELD}  <PostCode>",
        postcode,
        f"</PostCode>\n{FIELD}</Address>\n",
        f"{FIELD}<Contacts>\n{FIELD}  <Contact>\n{FIELD}    <Forename>",
        xml_escape(names(p["parent_fore"][idx])),
        f"</Forename>\n{FIELD}    <Surname>",
        xml_escape(names(p["parent_sur"][idx])),
        f"</Surname>\n{FIELD}    <Relationship>",
        codes(PARENTS, p["parent_rel"][idx]),
        f"</Relationship>\n{FIELD}    <Telephone>",
        pc.binary_join_element_wise("0", pa.array(p["phone"][idx]).cast(pa.string()), ""),
        f"</Telephone>\n{FIELD}  </Contact>\n{FIELD}</Contacts>\n{PUPIL}</Pupil>\n",
    ]
    if idx.size == 0:
        return pa.array([], type=pa.string())
    return pc.binary_join_element_wise(*parts, "")


def _streets() -> tuple[str, ...]:
    from pupildata.synth.population import streets

    return streets()
