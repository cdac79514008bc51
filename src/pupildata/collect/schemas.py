"""The sources of data returns, each declared once: its fields, their types, code sets and whether they identify
a person, how a file of it is recognised, who sends it and which collection it belongs to.

The readers, the validation rules, the warehouse tables and the documentation all come from these declarations,
and so, later, does the sharing catalogue (``identifying`` marks the fields that identify a person).
"""

from __future__ import annotations

from collections.abc import Callable
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
    sender_field: str  # the field whose value names the sender (a school's LAESTAB, a health area's code), or ""
    collection_sql: str  # an aggregate SQL expression over the typed records naming the file's collection
    formats: tuple[str, ...] = ("csv", "parquet")
    #: for XML sources: the root elements a file may have, and the elements holding one record each (the usual
    #: name first)
    xml_roots: tuple[str, ...] = ()
    xml_records: tuple[str, ...] = ()
    duplicate_key: tuple[str, ...] = ()  # fields that must not repeat within one return
    notes: str = ""
    default_sender: str = ""  # who sent it when no field says (the one assessment body, the survey agency)
    #: values every record takes from the header line (e.g. which key stage a results file holds)
    header_constants: Callable[[list[str]], dict[str, str]] | None = None

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


def _person(
    *, upn: bool = False, surname: str = "Surname", forename: str = "Forename", dob: str = "DOB", gender: str = "Gender"
) -> tuple[Field, ...]:
    """The identifying fields most sources share."""
    fields = [
        Field("surname", surname, mandatory=True, identifying=True, normalise="upper", aliases=("surname",)),
        Field("forename", forename, mandatory=True, identifying=True, normalise="upper", aliases=("forename",)),
        Field("dob", dob, Kind.date, mandatory=True, identifying=True, aliases=("dob",)),
        Field("gender", gender, mandatory=True, code_set="gender", normalise="sex", aliases=("gender", "sex")),
        Field("postcode", "Postcode", identifying=True, normalise="postcode"),
    ]
    if upn:
        fields.insert(0, Field("upn", "UPN", identifying=True, normalise="upper"))
    return tuple(fields)


def _ks_key_stage(headers: list[str]) -> dict[str, str]:
    """Which key stage a results file holds, from its result columns."""
    lowered = {h.strip().lower() for h in headers}
    for stage, column in (("1", "readingta"), ("2", "englishlevel"), ("3", "englishta"), ("4", "englishgrade")):
        if column in lowered:
            return {"key_stage": stage}
    return {}


CENSUS = Source(
    name="census",
    title="School census (XML)",
    sender_kind="school",
    formats=("xml", "parquet", "csv"),
    xml_roots=("SchoolCensus", "Message"),
    xml_records=("Pupil", "PupilOnRoll"),
    sender_field="laestab",
    default_sender="",
    duplicate_key=("upn",),
    collection_sql="mode('census-' || collection_year || '-' || lower(collection_term))",
    fields=(
        Field(
            "laestab",
            "LAESTAB",
            mandatory=True,
            max_length=7,
            description="From the file's header: <LEA> then <Estab>, seven digits",
        ),
        Field("school_name", "SchoolName", max_length=200, description="From the file's header"),
        Field("urn", "URN", max_length=6, description="From the file's header: the school's unique reference number"),
        Field(
            "collection_term",
            "Term",
            mandatory=True,
            code_set="census_term",
            normalise="upper",
            description="From the file's header: the census (autumn, spring or summer)",
        ),
        Field("collection_year", "Year", Kind.integer, mandatory=True, description="From the file's header"),
        Field("reference_date", "ReferenceDate", Kind.date, description="From the file's header: the census day"),
        Field("upn", "UPN", mandatory=True, identifying=True, normalise="upper"),
        Field("former_upn", "FormerUPN", identifying=True, normalise="upper"),
        Field("surname", "Surname", mandatory=True, identifying=True, normalise="upper"),
        Field("forename", "Forename", mandatory=True, identifying=True, normalise="upper"),
        Field("middle_names", "MiddleNames", identifying=True, normalise="upper"),
        Field("former_surname", "FormerSurname", identifying=True, normalise="upper"),
        Field("preferred_surname", "PreferredSurname", identifying=True, normalise="upper"),
        Field("dob", "DOB", Kind.date, mandatory=True, identifying=True),
        Field("gender", "Gender", mandatory=True, code_set="gender", normalise="sex"),
        Field("ethnicity", "Ethnicity", code_set="ethnicity", normalise="upper"),
        Field("first_language", "Language", code_set="first_language", normalise="upper", aliases=("FirstLanguage",)),
        Field("fsm_eligible", "FSMeligible", Kind.boolean),
        Field("sen_provision", "SENprovision", code_set="sen_provision", normalise="upper"),
        Field("nc_year", "NCyearActual", mandatory=True, code_set="nc_year", normalise="upper"),
        Field("entry_date", "EntryDate", Kind.date),
        Field(
            "postcode",
            "PostCode",
            identifying=True,
            normalise="postcode",
            description="Inside the pupil's <Address> (<Address><PostCode>), or on its own",
        ),
    ),
    notes="One file per school; the header names the school (LEA, Estab) and the collection (Term, Year).",
)

