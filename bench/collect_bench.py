"""Collection benchmark: end-to-end `collect` (archive, validate, load) against a bare read of the same data.

    .venv/bin/python bench/collect_bench.py --rows 2000000 --pupils 200000

CSV and Parquet: key stage 2 results (valid UPNs), compared with DuckDB reading the file into a table.
Census XML: files of 1,000 pupils, compared with a bare lxml parse of the same files (DuckDB cannot read XML).
Every census pupil has an empty UPN, so every one is quarantined (the costliest path: quarantine, issues and a
report row per pupil).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
from lxml import etree

from pupildata.collect import Options, collect
from pupildata.collect.warehouse import ensure_tables
from pupildata.kernel.context import Context
from pupildata.kernel.identifiers import sql_upn_expected_letter
from pupildata.settings import Settings

BODY = "('874' || lpad((2000 + (i // 1000) % 1000)::VARCHAR, 4, '0') || '09' || lpad((i % 1000)::VARCHAR, 3, '0'))"
SELECT = (
    f"SELECT {sql_upn_expected_letter(chr(39) + 'A' + chr(39) + ' || b')} || b AS UPN, "
    "'Surname' || (i % 5000) AS Surname, "
    "'Forename' || (i % 300) AS Forenames, strftime(DATE '1997-09-01' + (i % 365)::INTEGER, '%d/%m/%Y') AS DOB, "
    "CASE WHEN i % 2 = 0 THEN 'M' ELSE 'F' END AS Gender, '8742001' AS LAEstab, '172001' AS URN, "
    "(['3','4','5','B','N'])[1 + i % 5] AS EnglishLevel, '4' AS MathsLevel, '5' AS ScienceLevel "
    f"FROM (SELECT i, {BODY} AS b FROM range(?) t(i))"
)
PUPIL = (
    "<Pupil><UPN/><Surname>Smith</Surname><Forename>Ann</Forename><DOB>2001-03-04</DOB><Gender>F</Gender>"
    "<Ethnicity>WBRI</Ethnicity><Language>ENG</Language><FSMeligible>false</FSMeligible><SENprovision>N</SENprovision>"
    "<NCyearActual>3</NCyearActual><Address><PostCode>PE1 1AA</PostCode></Address></Pupil>\n"
)


def _timed(step: object) -> float:
    start = time.perf_counter()
    step()  # type: ignore[operator]
    return time.perf_counter() - start


def _collect(home: Path, path: Path) -> tuple[float, dict[str, int]]:
    """Seconds to collect ``path`` into a new home, and the run's totals (a refused file must not pass for a load)."""
    with Context(Settings(home=home)) as ctx:
        # a warehouse in use: its tables and reference tables exist (made once per warehouse, not per collect)
        ensure_tables(ctx.warehouse)
        start = time.perf_counter()
        summary = collect(ctx, [path], Options())
        took = time.perf_counter() - start
    totals = summary.totals()
    assert totals["rejected"] == 0, totals
    assert totals["accepted"] + totals["quarantined"] == totals["records"], totals
    return took, totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--pupils", type=int, default=200_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="collect-bench-"))
    try:
        con = duckdb.connect()
        csv, parquet = work / "ks2.csv", work / "ks2.parquet"
        con.execute(f"COPY ({SELECT}) TO '{csv}' (HEADER)", [args.rows])
        con.execute(f"COPY ({SELECT}) TO '{parquet}' (FORMAT parquet)", [args.rows])
        census = work / "census"
        census.mkdir()
        for school in range(args.pupils // 1000):
            header = ("<?xml version='1.0' encoding='UTF-8'?>\n<SchoolCensus><Header><CollectionDetails>"
                      "<Term>SPR</Term>"
                      f"<Year>2009</Year></CollectionDetails><Source><LEA>874</LEA><Estab>{2000 + school}</Estab>"
                      "</Source></Header><Pupils>\n")  # fmt: skip
            (census / f"{8742000 + school}.xml").write_text(header + PUPIL * 1000 + "</Pupils></SchoolCensus>\n")
        bare_csv = _timed(
            lambda: con.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv('{csv}', all_varchar = true)")
        )
        bare_pq = _timed(lambda: con.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM read_parquet('{parquet}')"))
        bare_xml = _timed(lambda: [sum(1 for _ in etree.iterparse(str(f), tag="Pupil")) for f in census.iterdir()])
        rows = {"CSV": (args.rows, *_collect(work / "h1", csv), bare_csv),
                "Parquet": (args.rows, *_collect(work / "h2", parquet), bare_pq),
                "Census XML": (args.pupils, *_collect(work / "h3", census), bare_xml)}  # fmt: skip
        print(
            "| return | records | accepted | quarantined | collect s | records/s | bare read s | ratio collect/bare |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for name, (n, took, totals, bare) in rows.items():
            print(
                f"| {name} | {n:,} | {totals['accepted']:,} | {totals['quarantined']:,} | {took:.2f} | "
                f"{n / took:,.0f} | {bare:.2f} | {took / bare:.1f} |"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
