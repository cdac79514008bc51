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
from pupildata.publish import sources
from pupildata.publish.build import TOTAL, Built, _flat, _outcome_dimension
from pupildata.publish.contract import CODES
from pupildata.publish.format import render, write_atomically
from pupildata.publish.rows import rows_for
from pupildata.publish.sdc import (
    AttackerError,
    CellKey,
    Dimension,
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
from pupildata.publish.specs import ReleaseSpec, TableSpec, threshold, validate
from pupildata.publish.tables import NoRecords, build, views_for

Published = dict[CellKey, float | None]  # None: hidden


@dataclass
class Outcome:
    release: str
    time_period: str
    folder: Path
    files: list[str]
    disclosure: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # tables not available, and why
    stages: dict[str, float] = field(default_factory=dict)  # seconds of each step (tables, problem, ...)


def time_period(year: int) -> str:
    return f"{year}{(year + 1) % 100:02d}"


def hierarchy(builts: list[Built]) -> Dimension | None:
    """The one geography every table of a release is broken down by (places in authorities in regions), if so."""
    dims = [b.geographies for b in builts]
    if not dims or any(len(d) != 1 or d[0].name != "geo" for d in dims):
        return None
    parent: dict[str, str] = {}
    for d in dims:
        parent |= d[0].parent
    return Dimension("geo", parent)


@dataclass
class Prepared:
    """A release's tables, built in the warehouse and ready for disclosure control. Holds no connection, so it
    can be sent to another process."""

    spec: ReleaseSpec
    year: int
    builts: list[Built]
    missing: dict[str, str]  # table -> why its indicators are not available
    stages: dict[str, float] = field(default_factory=dict)


@dataclass
class Protected:
    """A protected, audited and rendered release: the files to write and what the record says."""

    spec: ReleaseSpec
    time_period: str
    files: dict[str, str]
    disclosure: dict[str, Any]
    notes: list[str]
    stages: dict[str, float]


def _add(stages: dict[str, float], name: str, since: float) -> float:
    now = time.perf_counter()
    stages[name] = stages.get(name, 0.0) + now - since
    return now


def _protect(
    tables: list[Table],
    rules: tuple[Rule, ...],
    disclosure: Disclosure,
    rounding: bool,
    tree: Dimension | None,
    *,
    stages: dict[str, float],
) -> tuple[Published, dict[str, Any]]:
    clock = time.perf_counter()
    problem = build_problem(tables)
    primary = apply_rules(problem, rules, disclosure.protection_percent)
    clock = _add(stages, "problem", clock)
    limit = disclosure.solver_time_limit_seconds
    facts: dict[str, Any] = {"cells": problem.size, "primary": int(primary.unsafe.sum())}
    if rounding:
        rounded = controlled_round(problem, disclosure.rounding_base, limit)
        _add(stages, "suppression", clock)
        facts["method"] = f"controlled rounding to base {disclosure.rounding_base}"
        return {k: (None if problem.hidden[i] else float(rounded[i])) for i, k in enumerate(problem.keys)}, facts
    pattern = suppress(problem, primary, limit, hierarchy=tree)
    clock = _add(stages, "suppression", clock)
    try:
        result = audit(problem, pattern.hidden, primary, limit, hierarchy=tree)
    except AttackerError as exc:
        raise DataError(f"The audit could not finish ({exc}); nothing was published.") from None
    finally:
        _add(stages, "audit", clock)
    if not result.passed:
        raise DataError(
            f"The audit found {len(result.unsafe)} hidden cells that could be narrowed below their protection; "
            "nothing was published."
        )
    facts |= {
        "method": "optimal cell suppression",
        "secondary": int(pattern.secondary.sum()),
        "proven_optimal": pattern.optimal,
        "gap": round(pattern.gap, 4),
        "suppression_seconds": round(pattern.seconds, 3),
        "parts": [p.summary() for p in pattern.parts],
        "audit": result.summary(),
    }
    hidden = pattern.hidden
    return {k: (None if hidden[i] else float(problem.value[i])) for i, k in enumerate(problem.keys)}, facts


def prepare(engine: DuckDBEngine, spec: ReleaseSpec, year: int, disclosure: Disclosure) -> Prepared:
    """Check the spec and build every table of the release from the warehouse (the only step that reads it)."""
    validate(spec, disclosure)
    start = time.perf_counter()
    builts: list[Built] = []
    missing: dict[str, str] = {}
    views = views_for(engine, spec.tables, year)
    try:
        for table in spec.tables:
            try:
                builts.append(build(engine, table, year, views))
            except NoRecords as exc:
                if table.source not in sources.PRIOR:
                    raise
                missing[table.name] = (
                    f"{table.title}: not available (x) for {year}/{str(year + 1)[2:]}: no pupil has both results, "
                    f"as {sources.PRIOR[table.source]} is from a year not collected. {exc}"
                )
    finally:
        views.drop()
    if not builts:
        raise DataError(f"Release {spec.name} has nothing to publish for {year}: " + " ".join(missing.values()))
    return Prepared(spec, year, builts, missing, {"tables": time.perf_counter() - start})


def protect(prepared: Prepared, disclosure: Disclosure) -> Protected:
    """Disclosure control, the audit and the files of a prepared release; reads nothing but ``prepared``, so it
    may run in a worker process. One sentence (a ``DataError``) when the release cannot be protected."""
    spec, year, builts, missing = prepared.spec, prepared.year, prepared.builts, prepared.missing
    stages = dict(prepared.stages)
    limit = max(threshold(table, disclosure) for table in spec.tables)
    counts = [t for b in builts for t in b.tables if ":sum:" not in t.measure]
    sums = [t for b in builts for t in b.tables if ":sum:" in t.measure]
    published: Published = {}
    facts: dict[str, Any] = {"threshold": limit, "rules": []}
    count_rules: tuple[Rule, ...] = (MinFrequency(limit),)
    tree = hierarchy(builts)
    rounding = disclosure.method == "rounding"
    published_counts, facts["counts"] = _protect(counts, count_rules, disclosure, rounding, tree, stages=stages)
    published |= published_counts
    if sums:
        magnitude_rules: tuple[Rule, ...] = (
            MinFrequency(limit),
            Dominance(disclosure.dominance_n, disclosure.dominance_k),
            PPercent(disclosure.p_percent),
        )
        published_sums, facts["magnitudes"] = _protect(sums, magnitude_rules, disclosure, False, tree, stages=stages)
        published |= published_sums
        count_rules += magnitude_rules[1:]
    facts["rules"] = [{"code": r.code, "explanation": r.explain()} for r in count_rules]
    clock = time.perf_counter()
    period = time_period(year)
    files: dict[str, str] = {}
    tables_meta = []
    for table in spec.tables:
        built = next((b for b in builts if b.spec is table or b.spec == table), None)
        if built is None:
            rows, columns = rows_for(_stand_in(table, builts), {}, period, available=False)
        else:
            rows, columns = rows_for(built, published, period)
        data, meta = render(rows, columns)
        files[f"{table.name}.csv"] = data
        files[f"{table.name}.meta.csv"] = meta
        entry: dict[str, Any] = {"name": table.name, "title": table.title, "rows": len(rows)}
        if table.name in missing:
            entry |= {"available": False, "note": missing[table.name]}
        tables_meta.append(entry)
    _add(stages, "files", clock)
    facts["seconds"] = round(sum(stages.values()), 3)
    manifest = {
        "release": spec.name,
        "title": spec.title,
        "recipient": spec.recipient,
        "summary": spec.summary,
        "notes": list(missing.values()),
        "time_period": period,
        "tables": tables_meta,
        "disclosure": facts,
    }
    files["release.json"] = json.dumps(manifest, indent=2, default=_plain) + "\n"
    rounded = {name: round(seconds, 3) for name, seconds in stages.items()}
    return Protected(spec, period, files, facts, list(missing.values()), rounded)


def write(protected: Protected, outputs: Path) -> Outcome:
    """Write the release's folder in one step (a temporary folder beside it, moved into place)."""
    clock = time.perf_counter()
    folder = outputs / "releases" / protected.spec.name / protected.time_period
    write_atomically(folder, protected.files)
    stages = protected.stages | {"write": round(time.perf_counter() - clock, 3)}
    return Outcome(
        protected.spec.name,
        protected.time_period,
        folder,
        sorted(protected.files),
        protected.disclosure,
        protected.notes,
        stages,
    )


def publish(engine: DuckDBEngine, spec: ReleaseSpec, year: int, disclosure: Disclosure, outputs: Path) -> Outcome:
    """Build, protect, audit and write one release, in this process."""
    return write(protect(prepare(engine, spec, year, disclosure), disclosure), outputs)


def _stand_in(table: TableSpec, builts: list[Built]) -> Built:
    """A table with nothing to count: the places of a table of the release with the same geography (else the
    nation alone), its filters, breakdowns and outcome, and no cells."""
    like = next((b for b in builts if b.spec.geography == table.geography), None)
    geographies = like.geographies if like else [Dimension.flat(g, []) for g in table.geography]
    places = like.places if like else {TOTAL: {"geographic_level": "National"}}
    filters = [_flat(f.field, f.code_list()) for f in table.filters]
    breakdowns = [_flat(b, CODES[b]) for b in table.breakdowns]
    return Built(table, [], geographies, filters, breakdowns, _outcome_dimension(table), "", places=places)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
