"""An attacker written apart from the production audit: scipy's LP over the finest cells of each table.

Unknowns are the finest cells of every table (≥ 0). Each published cell fixes the sum of the finest cells below it;
a cell that two tables share must have the same sum in both. The feasible range of a hidden cell is the minimum
and maximum of the sum of its finest cells.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog

from pupildata.publish.sdc import Table

from .builders import leaf_cells, leaves


def ranges(tables: list[Table], published: dict[tuple[str, tuple[tuple[str, str], ...]], bool]) -> dict:
    """{cell key: (low, high)} for every key whose ``published`` flag is False."""
    columns: dict[tuple[int, tuple[str, ...]], int] = {}
    for t, table in enumerate(tables):
        for cell in leaf_cells(table.dimensions):
            columns[(t, cell)] = len(columns)
    sums: dict[tuple, list[np.ndarray]] = {}
    truth: dict[tuple, float] = {}
    for t, table in enumerate(tables):
        for coords in itertools.product(*(d.codes for d in table.dimensions)):
            row = np.zeros(len(columns))
            below = itertools.product(*(leaves(d, c) for d, c in zip(table.dimensions, coords, strict=True)))
            for cell in below:
                row[columns[(t, cell)]] = 1.0
            sums.setdefault(table.key(coords), []).append(row)
            truth[table.key(coords)] = table.values[coords]
    equations, rhs = [], []
    for key, rows in sums.items():
        for other in rows[1:]:  # the same cell in two tables
            equations.append(rows[0] - other)
            rhs.append(0.0)
        if published[key]:
            equations.append(rows[0])
            rhs.append(truth[key])
    a_eq = np.array(equations).reshape(len(equations), len(columns))
    b_eq = np.array(rhs)
    out = {}
    for key, rows in sums.items():
        if published[key]:
            continue
        low = linprog(rows[0], A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-rows[0], A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert low.status == 0
        assert high.status in (0, 3)
        out[key] = (low.fun, np.inf if high.status == 3 else -high.fun)
    return out
