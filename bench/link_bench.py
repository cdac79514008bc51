"""Matching benchmark: our pipeline (deterministic pass, a model trained per source pair from it, candidate pairs
scored in SQL) against a plain Splink run on the same inputs: the same normalisation and comparisons, Splink's own
training (u from random pairs, EM capped at about a million pairs), every record through ``predict()`` on the
model's blocking rules (``--peer-rules candidate``: on our candidate rules; ``both``: a run of each), clustered
at 0.95, no deterministic pass.

    .venv/bin/python bench/link_bench.py --pupils 400000 --threads 2 --work /tmp/link-bench

Generates one synthetic academic year (2008/09) with ``pupildata synth``, builds ``link_record`` from it, then
runs each contender in a child process of its own (so peak RSS is measured per contender), with DuckDB limited to
``--threads`` threads (and to ``--memory-limit`` when given). F1 is measured on pairs of records against the
synthetic truth. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import time
from pathlib import Path
from typing import Any


def _prepare(work: Path, pupils: int) -> Path:
    from pupildata.kernel.engine import DuckDBEngine
    from pupildata.link import synthetic
    from pupildata.synth import generate, make_config

    folder = work / "synth"
    if not (folder / "manifest.json").is_file():
        config = make_config("national", pupils, "2008/09", 2009, folder, workers=1)
        generate(config, folder)
    records = work / "link_record.parquet"
    if not records.is_file():
        engine = DuckDBEngine()
        synthetic.load(engine, folder)
        engine.execute(f"COPY link_record TO '{records.as_posix()}' (FORMAT parquet)")
        engine.execute(
            f"COPY ({synthetic.truth_sql(folder)}) TO '{(work / 'truth.parquet').as_posix()}' (FORMAT parquet)"
        )
        engine.close()
    return records


def _ours(db: str, records: str, threads: int, memory: str | None) -> dict[str, Any]:
    from pupildata.kernel.engine import DuckDBEngine
    from pupildata.kernel.pseudonyms import KeyStore
    from pupildata.link import pipeline

    engine = DuckDBEngine(db, threads=threads, memory_limit=memory)
    engine.execute(f"CREATE OR REPLACE TABLE link_record AS SELECT * FROM read_parquet('{records}')")
    start = time.perf_counter()
    counts = pipeline.link_engine(engine, KeyStore(Path(db).parent / "keys").key("spine"), 1)
    elapsed = time.perf_counter() - start
    engine.execute("CREATE OR REPLACE TABLE bench_cluster AS SELECT record_key, pmr AS cluster FROM link_member")
    engine.close()
    counts.pop("review", None)
    return {"seconds": round(elapsed, 1), "counts": counts}


def _plain(db: str, records: str, threads: int, memory: str | None, rules: str = "splink") -> dict[str, Any]:
    import logging

    from splink import DuckDBAPI, Linker

    from pupildata.kernel.engine import DuckDBEngine
    from pupildata.link import model, normalise

    logging.getLogger("splink").setLevel(logging.ERROR)
    engine = DuckDBEngine(db, threads=threads, memory_limit=memory)
    engine.execute("SET max_temp_directory_size = '15GB'")  # spilling must not fill a shared disk
    engine.execute(f"CREATE OR REPLACE TABLE link_record AS SELECT * FROM read_parquet('{records}')")
    start = time.perf_counter()
    normalise.install_forename_groups(engine)
    engine.execute(f"CREATE OR REPLACE TABLE plain_norm AS {normalise.normal_select('link_record')}")
    db_api = DuckDBAPI(connection=engine.connection.cursor())
    blocking = model.candidate_rules() if rules == "candidate" else None
    linker = Linker(db_api.register("plain_norm", dataset_display_name="plain"), model.settings(rules=blocking))
    model.train(linker, em_max_pairs=model.EM_MAX_PAIRS)  # EM capped: a peer, not a handicap
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.95)
    engine.execute(
        "CREATE OR REPLACE TABLE bench_cluster AS SELECT record_key, cluster_id AS cluster "
        f"FROM {clusters.physical_name}"
    )
    elapsed = time.perf_counter() - start
    engine.close()
    return {"seconds": round(elapsed, 1)}


def _child(name: str, db: str, records: str, threads: int, memory: str | None, queue: Any) -> None:
    if name == "ours":
        result = _ours(db, records, threads, memory)
    else:
        try:
            result = _plain(db, records, threads, memory, "candidate" if name == "plain_candidate" else "splink")
        except Exception as error:  # a peer that cannot finish on this machine (e.g. out of disk for spilling)
            queue.put({"failed": f"{type(error).__name__}: {str(error)[:300]}"})
            return
    result["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2)
    queue.put(result)


def _result(queue: Any, process: Any, name: str, deadline: float | None = None) -> dict[str, Any] | None:
    """The child's result; None when the child is still running at ``deadline`` (it is then stopped); the
    benchmark stops with one line if the child died without one."""
    import queue as queues

    while True:
        try:
            result: dict[str, Any] = queue.get(timeout=5)
            return result
        except queues.Empty:
            if deadline is not None and time.perf_counter() > deadline:
                process.kill()
                process.join()
                return None
            if not process.is_alive():
                raise SystemExit(
                    f"The '{name}' contender stopped without a result (exit code {process.exitcode})."
                ) from None


def _f1(db: str, truth: str) -> dict[str, float]:
    from pupildata.kernel.engine import DuckDBEngine

    engine = DuckDBEngine(db)
    tp, predicted, true_ = engine.fetchone(
        f"""
        WITH t AS (SELECT c.record_key, c.cluster, t.person_id FROM bench_cluster c
                   JOIN read_parquet('{truth}') t USING (record_key)),
        keys AS (SELECT a.record_key AS ka, b.record_key AS kb FROM t a JOIN t b
                   ON a.cluster = b.cluster AND a.record_key < b.record_key
                 UNION SELECT a.record_key, b.record_key FROM t a JOIN t b
                   ON a.person_id = b.person_id AND a.record_key < b.record_key)
        SELECT count(*) FILTER (WHERE a.cluster = b.cluster AND a.person_id = b.person_id),
               count(*) FILTER (WHERE a.cluster = b.cluster), count(*) FILTER (WHERE a.person_id = b.person_id)
        FROM keys JOIN t a ON a.record_key = ka JOIN t b ON b.record_key = kb
        """
    ) or (0, 1, 1)
    engine.close()
    precision, recall = tp / predicted, tp / true_
    return {
        "precision": round(precision, 6),
        "recall": round(recall, 6),
        "f1": round(2 * precision * recall / (precision + recall), 6),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=400_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--memory-limit", help="DuckDB's memory limit for each contender, e.g. 10GB (default: DuckDB's)."
    )
    parser.add_argument("--work", type=Path, default=Path("link-bench"))
    parser.add_argument("--skip-plain", action="store_true", help="Only our pipeline (when the peer cannot finish).")
    parser.add_argument(
        "--peer-rules",
        choices=("splink", "candidate", "both"),
        default="splink",
        help="What the plain peer blocks on: the model's Splink blocking rules (default), our candidate rules, "
        "or a run of each ('plain' and 'plain_candidate').",
    )
    parser.add_argument(
        "--peer-budget",
        type=float,
        help="Stop a peer still running after this many times our time (e.g. 2.0): the ratio is then reported "
        "as below 1/budget, for inputs where the peer would take far longer than the machine allows.",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()
    records = _prepare(args.work, args.pupils)
    prepared = time.perf_counter() - clock
    results: dict[str, Any] = {"pupils": args.pupils, "threads": args.threads, "prepare_seconds": round(prepared, 1)}
    if args.memory_limit:
        results["memory_limit"] = args.memory_limit
    context = multiprocessing.get_context("spawn")
    peers = {"splink": ["plain"], "candidate": ["plain_candidate"], "both": ["plain", "plain_candidate"]}
    for name in ["ours", *([] if args.skip_plain else peers[args.peer_rules])]:
        folder = args.work / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        db = str(folder / "warehouse.duckdb")
        queue = context.Queue()
        process = context.Process(
            target=_child, args=(name, db, records.as_posix(), args.threads, args.memory_limit, queue)
        )
        process.start()
        deadline = None
        if name != "ours" and args.peer_budget:
            deadline = time.perf_counter() + args.peer_budget * results["ours"]["seconds"]
        result = _result(queue, process, name, deadline)
        if result is None:
            budget = round(args.peer_budget * results["ours"]["seconds"], 1)
            results[name] = {"stopped_unfinished_after_seconds": budget}
            results[f"time_ratio_{name}"] = f"< {round(1 / args.peer_budget, 3)}"
            continue
        process.join()
        if "failed" in result:
            results[name] = result
            continue
        result.update(_f1(db, (args.work / "truth.parquet").as_posix()))
        results[name] = result
    for peer in ("plain", "plain_candidate"):
        if peer in results and "seconds" in results[peer]:
            ratio = "time_ratio" if peer == "plain" else "time_ratio_candidate"
            results[ratio] = round(results["ours"]["seconds"] / results[peer]["seconds"], 3)
    results["records"] = results["ours"]["counts"]["records"]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
