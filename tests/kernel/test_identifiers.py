"""Identifiers: the worked examples of the guidance, the error-detecting properties of the check characters, and
agreement between the Python checks and their DuckDB SQL versions.

What the check characters catch, shown by the property tests below:

- UPN (weights 2..13 on characters 2..13, mod 23). Because 23 is prime and no weight is a multiple of it, changing
  one digit to another digit, anywhere, always changes the remainder, and so does changing the check letter.
  The one single-character change that is *not* caught is in the 13th place, between a digit and a letter: the
  letters stand for 0..22 (A=0, B=1, ..., H=7, J=8, K=9), so a permanent UPN ending in 1 has the same check
  letter as the temporary UPN ending in B. That is how the guidance defines the check, not a bug.
- Swapping two adjacent, different characters is always caught: for digits a, b in places i, i+1 the sum moves
  by a - b (never a multiple of 23), and any other swap puts a letter where a digit must be, or a digit first.
- ULN (weights 10..2 on digits 1..9, mod 11). Valid exactly when the weighted sum plus the check digit is 10 mod
  11, so the check digit has weight 1: every single-digit error and every swap of adjacent different digits is
  caught. About one nine-digit body in eleven (remainder 0) has no check digit at all: ``make_uln`` gives None.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pupildata.kernel import identifiers as ids
from pupildata.kernel.identifiers import (
    UPN_LETTERS,
    WHITESPACE,
    check_postcode,
    check_uln,
    check_upn,
    make_temporary_upn,
    make_uln,
    make_upn,
    nc_year,
    nc_year_code,
    normalise_postcode,
    parse_academic_year,
    parse_nc_year_code,
    postcode_parts,
    sql_clean_upper,
    sql_uln_is_valid,
    sql_upn_is_valid,
    uln_check_digit,
    upn_check_letter,
)

# --- strategies ---------------------------------------------------------------------------------------------

permanent_upns = st.builds(
    make_upn,
    st.integers(0, 999),
    st.integers(0, 9999),
    st.integers(1990, 2030),
    st.integers(0, 999),
)
temporary_upns = st.builds(
    make_temporary_upn,
    st.integers(0, 999),
    st.integers(0, 9999),
    st.integers(1990, 2030),
    st.integers(0, 99),
    st.sampled_from(UPN_LETTERS),
)
valid_upns = permanent_upns | temporary_upns
valid_ulns = st.integers(0, 999_999_999).map(make_uln).filter(lambda uln: uln is not None).map(str)

# Characters that make near misses: the right kinds, the excluded letters, lower case, padding, and non-ASCII
# look-alikes (long s and dotless i upper-case to S and I in Unicode; Arabic-Indic and full-width digits).
_AWKWARD = string.digits + UPN_LETTERS + "IOS" + "abhiosxz" + " \t\n\xa0\u3000" + "ſıß٣３Ａé-/0"


def _mutate(draw: st.DrawFn, value: str) -> str:
    kind = draw(st.sampled_from(["substitute", "delete", "insert", "swap", "pad", "lower", "none"]))
    position = draw(st.integers(0, len(value) - 1))
    char = draw(st.sampled_from(_AWKWARD))
    if kind == "substitute":
        return value[:position] + char + value[position + 1 :]
    if kind == "delete":
        return value[:position] + value[position + 1 :]
    if kind == "insert":
        return value[:position] + char + value[position:]
    if kind == "swap" and position < len(value) - 1:
        return value[:position] + value[position + 1] + value[position] + value[position + 2 :]
    if kind == "pad":
        pad = st.text(st.sampled_from(WHITESPACE + "x."), max_size=3)
        return draw(pad) + value + draw(pad)
    if kind == "lower":
        return value.lower()
    return value


@st.composite
def near_valid(draw: st.DrawFn, valid: st.SearchStrategy[str]) -> str:
    value = draw(valid)
    for _ in range(draw(st.integers(0, 2))):
        if value:
            value = _mutate(draw, value)
    return value


def padded(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Valid values with whitespace around them, any case: still valid."""
    pad = st.text(st.sampled_from(WHITESPACE), max_size=3)
    value = valid.flatmap(lambda v: st.sampled_from([v, v.lower()]))
    return st.tuples(pad, value, pad).map("".join)


garbage = st.text(max_size=16) | st.text(st.sampled_from(_AWKWARD), max_size=15)


# --- UPN ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("upn", ["H801200001001", "B801200005001", "G80120000101A", "X00180001701A"])
def test_worked_example_upns_are_valid(upn: str) -> None:
    check = check_upn(upn)
    assert check.valid, check.reason
    assert check.temporary == upn[-1].isalpha()


