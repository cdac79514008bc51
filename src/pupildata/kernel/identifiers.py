"""Identifiers of England's education data: UPN, ULN, URN, LAESTAB, postcodes, national curriculum years.

Each check exists twice, once in Python (for one value at a time: the command line, the portal) and once as a
DuckDB SQL expression (for millions of records at a time in the warehouse); property-based tests keep the two
in agreement. The rules are in the domain notes: DfE UPN guidance Annex A, the ULN validation specification.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # 0..22; I, O and S are never used
_UPN_SHAPE = re.compile(r"[A-Z][0-9]{11}[0-9A-Z]")
_UPN_BODY = re.compile(r"[0-9]{11}[0-9A-Z]")
_ULN_SHAPE = re.compile(r"[0-9]{10}")
_DIGITS = re.compile(r"[0-9]+")

# The characters trimmed from both ends of a value before it is checked: exactly those that Python's str.strip()
# removes (str.isspace), listed so that the SQL expressions below trim the same ones. Only ASCII letters are
# upper-cased: str.upper() would turn 'ſ' into 'S' and 'ﬀ' into 'FF', and no identifier contains such letters.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def _clean(value: str) -> str:
    """The value as checked: surrounding whitespace removed."""
    return value.strip(WHITESPACE)


def _clean_upper(value: str) -> str:
    """The value as checked, with ASCII letters in upper case."""
    return _clean(value).translate(_ASCII_UPPER)


@dataclass(frozen=True)
class Check:
    """The outcome of checking one identifier: valid, or the reason it is not."""

    value: str
    valid: bool
    reason: str = ""
    temporary: bool = False

    def describe(self) -> str:
        if self.valid:
            return f"{self.value}: valid" + (" (temporary UPN)" if self.temporary else "")
        return f"{self.value}: invalid, {self.reason}"


# --- UPN ---------------------------------------------------------------------------------------------------


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it (11 digits then a digit or, if temporary, a letter)."""
    if not _UPN_BODY.fullmatch(body):
        raise ValueError(f"a UPN body is 11 digits then a digit or letter, not {body!r}")
    last = body[11]
    if last in string.digits:
        last_value = int(last)
    elif last in UPN_LETTERS:
        last_value = UPN_LETTERS.index(last)
    else:
        raise ValueError(f"the last character of a UPN cannot be {last!r}")
    total = sum(weight * int(char) for weight, char in zip(range(2, 13), body[:11], strict=True))
    total += 13 * last_value
    return UPN_LETTERS[total % 23]


def check_upn(value: str) -> Check:
    """Check a Unique Pupil Number, permanent or temporary."""
    upn = _clean_upper(value)
    if len(upn) != 13:
        return Check(value, False, f"a UPN has 13 characters, this has {len(upn)}")
    if not _UPN_SHAPE.fullmatch(upn):
        return Check(value, False, "a UPN is a letter, 11 digits, then a digit (or a letter if temporary)")
    if upn[0] not in UPN_LETTERS:
        return Check(value, False, f"the check letter cannot be {upn[0]} (I, O and S are never used)")
    last = upn[12]
    temporary = last.isalpha()
    if temporary and last not in UPN_LETTERS:
        return Check(value, False, f"a temporary UPN cannot end in {last} (I, O and S are never used)")
    expected = upn_check_letter(upn[1:])
    if upn[0] != expected:
        return Check(value, False, f"check letter should be {expected}", temporary)
    return Check(value, True, "", temporary)


def make_upn(la_code: int, establishment: int, year: int, serial: int) -> str:
    """A permanent UPN for a pupil first allocated one at a school in the year beginning ``year``."""
    _in_range("LA number", la_code, 0, 999)
    _in_range("establishment number", establishment, 0, 9999)
    _in_range("serial", serial, 0, 999)
    body = f"{la_code:03d}{establishment:04d}{year % 100:02d}{serial:03d}"
    return upn_check_letter(body) + body


