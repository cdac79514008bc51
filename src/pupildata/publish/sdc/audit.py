"""The audit: what an attacker with linear programming can learn about each hidden cell, over a whole release.

For every suppressed cell the minimum and maximum it can take, given every published value of every table of the
release, all additivity constraints and non-negativity, is found by LP (one model, objective changed per cell).
The release is blocked when a primary cell's interval does not reach its required protection above or below its
true value — which includes a cell that a published margin reveals exactly (an interval of width 0).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

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


def audit(problem: Problem, hidden: BoolArray, primary: Primary, time_limit: float) -> AuditResult:
    """Intervals of every hidden cell; raises ``AttackerError`` only if an LP does not solve in time."""
    start = time.perf_counter()
    attacker = Attacker(problem, hidden, time_limit)
    intervals = []
    for cell in attacker.columns:
        c = int(cell)
        if problem.hidden[c]:  # never published by design (a link between tables), not a suppressed cell
            continue
        low, high = attacker.interval(c)
        needed_up = float(primary.upper[c]) if primary.unsafe[c] else 0.0
        needed_down = float(primary.lower[c]) if primary.unsafe[c] else 0.0
        intervals.append(Interval(c, float(problem.value[c]), low, high, needed_up, needed_down))
        if time.perf_counter() - start > time_limit:
            raise AttackerError(f"the audit did not finish within {time_limit:g} seconds")
    return AuditResult(intervals, time.perf_counter() - start)


__all__ = ["AttackerError", "AuditResult", "Interval", "audit"]
