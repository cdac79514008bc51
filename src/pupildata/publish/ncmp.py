"""Child measurement: BMI classified against the UK90 reference, for a million children in well under a second.

rcpchgrowth (reference "uk-who", which is UK90 from age 4) computes one child at a time. Here its own LMS
interpolation (``fetch_lms``) is run once per day of age over the ages children are measured at, cached, and the
LMS formula ``z = ((x / M)^L − 1) / (L · S)`` is applied to whole columns with numpy. Age is days / 365.25, as in
rcpchgrowth, so each child gets exactly the package's L, M and S.

Population-monitoring categories (UK90): underweight ≤ 2nd centile; healthy weight > 2nd and < 85th; overweight
≥ 85th and < 95th; obese ≥ 95th; severely obese ≥ 99.6th (a part of obese). Prevalences carry 95% Wilson
score intervals.
"""

from __future__ import annotations

from functools import cache
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from pupildata.errors import DataError

FIRST_DAY = int(np.ceil(4 * 365.25))  # the reference's BMI table starts at 4 years
LAST_DAY = int(np.floor(13 * 365.25))  # Year 6 children are at most 11; leave room for late measurement
SEXES = {"M": "male", "F": "female"}

_normal = NormalDist()
UNDERWEIGHT_SDS = _normal.inv_cdf(0.02)
OVERWEIGHT_SDS = _normal.inv_cdf(0.85)
OBESE_SDS = _normal.inv_cdf(0.95)
SEVERELY_OBESE_SDS = _normal.inv_cdf(0.996)

CATEGORIES = ("underweight", "healthy_weight", "overweight", "obese")


@cache
def lms_by_day(sex: str) -> npt.NDArray[np.float64]:
    """Rows of (L, M, S) for each day of age from ``FIRST_DAY`` to ``LAST_DAY``, from rcpchgrowth's own tables."""
    from rcpchgrowth.global_functions import fetch_lms, lms_value_array_for_measurement_for_reference

    days = np.arange(FIRST_DAY, LAST_DAY + 1)
    out = np.empty((days.size, 3))
    table = lms_value_array_for_measurement_for_reference(
        reference="uk-who", age=8.0, measurement_method="bmi", sex=SEXES[sex], default_youngest_reference=False
    )
    for k, day in enumerate(days):
        lms = fetch_lms(float(day) / 365.25, table)
        out[k] = (lms["l"], lms["m"], lms["s"])
    return out


def bmi_sds(sex: npt.ArrayLike, age_days: npt.ArrayLike, bmi: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The UK90 BMI SDS of each child; sex is 'M' or 'F', age in whole days at measurement."""
    sexes = np.asarray(sex).astype(str)
    days = np.asarray(age_days, dtype=np.int64)
    values = np.asarray(bmi, dtype=np.float64)
    outside = (days < FIRST_DAY) | (days > LAST_DAY)
    if outside.any():
        raise DataError(
            f"{int(outside.sum())} children are outside the ages the reference covers here "
            f"({FIRST_DAY}–{LAST_DAY} days); the first is {int(days[outside][0])} days old."
        )
    unknown = ~np.isin(sexes, list(SEXES))
    if unknown.any():
        raise DataError(f"{int(unknown.sum())} children have a sex other than M or F, e.g. {sexes[unknown][0]!r}.")
    lms = np.where((sexes == "M")[:, None], lms_by_day("M")[days - FIRST_DAY], lms_by_day("F")[days - FIRST_DAY])
    ell, m, s = lms[:, 0], lms[:, 1], lms[:, 2]
    return np.asarray(((values / m) ** ell - 1.0) / (ell * s), dtype=np.float64)


def classify(sds: npt.NDArray[np.float64]) -> dict[str, npt.NDArray[np.bool_]]:
    """One boolean column per category; severely obese is a part of obese."""
    obese = sds >= OBESE_SDS
    overweight = (sds >= OVERWEIGHT_SDS) & ~obese
    underweight = sds <= UNDERWEIGHT_SDS
    return {
        "underweight": underweight,
        "healthy_weight": ~underweight & ~overweight & ~obese,
        "overweight": overweight,
        "obese": obese,
        "severely_obese": sds >= SEVERELY_OBESE_SDS,
    }


def cut_off(sex: str, age_days: int, sds: float) -> float:
    """The BMI at a given SDS for one sex and age (for reports and tests)."""
    ell, m, s = lms_by_day(sex)[age_days - FIRST_DAY]
    return float(m * (1.0 + ell * s * sds) ** (1.0 / ell))


def wilson(
    k: npt.ArrayLike, n: npt.ArrayLike, confidence: float = 0.95
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Lower and upper Wilson score limits (as proportions) for ``k`` of ``n``; NaN where ``n`` is 0."""
    k_ = np.asarray(k, dtype=np.float64)
    n_ = np.asarray(n, dtype=np.float64)
    z = _normal.inv_cdf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k_ / n_
        denominator = 1 + z * z / n_
        centre = (p + z * z / (2 * n_)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / n_ + z * z / (4 * n_ * n_))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