#: The academic year a key stage result belongs to, from the pupil's date of birth (KS1 is taken in Year 2,
#: KS2 in Year 6, KS3 in Year 9, KS4 in Year 11).
KS_YEAR_START = (
    "(year(dob) + CASE WHEN month(dob) >= 9 THEN 1 ELSE 0 END + 4 + "
    "CASE key_stage WHEN '1' THEN 2 WHEN '2' THEN 6 WHEN '3' THEN 9 WHEN '4' THEN 11 END)"
)
#: The commonest key stage and academic year of a file's results (the name of the collection is made from them
#: once, not once per record; the one aggregate, written three times, is computed once).
KS_MODE = f"(mode({{'k': key_stage, 'y': {KS_YEAR_START}}}) FILTER (WHERE {KS_YEAR_START} IS NOT NULL))"

KS = Source(
    name="ks",
    title="Key stage results (CSV)",
    sender_kind="assessment body",
    sender_field="",
    default_sender="assessment body",
    duplicate_key=("upn",),
    header_constants=_ks_key_stage,
    collection_sql=(
        f"'ks' || {KS_MODE}.k || '-' || {KS_MODE}.y || '-' || lpad((({KS_MODE}.y + 1) % 100)::VARCHAR, 2, '0')"
    ),
    fields=(
        *_person(upn=True, forename="Forenames"),
        Field("laestab", "LAEstab", mandatory=True, max_length=7),
        Field("urn", "URN", max_length=6),
        Field(
            "key_stage",
            "KeyStage",
            code_set="key_stage",
            description="Not a column: told from the result columns the file has",
        ),
        Field("reading", "ReadingTA", normalise="upper"),
        Field("writing", "WritingTA", normalise="upper"),
        Field("english", "EnglishLevel", normalise="upper", aliases=("EnglishTA", "EnglishGrade")),
        Field("maths", "MathsTA", normalise="upper", aliases=("MathsLevel", "MathsGrade")),
        Field("science", "ScienceTA", normalise="upper", aliases=("ScienceLevel", "ScienceGrade")),
        Field("gcse_passes_a_c", "GCSEPassesAtoC", Kind.integer),
        Field("five_acem", "FiveACEM", Kind.boolean),
    ),
    notes="One row per pupil; one file per key stage (the result columns say which).",
)

NCMP = Source(
    name="ncmp",
    title="Child height and weight (CSV)",
    sender_kind="health area",
    sender_field="pct_code",
    duplicate_key=("surname", "forename", "dob", "measurement_date"),
    collection_sql="mode('ncmp-' || collect_academic_year(measurement_date))",
    fields=(
        Field("pct_code", "NHS_PCT", mandatory=True, max_length=10, normalise="upper", aliases=("pct",)),
        Field("school_urn", "SchoolURN", max_length=6),
        *_person(gender="Sex"),
        Field("measurement_date", "DateOfMeasurement", Kind.date, mandatory=True),
        Field("height_cm", "HeightCm", Kind.decimal, mandatory=True),
        Field("weight_kg", "WeightKg", Kind.decimal, mandatory=True),
    ),
    notes="Reception and Year 6 children measured by school nurses; one file per health area. Sex 1 male, 2 female.",
)

ILR = Source(
    name="ilr",
    title="Post-16 learners (CSV)",
    sender_kind="learning and skills council",
    sender_field="",
    default_sender="learning and skills council",
    duplicate_key=("uln", "ukprn"),
    collection_sql="'ilr-' || collect_academic_year(max(start_date))",
    fields=(
        Field("uln", "ULN", identifying=True),
        *_person(surname="FamilyName", forename="GivenNames", dob="DateOfBirth", gender="Sex"),
        Field("ukprn", "UKPRN", mandatory=True, max_length=8),
        Field("provider_name", "ProviderName", max_length=200),
        Field("start_date", "LearnStartDate", Kind.date, mandatory=True),
        Field("aim_level", "LearningAimLevel", max_length=50),
    ),
    notes="The learning and skills council's learners at colleges: one row per learner and provider.",
)

SURVEY = Source(
    name="survey",
    title="Survey responses (CSV)",
    sender_kind="survey agency",
    sender_field="",
    default_sender="survey agency",
    duplicate_key=("case_id", "wave"),
    collection_sql="mode('survey-' || collect_academic_year(interview_date) || '-wave-' || wave)",
    fields=(
        Field("case_id", "RespondentID", mandatory=True, max_length=20),
        Field("wave", "Wave", Kind.integer, mandatory=True),
        Field("interview_date", "InterviewDate", Kind.date, mandatory=True),
        *_person(forename="FirstName", surname="LastName"),
        Field("main_activity", "MainActivity", max_length=100),
        Field("likes_school", "LikesSchool", max_length=100),
        Field("plans_higher_education", "PlansHigherEducation", max_length=20),
        Field("homework_hours", "HomeworkHoursPerWeek", Kind.integer),
    ),
    notes="The longitudinal cohort survey's responses, one row per respondent and wave, from its contracted agency.",
)

SOURCES: dict[str, Source] = {s.name: s for s in (CENSUS, KS, NCMP, ILR, SURVEY)}

#: Code sets the rules need beyond the school census ones in the reference data.
LOCAL_CODE_SETS: dict[str, tuple[str, ...]] = {
    "census_term": ("AUT", "SPR", "SUM"),
    "key_stage": ("1", "2", "3", "4"),
}


def source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"there is no source called {name!r}") from None