def test_weighted_sum_of_the_worked_example() -> None:
    body = "801200001001"
    total = sum(weight * int(char) for weight, char in zip(range(2, 14), body, strict=True))
    assert total == 53
    assert 53 % 23 == 7
    assert upn_check_letter(body) == UPN_LETTERS[7] == "H"


def test_wrong_check_letter_names_the_right_one() -> None:
    check = check_upn("H801200001002")
    assert not check.valid
    assert check.reason == "check letter should be X"
    assert "check letter should be X" in check.describe()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("H80120000100", "a UPN has 13 characters, this has 12"),
        ("1801200001001", "a UPN is a letter, 11 digits, then a digit (or a letter if temporary)"),
        ("H8012000010A1", "a UPN is a letter, 11 digits, then a digit (or a letter if temporary)"),
        ("I801200001001", "the check letter cannot be I (I, O and S are never used)"),
        ("H80120000101O", "a temporary UPN cannot end in O (I, O and S are never used)"),
    ],
)
def test_upn_reasons(value: str, reason: str) -> None:
    check = check_upn(value)
    assert not check.valid
    assert check.reason == reason


def test_upn_is_checked_after_trimming_and_upper_casing() -> None:
    assert check_upn(" h801200001001\t").valid
    assert check_upn("\xa0x00180001701a\n").valid


def test_upn_letters_are_the_23_without_i_o_s() -> None:
    assert len(UPN_LETTERS) == 23
    assert set(UPN_LETTERS) == set(string.ascii_uppercase) - set("IOS")


@given(st.integers(0, 999), st.integers(0, 9999), st.integers(1990, 2030), st.integers(0, 999))
def test_every_made_upn_is_valid_and_permanent(la: int, establishment: int, year: int, serial: int) -> None:
    upn = make_upn(la, establishment, year, serial)
    check = check_upn(upn)
    assert check.valid, check.reason
    assert not check.temporary
    assert upn[1:] == f"{la:03d}{establishment:04d}{year % 100:02d}{serial:03d}"


@given(
    st.integers(0, 999), st.integers(0, 9999), st.integers(1990, 2030), st.integers(0, 99), st.sampled_from(UPN_LETTERS)
)
def test_every_made_temporary_upn_is_valid_and_temporary(
    la: int, establishment: int, year: int, serial: int, letter: str
) -> None:
    upn = make_temporary_upn(la, establishment, year, serial, letter)
    check = check_upn(upn)
    assert check.valid, check.reason
    assert check.temporary
    assert upn.endswith(f"{serial:02d}{letter}")


@pytest.mark.parametrize(
    "make",
    [
        lambda: make_upn(1000, 1, 2008, 1),
        lambda: make_upn(801, 10000, 2008, 1),
        lambda: make_upn(801, 1, 2008, 1000),
        lambda: make_temporary_upn(801, 1, 2008, 100),
        lambda: make_temporary_upn(801, 1, 2008, 1, "I"),
    ],
)
def test_make_upn_refuses_out_of_range_parts(make: Callable[[], str]) -> None:
    with pytest.raises(ValueError, match="must be"):
        make()


@given(permanent_upns)
def test_changing_any_one_digit_of_a_permanent_upn_is_detected(upn: str) -> None:
    for position in range(1, 13):
        for digit in string.digits:
            if digit != upn[position]:
                assert not check_upn(upn[:position] + digit + upn[position + 1 :]).valid


@given(valid_upns)
def test_changing_the_check_letter_is_detected(upn: str) -> None:
    for letter in string.ascii_uppercase:
        if letter != upn[0]:
            assert not check_upn(letter + upn[1:]).valid


def _value(char: str) -> int:
    return int(char) if char.isdigit() else UPN_LETTERS.index(char)


@given(valid_upns)
def test_the_only_undetected_single_substitution_is_a_digit_for_its_letter_in_the_last_place(upn: str) -> None:
    """Any one character of a valid UPN changed to any other digit or UPN letter: the result is valid exactly when
    the change is in the 13th place to the character with the same value (1 <-> B, 9 <-> K, ...)."""
    for position in range(1, 13):
        for char in string.digits + UPN_LETTERS:
            if char == upn[position]:
                continue
            changed = upn[:position] + char + upn[position + 1 :]
            undetected = position == 12 and _value(char) == _value(upn[12])
            assert check_upn(changed).valid == undetected, changed


def test_a_permanent_upn_and_its_letter_twin_share_a_check_letter() -> None:
    assert check_upn("H801200001001").valid
    assert check_upn("H80120000100B").valid  # B = 1 in the check: the one blind spot of the check letter
    assert check_upn("H80120000100B").temporary


