"""The rules of each source. Codes are ``SOURCE-FIELD-NN`` and never change meaning once published:

    01 missing   02 wrong type   03 not an allowed code   04 too long   05 check character wrong
    06 duplicate in the return   07 out of range   08 inconsistent with another field (one year: a query)

File-level rules (the whole file is refused, nothing is loaded) are in ``FILE_RULES``; ``CSV-ROW-01`` is the
one record-level rule a reader applies itself (a row with the wrong number of columns).
"""

from __future__ import annotations

from functools import cache

from pupildata.collect import rules as r
from pupildata.collect.growth import GROWTH_JOINS, growth_rule
from pupildata.collect.schemas import LOCAL_CODE_SETS, Kind, Source, source
from pupildata.kernel.reference import codes

Severity = r.Severity

#: Short codes of fields in rule codes.
FIELD_CODES = {
    "laestab": "EST", "school_name": "SCH", "collection_term": "TRM", "collection_year": "YR",
    "reference_date": "REF", "upn": "UPN", "former_upn": "FUP", "surname": "SUR", "forename": "FOR",
    "middle_names": "MID", "preferred_surname": "PSN", "dob": "DOB", "gender": "GEN", "ethnicity": "ETH",
    "first_language": "LAN", "fsm_eligible": "FSM", "sen_provision": "SEN", "nc_year": "NCY", "postcode": "PC",
    "la_code": "LA", "academic_year": "AY", "key_stage": "KS", "subject": "SUB", "result": "RES",
    "pct_code": "PCT", "measurement_date": "MDT", "height_cm": "HGT", "weight_kg": "WGT", "ukprn": "PRN",
    "learner_ref": "LRN", "uln": "ULN", "start_date": "SDT", "aim": "AIM", "agency": "AGY", "case_id": "CAS",
    "wave": "WAV", "interview_date": "IDT", "former_surname": "FSN", "entry_date": "ENT", "urn": "URN",
    "reading": "REA", "writing": "WRI", "english": "ENG", "maths": "MAT", "science": "SCI",
    "gcse_passes_a_c": "GCS", "five_acem": "FAC", "school_urn": "URN", "provider_name": "PRV", "aim_level": "AIM",
    "main_activity": "ACT", "likes_school": "LIK", "plans_higher_education": "PHE", "homework_hours": "HWK",
}  # fmt: skip

#: Whole-file outcomes: the file is refused and nothing in it is loaded.
FILE_RULES = {
    "FILE-EMPTY-01": "The file is empty, or holds a header but no records.",
    "FILE-TYPE-01": "The file is not a school census XML, CSV or Parquet return that can be recognised.",
    "FILE-ENC-01": "The file is not valid text in its declared encoding (UTF-8 unless it says otherwise).",
    "FILE-ENC-02": "The file looks like UTF-16 text without a byte order mark; save it as UTF-8.",
    "FILE-COL-01": "The collection the file belongs to cannot be told from it; give it with --collection.",
    "FILE-SND-01": "The file names no sender (or more than one) where one is required.",
    "FILE-SND-02": "The file is a return from a sender the account that sent it in the portal does not send for.",
    "FILE-DUP-01": "The file is identical to one already received (the same SHA-256); it is not loaded again.",
    "XML-WF-01": "The XML is not well-formed.",
    "XML-DTD-01": "The XML has a document type declaration or entities, which are refused for safety.",
    "XML-ROOT-01": "The XML is not a school census return (wrong root element).",
    "XML-HDR-01": "The census header is incomplete.",
    "CSV-HDR-01": "The first line does not name the columns this return needs.",
    "CSV-HDR-02": "A column is named twice in the first line.",
    "CSV-SEP-01": "The columns are separated by something other than commas (semicolons, tabs or vertical bars).",
    "PQ-01": "The file is not a readable Parquet file.",
}
RECORD_READER_RULES = {
    "CSV-ROW-01": "This row has a different number of columns from the header; check for stray commas or quotes.",
}


