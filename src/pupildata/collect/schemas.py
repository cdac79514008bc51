"""The sources of data returns, each declared once: its fields, their types, code sets and whether they identify
a person, how a file of it is recognised, who sends it and which collection it belongs to.

The readers, the validation rules, the warehouse tables and the documentation all come from these declarations,
and so, later, does the sharing catalogue (``identifying`` marks the fields that identify a person).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    text = "text"
    date = "date"
    integer = "integer"
    decimal = "decimal"
    boolean = "boolean"


#: How each kind is stored in the warehouse.
SQL_TYPES = {
    Kind.text: "VARCHAR",
    Kind.date: "DATE",
    Kind.integer: "INTEGER",
    Kind.decimal: "DOUBLE",
    Kind.boolean: "BOOLEAN",
}


@dataclass(frozen=True)
class Field:
    """One field of a source's records."""

    name: str  # the warehouse column, snake_case
    label: str  # what the sender calls it: the CSV header or the census XML element
    kind: Kind = Kind.text
    mandatory: bool = False
    identifying: bool = False
    code_set: str | None = None  # a code set of pupildata.kernel.reference
    max_length: int = 100
    normalise: str = "trim"  # trim, upper (trim and upper-case), postcode (standard form) or none
    aliases: tuple[str, ...] = ()  # other headers that mean the same
    description: str = ""

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]

    def headers(self) -> tuple[str, ...]:
        """Every header (lower case) that names this field."""
        return tuple(h.lower() for h in (self.label, self.name, *self.aliases))


@dataclass(frozen=True)
class Source:
    """One kind of data return."""

    name: str  # census, ks, ncmp, ilr, survey
    title: str
    sender_kind: str  # who sends it: school, assessment body, health area, ...
    fields: tuple[Field, ...]
    sender_field: str  # the field whose value names the sender (a school's LAESTAB, a health area's code)
    collection_sql: str  # SQL over the typed fields naming the collection a record belongs to
    formats: tuple[str, ...] = ("csv", "parquet")
    xml_record: str | None = None  # the element holding one record, for XML sources
    xml_root: str | None = None
    duplicate_key: tuple[str, ...] = ()  # fields that must not repeat within one return
    notes: str = ""

    @property
    def table(self) -> str:
        """The warehouse table of accepted records."""
        return f"collect_{self.name}"

    @property
    def prefix(self) -> str:
        return {"census": "CEN", "ks": "KS", "ncmp": "NCMP", "ilr": "ILR", "survey": "SUR"}[self.name]

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def match_headers(self, headers: list[str]) -> dict[str, int]:
        """Which column (by position) holds each field; headers are compared trimmed and case-insensitively."""
        found: dict[str, int] = {}
        lowered = [h.strip().lower() for h in headers]
        for f in self.fields:
            for position, header in enumerate(lowered):
                if header in f.headers() and f.name not in found:
                    found[f.name] = position
                    break
        return found

    def header_score(self, headers: list[str]) -> float:
        """How well a header line fits this source: the share of its mandatory fields present."""
        mandatory = [f.name for f in self.fields if f.mandatory]
        present = self.match_headers(headers)
        return sum(name in present for name in mandatory) / max(len(mandatory), 1)


def _person(*, upn: str | None = None, postcode: bool = True) -> tuple[Field, ...]:
    """The identifying fields most sources share."""
    fields = [
        Field("surname", "Surname", mandatory=True, identifying=True, normalise="upper", aliases=("family_name",)),
        Field("forename", "Forename", mandatory=True, identifying=True, normalise="upper", aliases=("forenames",)),
        Field("dob", "DOB", Kind.date, mandatory=True, identifying=True, aliases=("date_of_birth", "birth_date")),
        Field("gender", "Gender", mandatory=True, code_set="gender", normalise="upper", aliases=("sex",)),
    ]
    if upn:
        fields.insert(0, Field("upn", "UPN", mandatory=upn == "mandatory", identifying=True, normalise="upper"))
    if postcode:
        fields.append(Field("postcode", "Postcode", identifying=True, normalise="postcode", aliases=("post_code",)))
    return tuple(fields)


CENSUS = Source(
    name="census",
    title="School census (XML)",
    sender_kind="school",
    formats=("xml", "parquet", "csv"),
    xml_root="Message",
    xml_record="PupilOnRoll",
    sender_field="laestab",
    duplicate_key=("upn",),
    collection_sql="'census-' || collection_year || '-' || lower(collection_term)",
    fields=(
        Field("laestab", "LAESTAB", mandatory=True, max_length=7, description="From the header: LEA then Estab"),
        Field("school_name", "SchoolName", max_length=200),
        Field("collection_term", "Term", mandatory=True, code_set="census_term", normalise="upper"),
        Field("collection_year", "Year", Kind.integer, mandatory=True),
        Field("reference_date", "ReferenceDate", Kind.date),
        Field("upn", "UPN", mandatory=True, identifying=True, normalise="upper"),
        Field("former_upn", "FormerUPN", identifying=True, normalise="upper"),
        Field("surname", "Surname", mandatory=True, identifying=True, normalise="upper"),
        Field("forename", "Forename", mandatory=True, identifying=True, normalise="upper"),
        Field("middle_names", "MiddleNames", identifying=True, normalise="upper"),
        Field("preferred_surname", "PreferredSurname", identifying=True, normalise="upper"),
        Field("dob", "DOB", Kind.date, mandatory=True, identifying=True),
        Field("gender", "Gender", mandatory=True, code_set="gender", normalise="upper"),
        Field("ethnicity", "Ethnicity", code_set="ethnicity", normalise="upper"),
        Field("first_language", "FirstLanguage", code_set="first_language", normalise="upper"),
        Field("fsm_eligible", "FSMeligible", Kind.boolean),
        Field("sen_provision", "SENprovision", code_set="sen_provision", normalise="upper"),
        Field("nc_year", "NCyearActual", mandatory=True, code_set="nc_year", normalise="upper"),
        Field("postcode", "PostCode", identifying=True, normalise="postcode"),
    ),
    notes="One file per school; the header names the school (LEA, Estab) and the collection (Term, Year).",
)

