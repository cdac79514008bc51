"""The vectorised identifier rules agree with the kernel's one-value-at-a-time rules."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pupildata.kernel.identifiers import (
    UPN_LETTERS,
    check_uln,
    check_upn,
    make_temporary_upn,
    make_uln,
    make_upn,
    normalise_postcode,
    upn_check_letter,
)
from pupildata.synth import vectors

bodies = st.text(alphabet="0123456789", min_size=11, max_size=11).flatmap(
    lambda digits: st.sampled_from("0123456789" + UPN_LETTERS).map(lambda last: digits + last)
)


@settings(max_examples=300)
@given(st.lists(bodies, min_size=1, max_size=40))
def test_vectorised_check_letters_equal_the_scalar_rule(values: list[str]) -> None:
    matrix = np.frombuffer("".join(values).encode(), dtype=np.uint8).reshape(-1, 12)
    letters = vectors.upn_check_letters(matrix).tobytes().decode()
    assert list(letters) == [upn_check_letter(v) for v in values]


def test_make_upns_equal_make_upn() -> None:
    rng = np.random.default_rng(1)
    la, estab = rng.integers(0, 1000, 500), rng.integers(0, 10_000, 500)
    year, serial = rng.integers(1990, 2030, 500), rng.integers(0, 1000, 500)
    made = vectors.to_strings(vectors.make_upns(la, estab, year, serial)).to_pylist()
    expected = [make_upn(*map(int, args)) for args in zip(la, estab, year, serial, strict=True)]
    assert made == expected
    assert all(check_upn(u).valid for u in made)


def test_make_temporary_upns_equal_make_temporary_upn() -> None:
    rng = np.random.default_rng(2)
    la, estab = rng.integers(0, 1000, 300), rng.integers(0, 10_000, 300)
    year, serial, letter = rng.integers(1990, 2030, 300), rng.integers(0, 100, 300), rng.integers(0, 23, 300)
    made = vectors.to_strings(vectors.make_temporary_upns(la, estab, year, serial, letter)).to_pylist()
    expected = [
        make_temporary_upn(int(a), int(b), int(c), int(d), UPN_LETTERS[int(e)])
        for a, b, c, d, e in zip(la, estab, year, serial, letter, strict=True)
    ]
    assert made == expected
    assert all(check_upn(u).valid and check_upn(u).temporary for u in made)


def test_ulns_equal_make_uln_and_are_valid() -> None:
    serials = np.arange(0, 7 * 2000, 7) + 123_456
    matrix, used = vectors.make_ulns(serials)
    made = vectors.to_strings(matrix).to_pylist()
    assert made == [make_uln(int(s)) for s in used]
    assert all(check_uln(u).valid for u in made)
    assert len(set(made)) == len(made)


def test_inward_codes_make_valid_postcodes() -> None:
    inward = vectors.to_strings(vectors.inward_codes(np.arange(4000))).to_pylist()
    assert len(set(inward)) == 4000
    assert all(normalise_postcode(f"PE1 {code}") == f"PE1 {code}" for code in inward)


def test_dates_round_trip_and_format() -> None:
    days = np.array([0, 13_879, 14_259, 11_016])  # 1970-01-01, 2008-01-01, 2009-01-15, 2000-02-29
    y, m, d = vectors.ymd(days)
    assert np.array_equal(vectors.days_from_ymd(y, m, d), days)
    assert vectors.format_dates(y, m, d, "iso").to_pylist()[1:3] == ["2008-01-01", "2009-01-15"]
    assert vectors.format_dates(y, m, d, "dmy").to_pylist()[3] == "29/02/2000"
    assert vectors.format_dates(y, m, d, "compact").to_pylist()[0] == "19700101"
    assert vectors.days_in_month(np.array([2000, 2001]), np.array([2, 2])).tolist() == [29, 28]
