"""Additive tables with hierarchies, and the release-wide problem that disclosure control works on.

A ``Dimension`` is a tree of codes under one root (its ``Total``): national ⊃ regions ⊃ local authorities, or
``Total`` ⊃ ``M``, ``F``. A ``Table`` gives a value (and a contributor count, and for magnitudes its largest
contributors) for every combination of codes of its dimensions. Every 1-D line through the table, in every
dimension, gives one additivity constraint: *parent = Σ children*, the other dimensions held fixed.

Several tables of one release are solved together as one ``Problem``. A cell is identified by its measure and its
non-total coordinates, so the same cell published in two tables (a shared margin, e.g. LA totals in an
LA × sex table and in an LA × year group table) is one variable: hiding it in one table hides it in both.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from pupildata.errors import DataError

CellKey = tuple[str, tuple[tuple[str, str], ...]]  # (measure, ((dimension, code), ...) without totals)
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Dimension:
    """A tree of codes. ``parent`` maps every code except the root to its parent; ``hidden`` codes are never
    published (e.g. *obese but not severely obese*) but take part in the additivity."""

    name: str
    parent: Mapping[str, str]
    root: str = "Total"
    hidden: frozenset[str] = frozenset()

    @classmethod
    def flat(cls, name: str, codes: Iterable[str], root: str = "Total", hidden: Iterable[str] = ()) -> Dimension:
        return cls(name, dict.fromkeys(codes, root), root, frozenset(hidden))

    @classmethod
    def tree(
        cls, name: str, pairs: Iterable[tuple[str, str]], root: str = "Total", hidden: Iterable[str] = ()
    ) -> Dimension:
        """From (code, parent) pairs, parents before or after their children."""
        return cls(name, dict(pairs), root, frozenset(hidden))

    @property
    def codes(self) -> tuple[str, ...]:
        """Every code, the root first, then depth-first in the order the pairs were given."""
        kids = self.children()
        ordered: list[str] = []
        stack = [self.root]
        while stack:
            code = stack.pop()
            ordered.append(code)
            stack.extend(reversed(kids.get(code, [])))
        return tuple(ordered)

    def children(self) -> dict[str, list[str]]:
        kids: dict[str, list[str]] = {}
        for code, parent in self.parent.items():
            kids.setdefault(parent, []).append(code)
        return kids

    def depth_of_tree(self) -> int:
        """The depth of the deepest code (0 for a flat dimension's total alone)."""
        return max((self.depth(code) for code in self.parent), default=0)

    def depth(self, code: str) -> int:
        level = 0
        while code != self.root:
            code = self.parent[code]
            level += 1
        return level


@dataclass
class Table:
    """One published table of one measure: ``values[coords]`` for every combination of codes (totals too).

    ``counts`` are the contributors to each cell (for a frequency table, the value itself); ``top`` holds the
    largest contributors of a magnitude cell, largest first, for the dominance and p% rules.
    """

    name: str
    measure: str
    dimensions: tuple[Dimension, ...]
    values: dict[tuple[str, ...], float]
    counts: dict[tuple[str, ...], int] = field(default_factory=dict)
    top: dict[tuple[str, ...], tuple[float, ...]] = field(default_factory=dict)
    #: Dimensions that are never published crossed with each other (two geographies: a cell of an authority
    #: within a health area is hidden, but it links the two, so differencing between them is seen).
    uncrossed: frozenset[str] = frozenset()

    def coordinates(self) -> Iterable[tuple[str, ...]]:
        """Every combination of codes — but where uncrossed dimensions cross, only the combinations given a value:
        the others hold no one (e.g. a health area and an authority that do not overlap) and are left out, as
        the constant 0 they are."""
        every = itertools.product(*(d.codes for d in self.dimensions))
        if not self.uncrossed:
            return every
        return (c for c in every if c in self.values or not self.crossed(c))

    def crossed(self, coords: Sequence[str]) -> bool:
        """Whether more than one uncrossed dimension is at a code other than its total."""
        pairs = zip(self.dimensions, coords, strict=True)
        return sum(1 for d, code in pairs if d.name in self.uncrossed and code != d.root) > 1

    def key(self, coords: Sequence[str]) -> CellKey:
        pairs = sorted((d.name, code) for d, code in zip(self.dimensions, coords, strict=True) if code != d.root)
        return self.measure, tuple(pairs)

    def hidden(self, coords: Sequence[str]) -> bool:
        pairs = zip(self.dimensions, coords, strict=True)
        return self.crossed(coords) or any(code in d.hidden for d, code in pairs)


@dataclass
class Problem:
    """Every distinct cell of a release, and every additivity constraint between them (rows of ``±1``)."""

    keys: list[CellKey]
    value: FloatArray
    count: IntArray
    top: list[tuple[float, ...]]
    hidden: BoolArray
    rows: list[tuple[IntArray, FloatArray]]
    tolerance: float = 1e-6

    @property
    def size(self) -> int:
        return len(self.keys)

    def index(self) -> dict[CellKey, int]:
        return {key: i for i, key in enumerate(self.keys)}


def build_problem(tables: Sequence[Table]) -> Problem:
    """The cells and constraints of all ``tables`` together; a cell given twice must have one value."""
    index: dict[CellKey, int] = {}
    values: list[float] = []
    counts: list[int] = []
    tops: list[tuple[float, ...]] = []
    hidden: list[bool] = []
    for table in tables:
        for coords in table.coordinates():
            if coords not in table.values:
                raise DataError(f"Table {table.name} has no value for cell {', '.join(coords)}.")
            key = table.key(coords)
            value = float(table.values[coords])
            if key in index:
                known = values[index[key]]
                if abs(known - value) > 1e-6 * max(1.0, abs(value)):
                    raise DataError(
                        f"Table {table.name} gives {value} for cell {_describe(key)}, another table {known}."
                    )
                continue
            index[key] = len(values)
            values.append(value)
            counts.append(int(table.counts.get(coords, round(value))))
            tops.append(table.top.get(coords, ()))
            hidden.append(table.hidden(coords))
    rows: dict[tuple[tuple[int, float], ...], None] = {}
    for table in tables:
        for row in _table_rows(table, index):
            rows.setdefault(row, None)
    built = [(np.array([i for i, _ in row], dtype=np.int64), np.array([c for _, c in row])) for row in rows]
    problem = Problem(
        list(index), np.array(values), np.array(counts, dtype=np.int64), tops, np.array(hidden, dtype=bool), built
    )
    _check_additive(problem)
    return problem


def _table_rows(table: Table, index: Mapping[CellKey, int]) -> Iterable[tuple[tuple[int, float], ...]]:
    dims = table.dimensions
    for axis, dim in enumerate(dims):
        kids = dim.children()
        others = [d.codes for j, d in enumerate(dims) if j != axis]
        for parent, children in kids.items():
            for rest in itertools.product(*others):
                top = _at(table, index, rest, axis, parent)
                if top is None:  # a crossing left out: it and every part of it hold no one
                    continue
                row = {top: 1.0}
                for child in children:
                    cell = _at(table, index, rest, axis, child)
                    if cell is not None:
                        row[cell] = row.get(cell, 0.0) - 1.0
                yield tuple(sorted(row.items()))


def _at(table: Table, index: Mapping[CellKey, int], rest: tuple[str, ...], axis: int, code: str) -> int | None:
    coords = (*rest[:axis], code, *rest[axis:])
    if table.uncrossed and coords not in table.values and table.crossed(coords):
        return None
    return index[table.key(coords)]


def _check_additive(problem: Problem) -> None:
    for cells, coefs in problem.rows:
        gap = float(coefs @ problem.value[cells])
        scale = max(1.0, float(np.abs(problem.value[cells]).max()))
        if abs(gap) > problem.tolerance * scale:
            total = problem.keys[int(cells[coefs > 0][0])]
            raise DataError(f"Cell {_describe(total)} is not the sum of its parts (off by {gap:g}).")


def _describe(key: CellKey) -> str:
    measure, coords = key
    return f"{measure} at " + (", ".join(f"{d}={c}" for d, c in coords) or "the grand total")
