"""The fast SQL forms of the rules agree with the kernel's checks and with the expressions they replace."""

from __future__ import annotations

import random
import re
from datetime import date, datetime

import duckdb
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pupildata.collect.rules import date_sql
from pupildata.kernel.identifiers import UPN_LETTERS, check_upn, make_upn, sql_upn_digits, sql_upn_valid_cleaned


def _upns() -> list[str]:
    rng = random.Random(7)
    values = [make_upn(rng.randint(201, 938), rng.randint(1000, 7999), rng.randint(0, 99), rng.randint(0, 999))
              for _ in range(400)]  # fmt: skip
    mutated = []
    for value in values[:300]:
        i = rng.randrange(13)
        mutated.append(value[:i] + rng.choice("0123456789" + UPN_LETTERS + "IOS a-+") + value[i + 1 :])
    odd = ["", "A", "A12345678901", "A1234567890123", "I80120000100A", "A+1234567890A", "A 1234567890A",
           "A1234567890١A", "A12345_678901", "H801200001002", "A123456789012", "A12345678901Ⅰ"]  # fmt: skip
    return values + mutated + odd


def test_the_upn_check_in_sql_agrees_with_the_kernel() -> None:
    values = _upns()
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (upn VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
        rows = con.execute(
            f"SELECT upn, coalesce({sql_upn_valid_cleaned('upn')}, false), "
            f"coalesce({sql_upn_valid_cleaned('upn', 'd')}, false) "
            f"FROM (SELECT upn, {sql_upn_digits('upn')} AS d FROM t)"
        ).fetchall()
    for upn, plain, with_digits in rows:
        assert plain == with_digits == check_upn(upn).valid, upn


def test_a_mandatory_date_number_or_boolean_looks_at_its_text_only_when_its_typed_value_is_null() -> None:
    """The cheaper test (the text looked at only when the typed value is NULL) gives what testing the text of
    every record gives, for every kind typed from the trimmed text."""
    from pupildata.collect import rules
    from pupildata.collect.checks import typed_sql
    from pupildata.collect.schemas import Field, Kind

    texts = ["", " ", "   ", "\u00a0", "\u2003x\u2003", "\t", "x", "0", "1", "true", "no", "2001-01-01",
             " 01/02/2003 ", "20010101", "31/02/2001", "1.5", "-3", None]  # fmt: skip
    with duckdb.connect() as con:
        for kind in (Kind.date, Kind.integer, Kind.decimal, Kind.boolean):
            field = Field("v", "V", kind)
            cheap = rules.mandatory("X-01", "v", "V", typed_from_trimmed=True).predicate
            every = rules.mandatory("X-01", "v", "V").predicate
            rows = con.execute(
                f"SELECT r_v, {cheap}, {every} FROM (SELECT r_v, {typed_sql(field)} AS v "
                "FROM (SELECT unnest($texts) AS r_v) s)",
                {"texts": texts},
            ).fetchall()
            assert len(rows) == len(texts)
            for text, fast, slow in rows:
                assert fast == slow, (kind, text)


def test_a_length_rule_behind_its_guard_counts_characters_not_bytes() -> None:
    """The length rules run behind one test of their guards (the length in bytes): a text long in bytes but
    not in characters passes, one character too many fails, and the bits are those of the rules."""
    from pupildata.collect import rules
    from pupildata.collect.checks import mask_sql

    short = rules.max_length("X-04", "a", "A", 3)
    long = rules.max_length("Y-04", "b", "B", 100)
    other = rules.Rule("Z-01", rules.Severity.error, "c", "C", predicate="r_c = 'bad'")
    values = [("abc", "é" * 100, "ok", 0), ("abcd", "x", "ok", 1), ("é" * 3, "é" * 101, "bad", 2 | 4),
              ("ab", "x" * 101, "ok", 2), (None, None, None, 0), ("ééé", "", "bad", 4)]  # fmt: skip
    with duckdb.connect() as con:
        mask = mask_sql([short, long, other], 0)
        for a, b, c, expected in values:
            got = con.execute(f"SELECT {mask} FROM (SELECT $a AS r_a, $b AS r_b, $c AS r_c)", {"a": a, "b": b, "c": c})
            assert got.fetchone() == (expected,), (a, b, c)


#: Year 0, which Python's dates do not have: DuckDB reads it as 1 BC (and the rules on dates' ranges refuse it).
YEAR_ZERO = "year 0"


def _python_date(text: str) -> date | str | None:
    """What ``date_sql`` should read ``text`` as: one of the forms of ``DATE_FORMATS``, trimmed, or nothing."""
    text = text.strip()
    year = text[-4:] if "/" in text else text[:4]
    if year == "0000" and re.fullmatch(r"[\d/ T:-]+", text):
        parsed = _python_date(text.replace("0000", "2000", 1))  # the same day and month in a leap year
        return YEAR_ZERO if parsed is not None else None
    forms = {
        r"\d{4}-\d{2}-\d{2}": "%Y-%m-%d",
        r"\d{1,2}/\d{1,2}/\d{4}": "%d/%m/%Y",
        r"\d{8}": "%Y%m%d",
        r"\d{4}-\d{2}-\d{2}[ T]00:00:00": "%Y-%m-%d",
    }
    for pattern, form in forms.items():
        if re.fullmatch(pattern, text, flags=re.ASCII):
            try:
                return datetime.strptime(text[:10] if len(text) == 19 else text, form).date()
            except ValueError:
                return None
    return None


_DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
_WRITTEN = st.one_of(
    _DAYS.map(lambda d: d.isoformat()),
    _DAYS.map(lambda d: f"{d.day}/{d.month}/{d.year}"),
    _DAYS.map(lambda d: f"{d:%d/%m/%Y}"),
    _DAYS.map(lambda d: f"{d:%Y%m%d}"),
    _DAYS.map(lambda d: f"{d.isoformat()} 00:00:00"),
    _DAYS.map(lambda d: f"{d.isoformat()}T00:00:00"),
    _DAYS.map(lambda d: f"{d.isoformat()} 13:45:00"),  # a time that is not midnight: no date
    st.text(alphabet="0123456789-/T :", max_size=20),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_WRITTEN, min_size=1, max_size=40))
@example(["1/1/0000", "00000101", "0000-02-29 00:00:00", "29/02/2001", "2001-02-28T00:00:00", " 2001-02-28 "])
def test_a_date_is_read_in_each_form_the_guide_gives_and_no_other(texts: list[str]) -> None:
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (i INTEGER, raw VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
        read = dict(con.execute(f"SELECT i, {date_sql('raw')} FROM t").fetchall())
    for i, text in enumerate(texts):
        expected = _python_date(text)
        if expected == YEAR_ZERO:
            assert str(read[i]).endswith("(BC)"), text
        else:
            assert read[i] == expected, text
