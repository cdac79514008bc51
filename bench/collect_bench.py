"""Collection benchmark: end-to-end `collect` (archive, validate, load) against a bare read of the same data.

    .venv/bin/python bench/collect_bench.py --rows 2000000 --pupils 200000

CSV and Parquet: key stage 2 results (valid UPNs), compared with DuckDB reading the file into a table.
Census XML: files of 1,000 pupils, compared with a bare lxml parse of the same files (DuckDB cannot read XML),
twice: valid returns (every pupil accepted: the normal case), and returns whose every pupil has an empty UPN, so
that every one is quarantined (the costliest path: quarantine, issues and a report row per pupil).

Each return also gets a floor, timed in the same run: the least any collection on this engine could take on this
machine, with no archive and no check. For CSV and Parquet, DuckDB loading the file, with the types it detects,
into a table of a new database file, closed (so written); for the census, the collection's own reader (libxml2's
well-formedness check and a parse about 1.6 times as fast as lxml's bare one) parsing the files in two processes,
one per core, and DuckDB writing the records into a table of a new database file, closed. Where the floor alone
reads fewer records per second than the target, no code can meet the target on this machine, and the verdict
says so.

The warehouse and the registry are set up before the clock starts (the warehouse's tables and reference tables,
made once per warehouse; the registry's schema, made once per registry), as in a service in use.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from pupildata.kernel.identifiers import make_upn, sql_upn_expected_letter

# The rest is imported where used: census files are parsed in worker processes, which import this module first,
# as they would import the ``pupildata`` command (which imports little).

# a UPN of its own for each of up to 10 million rows (an establishment number per 1,000 pupils)
BODY = "('874' || lpad(((i // 1000) % 10000)::VARCHAR, 4, '0') || '09' || lpad((i % 1000)::VARCHAR, 3, '0'))"
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


def _census_files(folder: Path, pupils: int, *, valid: bool) -> None:
    """Files of 1,000 pupils, one per school: each pupil with a UPN of its own (valid) or none."""
    folder.mkdir()
    for school in range(pupils // 1000):
        header = ("<?xml version='1.0' encoding='UTF-8'?>\n<SchoolCensus><Header><CollectionDetails>"
                  "<Term>SPR</Term>"
                  f"<Year>2009</Year></CollectionDetails><Source><LEA>874</LEA><Estab>{2000 + school}</Estab>"
                  f"<URN>{100000 + school}</URN></Source></Header><Pupils>\n")  # fmt: skip
        if valid:
            body = "".join(
                PUPIL.replace("<UPN/>", f"<UPN>{make_upn(874, 2000 + school, 2004 + i // 1000, i % 1000)}</UPN>")
                for i in range(1000)
            )
        else:
            body = PUPIL * 1000
        (folder / f"{8742000 + school}.xml").write_text(header + body + "</Pupils></SchoolCensus>\n")


def _machine_cpu() -> float | None:
    """CPU-seconds the whole machine has spent busy (every process: this one, the parse workers, the kernel's
    flushes), from /proc/stat; None where there is none. On a machine shared with others, wall time varies with
    the neighbours, and the CPU a run takes is the steadier figure to compare."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


#: The targets, in records (pupils for the census) per second, on 2 cores.
TARGETS = {"CSV": 1_000_000, "Parquet": 1_000_000, "Census": 200_000}


def _parse_rows(path: Path) -> object:
    """A census file's records as the collection's own reader gives them (the census's floor, in a worker): an
    Arrow table of the texts, with libxml2's check that the file is well-formed, but no archive and no rule."""
    from pupildata.collect.readers.census_xml import parse_census

    return parse_census(path).table


def _floor_census(pool: object, folder: Path, work: Path) -> float:
    """Seconds for the collection's reader to parse every file of ``folder`` on both cores, and DuckDB to write
    the records into a table of a new database file, closed: the census's read and write, with nothing else."""
    import duckdb
    import pyarrow as pa

    db = work / "floor.duckdb"
    start = time.perf_counter()
    tables = pool.map(_parse_rows, sorted(folder.iterdir()), chunksize=4)  # type: ignore[attr-defined]
    records = pa.concat_tables(tables)  # noqa: F841 - read by DuckDB by its name
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT * FROM records")
    con.close()
    took = time.perf_counter() - start
    db.unlink()
    return took


def _floor_load(work: Path, read: str) -> float:
    """Seconds for DuckDB to load ``read`` (a table function) into a table of a new database file, closed."""
    import duckdb

    db = work / "floor.duckdb"
    start = time.perf_counter()
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE t AS SELECT * FROM {read}")
    con.close()
    took = time.perf_counter() - start
    db.unlink()
    return took


def _machine() -> str:
    """What the figures were taken on: cores, processor, load, and the engine's and parser's versions."""
    import platform

    import duckdb
    from lxml import etree

    cpuinfo = _read("/proc/cpuinfo").splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    model = models[0] if models else platform.processor() or platform.machine()
    load = " ".join(_read("/proc/loadavg").split()[:3]) or "unknown"
    lxml = ".".join(map(str, etree.LXML_VERSION[:3]))
    return f"machine: {os.cpu_count()} cores ({model}), load average {load}; DuckDB {duckdb.__version__}, lxml {lxml}"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _verdict(name: str, records_per_second: float, floor_per_second: float) -> str:
    target = TARGETS[name.split(" ", 1)[0]]
    if records_per_second >= target:
        return f"{name}: {target:,}/s met"
    if floor_per_second < target:
        return (
            f"{name}: {target:,}/s not met, and out of reach on this machine: its floor alone is "
            f"{floor_per_second:,.0f}/s"
        )
    return f"{name}: {target:,}/s not met (its floor here is {floor_per_second:,.0f}/s)"


