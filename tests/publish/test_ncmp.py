"""Child measurement classification agrees with rcpchgrowth's own, child by child."""

from __future__ import annotations

import numpy as np
import pytest
from rcpchgrowth.global_functions import centile, sds_for_measurement

from pupildata.errors import DataError
from pupildata.publish import ncmp


def test_sds_and_category_agree_with_rcpchgrowth_on_a_sample() -> None:
    rng = np.random.default_rng(7)
    n = 300
    sex = rng.choice(["M", "F"], n)
    reception = rng.integers(int(4 * 365.25) + 1, int(5.9 * 365.25), n)
    year6 = rng.integers(int(10 * 365.25), int(11.9 * 365.25), n)
    days = np.where(rng.random(n) < 0.5, reception, year6)
    bmi = rng.uniform(11.0, 32.0, n)
    ours = ncmp.bmi_sds(sex, days, bmi)
    categories = ncmp.classify(ours)
    for i in range(n):
        theirs = sds_for_measurement(
            "uk-who", days[i] / 365.25, "bmi", float(bmi[i]), {"M": "male", "F": "female"}[sex[i]]
        )
        assert ours[i] == pytest.approx(theirs, abs=1e-9)
        c = centile(theirs)
        assert categories["underweight"][i] == (c <= 2)
        assert categories["overweight"][i] == (85 <= c < 95)
        assert categories["obese"][i] == (c >= 95)
        assert categories["severely_obese"][i] == (c >= 99.6)
        assert categories["healthy_weight"][i] == (2 < c < 85)


def test_reference_points_for_a_girl_of_ten_and_a_half() -> None:
    day = round(10.5 * 365.25)
    cut = [ncmp.cut_off("F", day, sds) for sds in (ncmp.UNDERWEIGHT_SDS, ncmp.OVERWEIGHT_SDS, ncmp.OBESE_SDS)]
    assert cut == pytest.approx([13.74, 19.85, 21.94], abs=0.01)
    assert ncmp.cut_off("F", day, ncmp.SEVERELY_OBESE_SDS) == pytest.approx(26.84, abs=0.02)
    sds = ncmp.bmi_sds(["F"], [day], [22.0])
    assert sds[0] == pytest.approx(1.661, abs=0.002)
    assert ncmp.classify(sds)["obese"][0]


def test_wilson_interval_matches_the_textbook_formula() -> None:
    low, high = ncmp.wilson([10, 0], [100, 50])
    assert low[0] == pytest.approx(0.0552, abs=1e-4)
    assert high[0] == pytest.approx(0.1744, abs=1e-4)
    assert low[1] == 0
    assert 0 < high[1] < 0.08


def test_children_outside_the_reference_ages_are_refused() -> None:
    with pytest.raises(DataError, match="outside the ages"):
        ncmp.bmi_sds(["F"], [365], [16.0])
