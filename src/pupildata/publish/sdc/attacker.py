"""The attacker: what linear programming can learn about hidden cells from everything a release publishes.

For a suppression pattern, the LP's variables are the hidden cells (bounded below by 0, above by nothing); each
additivity constraint touching a hidden cell becomes a row whose right-hand side is made of the published values.
Hidden cells fall into independent groups (cells linked by a chain of constraints); each group gets one model,
reused: finding a cell's minimum or maximum only changes the objective, and primal simplex starts from the
previous basis. Every solution seen is remembered, so a cell whose bound some earlier solution already reached
(0 below) or whose protection it already proves needs no LP of its own.

For secondary suppression the attacker also returns a Fischetti–Salazar cut: the reduced costs of the LP that
proved a cell under-protected give weights ``w`` with ``Σ w_i x_i ≥ protection`` for every protecting pattern
``x``, which the current pattern violates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np

from pupildata.publish.sdc._highs import INF, is_optimal, new_model, status_name
from pupildata.publish.sdc.table import BoolArray, FloatArray, IntArray, Problem


@dataclass(frozen=True)
class Cut:
    cells: IntArray
    weights: FloatArray
    bound: float


#: How far (relative to a line's largest value) the attacker lets a line's sum be off: float rounding only, far
#: below any protection (the audit's own tolerance is 1e-6 of a cell's value).
ROUNDING = 1e-11
#: ``Attacker.certify`` tries joint LPs only for at least this many cells (below, one LP per cell is quick).
JOINT_CELLS = 200


class AttackerError(Exception):
    """The attacker LP did not solve (a time limit, or an inconsistent table)."""


def groups(problem: Problem, hidden: BoolArray) -> list[IntArray]:
    """Hidden cells split into groups that no constraint links."""
    parent = np.arange(problem.size)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for cells, _ in problem.rows:
        inside = cells[hidden[cells]]
        if inside.size > 1:
            root = find(int(inside[0]))
            for cell in inside[1:]:
                other = find(int(cell))
                if other != root:
                    parent[other] = root
    members = np.flatnonzero(hidden)
    roots = np.array([find(int(c)) for c in members], dtype=np.int64)
    return [members[roots == r] for r in np.unique(roots)]


class _Group:
    def __init__(
        self,
        problem: Problem,
        hidden: BoolArray,
        columns: IntArray,
        rows: list[tuple[IntArray, FloatArray]],
        *,
        position: IntArray,
        time_limit: float,
    ) -> None:
        self.columns = columns
        self.problem, self.hidden, self.position = problem, hidden, position
        self.highs = self._model(time_limit)
        self.highs.setOptionValue("simplex_strategy", 4)  # primal: an objective change keeps the basis feasible
        self.time_limit = time_limit
        self.rows = rows  # the constraints touching this group's cells (and no other group's)
        self._add_rows(self.highs)
        self.cost = -1

    def _model(self, time_limit: float) -> Any:
        highs = new_model(time_limit)
        highs.setOptionValue("presolve", "off")
        n = self.columns.size
        highs.addVars(n, np.zeros(n), np.full(n, INF))
        return highs

    def _add_rows(self, highs: Any) -> None:
        problem, hidden = self.problem, self.hidden
        if not self.rows:
            return
        cells = np.concatenate([c for c, _ in self.rows])
        coefs = np.concatenate([k for _, k in self.rows])
        sizes = np.array([c.size for c, _ in self.rows], dtype=np.int64)
        row = np.repeat(np.arange(len(self.rows)), sizes)
        inside = hidden[cells]
        # the published cells' values, on the right-hand side
        rhs = -np.bincount(row[~inside], weights=coefs[~inside] * problem.value[cells[~inside]], minlength=sizes.size)
        # Sums of magnitudes are additive only up to floating-point rounding (about 1e-14 of the line's largest
        # value), which can make the equalities inconsistent: each may be off by that much.
        largest = np.zeros(sizes.size)
        np.maximum.at(largest, row, np.abs(problem.value[cells]))
        slack = ROUNDING * np.maximum(1.0, largest)
        counts = np.bincount(row[inside], minlength=sizes.size)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
        index = self.position[cells[inside]].astype(np.int32)
        highs.addRows(sizes.size, rhs - slack, rhs + slack, index.size, starts, index, coefs[inside].astype(np.float64))

    def joint(self, cols: IntArray, signs: FloatArray, needed: FloatArray) -> FloatArray | None:
        """One point of the attacker's region that moves each cell ``cols[k]`` in the direction ``signs[k]`` (1 up,
        -1 down) as far towards ``needed[k]`` as the cells allow together: maximise ``Σ t_k`` with ``t_k ≤ needed_k``
        and ``t_k ≤ signs_k (x_k − value_k)``. None when the LP does not solve."""
        highs = self._model(self.time_limit)
        self._add_rows(highs)
        n, m = self.columns.size, cols.size
        highs.addVars(m, np.full(m, -INF), needed.astype(np.float64))
        highs.changeColsCost(m, np.arange(n, n + m, dtype=np.int32), np.full(m, -1.0))
        value = self.problem.value[self.columns[cols]]
        starts = np.arange(0, 2 * m, 2, dtype=np.int32)
        index = np.column_stack([np.arange(n, n + m), cols]).ravel().astype(np.int32)
        coefs = np.column_stack([np.ones(m), -signs]).ravel()
        highs.addRows(m, np.full(m, -INF), -signs * value, index.size, starts, index, coefs)
        highs.run()
        if not is_optimal(highs):
            return None
        return np.asarray(highs.getSolution().col_value)[:n]

    def solve(self, col: int, sense: float) -> FloatArray | None:
        """The solution minimising ``sense`` × the cell, or None when the cell has no upper bound."""
        if self.cost >= 0 and self.cost != col:
            self.highs.changeColCost(self.cost, 0.0)
        self.highs.changeColCost(col, sense)
        self.cost = col
        self.highs.setOptionValue("time_limit", self.highs.getRunTime() + self.time_limit)
        self.highs.run()
        if sense < 0 and self.highs.getModelStatus() == highspy.HighsModelStatus.kUnbounded:
            return None
        if not is_optimal(self.highs):
            raise AttackerError(f"the attacker's linear programme ended {status_name(self.highs)}")
        return np.asarray(self.highs.getSolution().col_value)


class Attacker:
    """The attacker's LPs for one pattern. ``accept``, when given, is asked about every point an LP finds (the
    group's cells and their values) before what it reaches is remembered: a point it refuses proves nothing."""

    def __init__(
        self,
        problem: Problem,
        hidden: BoolArray,
        time_limit: float,
        accept: Callable[[IntArray, FloatArray], bool] | None = None,
    ) -> None:
        self.problem = problem
        self.accept = accept
        self.columns = np.flatnonzero(hidden)
        self.group_of = np.full(problem.size, -1, dtype=np.int64)
        self.position = np.full(problem.size, -1, dtype=np.int64)
        self.groups: list[_Group] = []
        found = groups(problem, hidden)
        rows: list[list[tuple[IntArray, FloatArray]]] = [[] for _ in found]
        for k, members in enumerate(found):
            self.group_of[members] = k
            self.position[members] = np.arange(members.size)
        for cells, coefs in problem.rows:  # a row's hidden cells are all in one group
            inside = cells[hidden[cells]]
            if inside.size:
                rows[int(self.group_of[inside[0]])].append((cells, coefs))
        for members, mine in zip(found, rows, strict=True):
            self.groups.append(_Group(problem, hidden, members, mine, position=self.position, time_limit=time_limit))
        self.seen_low = problem.value.copy()
        self.seen_high = problem.value.copy()

    def _solve(self, cell: int, sense: float) -> _Group:
        group = self.groups[int(self.group_of[cell])]
        values = group.solve(int(self.position[cell]), sense)
        if values is None:
            self.seen_high[cell] = np.inf
            return group
        self._see(group, values)
        return group

    def _see(self, group: _Group, values: FloatArray) -> None:
        if self.accept is not None and not self.accept(group.columns, values):
            return
        self.seen_low[group.columns] = np.minimum(self.seen_low[group.columns], values)
        self.seen_high[group.columns] = np.maximum(self.seen_high[group.columns], values)

    def seen(self, cell: int) -> tuple[float, float]:
        """Values the hidden ``cell`` is known to reach (an inner bound on its interval)."""
        return max(0.0, float(self.seen_low[cell])), float(self.seen_high[cell])

    def certify(self, cells: IntArray, upper: FloatArray, lower: FloatArray, at_least: int = JOINT_CELLS) -> None:
        """Prove protection for many cells at once, before any LP of their own: per group, one LP moving every
        cell up towards its protection (``upper``, by cell) together, and one moving every cell down (``lower``)
        — ``_Group.joint``. Each solution is a point the attacker cannot exclude, so what it reaches is remembered
        as seen; a cell it leaves short is settled by its own LPs (``check``, ``interval``) as before."""
        if cells.size < at_least:
            return
        for sense, needed in ((1.0, upper), (-1.0, lower)):
            value = self.problem.value[cells]
            reach = self.seen_high[cells] - value if sense > 0 else value - self.seen_low[cells]
            short = cells[(needed[cells] > 0) & (reach < needed[cells])]
            for k in np.unique(self.group_of[short]):
                group = self.groups[int(k)]
                mine = short[self.group_of[short] == k]
                values = group.joint(self.position[mine], np.full(mine.size, sense), needed[mine])
                if values is not None:
                    self._see(group, values)

    def interval(self, cell: int) -> tuple[float, float]:
        """The smallest and largest value the hidden ``cell`` can take, given everything published."""
        if self.seen_low[cell] > 1e-9:
            self._solve(cell, 1.0)
        self._solve(cell, -1.0)
        return max(0.0, float(self.seen_low[cell])), float(self.seen_high[cell])

    def check(self, cell: int, upper: float, lower: float, tol: float = 1e-7, *, cuts: bool = True) -> list[Cut]:
        """Cuts for each direction in which ``cell`` is less protected than required (none when it is safe); with
        ``cuts`` false, the LPs only, and their solutions remembered as seen."""
        found = []
        value = float(self.problem.value[cell])
        for sense, needed in ((-1.0, upper), (1.0, lower)):
            slack = tol * max(1.0, needed)
            if needed <= 0 or self._reach(cell, sense, value) >= needed - slack:
                continue
            group = self._solve(cell, sense)
            if cuts and self._reach(cell, sense, value) < needed - slack:
                found.append(self._cut(group, needed))
        return found

    def _reach(self, cell: int, sense: float, value: float) -> float:
        return float(self.seen_high[cell] - value if sense < 0 else value - self.seen_low[cell])

    def _cut(self, group: _Group, needed: float) -> Cut:
        solution = group.highs.getSolution()
        row_dual = np.asarray(solution.row_dual)
        reduced = np.zeros(self.problem.size)
        for (cells, coefs), dual in zip(group.rows, row_dual, strict=True):
            if dual != 0.0:
                np.subtract.at(reduced, cells, coefs * dual)
        reduced[group.columns] = np.asarray(solution.col_dual)
        value = self.problem.value
        # A cell's weight: its reduced cost times how far its bound could move if it were hidden — down to 0
        # (lower bound binding, d > 0) or without limit (upper bound binding, d < 0) — never above `needed`.
        weight = np.where(reduced > 0, reduced * value, np.where(reduced < 0, np.inf, 0.0))
        weight = np.minimum(weight, needed)
        keep = np.flatnonzero(weight > 1e-9)
        return Cut(keep.astype(np.int64), weight[keep], needed)


def attacker_intervals(problem: Problem, hidden: BoolArray, time_limit: float) -> dict[int, tuple[float, float]]:
    attacker = Attacker(problem, hidden, time_limit)
    return {int(cell): attacker.interval(int(cell)) for cell in attacker.columns}


__all__ = ["Attacker", "AttackerError", "Cut", "attacker_intervals", "groups"]
