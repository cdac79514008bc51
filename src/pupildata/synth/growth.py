"""Child height and weight against the UK90 reference, through rcpchgrowth's own LMS tables.

A child's BMI standard deviation score is drawn from a normal distribution whose mean and spread are chosen so
that the shares at or above the 95th centile (obese) and from the 85th to the 95th (overweight) match the
configured prevalence. The score is turned into a BMI with the LMS inversion x = M(1 + L·S·z)^(1/L), using the
L, M and S of the child's exact age in days (rcpchgrowth's ``fetch_lms``, age = days / 365.25). Height is drawn
the same way from the UK90 height table; weight is BMI × height².
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from pupildata.kernel.growth import OBESE_SDS as OBESE_Z
from pupildata.kernel.growth import OVERWEIGHT_SDS as OVERWEIGHT_Z
from pupildata.kernel.growth import from_sds, lms, to_sds

__all__ = ["OBESE_Z", "OVERWEIGHT_Z", "bmi_sds_distribution", "from_sds", "lms", "measure", "to_sds"]


def bmi_sds_distribution(obese: float, overweight: float) -> tuple[float, float]:
    """The mean and standard deviation of a normal SDS distribution with these prevalences."""
    normal = NormalDist()
    upper = normal.inv_cdf(1 - obese)  # z of the normal at which P(SDS >= OBESE_Z) = obese
    lower = normal.inv_cdf(1 - obese - overweight)
    sigma = (OBESE_Z - OVERWEIGHT_Z) / (upper - lower)
    return OBESE_Z - upper * sigma, sigma


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
