"""Controlled rounding: every published value becomes a multiple of the base next to it, and tables still add up.

Each cell is rounded down or up to an adjacent multiple of ``base`` (a value that is already a multiple stays as
it is: zero-restricted rounding); a binary variable per cell chooses, every additivity constraint must hold for
the rounded values, and the total distance from the true values is minimised — an integer programme in HiGHS.
Never-published cells take any non-negative value. Three-dimensional tables do not always have a controlled
rounding; then nothing is published and the policy should choose suppression.
"""

from __future__ import annotations

import numpy as np

from pupildata.errors import DataError
from pupildata.publish.sdc._highs import INF, new_model, status_name
from pupildata.publish.sdc.table import FloatArray, Problem


def controlled_round(problem: Problem, base: int, time_limit: float, mip_rel_gap: float = 1e-4) -> FloatArray:
    """The rounded value of every cell (hidden cells keep a feasible but meaningless value)."""
    value = problem.value
    down = np.floor(value / base + 1e-9) * base
    remainder = value - down
    exact = remainder < 1e-9
    n = problem.size
    highs = new_model(time_limit, mip_rel_gap)
    # Columns 0..n-1: z (1 = round up). Hidden cells: z is a continuous non-negative "free value" column.
    upper = np.where(problem.hidden, INF, np.where(exact, 0.0, 1.0))
    lower = np.where(problem.hidden, -down / base, 0.0)
    highs.addVars(n, lower, upper)
    integral = np.flatnonzero(~problem.hidden).astype(np.int32)
    highs.changeColsIntegrality(integral.size, integral, np.ones(integral.size, dtype=np.uint8))
    cost = np.where(problem.hidden, 0.0, base - 2.0 * remainder)
    highs.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
    for cells, coefs in problem.rows:
        rhs = -float(coefs @ down[cells]) / base
        highs.addRow(rhs, rhs, cells.size, cells.astype(np.int32), coefs)
    highs.run()
    if highs.getInfo().primal_solution_status != 2:
        if highs.getModelStatus().name == "kInfeasible":
            raise DataError(
                f"These tables have no controlled rounding to base {base}; nothing was published "
                "(set disclosure.method to suppression)."
            )
        raise DataError(f"Controlled rounding ended {status_name(highs)}; nothing was published.")
    z = np.asarray(highs.getSolution().col_value)
    rounded = down + base * np.where(problem.hidden, z, np.round(z))
    return np.asarray(rounded, dtype=np.float64)
