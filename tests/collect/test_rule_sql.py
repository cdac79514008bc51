"""The fast SQL forms of the rules agree with the kernel's checks and with the expressions they replace."""

from __future__ import annotations

import random

import duckdb

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