@given(valid_upns, st.integers(0, 11))
def test_swapping_adjacent_different_characters_is_detected(upn: str, position: int) -> None:
    assume(upn[position] != upn[position + 1])
    swapped = upn[:position] + upn[position + 1] + upn[position] + upn[position + 2 :]
    assert not check_upn(swapped).valid


# --- ULN ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("uln", ["1234567899", "0000000042"])
def test_worked_example_ulns_are_valid(uln: str) -> None:
    assert check_uln(uln).valid


def test_wrong_uln_check_digit_names_the_right_one() -> None:
    check = check_uln("1234567890")
    assert not check.valid
    assert check.reason == "check digit should be 9"


@pytest.mark.parametrize("value", ["123456789", "12345678999", "12345678A9", "", "1234 567899"])
def test_uln_shape(value: str) -> None:
    assert check_uln(value).reason == "a ULN is 10 digits"


def test_remainder_zero_bodies_have_no_uln() -> None:
    assert uln_check_digit("000000000") is None
    assert make_uln(0) is None
    assert "remainder 0" in check_uln("0000000000").reason
    assert uln_check_digit("000000014") is None  # 1 * 3 + 4 * 2 = 11
    assert make_uln(14) is None
    assert uln_check_digit("000000015") == 8  # 3 + 10 = 13, remainder 2, check digit 10 - 2


def _uln_sum(digits: str) -> int:
    return sum(weight * int(char) for weight, char in zip(range(10, 0, -1), digits, strict=True))


@given(st.integers(0, 999_999_999))
def test_make_uln_round_trip(body: int) -> None:
    digits = f"{body:09d}"
    uln = make_uln(body)
    remainder = _uln_sum(digits + "0") % 11
    if remainder == 0:
        assert uln is None
        assert uln_check_digit(digits) is None
        assert all(not check_uln(digits + d).valid for d in string.digits)
    else:
        assert uln is not None
        assert uln.startswith(digits)
        assert check_uln(uln).valid
        assert [d for d in string.digits if check_uln(digits + d).valid] == [uln[9]]


@given(st.text(string.digits, min_size=10, max_size=10))
def test_a_uln_is_valid_exactly_when_its_weighted_sum_is_10_mod_11(uln: str) -> None:
    assert check_uln(uln).valid == (_uln_sum(uln) % 11 == 10)


@given(valid_ulns)
def test_changing_any_one_digit_of_a_uln_is_detected(uln: str) -> None:
    for position in range(10):
        for digit in string.digits:
            if digit != uln[position]:
                assert not check_uln(uln[:position] + digit + uln[position + 1 :]).valid


@given(valid_ulns, st.integers(0, 8))
def test_swapping_adjacent_different_uln_digits_is_detected(uln: str, position: int) -> None:
    assume(uln[position] != uln[position + 1])
    swapped = uln[:position] + uln[position + 1] + uln[position] + uln[position + 2 :]
    assert not check_uln(swapped).valid


def test_about_one_body_in_eleven_has_no_uln() -> None:
    missing = sum(make_uln(body) is None for body in range(0, 999_999_999, 99_991))
    total = len(range(0, 999_999_999, 99_991))
    assert 0.07 < missing / total < 0.11


@pytest.mark.parametrize("bad", ["12345678", "12345678A", "١٢٣٤٥٦٧٨٩", "1234567890"])
def test_uln_check_digit_wants_nine_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="nine digits"):
        uln_check_digit(bad)


@pytest.mark.parametrize("bad", ["٨01200001001", "80120000100", "80120000100I", "8012000010a1"])
def test_upn_check_letter_wants_eleven_ascii_digits_then_a_digit_or_letter(bad: str) -> None:
    with pytest.raises(ValueError, match="UPN"):
        upn_check_letter(bad)


# --- Python and SQL agree -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def _sql_verdicts(
    con: duckdb.DuckDBPyConnection, sql: Callable[[str], str], values: list[str | None]
) -> list[bool | None]:
    """Evaluate a SQL check on all the values in one query over a table, in the values' order."""
    con.register("candidates", pa.table({"i": list(range(len(values))), "v": pa.array(values, pa.string())}))
    try:
        rows = con.execute(f"SELECT {sql('v')} FROM candidates ORDER BY i").fetchall()
    finally:
        con.unregister("candidates")
    return [row[0] for row in rows]


