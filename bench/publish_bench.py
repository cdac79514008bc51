"""The whole release set at national scale: ``pupildata publish`` with every release, timed, with peak memory.

    .venv/bin/python bench/publish_bench.py --work /tmp/publish-bench [--time-limit S]

The warehouse is made once into ``--work`` and reused by later runs:

1. ``pupildata synth`` (``pupildata.synth.generate``) at ``--scale`` (national: all 150 LAs) for ``--years``
   (2006/07 to 2008/09, as the demo: three years give every release its latest year, and the post-16 cohort ages
   16 and 17; progress between key stages needs results five years apart and is published as ``x``);
2. the real collection (``pupildata.collect.collect``) of each year's returns in turn — every rule, the load,
   receipts and reports — into the warehouse of ``--work/home``; the archived copies are deleted after each year
   (the benchmark does not need them, and they would double the disk used);
3. matching is **not** run: ``link_member`` gives each collected record the generator's true person as its PMR
   (``pupildata.link.inputs.truth_sql``), as if matching were perfect.

What is timed is the command ``pupildata publish --json`` in a child process on that home, with DuckDB's threads
set by ``--threads``: the contract tables (``install_release_inputs`` from the collected records and the spine),
every release's tables, primary and secondary suppression, the LP audit of everything each release publishes,
the files and the registry's runs. Prints one JSON object: seconds and peak RSS of the command, and per release
its seconds, cells, primary and secondary cells, whether its pattern is proven optimal, and its audit; and
``stages``, the seconds of each stage summed over the releases (``contract_tables``, made once; ``tables``,
built in the command's process; ``problem``, ``suppression``, ``audit`` and ``files``, in the worker processes
that overlap them; ``write``), each release's own under ``releases``. The contract tables are built afresh unless
``--reuse-contract-tables`` (a publish whose inputs are unchanged since the last keeps them). ``--releases``
publishes only those named. Exits 1 when the target (``--target`` seconds) is missed or a release is not
published.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TARGET_SECONDS = 120.0


def _synth(work: Path, scale: str, years: str, workers: int) -> Path:
    from pupildata.synth import generate, make_config

    folder = work / "synth"
    if not (folder / "manifest.json").is_file():
        generate(make_config(scale, None, years, 2009, folder, workers=workers), folder)
    return folder


def _field(tag: str, text: str = "p") -> str:
    return f"nullif(regexp_extract({text}, '<{tag}>([^<]*)</{tag}>', 1), '')"


def _census(engine: Any, folder: Path, year: str) -> int:
    """Load one year's census files into ``collect_census`` straight from the XML, one receipt per file.

    Every record is accepted (no rule is run); fields are taken as sent, as the generator already writes them in
    the collection's codes. Record numbers start at 1, as collection numbers them.
    """
    path = folder.resolve().as_posix().replace("'", "''")
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE bench_file AS "
        "SELECT f.path AS file, f.sha256, f.bytes, f.records, "
        "(SELECT coalesce(max(receipt_id), 0) FROM collect_receipt) + row_number() OVER (ORDER BY f.path) AS rid "
        f"FROM (SELECT unnest(files) AS f FROM read_json('{path}/manifest.json', maximum_object_size = 1073741824)) "
        "WHERE f.source = 'census' AND f.path LIKE $prefix",
        {"prefix": f"{year}/census/%"},
    )
    engine.execute(f"""
        CREATE OR REPLACE TEMP TABLE bench_census AS
        WITH files AS (
            SELECT regexp_extract(filename, '([0-9]{{4}}-[0-9]{{2}}/census/[^/]+)$', 1) AS file,
                   {_field("LEA", "content")} || {_field("Estab", "content")} AS laestab,
                   {_field("SchoolName", "content")} AS school_name, {_field("Term", "content")} AS term,
                   CAST({_field("Year", "content")} AS INTEGER) AS collection_year,
                   TRY_CAST({_field("ReferenceDate", "content")} AS DATE) AS reference_date,
                   regexp_extract_all(content, '(?s)<Pupil>(.*?)</Pupil>', 1) AS pupils
            FROM read_text('{path}/{year}/census/*.xml')),
        pupils AS (
            SELECT * EXCLUDE (pupils), unnest(pupils) AS p, generate_subscripts(pupils, 1) AS idx FROM files)
        SELECT b.rid AS receipt_id, idx AS record_index,
               'census-' || collection_year || '-' || lower(term) AS collection, laestab, school_name,
               term AS collection_term, collection_year, reference_date,
               upper({_field("UPN")}) AS upn, TRY_CAST({_field("DOB")} AS DATE) AS dob, {_field("Gender")} AS gender,
               {_field("Ethnicity")} AS ethnicity, {_field("Language")} AS first_language,
               TRY_CAST({_field("FSMeligible")} AS BOOLEAN) AS fsm_eligible,
               {_field("SENprovision")} AS sen_provision, {_field("NCyearActual")} AS nc_year,
               TRY_CAST({_field("EntryDate")} AS DATE) AS entry_date
        FROM pupils JOIN bench_file b USING (file)""")
    engine.execute("""
        INSERT INTO collect_census (receipt_id, record_index, collection, sender, laestab, school_name,
            collection_term, collection_year, reference_date, upn, dob, gender, ethnicity, first_language,
            fsm_eligible, sen_provision, nc_year, entry_date)
        SELECT receipt_id, record_index, collection, laestab, laestab, school_name, collection_term, collection_year,
               reference_date, upn, dob, gender, ethnicity, first_language, fsm_eligible, sen_provision, nc_year,
               entry_date
        FROM bench_census""")
    engine.execute("""
        INSERT INTO collect_receipt (receipt_id, sha256, file_name, size_bytes, source, format, collection, sender,
            received_at, status, records, accepted)
        SELECT b.rid, b.sha256, regexp_extract(b.file, '[^/]*$'), b.bytes, 'census', 'xml', any_value(c.collection),
               any_value(c.laestab), now(), 'accepted', count(*), count(*)
        FROM bench_file b JOIN bench_census c ON c.receipt_id = b.rid
        GROUP BY b.rid, b.sha256, b.file, b.bytes""")
    loaded = int(engine.scalar("SELECT count(*) FROM bench_census"))
    engine.execute("DROP TABLE bench_census")
    engine.execute("DROP TABLE bench_file")
    return loaded


def _warehouse(work: Path, folder: Path) -> dict[str, Any]:
    """Collect ``folder`` into ``work/home`` and make a perfect spine; cached by ``home/made.json``."""
    from pupildata.collect import Options, collect
    from pupildata.kernel.context import Context
    from pupildata.link import inputs, spine
    from pupildata.settings import Settings

    home = work / "home"
    made = home / "made.json"
    if made.is_file():
        cached: dict[str, Any] = json.loads(made.read_text(encoding="utf-8"))
        return cached
    shutil.rmtree(home, ignore_errors=True)
    settings = Settings(home=home)
    facts: dict[str, Any] = {}
    years = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name[:4].isdigit())
    with Context(settings) as ctx:
        start = time.perf_counter()
        returns = [folder / y / s for y in years for s in ("ks", "ncmp", "post16") if (folder / y / s).is_dir()]
        facts["collected"] = collect(ctx, returns, Options()).totals()
        shutil.rmtree(settings.archive_dir, ignore_errors=True)
        facts["collect_seconds"] = round(time.perf_counter() - start, 1)
        engine = ctx.warehouse
        start = time.perf_counter()
        with engine.transaction():
            facts["census_records"] = sum(_census(engine, folder, y) for y in years)
        facts["census_seconds"] = round(time.perf_counter() - start, 1)
        start = time.perf_counter()
        spine.create_live(engine)
        engine.execute(
            "INSERT INTO link_member (record_key, pmr, how) "
            f"SELECT record_key, 'P' || CAST(person_id AS VARCHAR), 'truth' FROM ({inputs.truth_sql(engine, folder)})"
        )
        facts["spine_seconds"] = round(time.perf_counter() - start, 1)
        facts["spine_records"] = int(engine.scalar("SELECT count(*) FROM link_member"))
    made.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    return facts


def _release(result: dict[str, Any]) -> dict[str, Any]:
    facts = result["disclosure"]
    out: dict[str, Any] = {"seconds": facts.get("seconds"), "stages": result.get("stages", {})}
    for part in ("counts", "magnitudes"):
        if part in facts:
            p = facts[part]
            out[part] = {
                k: p[k]
                for k in ("cells", "primary", "secondary", "proven_optimal", "gap", "suppression_seconds", "audit")
                if k in p
            }
            parts = p.get("parts", [])
            out[part]["parts"] = len(parts)
            out[part]["parts_proven_optimal"] = sum(1 for q in parts if q["proven_optimal"])
            out[part]["largest_part_gap"] = max((q["gap"] for q in parts), default=0.0)
    if result.get("notes"):
        out["notes"] = len(result["notes"])
    return out


def _forget_contract_tables(home: Path) -> None:
    """Make the timed command build the contract tables again, as the first publish after matching does."""
    import duckdb

    from pupildata.publish.inputs import STATE

    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(f"DROP TABLE IF EXISTS {STATE}")


def _stages(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Seconds of each stage over the releases (the contract tables once): where the time goes."""
    total: dict[str, float] = {}
    for r in results:
        for stage, seconds in r.get("stages", {}).items():
            total[stage] = round(total.get(stage, 0.0) + seconds, 1)
    made = results[0].get("contract_tables", {}) if results else {}
    return {"contract_tables": made.get("seconds"), "contract_tables_reused": made.get("reused"), **total}


