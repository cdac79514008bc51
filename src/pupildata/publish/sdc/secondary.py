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

Independent components of the problem are solved separately (``components``). When a component's loop has not
ended in half its time, its last pattern is completed one under-protected primary cell at a time
(``_protect_each``), checked by the attacker again, and recorded as not proven optimal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np

from pupildata.errors import DataError
from pupildata.publish.sdc._highs import INF, is_optimal, new_model
from pupildata.publish.sdc.attacker import Attacker, AttackerError, Cut, groups
from pupildata.publish.sdc.rules import Primary
from pupildata.publish.sdc.table import BoolArray, FloatArray, IntArray, Problem


@dataclass(frozen=True)
class Pattern:
    hidden: BoolArray  # primary, secondary and never-published cells
    secondary: BoolArray
    rounds: int
    cuts: int
    optimal: bool
    seconds: float


EARLY_GAP = 0.05
EXACT_SHARE = 0.5  # of the time limit for proving optimality; the rest for completing the best pattern found


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


def components(problem: Problem) -> list[IntArray]:
    """The cells that can be hidden, split into independent parts: cells no chain of constraints links.

    Empty published cells are constants in every model (they are never hidden), so they link nothing. Each part,
    with the empty cells of its constraints, is a problem of its own: an attacker's LP for any pattern splits
    along the same lines, and a cut from one part never names a cell of another that could be hidden.
    """
    linking = (problem.count > 0) | problem.hidden
    return groups(problem, linking)


def _part(problem: Problem, primary: Primary, cells: IntArray) -> tuple[Problem, Primary, IntArray]:
    """The sub-problem of one component: its cells, the empty cells its constraints name, and those constraints;
    returns it with its primary cells and the original index of each of its cells."""
    mine = np.zeros(problem.size, dtype=bool)
    mine[cells] = True
    rows = [(c, k) for c, k in problem.rows if mine[c].any()]
    used = mine.copy()
    for c, _ in rows:
        used[c] = True
    index = np.flatnonzero(used)
    new = np.full(problem.size, -1, dtype=np.int64)
    new[index] = np.arange(index.size)
    part = Problem(
        [problem.keys[int(i)] for i in index],
        problem.value[index],
        problem.count[index],
        [problem.top[int(i)] for i in index],
        problem.hidden[index],
        [(new[c], k) for c, k in rows],
        problem.tolerance,
    )
    marks = Primary(
        primary.unsafe[index], primary.upper[index], primary.lower[index], [primary.reasons[int(i)] for i in index]
    )
    return part, marks, index


def _protect_each(problem: Problem, primary: Primary, hidden: BoolArray, deadline: float) -> BoolArray:
    """A protected pattern containing ``hidden``, one primary cell and one direction at a time.

    For a primary cell ``p`` moving up (or down) by its protection, an LP finds the cheapest movement of the other
    cells that keeps every constraint: ``u`` up, ``v`` down (never below 0), cells already hidden free, others at
    their cost per unit of protection, empty published cells fixed. The cells that move are hidden: the movement
    then stays open to the attacker whatever else is hidden, so ``p`` keeps that protection. Cells are only ever
    added, so every primary cell ends protected (the attacker's check confirms it).
    """
    n = problem.size
    hidden = hidden.copy()
    movable = (problem.count > 0) | problem.hidden
    cost = cell_costs(problem)
    highs = new_model(max(deadline - time.perf_counter(), 0.01))
    upper = np.concatenate([np.where(movable, INF, 0.0), np.where(movable, problem.value, 0.0)])
    highs.addVars(2 * n, np.zeros(2 * n), upper)
    for cells, coefs in problem.rows:
        idx = np.concatenate([cells, cells + n]).astype(np.int32)
        highs.addRow(0.0, 0.0, idx.size, idx, np.concatenate([coefs, -coefs]))
    every = np.arange(2 * n, dtype=np.int32)
    try:
        attacker = Attacker(problem, hidden, max(deadline - time.perf_counter(), 0.01))
        todo = [
            (int(p), up)
            for p in np.flatnonzero(primary.unsafe)
            for up in (True, False)
            if attacker.check(int(p), primary.upper[p] if up else 0.0, 0.0 if up else primary.lower[p])
        ]
    except AttackerError:
        raise _timeout() from None
    for p, up in todo:
        column, needed, top = (p, primary.upper[p], INF) if up else (p + n, primary.lower[p], problem.value[p])
        unit = np.where(hidden, 0.0, cost / needed)
        highs.changeColsCost(2 * n, every, np.concatenate([unit, unit]))
        other = column + n if column < n else column - n
        highs.changeColBounds(column, float(needed), float(top))
        highs.changeColBounds(other, 0.0, 0.0)
        highs.setOptionValue("time_limit", highs.getRunTime() + max(deadline - time.perf_counter(), 0.01))
        highs.run()
        if highs.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
            raise DataError("The cells cannot be protected: no pattern of hidden cells gives the protection.")
        if not is_optimal(highs):
            raise _timeout()
        moved = np.asarray(highs.getSolution().col_value)
        hidden |= (moved[:n] + moved[n:]) > 1e-9
        highs.changeColBounds(p, 0.0, float(upper[p]))
        highs.changeColBounds(p + n, 0.0, float(upper[p + n]))
    return hidden


