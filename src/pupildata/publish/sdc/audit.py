"""The audit: what an attacker with linear programming can learn about each hidden cell, over a whole release.

For every suppressed cell the minimum and maximum it can take, given every published value of every table of the
release, all additivity constraints and non-negativity, is found by LP (one model, objective changed per cell) —
or, for a release of more than ``EXACT_CELLS`` suppressed cells, every primary cell's protection is proven by LP
(a point the attacker cannot exclude that reaches it) and its exact interval found only when it falls short.
The release is blocked when a primary cell's interval does not reach its required protection above or below its
true value — which includes a cell that a published margin reveals exactly (an interval of width 0).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from pupildata.publish.sdc.attacker import Attacker, AttackerError
from pupildata.publish.sdc.local import Lines, Neighbourhoods, each, restrict
from pupildata.publish.sdc.rules import Primary
from pupildata.publish.sdc.table import BoolArray, Dimension, FloatArray, IntArray, Problem


@dataclass(frozen=True)
class Interval:
    cell: int
    value: float
    low: float
    high: float
    upper_needed: float
    lower_needed: float
    exact: bool = True  # False: ``low`` and ``high`` are values the cell is proven to reach, not its bounds

    @property
    def safe(self) -> bool:
        tol = 1e-6 * max(1.0, abs(self.value))
        return self.high - self.value >= self.upper_needed - tol and self.value - self.low >= self.lower_needed - tol


@dataclass(frozen=True)
class AuditResult:
    intervals: list[Interval]
    seconds: float

    @property
    def unsafe(self) -> list[Interval]:
        return [i for i in self.intervals if not i.safe]

    @property
    def passed(self) -> bool:
        return not self.unsafe

    def summary(self) -> dict[str, object]:
        return {
            "hidden_cells": len(self.intervals),
            "unsafe_cells": len(self.unsafe),
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
        }


#: Up to this many suppressed cells the audit finds every one's exact interval; above, it proves each primary
#: cell's protection (in its neighbourhood first when given the release's geography, ``_prove_locally``; then joint
#: LPs over the whole release, ``Attacker.certify``, then the cell's own LPs for any left short) and records for the
#: other cells the values they were seen to reach.
EXACT_CELLS = 5_000
#: In a neighbourhood, joint LPs are repeated (on the cells still short) at most this many times.
JOINT_ROUNDS = 4


def audit(
    problem: Problem,
    hidden: BoolArray,
    primary: Primary,
    time_limit: float,
    *,
    hierarchy: Dimension | None = None,
    workers: int = 1,
) -> AuditResult:
    """Intervals of every hidden cell (see ``EXACT_CELLS``); a cell narrower than its protection is always
    given its exact interval. Raises ``AttackerError`` only if an LP does not solve in time."""
    start = time.perf_counter()
    suppressed = np.flatnonzero(hidden & ~problem.hidden)  # not the never-published links
    exact = int(hidden.sum()) <= EXACT_CELLS  # the never-published cells too: they are the LPs' columns
    upper = np.where(primary.unsafe, primary.upper, 0.0)
    lower = np.where(primary.unsafe, primary.lower, 0.0)
    seen_low, seen_high = problem.value.copy(), problem.value.copy()
    todo = np.flatnonzero(primary.unsafe & hidden)
    if not exact and hierarchy is not None:
        todo = _prove_locally(
            problem, hidden, primary, hierarchy, cells=todo, seen=(seen_low, seen_high), workers=workers
        )
    attacker: Attacker | None = None
    if exact or todo.size:
        attacker = Attacker(problem, hidden, max(time_limit - (time.perf_counter() - start), 0.01))
        for _ in range(0 if exact else JOINT_ROUNDS):  # joint LPs while they carry more cells far enough
            before = todo.size
            attacker.certify(todo, upper, lower, at_least=1)
            todo = _short(problem, primary, attacker.seen_low, attacker.seen_high, todo)
            if todo.size in {0, before}:
                break
    intervals = []
    for c in suppressed.tolist():
        value = float(problem.value[c])
        low, high = max(0.0, float(seen_low[c])), float(seen_high[c])
        if attacker is not None:
            seen = attacker.seen(c)
            low, high = min(low, seen[0]), max(high, seen[1])
        proven = Interval(c, value, low, high, float(upper[c]), float(lower[c])).safe
        if exact or not proven:
            if attacker is None:
                attacker = Attacker(problem, hidden, max(time_limit - (time.perf_counter() - start), 0.01))
            low, high = attacker.interval(c)
        intervals.append(Interval(c, value, low, high, float(upper[c]), float(lower[c]), exact or not proven))
        if time.perf_counter() - start > time_limit:
            raise AttackerError(f"the audit did not finish within {time_limit:g} seconds")
    return AuditResult(intervals, time.perf_counter() - start)


def _prove_locally(
    problem: Problem,
    hidden: BoolArray,
    primary: Primary,
    tree: Dimension,
    *,
    cells: IntArray,
    seen: tuple[FloatArray, FloatArray],
    workers: int,
) -> IntArray:
    """Prove the protection of ``cells`` in their neighbourhoods (``Neighbourhoods``, the places where secondary
    suppression protects them), widening as it does; returns those not proven.

    In a neighbourhood made a problem of its own (``restrict``: every cell on a constraint reaching outside it is
    a published constant), the attacker's LPs find points the cells can take. Each point is checked against every
    constraint of the whole release (``Lines.keeps``) before it counts: only then is it a point the attacker over
    everything published cannot exclude, and the values it gives are recorded in ``seen`` (lowest, highest)."""
    lines = Lines.of(problem)
    places = Neighbourhoods(problem, tree)
    low, high = seen
    lock = threading.Lock()

    def prove(near: IntArray, mine: IntArray) -> None:
        part, marks, edge = restrict(problem, primary, near, mine)
        inside = hidden[near] & ~edge

        def accept(columns: IntArray, values: FloatArray) -> bool:
            return lines.keeps(problem, hidden, near[columns], values)

        attacker = Attacker(part, inside, np.inf, accept)
        local = np.flatnonzero(marks.unsafe & inside)
        for _ in range(JOINT_ROUNDS):  # joint LPs while they carry more cells far enough
            before = local.size
            attacker.certify(local, marks.upper, marks.lower, at_least=1)
            local = _short(part, marks, attacker.seen_low, attacker.seen_high, local)
            if local.size in {0, before}:
                break
        for c in local.tolist():
            attacker.check(c, float(marks.upper[c]), float(marks.lower[c]), cuts=False)
        columns = attacker.columns
        with lock:
            low[near[columns]] = np.minimum(low[near[columns]], attacker.seen_low[columns])
            high[near[columns]] = np.maximum(high[near[columns]], attacker.seen_high[columns])

    left = cells
    for lift in range(tree.depth_of_tree() + 1):
        each(prove, places.group(left, lift), workers)
        left = _short(problem, primary, low, high, left)
        if not left.size:
            break
    return left


def _short(problem: Problem, primary: Primary, low: FloatArray, high: FloatArray, of: IntArray) -> IntArray:
    """The cells of ``of`` whose values seen (``low``, ``high``) do not reach their protection both ways."""
    value = problem.value[of]
    tol = 1e-7 * np.maximum(1.0, primary.upper[of])
    up = high[of] - value >= primary.upper[of] - tol
    down = value - np.maximum(low[of], 0.0) >= primary.lower[of] - tol
    short: IntArray = of[~(up & down)]
    return short


__all__ = ["AttackerError", "AuditResult", "Interval", "audit"]
