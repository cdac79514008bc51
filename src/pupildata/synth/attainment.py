"""Key stage results: one latent attainment per pupil, plus the school, free meals, SEN, EAL and chance.

Because every key stage is drawn around the same persistent attainment, results correlate with prior
attainment; the free-meals, SEN and EAL effects and a school effect move them as published gaps do. Scores are
cut into levels and grades at shares close to the 2008/09 national results (SFR 31/2009 for KS2: 80% level 4+
in English; SFR 30/2009 for KS4: about 50% five A*-C including English and maths).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

# Cumulative shares from the bottom, and the codes they cut between.
KS1_LEVELS = (("W", "1", "2C", "2B", "2A", "3"), (0.03, 0.13, 0.27, 0.50, 0.76))
KS2_LEVELS = (("B", "N", "2", "3", "4", "5"), (0.025, 0.035, 0.06, 0.20, 0.68))
KS3_LEVELS = (("2", "3", "4", "5", "6", "7", "8"), (0.02, 0.06, 0.24, 0.55, 0.83, 0.97))
KS4_GRADES = (("U", "G", "F", "E", "D", "C", "B", "A", "A*"), (0.02, 0.05, 0.10, 0.18, 0.36, 0.60, 0.80, 0.93))
SUBJECTS = {
    1: ("Reading", "Writing", "Maths", "Science"),
    2: ("English", "Maths", "Science"),
    3: ("English", "Maths", "Science"),
    4: ("English", "Maths", "Science"),
}
NOISE_SD = 0.55  # chance on the day and in the assessment, in pupil standard deviations


def scores(
    ability: npt.NDArray[np.float32],
    fsm: npt.NDArray[np.bool_],
    sen: npt.NDArray[np.int8],
    eal: npt.NDArray[np.bool_],
    sex: npt.NDArray[np.int8],
    *,
    school_effect: npt.NDArray[np.float64],
    stage: int,
    subject: str,
    rng: np.random.Generator,
) -> npt.NDArray[np.float64]:
    """Standardised scores in one subject at one key stage."""
    eal_gap = {1: 0.3, 2: 0.2, 3: 0.1, 4: 0.05}[stage]  # the EAL gap narrows with age
    girls = 0.15 if subject in ("Reading", "Writing", "English") else 0.0
    raw = (
        ability.astype(np.float64)
        + school_effect
        - 0.2 * fsm
        - np.array([0.0, 0.15, 0.3, 0.5])[sen]
        - eal_gap * eal
        + girls * (sex == 1)
        + rng.normal(0, NOISE_SD, ability.size)
    )
    if raw.size < 2:
        return np.asarray(raw, dtype=np.float64)
    return np.asarray((raw - raw.mean()) / max(float(raw.std()), 1e-9), dtype=np.float64)


def _cut(z: npt.NDArray[np.float64], table: tuple[tuple[str, ...], tuple[float, ...]]) -> pa.Array:
    from statistics import NormalDist

    labels, shares = table
    cuts = [NormalDist().inv_cdf(p) for p in shares]
    return pa.array(list(labels), type=pa.string()).take(pa.array(np.searchsorted(cuts, z, side="right")))


def results(
    stage: int,
    columns: dict[str, npt.NDArray[np.generic]],
    school_effect: npt.NDArray[np.float64],
    rng: np.random.Generator,
) -> dict[str, pa.Array]:
    """The outcome columns of one key stage's file, named as the assessment body names them."""
    out: dict[str, pa.Array] = {}
    zs: dict[str, npt.NDArray[np.float64]] = {}
    for subject in SUBJECTS[stage]:
        z = scores(
            columns["ability"],  # type: ignore[arg-type]
            columns["fsm"],  # type: ignore[arg-type]
            columns["sen"],  # type: ignore[arg-type]
            columns["eal"],  # type: ignore[arg-type]
            columns["sex"],  # type: ignore[arg-type]
            school_effect=school_effect,
            stage=stage,
            subject=subject,
            rng=rng,
        )
        zs[subject] = z
        if stage == 1:
            out[f"{subject}TA"] = _cut(z, KS1_LEVELS)
        elif stage == 2:
            levels = _cut(z, KS2_LEVELS)
            absent = rng.random(z.size) < 0.01
            disapplied = columns["special"].astype(bool)
            marks = np.where(absent, 1, 0) + np.where(disapplied, 2, 0)
            out[f"{subject}Level"] = pa.array(
                np.where(marks == 0, levels.to_numpy(zero_copy_only=False), np.where(marks == 1, "A", "D")),
                type=pa.string(),
            )
        elif stage == 3:
            out[f"{subject}TA"] = _cut(z, KS3_LEVELS)
        else:
            out[f"{subject}Grade"] = _cut(z, KS4_GRADES)
    if stage == 4:
        general = np.mean(list(zs.values()), axis=0) if zs else np.zeros(0)
        passes = np.clip(np.round(5.2 + 3.6 * general + rng.normal(0, 1.2, general.size)), 0, 12).astype(np.int64)
        good = (zs["English"] >= _cutpoint(KS4_GRADES, "C")) & (zs["Maths"] >= _cutpoint(KS4_GRADES, "C"))
        out["GCSEPassesAtoC"] = pa.array(passes).cast(pa.string())
        out["FiveACEM"] = pa.array(np.where((passes >= 5) & good, "Y", "N"), type=pa.string())
    return out


def _cutpoint(table: tuple[tuple[str, ...], tuple[float, ...]], label: str) -> float:
    from statistics import NormalDist

    labels, shares = table
    return NormalDist().inv_cdf(shares[labels.index(label) - 1])