def _publish(home: Path, threads: int, releases: list[str]) -> dict[str, Any]:
    command = [str(Path(sys.executable).parent / "pupildata"), "publish", *releases, "--home", str(home), "--json"]
    env = {**os.environ, "PUPILDATA_WAREHOUSE_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"pupildata publish failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    results = json.loads(done.stdout)
    return {
        "seconds": round(seconds, 1),
        "peak_rss_gb": round(peak, 2),
        "stages": _stages(results),
        "releases": {r["release"]: _release(r) for r in results},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("publish-bench"))
    parser.add_argument("--scale", default="national")
    parser.add_argument("--years", default="2006/07..2008/09")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--target", type=float, default=TARGET_SECONDS)
    parser.add_argument("--prepare-only", action="store_true", help="Make (or check) the warehouse and stop.")
    parser.add_argument("--releases", nargs="*", default=[], help="Publish only these releases (default: all).")
    parser.add_argument(
        "--reuse-contract-tables",
        action="store_true",
        help="Keep the contract tables when their inputs are unchanged (default: build them, as after matching).",
    )
    parser.add_argument(
        "--time-limit", type=float, help="disclosure.solver_time_limit_seconds for the run (default: the policy's)."
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()
    folder = _synth(args.work, args.scale, args.years, args.threads)
    warehouse = _warehouse(args.work, folder)
    prepared = time.perf_counter() - clock
    result: dict[str, Any] = {"scale": args.scale, "years": args.years, "threads": args.threads}
    result["prepare_seconds"] = round(prepared, 1)
    result["warehouse"] = warehouse
    if args.prepare_only:
        print(json.dumps(result, indent=2))
        return 0
    policy = args.work / "home" / "policy.toml"
    policy.unlink(missing_ok=True)
    if args.time_limit is not None:
        policy.write_text(f"[disclosure]\nsolver_time_limit_seconds = {args.time_limit}\n", encoding="utf-8")
        result["solver_time_limit_seconds"] = args.time_limit
    if not args.reuse_contract_tables:
        _forget_contract_tables(args.work / "home")
    result["releases_asked"] = args.releases or "all"
    result |= _publish(args.work / "home", args.threads, args.releases)
    result["target_seconds"] = args.target
    result["target_met"] = result["seconds"] <= args.target
    print(json.dumps(result, indent=2))
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
