"""Heights and weights reproduce the published obesity prevalence under UK90, by rcpchgrowth's own reckoning."""

from __future__ import annotations

import numpy as np
from rcpchgrowth.global_functions import sds_for_measurement

from pupildata.synth import growth

OBESE_SDS = 1.6448536269514722  # the 95th centile
YEARS = ("2006-07", "2007-08", "2008-09")


def test_lms_inversion_round_trips() -> None:
    female = np.array([True, False, True])
    ages = np.array([1500, 2000, 3900])
    table = growth.lms("bmi", female, ages)
    z = np.array([-2.0, 0.3, 1.9])
    assert np.allclose(growth.to_sds(growth.from_sds(z, table), table), z)


def test_bmi_distribution_gives_the_prevalence() -> None:
    mean, sd = growth.bmi_sds_distribution(0.096, 0.132)
    draws = np.random.default_rng(0).normal(mean, sd, 400_000)
    assert abs((draws >= OBESE_SDS).mean() - 0.096) < 0.003
    assert abs(((draws >= 1.0364) & (draws < OBESE_SDS)).mean() - 0.132) < 0.003


def test_obesity_prevalence_under_uk90(la_output) -> None:
    people = {r["person_id"]: r for r in la_output.people.to_pylist()}
    children = {"R": [], "6": []}
    for year in YEARS:
        for area in ("PCT874", "PCT857"):
            rows = la_output.csv_rows(f"{year}/ncmp/{area}.csv")
            truth = [
                t for t in la_output.truth(f"{year}/ncmp.parquet").to_pylist() if t["file"].endswith(area + ".csv")
            ]
            state = la_output.truth(f"{year}/state.parquet")
            nc = dict(zip(state.column("person_id").to_pylist(), state.column("nc_year").to_pylist(), strict=True))
            for row, t in zip(rows, truth, strict=True):
                group = "R" if nc[t["person_id"]] == 0 else "6"
                children[group].append((row, t, people[t["person_id"]]))
    rng = np.random.default_rng(7)
    for group, expected in (("R", 0.096), ("6", 0.183)):
        sample = [children[group][i] for i in rng.choice(len(children[group]), 500, replace=False)]
        obese = 0
        for row, truth, person in sample:
            bmi = float(row["WeightKg"]) / (float(row["HeightCm"]) / 100) ** 2
            age = truth["age_days"] / 365.25
            sex = "female" if person["sex"] == "F" else "male"
            sds = sds_for_measurement("uk-who", age, "bmi", bmi, sex)
            obese += sds >= OBESE_SDS
        assert abs(obese / 500 - expected) < 0.045, (group, obese / 500)