def suppress(problem: Problem, primary: Primary, time_limit: float, mip_rel_gap: float = 1e-4) -> Pattern:
    """The optimal pattern, or when proving optimality would take too long a protected one found from the best
    integer solution so far; one clear sentence (a ``DataError``) when no protected pattern is found in time.

    Independent components (``components``) are solved one after another, each with a share of the time left in
    proportion to its primary cells; time a component does not use passes to the next. The cost is additive over
    components, so the union of their optimal patterns is optimal for the whole problem.
    """
    start = time.perf_counter()
    deadline = start + time_limit
    hidden = problem.hidden.copy()
    parts = [c for c in components(problem) if primary.unsafe[c].any()]
    if len(parts) <= 1:
        return _suppress(problem, primary, time_limit, mip_rel_gap)
    weights = [float(primary.unsafe[c].sum()) for c in parts]
    rounds = cuts = 0
    optimal = True
    for k, cells in enumerate(parts):
        share = (deadline - time.perf_counter()) * weights[k] / sum(weights[k:])
        part, marks, index = _part(problem, primary, cells)
        pattern = _suppress(part, marks, max(share, 0.01), mip_rel_gap)
        hidden[index[pattern.hidden]] = True
        rounds, cuts = max(rounds, pattern.rounds), cuts + pattern.cuts
        optimal = optimal and pattern.optimal
    fixed_on = primary.unsafe | problem.hidden
    return Pattern(hidden, hidden & ~fixed_on, rounds, cuts, optimal, time.perf_counter() - start)


def _suppress(problem: Problem, primary: Primary, time_limit: float, mip_rel_gap: float) -> Pattern:
    start = time.perf_counter()
    deadline = start + time_limit
    exact_until = start + EXACT_SHARE * time_limit
    fixed_on = primary.unsafe | problem.hidden
    if not primary.unsafe.any():
        return Pattern(problem.hidden.copy(), np.zeros(problem.size, dtype=bool), 0, 0, True, 0.0)
    gap = max(mip_rel_gap, EARLY_GAP)  # while cuts are still being found, a near-optimal pattern will do
    highs = _model(problem, fixed_on, time_limit, gap)
    cuts = _line_cuts(problem, primary)
    total_cuts, rounds, optimal = 0, 0, False
    hidden, protected = fixed_on.copy(), None
    while time.perf_counter() < exact_until:
        for cut in cuts:
            highs.addRow(cut.bound, np.inf, cut.cells.size, cut.cells.astype(np.int32), cut.weights)
        total_cuts += len(cuts)
        # The MIP solver times each run from its start (an LP, from the model's first run).
        highs.setOptionValue("time_limit", max(exact_until - time.perf_counter(), 0.01))
        highs.run()
        rounds += 1
        if highs.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
            raise DataError("The cells cannot be protected: no pattern of hidden cells gives the protection.")
        if highs.getInfo().primal_solution_status != 2:  # no integer solution yet
            break
        hidden = np.asarray(highs.getSolution().col_value) > 0.5
        try:
            cuts = _violated(problem, primary, hidden, deadline - time.perf_counter())
        except DataError:
            break
        if cuts:
            continue
        protected = hidden
        if gap <= mip_rel_gap:
            optimal = is_optimal(highs)
            break
        gap = mip_rel_gap  # protected: now prove (or find) the optimum, and check it in turn
        highs.setOptionValue("mip_rel_gap", gap)
    if protected is None:  # complete the last pattern, one under-protected primary cell at a time
        protected = _protect_each(problem, primary, hidden, deadline)
        if _violated(problem, primary, protected, deadline - time.perf_counter()):
            raise _timeout()  # cannot happen for a pattern built to protect; checked all the same
    return Pattern(protected, protected & ~fixed_on, rounds, total_cuts, optimal, time.perf_counter() - start)


def _timeout() -> DataError:
    return DataError(
        "Secondary suppression found no protected pattern within disclosure.solver_time_limit_seconds; "
        "nothing was published."
    )
