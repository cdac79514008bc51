"""Publish one release: build its tables, protect them together, audit, and only then write the files."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pupildata.errors import DataError
from pupildata.kernel.engine import DuckDBEngine
from pupildata.policy import Disclosure
from pupildata.publish.build import Built
from pupildata.publish.format import render, write_atomically
from pupildata.publish.rows import rows_for
from pupildata.publish.sdc import (
    AttackerError,
    CellKey,
    Dominance,
    MinFrequency,
    PPercent,
    Rule,
    Table,
    apply_rules,
    audit,
    build_problem,
    controlled_round,
    suppress,
)
from pupildata.publish.specs import ReleaseSpec, threshold, validate
from pupildata.publish.tables import build

Published = dict[CellKey, float | None]  # None: hidden


@dataclass
class Outcome:
    release: str
    time_period: str
    folder: Path
    files: list[str]
    disclosure: dict[str, Any] = field(default_factory=dict)


def time_period(year: int) -> str:
    return f"{year}{(year + 1) % 100:02d}"


def _protect(
    tables: list[Table], rules: tuple[Rule, ...], disclosure: Disclosure, rounding: bool
) -> tuple[Published, dict[str, Any]]:
    problem = build_problem(tables)
    primary = apply_rules(problem, rules, disclosure.protection_percent)
    limit = disclosure.solver_time_limit_seconds
    facts: dict[str, Any] = {"cells": problem.size, "primary": int(primary.unsafe.sum())}
    if rounding:
        rounded = controlled_round(problem, disclosure.rounding_base, limit)
        facts["method"] = f"controlled rounding to base {disclosure.rounding_base}"
        return {k: (None if problem.hidden[i] else float(rounded[i])) for i, k in enumerate(problem.keys)}, facts
    pattern = suppress(problem, primary, limit)
    try:
        result = audit(problem, pattern.hidden, primary, limit)
    except AttackerError as exc:
        raise DataError(f"The audit could not finish ({exc}); nothing was published.") from None
    if not result.passed:
        raise DataError(
            f"The audit found {len(result.unsafe)} hidden cells that could be narrowed below their protection; "
            "nothing was published."
        )
    facts |= {
        "method": "optimal cell suppression",
        "secondary": int(pattern.secondary.sum()),
        "proven_optimal": pattern.optimal,
        "audit": result.summary(),
    }
    hidden = pattern.hidden
    return {k: (None if hidden[i] else float(problem.value[i])) for i, k in enumerate(problem.keys)}, facts


def publish(engine: DuckDBEngine, spec: ReleaseSpec, year: int, disclosure: Disclosure, outputs: Path) -> Outcome:
    validate(spec, disclosure)
    start = time.perf_counter()
    builts: list[Built] = [build(engine, table, year) for table in spec.tables]
    limit = max(threshold(table, disclosure) for table in spec.tables)
    counts = [t for b in builts for t in b.tables if ":sum:" not in t.measure]
    sums = [t for b in builts for t in b.tables if ":sum:" in t.measure]
    published: Published = {}
    facts: dict[str, Any] = {"threshold": limit, "rules": []}
    count_rules: tuple[Rule, ...] = (MinFrequency(limit),)
    published_counts, facts["counts"] = _protect(counts, count_rules, disclosure, disclosure.method == "rounding")
    published |= published_counts
    if sums:
        magnitude_rules: tuple[Rule, ...] = (
            MinFrequency(limit),
            Dominance(disclosure.dominance_n, disclosure.dominance_k),
            PPercent(disclosure.p_percent),
        )
        published_sums, facts["magnitudes"] = _protect(sums, magnitude_rules, disclosure, False)
        published |= published_sums
        count_rules += magnitude_rules[1:]
    facts["rules"] = [{"code": r.code, "explanation": r.explain()} for r in count_rules]
    period = time_period(year)
    files: dict[str, str] = {}
    tables_meta = []
    for built in builts:
        rows, columns = rows_for(built, published, period)
        data, meta = render(rows, columns)
        files[f"{built.spec.name}.csv"] = data
        files[f"{built.spec.name}.meta.csv"] = meta
        tables_meta.append({"name": built.spec.name, "title": built.spec.title, "rows": len(rows)})
    facts["seconds"] = round(time.perf_counter() - start, 3)
    manifest = {
        "release": spec.name,
        "title": spec.title,
        "recipient": spec.recipient,
        "summary": spec.summary,
        "time_period": period,
        "tables": tables_meta,
        "disclosure": facts,
    }
    files["release.json"] = json.dumps(manifest, indent=2, default=_plain) + "\n"
    folder = outputs / "releases" / spec.name / period
    write_atomically(folder, files)
    return Outcome(spec.name, period, folder, sorted(files), facts)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
