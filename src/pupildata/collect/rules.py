"""Validation rules: small declarative objects, each with a stable code, a severity, the field it checks and a
message a school secretary can act on. Each produces a SQL predicate that is true for the records that fail it;
all the rules of a source run together, set-at-a-time, in one statement (see ``checks.py``).

Severity ``error``: the record is not accepted (it goes to quarantine). ``query``: accepted and flagged.

The predicates see, for every field ``f`` of the source, ``r_f`` (the text exactly as sent) and ``f`` (trimmed,
normalised and cast to the field's type; NULL when blank or when the text is not of that type).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pupildata.kernel.identifiers import UPN_LETTERS, sql_uln_is_valid, sql_upn_digits, sql_upn_valid_cleaned


class Severity(StrEnum):
    error = "error"
    query = "query"


@dataclass(frozen=True)
class Rule:
    """A rule: ``predicate`` is SQL that is true when a record fails. ``{value}`` in the message is the value."""

    code: str
    severity: Severity
    field: str | None
    message: str
    #: derived columns this rule needs (name -> SQL), computed before the predicates (no window functions)
    columns: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, Any], ...] = ()
    predicate: str = "false"
    #: for a duplicate rule, the fields that must not repeat within one return (then ``predicate`` is unused: the
    #: repeated keys are found with one grouped pass after the other rules, see ``checks.py``)
    duplicate_key: tuple[str, ...] = ()
    #: SQL true for every record that may fail the rule, and far cheaper than ``predicate`` (e.g. a text's length
    #: in bytes, for its length in characters): the rules with a guard are tested behind one test of all their
    #: guards, so that a record that can fail none of them costs that one test (see ``checks.py``)
    guard: str = ""

    def describe(self) -> dict[str, str]:
        return {"code": self.code, "severity": str(self.severity), "field": self.field or "", "message": self.message}


# --- the kinds of rule ---------------------------------------------------------------------------------------


def mandatory(
    code: str,
    name: str,
    label: str,
    severity: Severity = Severity.error,
    *,
    null_when_blank: bool = False,
    typed_from_trimmed: bool = False,
) -> Rule:
    """``null_when_blank``: the typed value is NULL exactly when the text is blank (text fields trimmed to NULL),
    so the cheaper test on the typed value is the same test. ``typed_from_trimmed``: the typed value is made from
    the trimmed text (a date, number or true/false), so it is NULL whenever the text is blank, and the text need
    only be looked at when it is."""
    if null_when_blank:
        blank = f"{name} IS NULL"
    elif typed_from_trimmed:
        blank = f"CASE WHEN {name} IS NULL THEN nullif(trim(r_{name}), '') IS NULL ELSE false END"
    else:
        blank = f"nullif(trim(r_{name}), '') IS NULL"
    return Rule(code, severity, name, f"{label} is missing; every record must give it.", predicate=blank)


def of_type(code: str, name: str, label: str, kind: str) -> Rule:
    what = {
        "date": "a date (YYYY-MM-DD or DD/MM/YYYY)",
        "integer": "a whole number",
        "decimal": "a number",
        "boolean": "true or false (1 or 0)",
    }[kind]
    return Rule(
        code,
        Severity.error,
        name,
        f"{label} '{{value}}' is not {what}.",
        predicate=f"CASE WHEN {name} IS NULL THEN nullif(trim(r_{name}), '') IS NOT NULL ELSE false END",
    )


def in_code_set(code: str, name: str, label: str, codes: tuple[str, ...], severity: Severity = Severity.error) -> Rule:
    param = f"codes_{code.replace('-', '_').lower()}"
    shown = ", ".join(codes) if len(codes) <= 12 else ", ".join(codes[:12]) + ", ..."
    return Rule(
        code,
        severity,
        name,
        f"{label} '{{value}}' is not one of the allowed codes ({shown}).",
        params=((param, list(codes)),),
        predicate=f"{name} IS NOT NULL AND NOT list_contains(${param}, {name})",
    )


def max_length(code: str, name: str, label: str, limit: int) -> Rule:
    return Rule(
        code,
        Severity.error,
        name,
        f"{label} is longer than {limit} characters; shorten it.",
        predicate=f"length(r_{name}) > {int(limit)}",
        # strlen (bytes, constant time) is never less than length (characters, a scan): only long texts are counted
        guard=f"strlen(r_{name}) > {int(limit)}",
    )


def upn_check(code: str, name: str, label: str = "UPN", severity: Severity = Severity.error) -> Rule:
    digits = f"digits_{code.replace('-', '_').lower()}"
    return Rule(
        code,
        severity,
        name,
        f"{label} '{{value}}' is not a valid UPN (a letter, 11 digits, then a digit or letter, with the right check "
        "letter); check it against the pupil's records.",
        columns=((digits, sql_upn_digits(name)),),
        predicate=f"{name} IS NOT NULL AND NOT coalesce({sql_upn_valid_cleaned(name, digits)}, false)",
    )


def uln_check(code: str, name: str, severity: Severity = Severity.error) -> Rule:
    return Rule(
        code,
        severity,
        name,
        "ULN '{value}' is not a valid unique learner number (10 digits with the right check digit).",
        predicate=f"{name} IS NOT NULL AND NOT {sql_uln_is_valid(name)}",
    )


def postcode_format(code: str, name: str, severity: Severity = Severity.query) -> Rule:
    return Rule(
        code,
        severity,
        name,
        "Postcode '{value}' is not a UK postcode (e.g. PE1 1AA).",
        predicate=f"{name} IS NOT NULL AND NOT regexp_full_match({name}, '{POSTCODE_NORMAL}')",
    )


def duplicate(code: str, key: tuple[str, ...], label: str) -> Rule:
    """Records whose ``key`` (every part present) is shared with another record of the same return."""
    return Rule(
        code,
        Severity.error,
        key[0],
        f"{label} '{{value}}' appears more than once in this return; each must appear once.",
        duplicate_key=key,
    )


def date_between(code: str, name: str, label: str, *, low: str, high: str, why: str) -> Rule:
    """``low`` and ``high`` are SQL date expressions (they may use other fields)."""
    return Rule(
        code,
        Severity.error,
        name,
        f"{label} '{{value}}' is {why}.",
        predicate=f"{name} IS NOT NULL AND ({name} < {low} OR {name} > {high})",
    )


@dataclass(frozen=True)
class RuleSet:
    """The rules of one source, and the SQL that runs them all at once."""

    rules: tuple[Rule, ...]
    joins: tuple[str, ...] = ()  # LEFT JOINs some rules need (e.g. the growth reference), against ``t``

    def by_code(self) -> dict[str, Rule]:
        return {r.code: r for r in self.rules}

    def params(self) -> dict[str, Any]:
        return {name: value for rule in self.rules for name, value in rule.params}


# --- SQL pieces shared with the typed projection --------------------------------------------------------------

#: A postcode in its standard form ("PE1 1AA"): the kernel's pattern, with the space.
POSTCODE_NORMAL = "(GIR 0AA|[A-PR-UWYZ]([0-9][0-9A-HJKPS-UW]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?) [0-9][ABD-HJLNP-UW-Z]{2})"


def postcode_sql(raw: str) -> str:
    """SQL normalising a postcode: upper case, one space before the inward part; NULL when blank."""
    compact = f"upper(regexp_replace({raw}, '\\s+', '', 'g'))"
    return (
        f"CASE WHEN {compact} = '' THEN NULL "
        f"WHEN length({compact}) BETWEEN 5 AND 7 "
        f"THEN left({compact}, length({compact}) - 3) || ' ' || right({compact}, 3) "
        f"ELSE {compact} END"
    )


def trim_sql(raw: str, plain: str | None = None) -> str:
    """SQL for ``trim(raw)`` (which removes Unicode space separators from both ends), calling ``trim`` only for a
    text that may need it: an ASCII text (as many characters as bytes) that neither starts nor ends with a space
    is already trimmed. The test costs a fraction of ``trim``, which decodes every character and copies the text.

    ``plain``: SQL true when every text of the record is such a text (``plain_sql``): one test per record instead
    of one per field."""
    if plain is not None:
        return f"CASE WHEN {plain} THEN {raw} ELSE trim({raw}) END"
    return (
        f"CASE WHEN strlen({raw}) = length({raw}) AND NOT starts_with({raw}, ' ') AND NOT ends_with({raw}, ' ') "
        f"THEN {raw} ELSE trim({raw}) END"
    )


def plain_sql(raws: list[str]) -> str:
    """SQL true when every one of the texts ``raws`` is ASCII and neither starts nor ends with a space, i.e. needs
    no trimming: the texts joined, each between two unit separators (``chr(31)``), hold only ASCII, and no space
    next to a separator. A text that itself holds a separator can only make the test false (then each text is
    trimmed, which is always right); a NULL text is joined as nothing, and needs no trimming."""
    if not raws:
        return "true"
    joined = "concat(chr(31), " + ", chr(31), ".join(raws) + ", chr(31))"
    return (
        f"(strlen({joined}) = length({joined}) AND NOT contains({joined}, chr(31) || ' ') "
        f"AND NOT contains({joined}, ' ' || chr(31)))"
    )


#: The ways a date may be written, as ``date_sql`` reads them (for the data formats guide).
DATE_FORMATS = ("YYYY-MM-DD", "DD/MM/YYYY", "YYYYMMDD", "YYYY-MM-DD 00:00:00")


def date_sql(raw: str, plain: str | None = None) -> str:
    """A date sent as YYYY-MM-DD (the census standard), DD/MM/YYYY (as spreadsheets write it), YYYYMMDD, or
    YYYY-MM-DD at midnight (00:00:00, after a space or a T: as databases export a date)."""
    text = trim_sql(raw, plain)
    return (
        f"CASE WHEN length({text}) = 10 AND substr({text}, 5, 1) = '-' THEN TRY_CAST({text} AS DATE) "
        f"WHEN regexp_full_match({text}, '[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{4}}') "
        f"THEN try_strptime({text}, '%d/%m/%Y')::DATE "
        f"WHEN regexp_full_match({text}, '[0-9]{{8}}') THEN try_strptime({text}, '%Y%m%d')::DATE "
        f"WHEN length({text}) = 19 AND substr({text}, 5, 1) = '-' AND substr({text}, 11) IN (' 00:00:00', "
        f"'T00:00:00') THEN TRY_CAST(left({text}, 10) AS DATE) END"
    )


#: The texts a yes-or-no field takes (in any case), for yes and for no.
TRUE_TEXTS = ("1", "TRUE", "T", "Y", "YES")
FALSE_TEXTS = ("0", "FALSE", "F", "N", "NO")


def boolean_sql(raw: str, plain: str | None = None) -> str:
    text = f"upper({trim_sql(raw, plain)})"
    yes, no = (", ".join(f"'{t}'" for t in texts) for texts in (TRUE_TEXTS, FALSE_TEXTS))
    return f"CASE WHEN {text} IN ({yes}) THEN true WHEN {text} IN ({no}) THEN false END"


def nc_year_number_sql(code: str) -> str:
    """The number of an NC year code: R is 0, N2 is -1, N1 is -2, '1'..'14' themselves."""
    return (
        f"CASE WHEN {code} = 'R' THEN 0 WHEN {code} = 'N1' THEN -2 WHEN {code} = 'N2' THEN -1 "
        f"ELSE TRY_CAST({code} AS INTEGER) END"
    )


def expected_nc_year_sql(dob: str, year_start: str) -> str:
    """The NC year a child born on ``dob`` is normally in during the academic year beginning ``year_start``."""
    return f"({year_start} - year({dob}) - CASE WHEN month({dob}) >= 9 THEN 1 ELSE 0 END - 4)"


__all__ = ["UPN_LETTERS", "Rule", "RuleSet", "Severity"]
