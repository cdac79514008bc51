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

from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from pupildata.errors import DataError
from pupildata.kernel.growth import (
    FIRST_DAY,
    LAST_DAY,
    OBESE_SDS,
    OVERWEIGHT_SDS,
    SEVERELY_OBESE_SDS,
    UNDERWEIGHT_SDS,
    from_sds,
    in_range,
    lms,
    to_sds,
)

SEXES = ("M", "F")

CATEGORIES = ("underweight", "healthy_weight", "overweight", "obese")


def bmi_sds(sex: npt.ArrayLike, age_days: npt.ArrayLike, bmi: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The UK90 BMI SDS of each child; sex is 'M' or 'F', age in whole days at measurement."""
    sexes = np.asarray(sex).astype(str)
    days = np.asarray(age_days, dtype=np.int64)
    values = np.asarray(bmi, dtype=np.float64)
    outside = ~in_range(days)
    if outside.any():
        raise DataError(
            f"{int(outside.sum())} children are outside the ages the reference covers here "
            f"({FIRST_DAY}–{LAST_DAY} days); the first is {int(days[outside][0])} days old."
        )
    unknown = ~np.isin(sexes, SEXES)
    if unknown.any():
        raise DataError(f"{int(unknown.sum())} children have a sex other than M or F, e.g. {sexes[unknown][0]!r}.")
    return to_sds(values, lms("bmi", sexes == "F", days))


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
    table = lms("bmi", [sex == "F"], [age_days])
    return float(from_sds([sds], table)[0])


def wilson(
    k: npt.ArrayLike, n: npt.ArrayLike, confidence: float = 0.95
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Lower and upper Wilson score limits (as proportions) for ``k`` of ``n``; NaN where ``n`` is 0."""
    k_ = np.asarray(k, dtype=np.float64)
    n_ = np.asarray(n, dtype=np.float64)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k_ / n_
        denominator = 1 + z * z / n_
        centre = (p + z * z / (2 * n_)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / n_ + z * z / (4 * n_ * n_))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
