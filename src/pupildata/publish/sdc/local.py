"""Locality in a national-scale problem: small neighbourhoods in which a cell can be protected (and its protection
proven) on its own, and a check of a movement against every constraint of the whole problem.

A release's tables share a geography (places in authorities in regions) and each crosses it with a few other
dimensions; tables of one release share margins (e.g. authority × age in an authority × age × sex table and in an
authority × age × ethnicity table). A cell is protected, or proven protected, in its *neighbourhood*: the cells at
its place and its place's siblings (and their parent; for a place with parts, its parts too), in every table of
its measure. ``restrict`` makes that a problem of its own in which every cell on a constraint reaching
outside is a published constant, so that a movement found there keeps every constraint of the whole problem.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pupildata.publish.sdc.rules import Primary
from pupildata.publish.sdc.table import BoolArray, Dimension, FloatArray, IntArray, Problem


def _members(problem: Problem, tree: Dimension) -> dict[str, IntArray]:
    """For each code with children, the cells of its subtable: at that code or at one of its children."""
    kids = tree.children()
    members: dict[str, list[int]] = {}
    for i, (_, coords) in enumerate(problem.keys):
        code = dict(coords).get(tree.name, tree.root)
        if code in kids:
            members.setdefault(code, []).append(i)
        if code != tree.root:
            members.setdefault(tree.parent[code], []).append(i)
    return {code: np.array(sorted(cells), dtype=np.int64) for code, cells in members.items()}


class Neighbourhoods:
    """``cells`` grouped by where they are protected (``group``), for one problem and its geography."""

    def __init__(self, problem: Problem, tree: Dimension) -> None:
        self.problem, self.tree = problem, tree
        self.members = _members(problem, tree)
        self.kids = tree.children()
        self.code_of = [dict(coords).get(tree.name, tree.root) for _, coords in problem.keys]
        measures: dict[str, int] = {}
        #: each cell's measure, numbered: different measures never share a line
        self.measure = np.array([measures.setdefault(m, len(measures)) for m, _ in problem.keys], dtype=np.int64)

    def group(self, cells: IntArray, lift: int = 0) -> list[tuple[IntArray, IntArray]]:
        """A cell at a code of the hierarchy is protected in the subtable of its parent (a school among its
        authority's schools) and, when the code has children, in its own subtable and theirs too (a region with
        its authorities and their schools: a total can move only with its parts), in every table of its measure.
        One (neighbourhood, its cells of ``cells``) pair per group; cells at the children of one code share one
        neighbourhood. With ``lift``, that of the code's ancestor ``lift`` levels up (or the top), which holds
        it: a wider neighbourhood for a cell its own cannot protect."""
        tree, members = self.tree, self.members
        grouped: dict[tuple[tuple[str, ...], int], list[int]] = {}
        for c in cells:
            code = self.code_of[int(c)]
            for _ in range(lift):
                code = tree.parent.get(code, code)
            place = tuple(k for k in (tree.parent.get(code), code, *self.kids.get(code, ())) if k in members)
            grouped.setdefault((place, int(self.measure[c])), []).append(int(c))
        out = []
        for (place, measure), mine in grouped.items():
            if place:
                near = np.unique(np.concatenate([members[k] for k in place]))
                near = near[self.measure[near] == measure]
            else:
                near = np.array(mine, dtype=np.int64)
            out.append((near, np.array(mine, dtype=np.int64)))
        return out


def neighbourhoods(
    problem: Problem, tree: Dimension, cells: IntArray, lift: int = 0
) -> list[tuple[IntArray, IntArray]]:
    """``Neighbourhoods.group`` for one call."""
    return Neighbourhoods(problem, tree).group(cells, lift)


def restrict(
    problem: Problem, primary: Primary, cells: IntArray, marked: IntArray
) -> tuple[Problem, Primary, BoolArray]:
    """``cells`` as a problem of their own in which only ``marked`` are primary: the constraints wholly inside, and
    every cell that also lies on a constraint outside made a published constant (neither hidden nor movable).

    A movement of this problem's cells that keeps its constraints moves no cell of a constraint outside it, so it
    keeps every constraint of the whole problem: what the attacker can reach here it can reach there, and a
    pattern that protects ``marked`` here protects them in the whole problem. Returns the problem, its primary
    cells and which of its cells are such published constants."""
    mine = np.zeros(problem.size, dtype=bool)
    mine[cells] = True
    new = np.full(problem.size, -1, dtype=np.int64)
    new[cells] = np.arange(cells.size)
    rows, edge = [], np.zeros(problem.size, dtype=bool)
    lines = Lines.of(problem)
    touched = np.unique(lines.row[mine[lines.cell]])
    for r in touched:
        c, k = problem.rows[int(r)]
        inside = mine[c]
        if inside.all():
            rows.append((new[c], k))
        else:
            edge[c[inside]] = True
    unsafe = np.zeros(problem.size, dtype=bool)
    unsafe[marked] = True
    part = Problem(
        [problem.keys[int(i)] for i in cells],
        problem.value[cells],
        np.where(edge[cells], 0, problem.count[cells]),
        [problem.top[int(i)] for i in cells],
        problem.hidden[cells] & ~edge[cells],
        rows,
        problem.tolerance,
    )
    marks = Primary(unsafe[cells], primary.upper[cells], primary.lower[cells], [primary.reasons[int(i)] for i in cells])
    return part, marks, edge[cells]


class Lines:
    """Every constraint of a problem as flat arrays (row, cell, coefficient), kept with the problem."""

    def __init__(self, problem: Problem) -> None:
        sizes = np.array([c.size for c, _ in problem.rows], dtype=np.int64)
        self.row = np.repeat(np.arange(len(problem.rows), dtype=np.int64), sizes)
        self.cell = np.concatenate([c for c, _ in problem.rows]) if problem.rows else np.zeros(0, dtype=np.int64)
        self.coef = np.concatenate([k for _, k in problem.rows]) if problem.rows else np.zeros(0)
        self.rows = len(problem.rows)
        # a line's scale: its largest value, for the tolerance of its sum
        scale = np.zeros(self.rows)
        np.maximum.at(scale, self.row, np.abs(problem.value[self.cell]))
        self.scale = np.maximum(scale, 1.0)

    @classmethod
    def of(cls, problem: Problem) -> Lines:
        lines = getattr(problem, "_lines", None)
        if lines is None or lines.rows != len(problem.rows):
            lines = cls(problem)
            object.__setattr__(problem, "_lines", lines)
        return lines

    def keeps(self, problem: Problem, hidden: BoolArray, cells: IntArray, values: FloatArray) -> bool:
        """Whether setting hidden ``cells`` to ``values`` (all others at their true values) is a point every
        constraint of the whole problem allows: each line's sum moves by no more than the tolerance of the audit,
        no cell is negative, and no published cell moves."""
        if not bool(hidden[cells].all()) or bool((values < -problem.tolerance).any()):
            return False
        delta = np.zeros(problem.size)
        delta[cells] = values - problem.value[cells]
        moved = delta[self.cell] != 0.0
        drift = np.bincount(self.row[moved], weights=self.coef[moved] * delta[self.cell[moved]], minlength=self.rows)
        return bool((np.abs(drift) <= problem.tolerance * self.scale).all())


def each(work: Callable[[IntArray, IntArray], None], jobs: list[tuple[IntArray, IntArray]], workers: int) -> None:
    """``work(*job)`` for every job, in ``workers`` threads (here, when 1); the largest jobs first."""
    jobs = sorted(jobs, key=lambda job: -job[0].size * job[1].size)
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            work(*job)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(work, *job) for job in jobs]:
            future.result()