_SQL_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_SQL_SETTINGS
@given(st.lists(near_valid(valid_upns) | padded(valid_upns) | garbage, min_size=1, max_size=80))
def test_sql_upn_check_agrees_with_python(con: duckdb.DuckDBPyConnection, values: list[str]) -> None:
    assert _sql_verdicts(con, sql_upn_is_valid, list(values)) == [check_upn(v).valid for v in values]


def _upn_check_on_cleaned(column: str) -> str:
    return sql_upn_is_valid(f"(SELECT {sql_clean_upper(column)})", cleaned=True)


@_SQL_SETTINGS
@given(st.lists(near_valid(valid_upns) | padded(valid_upns) | garbage, min_size=1, max_size=80))
def test_sql_upn_check_on_a_cleaned_column_agrees_with_python(
    con: duckdb.DuckDBPyConnection, values: list[str]
) -> None:
    assert _sql_verdicts(con, _upn_check_on_cleaned, list(values)) == [check_upn(v).valid for v in values]


@_SQL_SETTINGS
@given(st.lists(near_valid(valid_ulns) | padded(valid_ulns) | garbage, min_size=1, max_size=80))
def test_sql_uln_check_agrees_with_python(con: duckdb.DuckDBPyConnection, values: list[str]) -> None:
    assert _sql_verdicts(con, sql_uln_is_valid, list(values)) == [check_uln(v).valid for v in values]


def test_sql_checks_on_examples_nulls_and_garbage_in_one_batch(con: duckdb.DuckDBPyConnection) -> None:
    values: list[str | None] = [
        "H801200001001",
        "H801200001002",
        " x00180001701a\t",
        "1234567899",
        "1234567890",
        "0000000042",
        "\u30001234567899\n",
        "abcdefghij",
        "",
        None,
    ]
    upn = _sql_verdicts(con, sql_upn_is_valid, values)
    uln = _sql_verdicts(con, sql_uln_is_valid, values)
    assert upn == [True, False, True, False, False, False, False, False, False, False]
    assert uln == [False, False, False, True, False, True, True, False, False, False]


def test_whitespace_is_what_str_strip_removes() -> None:
    assert set(WHITESPACE) == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}


# --- Postcodes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("M1 1AA", "M1 1AA"),  # A9 9AA
        ("m601nw", "M60 1NW"),  # A99 9AA
        ("CR2 6XH", "CR2 6XH"),  # AA9 9AA
        ("dn55  1pt", "DN55 1PT"),  # AA99 9AA
        ("W1A1HQ", "W1A 1HQ"),  # A9A 9AA
        (" ec1a 1bb ", "EC1A 1BB"),  # AA9A 9AA
        ("gir0aa", "GIR 0AA"),
    ],
)
def test_postcode_formats(value: str, normal: str) -> None:
    assert normalise_postcode(value) == normal
    assert check_postcode(value).valid


@pytest.mark.parametrize(
    "value",
    [
        "",
        "SW1A",
        "12345",
        "QA1 1AA",  # Q is never first
        "AI1 1AA",  # I is never second
        "SW1A 1AC",  # C is never in the inward code
        "GIR 1AA",  # GIR only in GIR 0AA
        "SW1A 1AAA",
        "ſw1a 1aa",  # long s is not S
        "not a postcode",
    ],
)
def test_postcode_garbage_is_rejected(value: str) -> None:
    assert normalise_postcode(value) is None
    assert not check_postcode(value).valid
    assert postcode_parts(value) is None


_valid_postcodes = st.from_regex(ids._POSTCODE, fullmatch=True) | st.just("GIR0AA")


@st.composite
def written_postcodes(draw: st.DrawFn) -> str:
    """A valid postcode as people write it: any case, spaces anywhere."""
    compact = draw(_valid_postcodes)
    out = []
    for char in compact:
        out.append(draw(st.sampled_from([char, char.lower()])))
        out.append(draw(st.sampled_from(["", "", " ", "  "])))
    return "".join(out)


@given(written_postcodes() | st.text(max_size=10))
def test_postcode_normalisation_is_idempotent(value: str) -> None:
    normal = normalise_postcode(value)
    if normal is not None:
        assert normalise_postcode(normal) == normal
        assert normal == normal.upper().strip()
        assert normal.count(" ") == 1


@given(written_postcodes())
def test_written_postcodes_are_valid_and_their_parts_nest(value: str) -> None:
    normal = normalise_postcode(value)
    assert normal is not None
    parts = postcode_parts(value)
    assert parts is not None
    assert parts.unit == normal
    assert parts.unit.startswith(parts.sector)
    assert parts.sector.startswith(parts.district + " ")
    assert parts.district.startswith(parts.area)
    assert parts.area.isalpha()
    assert len(parts.sector) == len(parts.unit) - 2