def _timed(step: object) -> float:
    start = time.perf_counter()
    step()  # type: ignore[operator]
    return time.perf_counter() - start


def _collect(home: Path, path: Path, accepted: int) -> tuple[float, float | None, dict[str, int]]:
    """Seconds to collect ``path`` into a new home, and the run's totals (a refused file must not pass for a load,
    nor a return quarantined for one accepted: ``accepted`` records are)."""
    from pupildata.collect import Options, collect
    from pupildata.collect.warehouse import ensure_tables
    from pupildata.kernel.context import Context
    from pupildata.settings import Settings

    with Context(Settings(home=home)) as ctx:
        # a service in use: the warehouse's tables and reference tables exist (made once per warehouse, not per
        # collect), and so does the registry's schema
        ensure_tables(ctx.warehouse)
        assert ctx.registry.revision() is not None
        cpu = _machine_cpu()
        start = time.perf_counter()
        summary = collect(ctx, [path], Options())
        took = time.perf_counter() - start
        after = _machine_cpu()
        used = after - cpu if after is not None and cpu is not None else None
    totals = summary.totals()
    assert totals["rejected"] == 0, totals
    assert totals["accepted"] + totals["quarantined"] == totals["records"], totals
    assert totals["accepted"] == accepted, totals
    return took, used, totals


def main() -> None:
    import multiprocessing

    import duckdb
    from lxml import etree

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--pupils", type=int, default=200_000)
    parser.add_argument(
        "--only", action="append", help="run only these returns: csv, parquet, census (comma-separated or repeated)"
    )
    args = parser.parse_args()
    only = {kind for given in args.only or ["csv,parquet,census"] for kind in given.split(",")}
    if not only <= {"csv", "parquet", "census"}:
        parser.error(f"--only takes csv, parquet and census, not {', '.join(sorted(only))}")
    print(_machine())
    work = Path(tempfile.mkdtemp(prefix="collect-bench-"))
    try:
        con = duckdb.connect()
        rows: dict[str, tuple[int, float, float | None, dict[str, int], float, float]] = {}
        if "csv" in only:
            csv = work / "ks2.csv"
            con.execute(f"COPY ({SELECT}) TO '{csv}' (HEADER)", [args.rows])
            bare = _timed(
                lambda: con.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv('{csv}', all_varchar = true)")
            )
            floor = _floor_load(work, f"read_csv('{csv}')")
            rows["CSV"] = (args.rows, *_collect(work / "h1", csv, args.rows), bare, floor)
        if "parquet" in only:
            parquet = work / "ks2.parquet"
            con.execute(f"COPY ({SELECT}) TO '{parquet}' (FORMAT parquet)", [args.rows])
            bare = _timed(lambda: con.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM read_parquet('{parquet}')"))
            floor = _floor_load(work, f"read_parquet('{parquet}')")
            rows["Parquet"] = (args.rows, *_collect(work / "h2", parquet, args.rows), bare, floor)
        if "census" in only:
            valid, empty = work / "census-valid", work / "census-no-upn"
            _census_files(valid, args.pupils, valid=True)
            _census_files(empty, args.pupils, valid=False)
            bare_xml = _timed(lambda: [sum(1 for _ in etree.iterparse(str(f), tag="Pupil")) for f in valid.iterdir()])
            bare_empty = _timed(lambda: [sum(1 for _ in etree.iterparse(str(f), tag="Pupil")) for f in empty.iterdir()])
            # the floor: the collection's own reader on both cores (faster than lxml's bare parse), the records
            # written to a new database file (the processes started before the clock, as the collection's parse
            # workers are started once per run)
            with multiprocessing.get_context("spawn").Pool(2) as pool:
                pool.map(_parse_rows, [next(valid.iterdir())] * 2)
                floors = [_floor_census(pool, folder, work) for folder in (valid, empty)]
            rows["Census XML, valid"] = (args.pupils, *_collect(work / "h3", valid, args.pupils), bare_xml, floors[0])
            rows["Census XML, all quarantined"] = (
                args.pupils,
                *_collect(work / "h4", empty, 0),
                bare_empty,
                floors[1],
            )
        print(
            "| return | records | accepted | quarantined | collect s | records/s | bare read s | ratio collect/bare "
            "| machine CPU s | floor s | floor records/s | ratio collect/floor |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name, (n, took, cpu, totals, bare, floor) in rows.items():
            print(
                f"| {name} | {n:,} | {totals['accepted']:,} | {totals['quarantined']:,} | {took:.2f} | "
                f"{n / took:,.0f} | {bare:.2f} | {took / bare:.1f} | {'' if cpu is None else f'{cpu:.2f}'} | "
                f"{floor:.2f} | {n / floor:,.0f} | {took / floor:.1f} |"
            )
        print()
        for name, (n, took, _cpu, _totals, _bare, floor) in rows.items():
            print(_verdict(name, n / took, n / floor))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