def make_temporary_upn(la_code: int, establishment: int, year: int, serial: int, letter: str = "A") -> str:
    """A temporary UPN: a 2-digit serial then a letter in the last three places."""
    _in_range("LA number", la_code, 0, 999)
    _in_range("establishment number", establishment, 0, 9999)
    _in_range("serial", serial, 0, 99)
    if letter not in UPN_LETTERS:
        raise ValueError(f"a temporary UPN's last letter must be one of {UPN_LETTERS}, not {letter!r}")
    body = f"{la_code:03d}{establishment:04d}{year % 100:02d}{serial:02d}{letter}"
    return upn_check_letter(body) + body


def _in_range(what: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}, not {value}")


# --- ULN ---------------------------------------------------------------------------------------------------


def uln_check_digit(first_nine: str) -> int | None:
    """The ULN check digit for nine digits, or None where no check digit can make them valid."""
    if len(first_nine) != 9 or not _DIGITS.fullmatch(first_nine):
        raise ValueError(f"a ULN starts with nine digits, not {first_nine!r}")
    remainder = sum(w * int(c) for w, c in zip(range(10, 1, -1), first_nine, strict=True)) % 11
    return None if remainder == 0 else 10 - remainder


def check_uln(value: str) -> Check:
    """Check a Unique Learner Number."""
    uln = _clean(value)
    if not _ULN_SHAPE.fullmatch(uln):
        return Check(value, False, "a ULN is 10 digits")
    expected = uln_check_digit(uln[:9])
    if expected is None:
        return Check(value, False, "no check digit can make these first nine digits valid (remainder 0)")
    if int(uln[9]) != expected:
        return Check(value, False, f"check digit should be {expected}")
    return Check(value, True)


def make_uln(first_nine: int) -> str | None:
    """The ULN for nine digits (as an integer), or None where those digits cannot form one."""
    _in_range("ULN number", first_nine, 0, 999_999_999)
    digits = f"{first_nine:09d}"
    check = uln_check_digit(digits)
    return None if check is None else digits + str(check)


# --- Establishments ----------------------------------------------------------------------------------------


def check_urn(value: str) -> Check:
    urn = _clean(value)
    if not re.fullmatch(r"[1-9][0-9]{5}", urn):
        return Check(value, False, "a URN is 6 digits, not starting with 0")
    return Check(value, True)


def check_laestab(value: str, la_codes: frozenset[int] | None = None) -> Check:
    """Check a LAESTAB (LA number + establishment number); with ``la_codes``, the LA must be one of them."""
    laestab = _clean(value)
    if not re.fullmatch(r"[0-9]{7}", laestab):
        return Check(value, False, "a LAESTAB is 7 digits: LA number (3) then establishment number (4)")
    if la_codes is not None and int(laestab[:3]) not in la_codes:
        return Check(value, False, f"{laestab[:3]} is not a local authority number")
    return Check(value, True)


def establishment_phase(establishment: int) -> str:
    """The conventional phase of an establishment number: 2xxx primary, 4xxx secondary, 7xxx special."""
    return {2: "primary", 3: "primary", 4: "secondary", 5: "secondary", 7: "special"}.get(
        establishment // 1000, "other"
    )


# --- Postcodes ---------------------------------------------------------------------------------------------

_POSTCODE = re.compile(
    r"(?P<outward>[A-PR-UWYZ](?:[0-9][0-9A-HJKPS-UW]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?))"
    r"(?P<inward>[0-9][ABD-HJLNP-UW-Z]{2})"
)


def normalise_postcode(value: str) -> str | None:
    """The postcode in its standard form ('SW1A 1AA'), or None if it is not a valid UK postcode."""
    compact = re.sub(r"\s+", "", value).translate(_ASCII_UPPER)
    if compact == "GIR0AA":
        return "GIR 0AA"
    match = _POSTCODE.fullmatch(compact)
    if not match:
        return None
    return f"{match['outward']} {match['inward']}"


