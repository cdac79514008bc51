"""Primary suppression rules: small declarative objects, each with a stable code and a human explanation.

A rule looks at every cell of a problem at once and returns which cells are unsafe and how much protection each
needs: the attacker's feasible interval for a hidden cell must reach at least ``upper`` above and ``lower`` below
its true value. Conventions (as in tau-Argus): an empty cell (no contributors) is never unsafe and is published
as 0 — its value says nothing about anyone; a cell with no contributors cannot be chosen to protect another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pupildata.publish.sdc.table import BoolArray, FloatArray, Problem


@dataclass(frozen=True)
class Verdict:
    unsafe: BoolArray
    upper: FloatArray  # protection needed above the true value
    lower: FloatArray  # protection needed below it (never more than the value: cells are not negative)


class Rule(Protocol):
    @property
    def code(self) -> str: ...

    def explain(self) -> str: ...
    def apply(self, problem: Problem, protection_percent: float) -> Verdict: ...


def _levels(problem: Problem, unsafe: BoolArray, upper: FloatArray) -> Verdict:
    upper = np.where(unsafe, upper, 0.0)
    return Verdict(unsafe, upper, np.minimum(upper, problem.value))


@dataclass(frozen=True)
class MinFrequency:
    """Counts (and the numerators and denominators of rates) of 1 to ``threshold − 1`` contributors are unsafe.

    Protection: the attacker's interval must reach ``protection_percent`` of the threshold above and below the
    value (below, never past 0), and at least one unit either way.
    """

    threshold: int
    code: str = "min-frequency"

    def explain(self) -> str:
        return f"Cells with fewer than {self.threshold} pupils are not published (c)."

    def apply(self, problem: Problem, protection_percent: float) -> Verdict:
        unsafe = (problem.count > 0) & (problem.count < self.threshold) & ~problem.hidden
        level = max(1.0, float(np.ceil(protection_percent / 100.0 * self.threshold)))
        return _levels(problem, unsafe, np.full(problem.size, level))


def _top(problem: Problem, n: int) -> FloatArray:
    out = np.zeros((problem.size, n))
    for i, contributors in enumerate(problem.top):
        head = contributors[:n]
        out[i, : len(head)] = head
    return out


@dataclass(frozen=True)
class Dominance:
    """(n, k): a magnitude cell is unsafe when its ``n`` largest contributors make up more than ``k``% of it."""

    n: int
    k: float
    code: str = "dominance"

    def explain(self) -> str:
        return f"Totals where the {self.n} largest contributions make up more than {self.k:g}% are not published."

    def apply(self, problem: Problem, protection_percent: float) -> Verdict:
        if not any(problem.top):
            return _levels(problem, np.zeros(problem.size, dtype=bool), np.zeros(problem.size))
        head = _top(problem, self.n).sum(axis=1)
        value = problem.value
        unsafe = (problem.count > 0) & (head > self.k / 100.0 * value) & ~problem.hidden
        # The interval must move the cell far enough that the largest contributions no longer dominate it.
        upper = np.maximum(head * 100.0 / self.k - value, protection_percent / 100.0 * value)
        return _levels(problem, unsafe, upper)


@dataclass(frozen=True)
class PPercent:
    """p%: unsafe when the second-largest contributor could estimate the largest to within ``p``%."""

    p: float
    code: str = "p-percent"

    def explain(self) -> str:
        return f"Totals from which one contributor could estimate another's to within {self.p:g}% are not published."

    def apply(self, problem: Problem, protection_percent: float) -> Verdict:
        if not any(problem.top):
            return _levels(problem, np.zeros(problem.size, dtype=bool), np.zeros(problem.size))
        top2 = _top(problem, 2)
        rest = problem.value - top2[:, 0] - top2[:, 1]
        needed = self.p / 100.0 * top2[:, 0] - rest
        unsafe = (problem.count > 0) & (needed > 0) & ~problem.hidden
        upper = np.maximum(needed, protection_percent / 100.0 * problem.value)
        return _levels(problem, unsafe, upper)


@dataclass(frozen=True)
class Primary:
    """The outcome of all rules: unsafe cells, the protection each needs, and which rules flagged it."""

    unsafe: BoolArray
    upper: FloatArray
    lower: FloatArray
    reasons: list[tuple[str, ...]]


def apply_rules(problem: Problem, rules: tuple[Rule, ...], protection_percent: float) -> Primary:
    unsafe = np.zeros(problem.size, dtype=bool)
    upper = np.zeros(problem.size)
    lower = np.zeros(problem.size)
    reasons: list[list[str]] = [[] for _ in range(problem.size)]
    for rule in rules:
        verdict = rule.apply(problem, protection_percent)
        unsafe |= verdict.unsafe
        upper = np.maximum(upper, verdict.upper)
        lower = np.maximum(lower, verdict.lower)
        for i in np.flatnonzero(verdict.unsafe):
            reasons[int(i)].append(rule.code)
    return Primary(unsafe, upper, lower, [tuple(r) for r in reasons])
