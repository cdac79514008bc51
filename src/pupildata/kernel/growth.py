"""The British 1990 growth reference (UK90), from rcpchgrowth's own tables, for whole columns at once.

rcpchgrowth computes one child at a time (about 100 µs each). Here its own LMS interpolation (``fetch_lms``) is
run once for every day of age from 4 to 13 years — the ages children are measured at school — and cached; the
LMS formulas are then applied to whole numpy columns:

    SDS z = ((x / M)^L − 1) / (L · S)          measurement x = M · (1 + L · S · z)^(1/L)

(with the limits ln(x / M) / S and M · exp(S · z) when L is 0). Age is days / 365.25, as in rcpchgrowth, so each
child gets exactly the package's L, M and S. The synthetic generator, collection's plausibility rules and the
child measurement statistics all use this one module.
"""

from __future__ import annotations

from functools import cache
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

FIRST_DAY = 1461  # 4 years: Reception children are at least 4
LAST_DAY = 4750  # 13 years: Year 6 children are at most 11; room for late measurement
MEASUREMENTS = ("height", "weight", "bmi")

_normal = NormalDist()
#: Population-monitoring cut-offs as SDS: underweight ≤ 2nd centile, overweight ≥ 85th, obese ≥ 95th,
#: severely obese ≥ 99.6th.
UNDERWEIGHT_SDS = _normal.inv_cdf(0.02)
OVERWEIGHT_SDS = _normal.inv_cdf(0.85)
OBESE_SDS = _normal.inv_cdf(0.95)
SEVERELY_OBESE_SDS = _normal.inv_cdf(0.996)


@cache
def lms_table(measurement: str, sex: str) -> npt.NDArray[np.float64]:
    """L, M and S (three columns) for every day of age from FIRST_DAY to LAST_DAY; sex is 'male' or 'female'."""
    from rcpchgrowth.global_functions import fetch_lms
    from rcpchgrowth.uk_who import UK90_CHILD_DATA

    if measurement not in MEASUREMENTS:
        raise ValueError(f"the growth reference has no {measurement!r}; it has {', '.join(MEASUREMENTS)}")
    reference = UK90_CHILD_DATA["measurement"][measurement][sex]
    rows = [
        (lms["l"], lms["m"], lms["s"])
        for lms in (fetch_lms(days / 365.25, reference) for days in range(FIRST_DAY, LAST_DAY + 1))
    ]
    table = np.array(rows, dtype=np.float64)
    table.setflags(write=False)
    return table


def in_range(age_days: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    days = np.asarray(age_days, dtype=np.int64)
    return np.asarray((days >= FIRST_DAY) & (days <= LAST_DAY))


def lms(measurement: str, female: npt.ArrayLike, age_days: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """L, M and S (three columns) for each child; ages outside the table take its nearest end."""
    index = np.clip(np.asarray(age_days, dtype=np.int64), FIRST_DAY, LAST_DAY) - FIRST_DAY
    girls = np.asarray(female, dtype=bool)
    return np.where(girls[:, None], lms_table(measurement, "female")[index], lms_table(measurement, "male")[index])


def to_sds(x: npt.ArrayLike, table: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The SDS of each measurement, given each child's L, M and S."""
    values = np.asarray(x, dtype=np.float64)
    big_l, m, s = table[:, 0], table[:, 1], table[:, 2]
    safe_l = np.where(big_l == 0, 1.0, big_l)
    return np.where(big_l == 0, np.log(values / m) / s, (np.power(values / m, safe_l) - 1) / (safe_l * s))


def from_sds(z: npt.ArrayLike, table: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The measurement at each SDS, given each child's L, M and S."""
    scores = np.asarray(z, dtype=np.float64)
    big_l, m, s = table[:, 0], table[:, 1], table[:, 2]
    safe_l = np.where(big_l == 0, 1.0, big_l)
    power = np.power(np.maximum(1 + safe_l * s * scores, 1e-9), 1 / safe_l)
    return np.where(big_l == 0, m * np.exp(s * scores), m * power)