def check_postcode(value: str) -> Check:
    if normalise_postcode(value) is None:
        return Check(value, False, "not a UK postcode (e.g. SW1A 1AA)")
    return Check(value, True)


@dataclass(frozen=True)
class PostcodeParts:
    """A postcode at each level used for matching and geography: area, district, sector, unit."""

    area: str
    district: str
    sector: str
    unit: str


def postcode_parts(value: str) -> PostcodeParts | None:
    normal = normalise_postcode(value)
    if normal is None:
        return None
    outward, inward = normal.split(" ")
    area = re.match(r"[A-Z]+", outward)
    return PostcodeParts(area[0] if area else outward, outward, f"{outward} {inward[0]}", normal)


# --- Academic years and national curriculum years -----------------------------------------------------------


def parse_academic_year(value: str) -> int:
    """The calendar year an academic year begins in: '2008/09', '2008-09', '200809' or '2008' give 2008."""
    text = _clean(value)
    match = re.fullmatch(r"([0-9]{4})(?:[/-]?([0-9]{2}))?", text)
    if not match:
        raise ValueError(f"'{value}' is not an academic year like 2008/09")
    start = int(match[1])
    if match[2] is not None and int(match[2]) != (start + 1) % 100:
        raise ValueError(f"'{value}' is not an academic year: {match[2]} does not follow {start}")
    return start


def format_academic_year(start: int) -> str:
    return f"{start}/{(start + 1) % 100:02d}"


def time_period(start: int) -> str:
    """The open-data time_period of an academic year: 2008 gives '200809'."""
    return f"{start}{(start + 1) % 100:02d}"


def age_on(dob: date, on: date) -> int:
    """Age in whole years on a date."""
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def nc_year(dob: date, academic_year_start: int) -> int:
    """The national curriculum year expected for a child: 0 is Reception, 1..13, negative for nursery.

    It is fixed by age on 31 August before the academic year: Reception is age 4, Year 1 age 5, Year 6 age 10.
    """
    return age_on(dob, date(academic_year_start, 8, 31)) - 4


def nc_year_code(year: int) -> str:
    """The school census code of an NC year: 'N1', 'N2', 'R', '1'..'14'."""
    if year == 0:
        return "R"
    if year in (-1, -2):
        return f"N{3 + year}"
    if 1 <= year <= 14:
        return str(year)
    raise ValueError(f"there is no national curriculum year {year}")


def parse_nc_year_code(code: str) -> int:
    text = _clean_upper(code)
    if text == "R":
        return 0
    if text in ("N1", "N2"):
        return int(text[1]) - 3
    if _DIGITS.fullmatch(text) and 1 <= int(text) <= 14:
        return int(text)
    raise ValueError(f"'{code}' is not a national curriculum year (N1, N2, R, 1 to 14)")


# --- The same checks as DuckDB SQL expressions, for set-at-a-time validation --------------------------------


def _char_value_sql(expr: str) -> str:
    return (
        f"CASE WHEN {expr} BETWEEN '0' AND '9' THEN TRY_CAST({expr} AS INTEGER) "
        f"ELSE strpos('{UPN_LETTERS}', {expr}) - 1 END"
    )


def _sql_clean(column: str) -> str:
    """SQL for the column with the same surrounding whitespace removed as in Python (see ``WHITESPACE``)."""
    characters = " || ".join(f"chr({ord(char)})" for char in WHITESPACE)
    return f"trim({column}, {characters})"


def _sql_clean_upper(column: str) -> str:
    """SQL for the cleaned column with ASCII letters (only) in upper case, as in Python."""
    return f"translate({_sql_clean(column)}, '{string.ascii_lowercase}', '{string.ascii_uppercase}')"


