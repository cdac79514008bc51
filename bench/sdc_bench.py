"""Benchmark: optimal secondary suppression and the full audit, against pytauargus's OPT on the same table.

The table: 135 local authorities in 9 regions × 14 year groups × sex, with national, regional and local totals
(6,525 cells, 3,060 additivity constraints), counts drawn from a negative binomial around a lognormal size per
authority (seed fixed) so that many cells are small; minimum frequency 10, protection 10% of the threshold
(tau-Argus FREQ(10,10): one unit either way). Both tools see the same cells and the same primary cells.

    uv sync --frozen --group bench
    .venv/bin/python bench/sdc_bench.py [--seed 2009] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time

import numpy as np

from pupildata.publish.sdc import Dimension, MinFrequency, Table, apply_rules, audit, build_problem, suppress

REGIONS, LAS, YEARS, THRESHOLD, PROTECTION = 9, 135, 14, 10, 10.0


def leaf_counts(seed: int) -> tuple[Dimension, dict[tuple[str, str, str], int]]:
    rng = np.random.default_rng(seed)
    pairs: list[tuple[str, str]] = []
    for r, members in enumerate(np.array_split(np.arange(LAS), REGIONS)):
        pairs.append((f"R{r}", "Total"))
        pairs += [(f"L{i:03d}", f"R{r}") for i in members]
    geo = Dimension.tree("geo", pairs)
    size = rng.lognormal(0.0, 0.9, LAS)
    leaf = {}
    for i in range(LAS):
        mean = 18 * size[i]
        for y in range(YEARS):
            for sex in "MF":
                leaf[(f"L{i:03d}", f"Y{y:02d}", sex)] = int(rng.negative_binomial(2, 2 / (2 + mean)))
    return geo, leaf


def table(geo: Dimension, leaf: dict[tuple[str, str, str], int]) -> Table:
    year = Dimension.flat("year", [f"Y{y:02d}" for y in range(YEARS)])
    sex = Dimension.flat("sex", ["M", "F"])
    kids = geo.children()

    def below(code: str) -> list[str]:
        return [code] if code not in kids else [x for k in kids[code] for x in below(k)]

    values: dict[tuple[str, ...], float] = {}
    for g in geo.codes:
        for y in year.codes:
            for s in sex.codes:
                ys = [y] if y != "Total" else list(year.codes[1:])
                ss = [s] if s != "Total" else ["M", "F"]
                values[(g, y, s)] = float(sum(leaf[(a, b, c)] for a in below(g) for b in ys for c in ss))
    return Table("bench", "pupils", (geo, year, sex), values)


def ours(tab: Table) -> dict[str, float]:
    problem = build_problem([tab])
    primary = apply_rules(problem, (MinFrequency(THRESHOLD),), PROTECTION)
    start = time.perf_counter()
    pattern = suppress(problem, primary, time_limit=600)
    seconds = time.perf_counter() - start
    result = audit(problem, pattern.hidden, primary, time_limit=600)
    return {
        "cells": int(problem.size),
        "primary": int(primary.unsafe.sum()),
        "secondary": int(pattern.secondary.sum()),
        "secondary_total": float(problem.value[pattern.secondary].sum()),
        "seconds": seconds,
        "rounds": pattern.rounds,
        "proven_optimal": pattern.optimal,
        "audit_seconds": result.seconds,
        "audit_cells": len(result.intervals),
        "audit_passed": result.passed,
    }


def _microdata(geo: Dimension, leaf: dict[tuple[str, str, str], int]) -> dict[str, list[object]]:
    rows: dict[str, list[object]] = {"la": [], "region": [], "year": [], "sex": [], "one": []}
    for (la, year, sex), n in leaf.items():
        for column, value in (("la", la), ("region", geo.parent[la]), ("year", year), ("sex", sex), ("one", 1)):
            rows[column] += [value] * n
    return rows


def tauargus(geo: Dimension, leaf: dict[tuple[str, str, str], int]) -> dict[str, float]:
    from pytauargus import protect

    micro = _microdata(geo, leaf)
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as work:
        os.chdir(work)  # the tau-Argus solvers write their logs into the working folder
        start = time.perf_counter()
        res = protect(
            micro,
            tables=[["la", "year", "sex"]],
            response="one",
            safety_rules=f"FREQ({THRESHOLD},{PROTECTION:g})",
            suppress="OPT(1)",
            hrc={"la": "la > region"},
            workdir=os.path.join(work, "opt"),
        )
        seconds = time.perf_counter() - start
        rows = res.tables[0].rows
        start = time.perf_counter()
        audited = res.engine.audit(0)
        audit_seconds = time.perf_counter() - start
        os.chdir(here)
    secondary = [r for r in rows if r["status"] == "M"]
    return {
        "primary": sum(r["status"] == "U" for r in rows),
        "secondary": len(secondary),
        "secondary_total": float(sum(r["one"] for r in secondary)),
        "seconds": seconds,
        "audit_seconds": audit_seconds,
        "audit_cells": len(audited),
        "audit_unsafe": sum(bool(r["unsafe"]) for r in audited),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2009)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if importlib.util.find_spec("pytauargus") is None:
        sys.exit(
            "The peer, pytauargus, is not installed: it is in the project's 'bench' dependency group "
            "(uv sync --frozen --group bench)."
        )
    geo, leaf = leaf_counts(args.seed)
    mine = ours(table(geo, leaf))
    theirs = tauargus(geo, leaf)
    ratios = {
        "secondary": mine["secondary"] / max(theirs["secondary"], 1),
        "secondary_total": mine["secondary_total"] / max(theirs["secondary_total"], 1),
        "seconds": mine["seconds"] / theirs["seconds"],
        "audit_seconds": mine["audit_seconds"] / theirs["audit_seconds"],
    }
    report = {"seed": args.seed, "cpus": os.cpu_count(), "pupildata": mine, "pytauargus_opt": theirs, "ratio": ratios}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"table: {mine['cells']} cells, {mine['primary']} primary (pytauargus {theirs['primary']})")
    print("                  secondary  suppressed total  seconds  audit seconds")
    print(
        f"pupildata         {mine['secondary']:9d}  {mine['secondary_total']:16.0f}  {mine['seconds']:7.2f}"
        f"  {mine['audit_seconds']:13.2f}"
    )
    print(
        f"pytauargus OPT    {theirs['secondary']:9d}  {theirs['secondary_total']:16.0f}  {theirs['seconds']:7.2f}"
        f"  {theirs['audit_seconds']:13.2f}"
    )
    print("ratio (ours/theirs): " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
