"""The synthetic world: places, people, their years and identifiers, and the survey's sample."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pupildata.synth.config import SynthConfig
from pupildata.synth.frame import Frame
from pupildata.synth.identity import assign_identifiers
from pupildata.synth.places import Geography, build_geography
from pupildata.synth.population import build_people
from pupildata.synth.timeline import build_timeline

Index = npt.NDArray[np.int64]
SURVEY_STAGE = 9  # the cohort sampled is in Year 9 in the first year (as the 2004 LSYPE cohort was)


@dataclass(frozen=True)
class World:
    config: SynthConfig
    geo: Geography
    people: Frame
    years: dict[int, Frame]

    def surname_in(self, idx: Index, year: int) -> npt.NDArray[np.int32]:
        """Legal surnames in a year: the former one until the change."""
        p = self.people
        before = (p["former_sur"][idx] >= 0) & (year < p["sur_change_year"][idx])
        return np.asarray(np.where(before, p["former_sur"][idx], p["sur"][idx]), dtype=np.int32)

    def upn_in(self, idx: Index, year: int) -> npt.NDArray[np.uint8]:
        """The UPN a pupil carries in a year: the temporary one in their first year if they had one."""
        p = self.people
        temporary = p["temp_year"][idx] == year
        return np.asarray(np.where(temporary[:, None], p["temp_upn"][idx], p["upn"][idx]), dtype=np.uint8)


def build_world(config: SynthConfig) -> World:
    geo = build_geography(config)
    people = build_people(geo, config)
    years = build_timeline(people, geo, config)
    assign_identifiers(people, years, geo, config)
    _sample_survey(people, years, config)
    return World(config, geo, people, years)


def _sample_survey(people: Frame, years: dict[int, Frame], config: SynthConfig) -> None:
    """Choose the survey cohort and the wave after which each respondent stops answering."""
    rng = np.random.default_rng([config.seed, 7])
    first = years[config.first_year]
    eligible = np.flatnonzero(first["present"] & (first["nc"] == SURVEY_STAGE) & (first["school"] >= 0))
    size = min(eligible.size, max(config.survey.minimum_sample, round(eligible.size * config.survey.sample_fraction)))
    chosen = np.sort(rng.choice(eligible, size, replace=False)) if size else eligible[:0]
    survey_id = np.full(people["pid"].size, -1, dtype=np.int64)
    survey_id[chosen] = 100_001 + rng.permutation(size)
    people["survey_id"] = survey_id
    people["survey_waves"] = rng.geometric(max(config.survey.attrition, 1e-9), people["pid"].size)