def _code(src: Source, field: str, number: int) -> str:
    return f"{src.prefix}-{FIELD_CODES[field]}-{number:02d}"


def code_set_labels(name: str) -> tuple[tuple[str, str], ...]:
    """A code set's codes, each with what it means ("" for the local sets, whose codes say it themselves): the
    one place that says where a code set comes from, for the rules and the data formats guide alike."""
    if name in LOCAL_CODE_SETS:
        return tuple((code, "") for code in LOCAL_CODE_SETS[name])
    return tuple((c.code, c.label) for c in codes(name))


def _code_set(name: str) -> tuple[str, ...]:
    return tuple(code for code, _ in code_set_labels(name))


def _declared(src: Source) -> list[r.Rule]:
    """The rules every field's declaration implies: mandatory, type, code set, length."""
    found: list[r.Rule] = []
    for f in src.fields:
        if f.mandatory:
            blank_is_null = f.kind is Kind.text and f.normalise != "postcode"  # see checks.typed_sql
            found.append(
                r.mandatory(
                    _code(src, f.name, 1),
                    f.name,
                    f.label,
                    null_when_blank=blank_is_null,
                    typed_from_trimmed=f.kind is not Kind.text,
                )
            )
        if f.kind is not Kind.text:
            found.append(r.of_type(_code(src, f.name, 2), f.name, f.label, str(f.kind)))
        if f.code_set:
            found.append(r.in_code_set(_code(src, f.name, 3), f.name, f.label, _code_set(f.code_set)))
        found.append(r.max_length(_code(src, f.name, 4), f.name, f.label, f.max_length))
    return found


def _dob_range(src: Source, on: str, oldest: int, youngest: int) -> r.Rule:
    return r.date_between(
        _code(src, "dob", 7),
        "dob",
        "Date of birth",
        low=f"({on} - INTERVAL {int(oldest)} YEAR)",
        high=f"({on} - INTERVAL {int(youngest)} YEAR)",
        why=f"in the future or outside the ages this return covers ({youngest} to {oldest})",
    )


def _nc_year_for_age(src: Source, year_start: str) -> list[r.Rule]:
    expected = r.expected_nc_year_sql("dob", year_start)
    gap = f"abs({r.nc_year_number_sql('nc_year')} - {expected})"
    base = "National curriculum year '{value}' does not fit the date of birth"
    return [
        r.Rule(
            _code(src, "nc_year", 8),
            Severity.error,
            "nc_year",
            base + " (two or more years out); check both.",
            predicate=f"dob IS NOT NULL AND {gap} >= 2",
        ),
        r.Rule(
            _code(src, "nc_year", 9),
            Severity.query,
            "nc_year",
            base + " (one year out); confirm the pupil is outside their usual year group.",
            predicate=f"dob IS NOT NULL AND {gap} = 1",
        ),
    ]


def _census(src: Source) -> list[r.Rule]:
    ref = "coalesce(reference_date, make_date(collection_year, 1, 15))"
    year_start = "(collection_year - CASE WHEN collection_term IN ('SPR', 'SUM') THEN 1 ELSE 0 END)"
    return [
        r.Rule(
            _code(src, "laestab", 5),
            Severity.error,
            "laestab",
            "LAESTAB '{value}' is not a 3-digit LA number followed by a 4-digit establishment number.",
            predicate="laestab IS NOT NULL AND NOT regexp_full_match(laestab, '[0-9]{7}')",
        ),
        r.upn_check(_code(src, "upn", 5), "upn"),
        r.upn_check(_code(src, "former_upn", 5), "former_upn", "Former UPN", Severity.query),
        r.duplicate(_code(src, "upn", 6), ("upn",), "UPN"),
        _dob_range(src, ref, 25, 2),
        *_nc_year_for_age(src, year_start),
        r.postcode_format(_code(src, "postcode", 7), "postcode"),
    ]