KS = Source(
    name="ks",
    title="Key stage results (CSV)",
    sender_kind="assessment body",
    sender_field="la_code",
    duplicate_key=("upn", "key_stage", "subject"),
    collection_sql="'ks-' || replace(academic_year, '/', '-')",
    fields=(
        *_person(upn="optional", postcode=False),
        Field("laestab", "LAESTAB", mandatory=True, max_length=7),
        Field("la_code", "LA", mandatory=True, max_length=3, aliases=("la_code", "lea")),
        Field("academic_year", "AcademicYear", mandatory=True, max_length=7, aliases=("year",)),
        Field("key_stage", "KeyStage", mandatory=True, code_set="key_stage", aliases=("ks",)),
        Field("subject", "Subject", mandatory=True, code_set="ks_subject", normalise="upper"),
        Field("result", "Result", mandatory=True, normalise="upper", aliases=("level", "grade")),
    ),
    notes="One row per pupil, key stage and subject; one file per local authority.",
)

NCMP = Source(
    name="ncmp",
    title="Child height and weight (CSV)",
    sender_kind="health area",
    sender_field="pct_code",
    duplicate_key=("surname", "forename", "dob", "measurement_date"),
    collection_sql="'ncmp-' || collect_academic_year(measurement_date)",
    fields=(
        Field("pct_code", "PCT", mandatory=True, max_length=3, normalise="upper", aliases=("pct_code",)),
        Field("laestab", "LAESTAB", mandatory=True, max_length=7, aliases=("school",)),
        *_person(upn="optional"),
        Field("nc_year", "NCYear", mandatory=True, code_set="ncmp_year", normalise="upper", aliases=("nc_year",)),
        Field("measurement_date", "MeasurementDate", Kind.date, mandatory=True, aliases=("measured_on",)),
        Field("height_cm", "HeightCm", Kind.decimal, mandatory=True, aliases=("height",)),
        Field("weight_kg", "WeightKg", Kind.decimal, mandatory=True, aliases=("weight",)),
    ),
    notes="Reception and Year 6 children measured by school nurses; one file per primary care trust.",
)

ILR = Source(
    name="ilr",
    title="Post-16 learners (CSV)",
    sender_kind="learning provider",
    sender_field="ukprn",
    duplicate_key=("uln", "learner_ref"),
    collection_sql="'ilr-' || replace(academic_year, '/', '-')",
    fields=(
        Field("ukprn", "UKPRN", mandatory=True, max_length=8),
        Field("learner_ref", "LearnRefNumber", mandatory=True, max_length=12, aliases=("learner_ref",)),
        Field("uln", "ULN", identifying=True),
        *_person(),
        Field("academic_year", "AcademicYear", mandatory=True, max_length=7, aliases=("year",)),
        Field("start_date", "LearnStartDate", Kind.date, mandatory=True, aliases=("start_date",)),
        Field("aim", "LearnAimRef", max_length=8, aliases=("aim",)),
    ),
    notes="The learning and skills council's individualised learner record: one row per learner and provider.",
)

SURVEY = Source(
    name="survey",
    title="Survey respondents (CSV)",
    sender_kind="survey agency",
    sender_field="agency",
    duplicate_key=("case_id", "wave"),
    collection_sql="'survey-' || collect_academic_year(interview_date) || '-wave-' || wave",
    fields=(
        Field("agency", "Agency", mandatory=True, max_length=50),
        Field("case_id", "CaseID", mandatory=True, max_length=20, aliases=("case",)),
        Field("wave", "Wave", Kind.integer, mandatory=True),
        Field("upn", "UPN", identifying=True, normalise="upper"),
        *_person(),
        Field("interview_date", "InterviewDate", Kind.date, mandatory=True),
    ),
    notes="A contracted survey agency's respondents, one row per respondent and wave.",
)

SOURCES: dict[str, Source] = {s.name: s for s in (CENSUS, KS, NCMP, ILR, SURVEY)}

#: Code sets the rules need beyond the school census ones in the reference data.
LOCAL_CODE_SETS: dict[str, tuple[str, ...]] = {
    "census_term": ("AUT", "SPR", "SUM"),
    "key_stage": ("1", "2", "3", "4"),
    "ks_subject": ("ENG", "REA", "WRI", "MAT", "SCI"),
    "ncmp_year": ("R", "6"),
}


def source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"there is no source called {name!r}") from None