def test_postcode_parts_of_an_example() -> None:
    parts = postcode_parts("sw1a2aa")
    assert parts is not None
    assert (parts.area, parts.district, parts.sector, parts.unit) == ("SW", "SW1A", "SW1A 2", "SW1A 2AA")


# --- Academic years and national curriculum years -----------------------------------------------------------


def nc_code(dob: date) -> str:
    return nc_year_code(nc_year(dob, 2008))


def test_reception_in_2008_09_runs_from_september_2003_to_august_2004_births() -> None:
    # Reception is the year of children aged 4 on 31 August 2008, the day before the year starts.
    assert nc_year(date(2003, 9, 1), 2008) == 0
    assert nc_year(date(2004, 8, 31), 2008) == 0
    assert nc_code(date(2003, 9, 1)) == nc_code(date(2004, 8, 31)) == "R"


def test_31_august_and_1_september_straddle_a_year_boundary() -> None:
    assert nc_year(date(2003, 8, 31), 2008) == 1  # the youngest in Year 1
    assert nc_year(date(2003, 9, 1), 2008) == 0  # the oldest in Reception
    assert nc_year(date(2004, 9, 1), 2008) == -1  # Nursery 2
    assert nc_code(date(2004, 9, 1)) == "N2"


def test_key_stage_years_of_2008_09() -> None:
    assert nc_year(date(1997, 9, 1), 2008) == 6  # age 10 on 31 August 2008: Year 6, end of key stage 2
    assert nc_year(date(1998, 8, 31), 2008) == 6
    assert nc_year(date(1992, 9, 1), 2008) == 11  # age 15: Year 11, end of key stage 4
    assert nc_year(date(2001, 9, 1), 2008) == 2  # age 6: Year 2, end of key stage 1


@given(st.dates(date(1990, 1, 1), date(2010, 12, 31)), st.integers(1995, 2025))
def test_nc_year_moves_up_one_a_year(dob: date, year: int) -> None:
    assert nc_year(dob, year + 1) == nc_year(dob, year) + 1


@given(st.dates(date(1990, 9, 1), date(2010, 8, 31)))
def test_children_born_in_the_same_september_to_august_share_a_year(dob: date) -> None:
    start = date(dob.year if dob.month >= 9 else dob.year - 1, 9, 1)
    end = date(start.year + 1, 8, 31)
    assert nc_year(dob, 2008) == nc_year(start, 2008) == nc_year(end, 2008)
    assert nc_year(start - timedelta(days=1), 2008) == nc_year(start, 2008) + 1


@pytest.mark.parametrize("year", range(-2, 15))
def test_nc_year_codes_round_trip(year: int) -> None:
    assert parse_nc_year_code(nc_year_code(year)) == year


def test_nc_year_codes() -> None:
    assert [nc_year_code(y) for y in (-2, -1, 0, 1, 14)] == ["N1", "N2", "R", "1", "14"]
    assert parse_nc_year_code(" r ") == 0
    assert parse_nc_year_code("n1") == -2


@pytest.mark.parametrize("code", ["0", "15", "N3", "N0", "X", "", "²", "٣", "-1"])
def test_bad_nc_year_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError, match="is not a national curriculum year"):
        parse_nc_year_code(code)


@pytest.mark.parametrize("year", [-3, 15])
def test_there_is_no_code_for_years_outside_n1_to_14(year: int) -> None:
    with pytest.raises(ValueError, match="there is no national curriculum year"):
        nc_year_code(year)


@pytest.mark.parametrize("text", ["2008/09", "2008-09", "200809", "2008", " 2008/09 "])
def test_academic_year_forms(text: str) -> None:
    assert parse_academic_year(text) == 2008


def test_academic_year_across_a_century() -> None:
    assert parse_academic_year("1999/00") == 1999
    assert ids.format_academic_year(1999) == "1999/00"
    assert ids.time_period(2008) == "200809"


def test_academic_year_that_does_not_follow_on_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"'2008/10' is not an academic year: 10 does not follow 2008"):
        parse_academic_year("2008/10")


@pytest.mark.parametrize("text", ["08/09", "2008/9", "2008 09", "2008/09/10", "twenty", "", "٢٠٠٨/٠٩"])
def test_academic_year_garbage_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not an academic year"):
        parse_academic_year(text)


@given(st.integers(1900, 2098))
def test_academic_year_formats_round_trip(start: int) -> None:
    assert parse_academic_year(ids.format_academic_year(start)) == start
    assert parse_academic_year(ids.time_period(start)) == start
