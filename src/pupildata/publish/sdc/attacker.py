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

from dataclasses import dataclass

import highspy
import numpy as np

from pupildata.publish.sdc._highs import INF, is_optimal, new_model, status_name
from pupildata.publish.sdc.table import BoolArray, FloatArray, IntArray, Problem


@dataclass(frozen=True)
class Cut:
    cells: IntArray
    weights: FloatArray
    bound: float


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
        self.highs = new_model(time_limit)
        self.highs.setOptionValue("presolve", "off")
        self.highs.setOptionValue("simplex_strategy", 4)  # primal: an objective change keeps the basis feasible
        self.time_limit = time_limit
        n = columns.size
        self.highs.addVars(n, np.zeros(n), np.full(n, INF))
        self.rows = rows  # the constraints touching this group's cells (and no other group's)
        for cells, coefs in rows:
            inside = hidden[cells]
            outside = ~inside
            rhs = -float(coefs[outside] @ problem.value[cells[outside]])
            idx = position[cells[inside]].astype(np.int32)
            self.highs.addRow(rhs, rhs, idx.size, idx, coefs[inside])
        self.cost = -1

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
    def __init__(self, problem: Problem, hidden: BoolArray, time_limit: float) -> None:
        self.problem = problem
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
        self.seen_low[group.columns] = np.minimum(self.seen_low[group.columns], values)
        self.seen_high[group.columns] = np.maximum(self.seen_high[group.columns], values)
        return group

    def interval(self, cell: int) -> tuple[float, float]:
        """The smallest and largest value the hidden ``cell`` can take, given everything published."""
        if self.seen_low[cell] > 1e-9:
            self._solve(cell, 1.0)
        self._solve(cell, -1.0)
        return max(0.0, float(self.seen_low[cell])), float(self.seen_high[cell])

    def check(self, cell: int, upper: float, lower: float, tol: float = 1e-7) -> list[Cut]:
        """Cuts for each direction in which ``cell`` is less protected than required (none when it is safe)."""
        cuts = []
        value = float(self.problem.value[cell])
        for sense, needed in ((-1.0, upper), (1.0, lower)):
            slack = tol * max(1.0, needed)
            if needed <= 0 or self._reach(cell, sense, value) >= needed - slack:
                continue
            group = self._solve(cell, sense)
            if self._reach(cell, sense, value) < needed - slack:
                cuts.append(self._cut(group, needed))
        return cuts

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
