"""Secondary suppression: the fewest further cells to hide so that every primary cell keeps its protection.

An integer programme in HiGHS with one binary ``x_i`` per cell (1 = hidden). Primary and never-published cells are
fixed at 1; empty cells at 0 (they cannot protect anything: everyone knows they are 0). It starts with the
Fischetti–Salazar cuts of each single additivity line — for a primary cell ``p`` on a line, the other cells of
that line that would move with it must be able to absorb its protection — and then alternates:

1. solve the integer programme (minimum cost, see below) to a pattern ``x*``;
2. for every primary cell and each direction, the attacker's LP for ``x*`` either reaches the protection, or its
   reduced costs give a cut that ``x*`` violates and every protecting pattern satisfies;
3. add the violated cuts and repeat until none is violated.

Every cut is valid, so the integer programme is a relaxation of the exact problem: the pattern it ends with is
optimal for the exact problem (to HiGHS's relative gap). Cost: ``1 + value / (Σ values + 1)`` per cell, i.e.
first the number of hidden cells, then the hidden total (the second term is below 1 for the whole table).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np

from pupildata.errors import DataError
from pupildata.publish.sdc._highs import is_optimal, new_model
from pupildata.publish.sdc.attacker import Attacker, AttackerError, Cut
from pupildata.publish.sdc.rules import Primary
from pupildata.publish.sdc.table import BoolArray, FloatArray, Problem


@dataclass(frozen=True)
class Pattern:
    hidden: BoolArray  # primary, secondary and never-published cells
    secondary: BoolArray
    rounds: int
    cuts: int
    optimal: bool
    seconds: float


EARLY_GAP = 0.05
EXACT_SHARE = 0.5  # of the time limit for proving optimality; the rest for repairing the best pattern found


def cell_costs(problem: Problem) -> FloatArray:
    return 1.0 + problem.value / (float(problem.value.sum()) + 1.0)


def _line_cuts(problem: Problem, primary: Primary) -> list[Cut]:
    """For each primary cell on each line, the cells of that line able to absorb its movement either way."""
    cuts = []
    for cells, coefs in problem.rows:
        for pos in np.flatnonzero(primary.unsafe[cells]):
            p, sign = int(cells[pos]), float(coefs[pos])
            others = np.delete(np.arange(cells.size), pos)
            same = coefs[others] * sign > 0  # moving with p in the same direction would break the line
            ids = cells[others]
            value = problem.value[ids]
            for needed, cap_same, cap_opposite in (
                (primary.upper[p], value, np.full(ids.size, np.inf)),  # p up: same-side cells go down
                (primary.lower[p], np.full(ids.size, np.inf), value),  # p down: same-side cells go up
            ):
                if needed <= 0:
                    continue
                weight = np.minimum(np.where(same, cap_same, cap_opposite), needed)
                keep = weight > 1e-9
                cuts.append(Cut(ids[keep], weight[keep], float(needed)))
    return cuts


def _model(problem: Problem, fixed_on: BoolArray, time_limit: float, gap: float) -> Any:
    empty = (problem.count == 0) & ~fixed_on
    highs = new_model(time_limit, gap)
    n = problem.size
    highs.addVars(n, fixed_on.astype(float), np.where(empty, 0.0, 1.0))
    highs.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.ones(n, dtype=np.uint8))
    highs.changeColsCost(n, np.arange(n, dtype=np.int32), np.where(fixed_on, 0.0, cell_costs(problem)))
    return highs


def _violated(problem: Problem, primary: Primary, hidden: BoolArray, limit: float) -> list[Cut]:
    try:
        attacker = Attacker(problem, hidden, max(limit, 0.01))
        return [
            c
            for p in np.flatnonzero(primary.unsafe)
            for c in attacker.check(int(p), primary.upper[p], primary.lower[p])
        ]
    except AttackerError as exc:
        raise DataError(f"Secondary suppression could not check its pattern: {exc}.") from None


def _repair(problem: Problem, primary: Primary, hidden: BoolArray, cuts: list[Cut], deadline: float) -> BoolArray:
    """Hide the cheapest further cells that satisfy each violated cut, until the attacker finds none."""
    hidden = hidden.copy()
    cost = cell_costs(problem)
    suppressible = problem.count > 0
    while cuts:
        for cut in cuts:
            have = float(cut.weights[hidden[cut.cells]].sum())
            order = np.argsort(cost[cut.cells] / cut.weights)
            for k in order:
                if have >= cut.bound - 1e-9:
                    break
                cell = int(cut.cells[k])
                if not hidden[cell] and suppressible[cell]:
                    hidden[cell] = True
                    have += float(cut.weights[k])
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise _timeout()
        cuts = _violated(problem, primary, hidden, remaining)
    return hidden


def suppress(problem: Problem, primary: Primary, time_limit: float, mip_rel_gap: float = 1e-4) -> Pattern:
    """The optimal pattern, or when proving optimality would take too long a protected one found from the best
    integer solution so far; one clear sentence (a ``DataError``) when no protected pattern is found in time."""
    start = time.perf_counter()
    deadline = start + time_limit
    exact_until = start + EXACT_SHARE * time_limit
    fixed_on = primary.unsafe | problem.hidden
    if not primary.unsafe.any():
        return Pattern(problem.hidden.copy(), np.zeros(problem.size, dtype=bool), 0, 0, True, 0.0)
    gap = max(mip_rel_gap, EARLY_GAP)  # while cuts are still being found, a near-optimal pattern will do
    highs = _model(problem, fixed_on, time_limit, gap)
    cuts = _line_cuts(problem, primary)
    total_cuts, rounds = 0, 0
    while True:
        for cut in cuts:
            highs.addRow(cut.bound, np.inf, cut.cells.size, cut.cells.astype(np.int32), cut.weights)
        total_cuts += len(cuts)
        highs.setOptionValue("time_limit", highs.getRunTime() + max(exact_until - time.perf_counter(), 0.01))
        highs.run()
        rounds += 1
        if highs.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
            raise DataError("The cells cannot be protected: no pattern of hidden cells gives the protection.")
        if highs.getInfo().primal_solution_status != 2:  # no integer solution yet: start from the primaries
            hidden = fixed_on.copy()
            cuts = _violated(problem, primary, hidden, deadline - time.perf_counter())
            break
        optimal = is_optimal(highs) and gap <= mip_rel_gap
        hidden = np.asarray(highs.getSolution().col_value) > 0.5
        cuts = _violated(problem, primary, hidden, deadline - time.perf_counter())
        if not cuts and gap <= mip_rel_gap:
            break
        if not cuts:
            gap = mip_rel_gap  # protected: now prove (or find) the optimum, and check it in turn
            highs.setOptionValue("mip_rel_gap", gap)
        if time.perf_counter() >= exact_until:
            break
    if cuts or not is_optimal(highs):
        hidden = _repair(problem, primary, hidden, cuts, deadline)
        optimal = False
    return Pattern(hidden, hidden & ~fixed_on, rounds, total_cuts, optimal, time.perf_counter() - start)


def _timeout() -> DataError:
    return DataError(
        "Secondary suppression found no protected pattern within disclosure.solver_time_limit_seconds; "
        "nothing was published."
    )