def sql_upn_expected_letter(column: str, *, cleaned: bool = False) -> str:
    """SQL for the check letter a UPN column should have (NULL unless the shape is right). ``cleaned``: the
    column already holds ``sql_clean_upper`` of the value, so it is not cleaned again at every use."""
    col = column if cleaned else _sql_clean_upper(column)
    terms = " + ".join(f"{i} * TRY_CAST(substr({col}, {i}, 1) AS INTEGER)" for i in range(2, 13))
    last = _char_value_sql(f"substr({col}, 13, 1)")
    return (
        f"CASE WHEN regexp_full_match({col}, '[{UPN_LETTERS}][0-9]{{11}}[0-9{UPN_LETTERS}]') "
        f"THEN substr('{UPN_LETTERS}', (({terms} + 13 * ({last})) % 23) + 1, 1) END"
    )


#: A letter of the check alphabet, eleven digits, then a digit or a letter of the check alphabet.
UPN_SHAPE_SQL = f"[{UPN_LETTERS}][0-9]{{11}}[0-9{UPN_LETTERS}]"


def sql_upn_digits(column: str) -> str:
    """SQL for the eleven digits of a cleaned UPN column as one number, or NULL when it is not of a UPN's shape."""
    return f"CASE WHEN regexp_full_match({column}, '{UPN_SHAPE_SQL}') THEN CAST(substr({column}, 2, 11) AS BIGINT) END"


def sql_upn_valid_cleaned(column: str, digits: str | None = None) -> str:
    """SQL true when a cleaned (trimmed, upper-cased) UPN column holds a valid UPN, NULL for NULL.

    The shape is checked with one regular expression and the eleven digits are read as one number and taken
    apart arithmetically — several times faster than reading each character. ``digits`` names a column already
    holding ``sql_upn_digits(column)``, so that it is computed once rather than once per digit.
    """
    shape = f"{digits} IS NOT NULL" if digits else f"regexp_full_match({column}, '{UPN_SHAPE_SQL}')"
    number = digits or f"TRY_CAST(substr({column}, 2, 11) AS BIGINT)"
    weighted = " + ".join(f"{i} * (({number} // {10 ** (12 - i)}) % 10)" for i in range(2, 13))
    last = f"substr({column}, 13, 1)"
    last_value = (
        f"CASE WHEN {last} BETWEEN '0' AND '9' THEN ascii({last}) - 48 ELSE strpos('{UPN_LETTERS}', {last}) - 1 END"
    )
    return (
        f"({shape} AND substr({column}, 1, 1) = "
        f"substr('{UPN_LETTERS}', (({weighted} + 13 * ({last_value})) % 23) + 1, 1))"
    )


def sql_upn_is_valid(column: str, *, cleaned: bool = False) -> str:
    """SQL that is true exactly when ``check_upn`` says valid (NULL input gives false); ``cleaned`` as for
    ``sql_upn_expected_letter``."""
    col = column if cleaned else _sql_clean_upper(column)
    return f"(coalesce({sql_upn_valid_cleaned(col)}, false))"


def sql_clean_upper(column: str) -> str:
    """SQL for the value as the UPN checks read it: surrounding whitespace removed, ASCII letters upper case."""
    return _sql_clean_upper(column)


def sql_uln_is_valid(column: str) -> str:
    """SQL that is true exactly when ``check_uln`` says valid (NULL input gives false).

    The arithmetic is guarded by a CASE and uses TRY_CAST, so that a value of any other shape gives false rather
    than a conversion error that would fail the whole query (DuckDB evaluates both sides of an AND). A ULN is
    valid exactly when the weighted sum of its first nine digits plus its check digit is 10 mod 11.
    """
    col = _sql_clean(column)
    terms = " + ".join(f"{11 - i} * TRY_CAST(substr({col}, {i}, 1) AS INTEGER)" for i in range(1, 10))
    check = f"TRY_CAST(substr({col}, 10, 1) AS INTEGER)"
    shape = f"regexp_full_match({col}, '[0-9]{{10}}')"
    return f"(coalesce(CASE WHEN {shape} THEN ({terms} + {check}) % 11 = 10 END, false))"
