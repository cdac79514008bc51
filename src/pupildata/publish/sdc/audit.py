"""The audit: what an attacker with linear programming can learn about each hidden cell, over a whole release.

For every suppressed cell the minimum and maximum it can take, given every published value of every table of the
release, all additivity constraints and non-negativity, is found by LP (one model, objective changed per cell) —
or, for a release of more than ``EXACT_CELLS`` suppressed cells, every primary cell's protection is proven by LP
(a point the attacker cannot exclude that reaches it) and its exact interval found only when it falls short.
The release is blocked when a primary cell's interval does not reach its required protection above or below its
true value — which includes a cell that a published margin reveals exactly (an interval of width 0).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from pupildata.publish.sdc.attacker import Attacker, AttackerError
from pupildata.publish.sdc.rules import Primary
from pupildata.publish.sdc.table import BoolArray, Problem


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
#: cell's protection (joint LPs first, ``Attacker.certify``, then the cell's own LPs for any left short) and
#: records for the other cells the values they were seen to reach.
EXACT_CELLS = 5_000


def audit(problem: Problem, hidden: BoolArray, primary: Primary, time_limit: float) -> AuditResult:
    """Intervals of every hidden cell (see ``EXACT_CELLS``); a cell narrower than its protection is always
    given its exact interval. Raises ``AttackerError`` only if an LP does not solve in time."""
    start = time.perf_counter()
    attacker = Attacker(problem, hidden, time_limit)
    suppressed = [int(c) for c in attacker.columns if not problem.hidden[c]]  # not the never-published links
    exact = len(suppressed) <= EXACT_CELLS
    upper = np.where(primary.unsafe, primary.upper, 0.0)
    lower = np.where(primary.unsafe, primary.lower, 0.0)
    if not exact:
        attacker.certify(np.flatnonzero(primary.unsafe & hidden), upper, lower)
    intervals = []
    for c in suppressed:
        value = float(problem.value[c])
        low, high = attacker.seen(c)
        proven = high - value >= upper[c] and value - low >= lower[c]
        if exact or not proven:
            low, high = attacker.interval(c)
        intervals.append(Interval(c, value, low, high, float(upper[c]), float(lower[c]), exact or not proven))
        if time.perf_counter() - start > time_limit:
            raise AttackerError(f"the audit did not finish within {time_limit:g} seconds")
    return AuditResult(intervals, time.perf_counter() - start)


__all__ = ["AttackerError", "AuditResult", "Interval", "audit"]
