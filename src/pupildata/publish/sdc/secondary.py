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
optimal for the exact problem (to HiGHS's relative gap), and its dual bound, at any round, is a lower bound on the
cost of every protecting pattern. Cost: ``1 + value / (Σ values + 1)`` per cell, i.e. first the number of hidden
cells, then the hidden total (the second term is below 1 for the whole table).

Before the integer rounds, cheap rounds on the linear relaxation (``_relaxation_rounds``) collect most of the cuts:
the attacker checks the pattern of every cell a fractional solution uses, and each cut it finds names only cells
that solution leaves at 0. When those rounds end with no cut, that pattern is itself protected: a first pattern
to improve on.

Independent components of the problem are solved separately (``components``), each a *part* with its own record:
its cost, the lower bound, and whether it is proven optimal or stopped at a gap. When a part's integer rounds have
not ended in 80% of its time, the best protected pattern found is kept — or, when there is none, the last integer
pattern is completed one under-protected primary cell at a time (``_protect_each``) and checked by the attacker
again — and the part is recorded as not proven optimal, with its gap to the bound.

A component of national size (more than ``LOCAL_CELLS`` cells) is not given to the integer programme: each primary
cell is protected in its neighbourhood down the release's geography (``_by_neighbourhoods``) by sweeps, LPs that
move many primary cells at once (``_sweep``); with no one geography, a component of more than ``SWEPT_CELLS``
is swept whole (``_by_sweeps``). Either way the linear relaxation's bound and the gap to it are recorded.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np

from pupildata.errors import DataError
from pupildata.publish.sdc._highs import INF, is_optimal, new_model, status_name
from pupildata.publish.sdc.attacker import JOINT_CELLS, Attacker, AttackerError, Cut, groups
from pupildata.publish.sdc.local import Neighbourhoods, each, restrict
from pupildata.publish.sdc.rules import Primary
from pupildata.publish.sdc.table import BoolArray, Dimension, FloatArray, IntArray, Problem


@dataclass(frozen=True)
class Part:
    """What one independent part of the problem ended with."""

    cells: int
    primary: int
    secondary: int
    cost: float  # of the secondary cells
    bound: float  # no protecting pattern of this part costs less
    optimal: bool
    seconds: float

    @property
    def gap(self) -> float:
        """How far the cost may be above the optimum, relative to the cost (0 when proven optimal)."""
        return 0.0 if self.optimal or self.cost <= 0 else max(0.0, (self.cost - self.bound) / self.cost)

    def summary(self) -> dict[str, object]:
        return {
            "cells": self.cells,
            "primary": self.primary,
            "secondary": self.secondary,
            "proven_optimal": self.optimal,
            "gap": round(self.gap, 4),
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Pattern:
    hidden: BoolArray  # primary, secondary and never-published cells
    secondary: BoolArray
    rounds: int
    cuts: int
    optimal: bool
    seconds: float
    parts: tuple[Part, ...] = ()

    @property
    def gap(self) -> float:
        """The gap of the whole pattern: its cost above the sum of the parts' bounds, relative to its cost."""
        cost = sum(p.cost for p in self.parts)
        bound = sum(p.cost if p.optimal else p.bound for p in self.parts)
        return 0.0 if self.optimal or cost <= 0 else max(0.0, (cost - bound) / cost)


EARLY_GAP = 0.05
#: A component of more cells than this is protected neighbourhood by neighbourhood (``_by_neighbourhoods``).
LOCAL_CELLS = 20_000
#: What the rounds of a sweep may spend (in cells hidden) to move one more cell by its protection.
SWEEP_CREDITS = (4.0, 1000.0)
#: With no one geography, a component of more cells than this is protected by sweeps over it all (``_by_sweeps``).
SWEPT_CELLS = 10_000
#: Completing a pattern asks the attacker again after this many cells, to drop those protected meanwhile.
RECHECK_EVERY = 8
PRESOLVE = "on"
RELAXATION_SHARE = 0.4  # of the time limit, at most, for cuts from the linear relaxation
EXACT_SHARE = 0.8  # of the time limit for the search (relaxation included); the rest for completing a pattern


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


def _add_cuts(highs: Any, cuts: list[Cut]) -> None:
    """Add the cuts as rows ``Σ w_i x_i ≥ bound``, all in one call."""
    if not cuts:
        return
    starts = np.cumsum([0] + [c.cells.size for c in cuts[:-1]]).astype(np.int32)
    index = np.concatenate([c.cells for c in cuts]).astype(np.int32)
    value = np.concatenate([c.weights for c in cuts]).astype(np.float64)
    lower = np.array([c.bound for c in cuts], dtype=np.float64)
    highs.addRows(len(cuts), lower, np.full(len(cuts), INF), index.size, starts, index, value)


def _relaxation_rounds(
    highs: Any, problem: Problem, primary: Primary, fixed_on: BoolArray, until: float
) -> tuple[BoolArray, bool, float, int]:
    """Cuts from the linear relaxation, until its support is protected or ``until``: the last support, whether it
    is protected, the last relaxation's value (a lower bound) and the number of cuts added."""
    n = problem.size
    every = np.arange(n, dtype=np.int32)
    highs.changeColsIntegrality(n, every, np.zeros(n, dtype=np.uint8))
    bound, added, protected, support = 0.0, 0, False, fixed_on
    try:
        while time.perf_counter() < until:
            highs.setOptionValue("time_limit", max(until - time.perf_counter(), 0.01))
            highs.run()
            if highs.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
                raise DataError("The cells cannot be protected: no pattern of hidden cells gives the protection.")
            if not is_optimal(highs):
                break
            bound = float(highs.getInfo().objective_function_value)
            support = (np.asarray(highs.getSolution().col_value) > 1e-6) | fixed_on
            try:
                cuts = _violated(problem, primary, support, until - time.perf_counter())
            except DataError:
                break
            if not cuts:
                protected = True
                break
            _add_cuts(highs, cuts)
            added += len(cuts)
    finally:
        highs.changeColsIntegrality(n, every, np.ones(n, dtype=np.uint8))
    return support, protected, bound, added


def _violated(problem: Problem, primary: Primary, hidden: BoolArray, limit: float) -> list[Cut]:
    try:
        attacker = Attacker(problem, hidden, max(limit, 0.01))
        attacker.certify(np.flatnonzero(primary.unsafe), primary.upper, primary.lower)
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


def _line_bound(problem: Problem, primary: Primary, time_limit: float) -> float:
    """A lower bound on the cost of every protecting pattern: the linear relaxation with each line's cuts."""
    fixed_on = primary.unsafe | problem.hidden
    highs = _model(problem, fixed_on, time_limit, 1.0)
    _add_cuts(highs, _line_cuts(problem, primary))
    n = problem.size
    highs.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.zeros(n, dtype=np.uint8))
    highs.run()
    if highs.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        raise DataError("The cells cannot be protected: no pattern of hidden cells gives the protection.")
    return float(highs.getInfo().objective_function_value) if is_optimal(highs) else 0.0


def _by_neighbourhoods(
    problem: Problem, primary: Primary, tree: Dimension, time_limit: float, workers: int = 1
) -> Pattern:
    """A protected pattern for a national-scale problem, quickly, with no claim of optimality.

    Each primary cell is protected in its neighbourhood (``Neighbourhoods``: its place among its siblings, in every
    table of its measure) as a problem of its own (``restrict``), by sweeps that move many primary cells at once
    (``_sweep_each``): what protects a cell there protects it in the whole problem, and hiding more never lessens
    any cell's protection, so the union is protected with no check of the whole. A cell the sweeps of its
    neighbourhood cannot move (its published edge leaves no room, or its movement conflicts with another's) is
    tried in the neighbourhood of its parent, and so on up; one that no neighbourhood protects is protected over
    all cells of its measure (``_sweep_all``). With ``workers`` > 1, neighbourhoods are protected in that many
    threads at once (HiGHS solves without holding the interpreter): each starts from the cells hidden when it
    starts, which is sound for the same reason. The record is one part, with the linear relaxation's lower bound
    (``_line_bound``) and the gap to it (``_record``)."""
    start = time.perf_counter()
    hidden = problem.hidden | primary.unsafe
    left = np.flatnonzero(primary.unsafe)
    places = Neighbourhoods(problem, tree)
    lock = threading.Lock()
    for lift in range(tree.depth_of_tree() + 1):
        failed: list[int] = []

        def protect(near: IntArray, mine: IntArray, failed: list[int] = failed) -> None:
            part, marks, edge = restrict(problem, primary, near, mine)
            with lock:
                before = hidden[near] & ~edge
            local: list[int] = []
            done = _sweep_each(part, marks, before, local)
            with lock:
                hidden[near[done]] = True
                failed += [int(near[c]) for c in local]

        each(protect, places.group(left, lift), workers)
        left = np.array(sorted(set(failed)), dtype=np.int64)
        if not left.size:
            break
    for measure in np.unique(places.measure[left]):
        mine = left[places.measure[left] == measure]
        near = np.flatnonzero(places.measure == measure)
        part, marks, edge = restrict(problem, primary, near, mine)
        hidden[near[_sweep_all(part, marks, hidden[near] & ~edge)]] = True
    return _record(problem, primary, hidden, start, time_limit)


def _by_sweeps(problem: Problem, primary: Primary, time_limit: float) -> Pattern:
    """A protected pattern for a large problem with no one geography (``_sweep_all`` over it all), with no claim
    of optimality; recorded as ``_by_neighbourhoods`` records its pattern."""
    start = time.perf_counter()
    hidden = _sweep_all(problem, primary, problem.hidden | primary.unsafe)
    return _record(problem, primary, hidden, start, time_limit)


def _sweep_all(problem: Problem, primary: Primary, hidden: BoolArray) -> BoolArray:
    """A pattern containing ``hidden`` that protects every primary cell: sweeps first (``_sweep_each``), then one
    cell at a time for those they leave short; a cell that cannot be protected at all stops the release."""
    short: list[int] = []
    done = _sweep_each(problem, primary, hidden, short)
    if short:
        unsafe = np.zeros(problem.size, dtype=bool)
        unsafe[short] = True
        marks = Primary(unsafe, primary.upper, primary.lower, primary.reasons)
        done = _protect_each(problem, marks, done, np.inf, ask=False)
    return done


def _record(problem: Problem, primary: Primary, hidden: BoolArray, start: float, time_limit: float) -> Pattern:
    """The pattern of one part not proven optimal, with the linear relaxation's bound and the gap to it."""
    fixed_on = primary.unsafe | problem.hidden
    costs = np.where(fixed_on, 0.0, cell_costs(problem))
    cost = float(costs[hidden].sum())
    bound = min(_line_bound(problem, primary, max(time_limit - (time.perf_counter() - start), 1.0)), cost)
    seconds = time.perf_counter() - start
    secondary = hidden & ~fixed_on
    optimal = cost <= bound + 1e-9
    record = Part(problem.size, int(primary.unsafe.sum()), int(secondary.sum()), cost, bound, optimal, seconds)
    return Pattern(hidden, secondary, 0, 0, optimal, seconds, (record,))


def _short_cells(problem: Problem, primary: Primary, hidden: BoolArray) -> IntArray:
    """The primary cells that ``hidden`` does not protect (in either direction)."""
    try:
        attacker = Attacker(problem, hidden, np.inf)
        cells = np.flatnonzero(primary.unsafe)
        attacker.certify(cells, primary.upper, primary.lower)
        return np.array(
            [p for p in cells if attacker.check(int(p), primary.upper[p], primary.lower[p])], dtype=np.int64
        )
    except AttackerError as exc:
        raise DataError(f"Secondary suppression could not check its pattern: {exc}.") from None


def _short_of(
    problem: Problem, primary: Primary, hidden: BoolArray, todo: list[tuple[int, int]], deadline: float
) -> list[tuple[int, int]]:
    """The (primary cell, direction: 1 up, 0 down) pairs of ``todo`` that ``hidden`` does not protect."""
    try:
        attacker = Attacker(problem, hidden, max(deadline - time.perf_counter(), 0.01))
        ups = np.array(sorted({p for p, up in todo if up}), dtype=np.int64)
        downs = np.array(sorted({p for p, up in todo if not up}), dtype=np.int64)
        attacker.certify(ups, primary.upper, np.zeros(problem.size))
        attacker.certify(downs, np.zeros(problem.size), primary.lower)
        return [
            (p, up)
            for p, up in todo
            if attacker.check(p, primary.upper[p] if up else 0.0, 0.0 if up else primary.lower[p])
        ]
    except AttackerError as exc:
        if deadline < time.perf_counter():
            raise _timeout() from None
        raise DataError(f"Secondary suppression could not check its pattern: {exc}.") from None


def _protect_each(
    problem: Problem,
    primary: Primary,
    hidden: BoolArray,
    deadline: float,
    failed: list[int] | None = None,
    *,
    ask: bool = True,
) -> BoolArray:
    """A protected pattern containing ``hidden``, one primary cell and one direction at a time.

    For a primary cell ``p`` moving up (or down) by its protection, an LP finds the cheapest movement of the other
    cells that keeps every constraint: ``u`` up, ``v`` down (never below 0), cells already hidden free, others at
    their cost per unit of protection, empty published cells fixed. The cells that move are hidden: the movement
    then stays open to the attacker whatever else is hidden, so ``p`` keeps that protection. Cells are only ever
    added, so every primary cell ends protected (the attacker's check confirms it). With ``ask`` false the attacker
    is never asked which cells are short (in a large problem its LPs cost as much as the movements).
    """
    n = problem.size
    hidden = hidden.copy()
    movable = (problem.count > 0) | problem.hidden
    cost = cell_costs(problem)
    highs = new_model(max(deadline - time.perf_counter(), 0.01))
    highs.setOptionValue("presolve", PRESOLVE)
    upper = np.concatenate([np.where(movable, INF, 0.0), np.where(movable, problem.value, 0.0)])
    highs.addVars(2 * n, np.zeros(2 * n), upper)
    _add_movement_rows(highs, problem)
    costs = np.zeros(2 * n)
    pairs = [(int(p), up) for p in np.flatnonzero(primary.unsafe) for up in (1, 0)]
    # With many cells to do, most are short and asking the attacker about each first costs as much as protecting
    # it: start protecting, and ask once as many have been done as are left.
    # Without ``ask``, the attacker is not asked at all: a pair already protected gets a movement of hidden cells
    # only, at no cost, which is as quick as asking.
    todo = pairs if not ask or len(pairs) > 2 * JOINT_CELLS else _short_of(problem, primary, hidden, pairs, deadline)
    done = 0
    while todo:
        if ask and done >= max(RECHECK_EVERY, len(todo)):  # cells hidden since may protect those still to do: ask again
            todo, done = _short_of(problem, primary, hidden, todo, deadline), 0
            if not todo:
                break
        p, up = todo.pop(0)
        done += 1
        column, needed, top = (p, primary.upper[p], INF) if up else (p + n, primary.lower[p], problem.value[p])
        unit = np.where(hidden, 0.0, cost / needed)
        changed = np.flatnonzero(np.concatenate([unit, unit]) != costs)  # only what changed: the basis stays warm
        if changed.size:
            costs[changed] = np.concatenate([unit, unit])[changed]
            highs.changeColsCost(changed.size, changed.astype(np.int32), costs[changed])
        other = column + n if column < n else column - n
        highs.changeColBounds(column, float(needed), float(top))
        highs.changeColBounds(other, 0.0, 0.0)
        highs.setOptionValue("time_limit", highs.getRunTime() + max(deadline - time.perf_counter(), 0.01))
        highs.run()
        if highs.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
            if failed is None:
                raise DataError("The cells cannot be protected: no pattern of hidden cells gives the protection.")
            failed.append(p)  # the caller protects it otherwise
            highs.changeColBounds(p, 0.0, float(upper[p]))
            highs.changeColBounds(p + n, 0.0, float(upper[p + n]))
            continue
        if not is_optimal(highs):
            if deadline < time.perf_counter():
                raise _timeout()
            ended = status_name(highs)
            raise DataError(f"Completing the suppression pattern stopped: its linear programme ended {ended}.")
        moved = np.asarray(highs.getSolution().col_value)
        hidden |= (moved[:n] + moved[n:]) > 1e-9
        highs.changeColBounds(p, 0.0, float(upper[p]))
        highs.changeColBounds(p + n, 0.0, float(upper[p + n]))
        todo = _still_short(problem, primary, todo, moved[:n] - moved[n:])
    return hidden


def _sweep_each(problem: Problem, primary: Primary, hidden: BoolArray, failed: list[int]) -> BoolArray:
    """A pattern containing ``hidden`` that protects the primary cells sweeps can move (``_sweeps``, repeated
    while they move any): those they cannot are added to ``failed``, for a wider neighbourhood."""
    hidden = hidden.copy()
    pairs = [(int(p), up) for p in np.flatnonzero(primary.unsafe) for up in (1, 0)]
    todo = _sweeps(problem, primary, hidden, pairs, 1, exhaust=True)
    failed += sorted({p for p, _ in todo})
    return hidden


def _add_movement_rows(highs: Any, problem: Problem, extra: int = 0) -> None:
    """The constraints on a movement ``u − v`` (columns ``0..n`` up, ``n..2n`` down): every line keeps its sum."""
    n = problem.size
    if not problem.rows:
        return
    sizes = np.array([c.size for c, _ in problem.rows], dtype=np.int64)
    index = np.concatenate([np.concatenate([c, c + n]) for c, _ in problem.rows]).astype(np.int32)
    value = np.concatenate([np.concatenate([k, -k]) for _, k in problem.rows]).astype(np.float64)
    starts = np.concatenate([[0], np.cumsum(2 * sizes)[:-1]]).astype(np.int32)
    m = len(problem.rows)
    highs.addRows(m, np.zeros(m), np.zeros(m), index.size, starts, index, value)


def _sweeps(
    problem: Problem,
    primary: Primary,
    hidden: BoolArray,
    todo: list[tuple[int, int]],
    least: int,
    *,
    exhaust: bool = False,
) -> list[tuple[int, int]]:
    """With at least ``least`` cells to do, move many of them at once (``_sweep``), cheapest first: the cells
    that a movement hiding few more cells covers, then those needing more, with what was hidden before free; each
    round up and then down. With ``exhaust``, the last round is repeated while it moves some cell far enough.
    Hides in ``hidden`` the cells moved and returns the pairs still short."""
    cells = sorted({p for p, _ in todo})
    if len(cells) < least:
        return todo
    credits = list(SWEEP_CREDITS)
    while credits:
        credit = credits.pop(0)
        progress = False
        for up in (1, 0):
            short = sorted({p for p, u in todo if u == up})
            if len(short) < least:
                continue
            d = _sweep(problem, primary, hidden, short, up=bool(up), credit=credit)
            if d is not None:
                hidden |= np.abs(d) > 1e-9
                before, todo = len(todo), _still_short(problem, primary, todo, d)
                progress |= len(todo) < before
        if not credits and progress and exhaust:
            credits.append(credit)  # the last credit again, until no cell is moved far enough any more
    return todo


def _sweep(
    problem: Problem, primary: Primary, hidden: BoolArray, cells: list[int], *, up: bool, credit: float
) -> FloatArray | None:
    """One movement that moves many ``cells`` at once by their protection (up, or down), as cheaply as it can:
    ``u − v`` keeps every line, no cell goes below 0 or above twice its value (so that the reverse movement is one
    too), and each cell's ``t_k ≤ ±(u − v)_k``, at most its protection, earns ``credit`` per unit of protection
    against the cost of the cells moved that are not hidden yet. None when the LP does not solve."""
    n, k = problem.size, len(cells)
    ids = np.array(cells, dtype=np.int64)
    needed = primary.upper[ids] if up else primary.lower[ids]
    bound = np.where((problem.count > 0) | problem.hidden, problem.value, 0.0)
    highs = new_model(np.inf)
    highs.setOptionValue("presolve", PRESOLVE)
    unit = np.where(hidden, 0.0, cell_costs(problem))
    highs.addVars(2 * n, np.zeros(2 * n), np.concatenate([bound, bound]))
    highs.changeColsCost(2 * n, np.arange(2 * n, dtype=np.int32), np.concatenate([unit, unit]))
    highs.addVars(k, np.full(k, -INF), needed.astype(np.float64))
    highs.changeColsCost(k, np.arange(2 * n, 2 * n + k, dtype=np.int32), -credit / np.maximum(needed, 1e-9))
    _add_movement_rows(highs, problem)
    sign = 1.0 if up else -1.0  # t_k − sign·u_p + sign·v_p ≤ 0
    index = np.column_stack([np.arange(2 * n, 2 * n + k), ids, ids + n]).ravel().astype(np.int32)
    coefs = np.column_stack([np.ones(k), np.full(k, -sign), np.full(k, sign)]).ravel()
    highs.addRows(k, np.full(k, -INF), np.zeros(k), index.size, np.arange(0, 3 * k, 3, dtype=np.int32), index, coefs)
    highs.run()
    if not is_optimal(highs):
        return None
    moved = np.asarray(highs.getSolution().col_value)
    d: FloatArray = moved[:n] - moved[n : 2 * n]
    return d


def _still_short(
    problem: Problem, primary: Primary, todo: list[tuple[int, int]], d: FloatArray
) -> list[tuple[int, int]]:
    """The pairs of ``todo`` that the movement ``d`` does not protect. ``d`` keeps every constraint, moves only
    hidden cells and none below 0, so it stays open to the attacker: a cell it moves up by its protection is
    protected upwards; and when no cell rises by more than its value, ``-d`` is a movement too."""
    slack = 1e-7
    reversible = bool(np.all(d <= problem.value + slack))
    out = []
    for q, up in todo:
        needed = primary.upper[q] if up else primary.lower[q]
        reach = max(d[q] if up else -d[q], (-d[q] if up else d[q]) if reversible else 0.0)
        if reach < needed - slack * max(1.0, needed):
            out.append((q, up))
    return out


def suppress(
    problem: Problem,
    primary: Primary,
    time_limit: float,
    mip_rel_gap: float = 1e-4,
    *,
    hierarchy: Dimension | None = None,
    workers: int = 1,
) -> Pattern:
    """The optimal pattern, or when proving optimality would take too long a protected one found from the best
    integer solution so far; one clear sentence (a ``DataError``) when no protected pattern is found in time.

    Independent components (``components``) are solved one after another, each with a share of the time left in
    proportion to its primary cells; time a component does not use passes to the next. The cost is additive over
    components, so the union of their optimal patterns is optimal for the whole problem. With a ``hierarchy``, a
    component of more than ``LOCAL_CELLS`` cells is protected neighbourhood by neighbourhood first
    (``_by_neighbourhoods``, in ``workers`` threads), with no claim of optimality.
    """
    start = time.perf_counter()
    deadline = start + time_limit
    hidden = problem.hidden.copy()
    parts = [c for c in components(problem) if primary.unsafe[c].any()]
    large = [c for c in parts if c.size > (LOCAL_CELLS if hierarchy is not None else SWEPT_CELLS)]
    if len(parts) <= 1 and not large:
        return _suppress(problem, primary, time_limit, mip_rel_gap)
    parts = large + [c for c in parts if not any(c is g for g in large)]
    weights = [float(primary.unsafe[c].sum()) for c in parts]
    rounds = cuts = 0
    records: list[Part] = []
    for k, cells in enumerate(parts):
        part, marks, index = _part(problem, primary, cells)
        if k < len(large):
            left = max(deadline - time.perf_counter(), 0.01)
            if hierarchy is None:
                pattern = _by_sweeps(part, marks, left)
            else:
                pattern = _by_neighbourhoods(part, marks, hierarchy, left, workers)
        else:
            share = (deadline - time.perf_counter()) * weights[k] / sum(weights[k:])
            pattern = _suppress(part, marks, max(share, 0.01), mip_rel_gap)
        hidden[index[pattern.hidden]] = True
        rounds, cuts = max(rounds, pattern.rounds), cuts + pattern.cuts
        records += pattern.parts
    fixed_on = primary.unsafe | problem.hidden
    optimal = all(r.optimal for r in records)
    return Pattern(hidden, hidden & ~fixed_on, rounds, cuts, optimal, time.perf_counter() - start, tuple(records))


@dataclass
class _Search:
    """One part's search: its integer programme, the best protected pattern so far and the best lower bound."""

    problem: Problem
    primary: Primary
    highs: Any
    costs: FloatArray
    deadline: float
    best: BoolArray | None = None
    bound: float = 0.0
    cuts: int = 0
    rounds: int = 0
    optimal: bool = False

    def keep(self, hidden: BoolArray) -> None:
        if self.best is None or self.costs[hidden].sum() < self.costs[self.best].sum():
            self.best = hidden

    def add(self, cuts: list[Cut]) -> None:
        _add_cuts(self.highs, cuts)
        self.cuts += len(cuts)

    def integer_rounds(self, hidden: BoolArray, until: float, mip_rel_gap: float) -> BoolArray:
        """Solve, check, add the cuts found, until a pattern is protected and proven optimal or ``until``; the
        last integer pattern (or ``hidden`` when there was none)."""
        highs = self.highs
        gap = max(mip_rel_gap, EARLY_GAP)  # while cuts are still being found, a near-optimal pattern will do
        while time.perf_counter() < until:
            # The MIP solver times each run from its start (an LP, from the model's first run).
            highs.setOptionValue("time_limit", max(until - time.perf_counter(), 0.01))
            highs.run()
            self.rounds += 1
            if highs.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
                raise DataError("The cells cannot be protected: no pattern of hidden cells gives the protection.")
            self.bound = max(self.bound, float(highs.getInfo().mip_dual_bound))
            if highs.getInfo().primal_solution_status != 2:  # no integer solution yet
                break
            hidden = np.asarray(highs.getSolution().col_value) > 0.5
            try:
                cuts = _violated(self.problem, self.primary, hidden, self.deadline - time.perf_counter())
            except DataError:
                break
            if cuts:
                self.add(cuts)
                continue
            self.keep(hidden)
            if gap <= mip_rel_gap:
                self.optimal = is_optimal(highs)
                break
            gap = mip_rel_gap  # protected: now prove (or find) the optimum, and check it in turn
            highs.setOptionValue("mip_rel_gap", gap)
        return hidden

    def complete(self, hidden: BoolArray) -> None:
        """Keep ``hidden`` completed one under-protected primary cell at a time, if it is cheaper. With no
        protected pattern yet, completing is not cut short by the deadline: without a pattern nothing could be
        published, and it ends after one LP per under-protected primary cell at most."""
        deadline = self.deadline if self.best is not None else np.inf
        try:
            completed = _protect_each(self.problem, self.primary, hidden, deadline)
            if _violated(self.problem, self.primary, completed, np.inf):
                raise _timeout()  # cannot happen for a pattern built to protect; checked all the same
        except DataError:
            if self.best is None:
                raise
            return
        self.keep(completed)


def _suppress(problem: Problem, primary: Primary, time_limit: float, mip_rel_gap: float) -> Pattern:
    start = time.perf_counter()
    fixed_on = primary.unsafe | problem.hidden
    n_primary = int(primary.unsafe.sum())
    if not n_primary:
        part = Part(problem.size, 0, 0, 0.0, 0.0, True, 0.0)
        return Pattern(problem.hidden.copy(), np.zeros(problem.size, dtype=bool), 0, 0, True, 0.0, (part,))
    costs = np.where(fixed_on, 0.0, cell_costs(problem))
    highs = _model(problem, fixed_on, time_limit, max(mip_rel_gap, EARLY_GAP))
    search = _Search(problem, primary, highs, costs, start + time_limit)
    search.add(_line_cuts(problem, primary))
    support, protected, search.bound, cuts = _relaxation_rounds(
        highs, problem, primary, fixed_on, start + RELAXATION_SHARE * time_limit
    )
    search.cuts += cuts
    if protected:
        search.keep(support)
    hidden = search.integer_rounds(support, start + EXACT_SHARE * time_limit, mip_rel_gap)
    if not search.optimal and (search.rounds or search.best is None):
        search.complete(hidden)  # the last pattern, completed one under-protected primary cell at a time
    best = search.best
    if best is None:
        raise _timeout()
    cost = float(costs[best].sum())
    optimal = search.optimal or cost <= search.bound * (1.0 + mip_rel_gap) + 1e-9
    seconds = time.perf_counter() - start
    secondary = best & ~fixed_on
    part = Part(problem.size, n_primary, int(secondary.sum()), cost, min(search.bound, cost), optimal, seconds)
    return Pattern(best, secondary, search.rounds, search.cuts, optimal, seconds, (part,))


def _timeout() -> DataError:
    return DataError(
        "Secondary suppression found no protected pattern within disclosure.solver_time_limit_seconds; "
        "nothing was published."
    )
