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
