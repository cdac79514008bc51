"""Child height and weight against the UK90 reference, through rcpchgrowth's own LMS tables.

A child's BMI standard deviation score is drawn from a normal distribution whose mean and spread are chosen so
that the shares at or above the 95th centile (obese) and from the 85th to the 95th (overweight) match the
configured prevalence. The score is turned into a BMI with the LMS inversion x = M(1 + L·S·z)^(1/L), using the
L, M and S of the child's exact age in days (rcpchgrowth's ``fetch_lms``, age = days / 365.25). Height is drawn
the same way from the UK90 height table; weight is BMI × height².
"""

from __future__ import annotations

from functools import cache
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

OBESE_Z = NormalDist().inv_cdf(0.95)
OVERWEIGHT_Z = NormalDist().inv_cdf(0.85)
MIN_AGE_DAYS = 1461  # 4 years: Reception children are at least 4
MAX_AGE_DAYS = 4750  # 13 years


def bmi_sds_distribution(obese: float, overweight: float) -> tuple[float, float]:
    """The mean and standard deviation of a normal SDS distribution with these prevalences."""
    normal = NormalDist()
    upper = normal.inv_cdf(1 - obese)  # z of the normal at which P(SDS >= OBESE_Z) = obese
    lower = normal.inv_cdf(1 - obese - overweight)
    sigma = (OBESE_Z - OVERWEIGHT_Z) / (upper - lower)
    return OBESE_Z - upper * sigma, sigma


@cache
def lms_table(measurement: str, sex: str) -> npt.NDArray[np.float64]:
    """L, M and S for every age in days from MIN_AGE_DAYS to MAX_AGE_DAYS, one row per day."""
    from rcpchgrowth.global_functions import fetch_lms
    from rcpchgrowth.uk_who import UK90_CHILD_DATA

    reference = UK90_CHILD_DATA["measurement"][measurement][sex]
    rows = []
    for days in range(MIN_AGE_DAYS, MAX_AGE_DAYS + 1):
        lms = fetch_lms(days / 365.25, reference)
        rows.append((lms["l"], lms["m"], lms["s"]))
    return np.array(rows, dtype=np.float64)


def lms(measurement: str, female: npt.NDArray[np.bool_], age_days: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """L, M and S (three columns) for each child."""
    index = np.clip(age_days, MIN_AGE_DAYS, MAX_AGE_DAYS) - MIN_AGE_DAYS
    return np.where(female[:, None], lms_table(measurement, "female")[index], lms_table(measurement, "male")[index])


def from_sds(z: npt.NDArray[np.float64], table: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The measurement at SDS ``z`` for LMS rows (L = 0 uses the limit M·exp(S·z))."""
    big_l, m, s = table[:, 0], table[:, 1], table[:, 2]
    safe_l = np.where(big_l == 0, 1.0, big_l)
    power = np.power(np.maximum(1 + safe_l * s * z, 1e-9), 1 / safe_l)
    return np.where(big_l == 0, m * np.exp(s * z), m * power)


def to_sds(x: npt.NDArray[np.float64], table: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    big_l, m, s = table[:, 0], table[:, 1], table[:, 2]
    return np.where(big_l == 0, np.log(x / m) / s, (np.power(x / m, big_l) - 1) / (big_l * s))


def measure(
    female: npt.NDArray[np.bool_],
    age_days: npt.NDArray[np.int64],
    obese: float,
    overweight: float,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Height in millimetres and weight in tenths of a kilogram, as measured (to 0.1 cm and 0.1 kg)."""
    mean, sd = bmi_sds_distribution(obese, overweight)
    bmi = from_sds(np.clip(rng.normal(mean, sd, female.size), -4.5, 4.5), lms("bmi", female, age_days))
    height_cm = from_sds(np.clip(rng.normal(0, 1, female.size), -3.5, 3.5), lms("height", female, age_days))
    height_mm = np.round(height_cm * 10).astype(np.int64)
    weight = bmi * (height_mm / 1000.0) ** 2
    return height_mm, np.round(weight * 10).astype(np.int64)