def _ks(src: Source) -> list[r.Rule]:
    sets = (("1", "ks1_level"), ("2", "ks2_level"), ("3", "ks3_level"), ("4", "ks4_grade"))
    params = tuple((f"ks{stage}_results", list(_code_set(name))) for stage, name in sets)
    found = [
        r.upn_check(_code(src, "upn", 5), "upn", severity=Severity.query),
        r.duplicate(_code(src, "upn", 6), ("upn",), "UPN"),
        r.date_between(
            _code(src, "dob", 7),
            "dob",
            "Date of birth",
            low="DATE '1985-09-01'",
            high="current_date",
            why="in the future or before 1985",
        ),
    ]
    for name in ("reading", "writing", "english", "maths", "science"):
        by_stage = " ".join(f"WHEN '{stage}' THEN list_contains($ks{stage}_results, {name})" for stage, _ in sets)
        found.append(
            r.Rule(
                _code(src, name, 3),
                Severity.error,
                name,
                f"{src.field(name).label} '{{value}}' is not a level or grade of this key stage.",
                params=params,
                predicate=f"{name} IS NOT NULL AND NOT coalesce(CASE key_stage {by_stage} END, true)",
            )
        )
    return found


def _ncmp(src: Source) -> list[r.Rule]:
    return [
        r.duplicate(_code(src, "surname", 6), src.duplicate_key, "The same child measured on the same day"),
        _dob_range(src, "coalesce(measurement_date, current_date)", 13, 3),
        r.date_between(
            _code(src, "measurement_date", 7),
            "measurement_date",
            "Measurement date",
            low="DATE '2005-09-01'",
            high="current_date",
            why="in the future or before the programme began (September 2005)",
        ),
        growth_rule(_code(src, "height_cm", 7), "height", "height_cm", "Height", "cm"),
        growth_rule(_code(src, "weight_kg", 7), "weight", "weight_kg", "Weight", "kg"),
        r.postcode_format(_code(src, "postcode", 7), "postcode"),
    ]


def _ilr(src: Source) -> list[r.Rule]:
    return [
        r.uln_check(_code(src, "uln", 5), "uln"),
        r.duplicate(_code(src, "uln", 6), ("uln", "ukprn"), "ULN"),
        _dob_range(src, "coalesce(start_date, current_date)", 30, 13),
        r.postcode_format(_code(src, "postcode", 7), "postcode"),
    ]


def _survey(src: Source) -> list[r.Rule]:
    return [
        r.duplicate(_code(src, "case_id", 6), src.duplicate_key, "Respondent and wave"),
        _dob_range(src, "coalesce(interview_date, current_date)", 25, 10),
        r.postcode_format(_code(src, "postcode", 7), "postcode"),
    ]


_SPECIFIC = {"census": _census, "ks": _ks, "ncmp": _ncmp, "ilr": _ilr, "survey": _survey}


@cache
def rule_set(name: str) -> r.RuleSet:
    """Every rule of a source, declared ones first."""
    src = source(name)
    rules = (*_declared(src), *_SPECIFIC[name](src))
    joins = GROWTH_JOINS if name == "ncmp" else ()
    codes_seen = [rule.code for rule in rules]
    assert len(codes_seen) == len(set(codes_seen)), f"duplicate rule codes in {name}"
    return r.RuleSet(rules, joins=joins)


def all_rules() -> list[dict[str, str]]:
    """The whole catalogue, for the documentation and the portal."""
    found = [{"code": c, "severity": "file", "field": "", "message": m} for c, m in FILE_RULES.items()]
    found += [{"code": c, "severity": "error", "field": "", "message": m} for c, m in RECORD_READER_RULES.items()]
    for name in ("census", "ks", "ncmp", "ilr", "survey"):
        found += [rule.describe() for rule in rule_set(name).rules]
    return found
