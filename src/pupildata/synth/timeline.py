"""Years: where each person is in each academic year — LA, address, school or college, free meals.

Cohorts age one national curriculum year a year. Between years people move house (and sometimes school), move
to another LA, leave, or join; pupils change phase at Reception, Year 7 and Year 12. Twins stay together. The
state of every person in every year is kept, so the truth of each year's returns is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pupildata.synth.config import SynthConfig
from pupildata.synth.frame import Frame
from pupildata.synth.places import PRIMARY, SECONDARY, SPECIAL, Geography
from pupildata.synth.population import streets

SIXTH = 3  # a secondary school with a sixth form
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Chooser:
    """Draws a school of a kind in an LA, in proportion to the schools' intake."""

    geo: Geography

    def pools(self, la: int, kind: int) -> tuple[IntArray, npt.NDArray[np.float64]]:
        s = self.geo.schools
        mask = s.la == la
        mask &= (s.phase == SECONDARY) & s.sixth_form if kind == SIXTH else s.phase == kind
        idx = np.flatnonzero(mask)
        weights = np.cumsum(s.weight[idx])
        return idx, weights / weights[-1] if idx.size else weights

    def choose(self, la: IntArray, kind: IntArray, rng: np.random.Generator) -> IntArray:
        out = np.full(la.size, -1, dtype=np.int64)
        draws = rng.random(la.size)
        keys = la * 4 + kind
        for key in np.unique(keys).tolist():
            members = keys == key
            idx, cum = self._pool(key)
            out[members] = idx[np.minimum(np.searchsorted(cum, draws[members], side="right"), idx.size - 1)]
        return out

    def _pool(self, key: int) -> tuple[IntArray, npt.NDArray[np.float64]]:
        la, kind = divmod(key, 4)
        fallbacks = {
            SPECIAL: [SPECIAL, SECONDARY, PRIMARY],
            SIXTH: [SIXTH, SECONDARY],
            SECONDARY: [SECONDARY],
            PRIMARY: [PRIMARY],
        }[kind]
        for option in fallbacks:
            idx, cum = self.pools(la, option)
            if idx.size:
                return idx, cum
        raise ValueError(f"LA {la} has no school of kind {kind}")  # every LA has a primary and a secondary


def wanted_kind(people: Frame, nc: IntArray) -> IntArray:
    """The kind of school each person should be at for their NC year (-1: none)."""
    kind = np.full(nc.size, -1, dtype=np.int64)
    kind[(nc >= 0) & (nc <= 6)] = PRIMARY
    kind[(nc >= 7) & (nc <= 11)] = SECONDARY
    kind[((nc == 12) | (nc == 13)) & people["sixth"]] = SIXTH
    kind[(kind >= 0) & people["special"] & (nc <= 13)] = SPECIAL
    return kind


def build_timeline(people: Frame, geo: Geography, config: SynthConfig) -> dict[int, Frame]:
    """Each year's state of every person, keyed by the calendar year the academic year begins."""
    chooser = Chooser(geo)
    n = people["pid"].size
    leads = np.flatnonzero(people["twin_idx"] > np.arange(n))  # the earlier-born record of each pair leads
    twin_a, twin_b = leads, people["twin_idx"][leads]
    years: dict[int, Frame] = {}
    prev: Frame | None = None
    for year in config.years:
        rng = np.random.default_rng([config.seed, 3, year])
        nc = year - people["cohort"]
        present = (people["arrive"] <= year) & (people["leave"] > year)
        state: Frame = {"present": present, "nc": nc}
        if prev is None:
            for key in ("la", "postcode", "house", "street", "fsm"):
                state[key] = people[key].copy()
            state["moved_la"] = state["moved_house"] = change = np.zeros(n, dtype=bool)
            previous_school = previous_college = np.full(n, -1, dtype=np.int64)
        else:
            change = _move(state, prev, geo, config, rng)
            previous_school = np.where(state["stay"], prev["school"], -1)
            previous_college = np.where(state["stay"], prev["college"], -1)
            del state["stay"]
        kind = np.where(present, wanted_kind(people, nc), -1)
        s = geo.schools
        prev_idx = np.maximum(previous_school, 0)
        same_kind = np.where(
            kind == SIXTH, (s.phase[prev_idx] == SECONDARY) & s.sixth_form[prev_idx], s.phase[prev_idx] == kind
        )
        keep = (previous_school >= 0) & ~change & same_kind & (s.la[prev_idx] == state["la"])
        school = np.where(keep & (kind >= 0), previous_school, -1)
        needs = (kind >= 0) & (school < 0)
        school[needs] = chooser.choose(state["la"][needs], kind[needs], rng)
        state["entry"] = _entry_dates(prev, school, needs, nc, year, rng=rng)
        college = np.full(n, -1, dtype=np.int64)
        at_college = present & people["fe"] & (nc >= 12) & ((nc <= 13) | (people["pid"] % 2 == 0)) & (nc <= 14)
        keep_college = at_college & (previous_college >= 0) & ~state["moved_la"]
        college[keep_college] = previous_college[keep_college]
        new_college = at_college & ~keep_college
        college[new_college] = _colleges(state["la"][new_college], geo, rng)
        state["school"], state["college"] = school, college
        # Twins share a home, a school and free-meal status while both are here.
        both = present[twin_a] & present[twin_b]
        for key in ("la", "postcode", "house", "street", "fsm", "school", "entry", "moved_la", "moved_house"):
            state[key][twin_b[both]] = state[key][twin_a[both]]
        years[year] = state
        prev = state
    return years


def _move(state: Frame, prev: Frame, geo: Geography, config: SynthConfig, rng: np.random.Generator) -> BoolArray:
    """Carry last year's home and meals forward and move some people; which pupils must change school."""
    mob = config.mobility
    n = prev["la"].size
    stay = state["present"] & prev["present"]
    state["stay"] = stay
    for key in ("la", "postcode", "house", "street", "fsm"):
        state[key] = prev[key].copy()
    moved_la = stay & (rng.random(n) < mob.la_move) if geo.la_codes.size > 1 else np.zeros(n, dtype=bool)
    state["la"][moved_la] = _other_la(state["la"][moved_la], geo, np.array(geo.region_codes), rng)
    moved_house = stay & ~moved_la & (rng.random(n) < mob.house_move)
    movers = moved_la | moved_house
    state["postcode"][movers] = geo.random_postcodes(state["la"][movers], rng)
    state["house"][movers] = rng.integers(1, 160, int(movers.sum()))
    state["street"][movers] = rng.integers(0, len(streets()), int(movers.sum()))
    change = moved_la | (moved_house & (rng.random(n) < mob.school_change_on_move))
    change |= stay & (rng.random(n) < mob.school_change)
    flip = rng.random(n)
    rate = config.population.fsm_yearly_change
    fsm_p = max(1e-6, min(config.population.fsm, 0.5))
    leave_fsm = state["fsm"] & (flip < rate)
    join_fsm = ~state["fsm"] & (flip < rate * fsm_p / (1 - fsm_p))
    state["fsm"] = state["fsm"] ^ leave_fsm ^ join_fsm
    state["moved_la"], state["moved_house"] = moved_la, movers
    return change


def _entry_dates(
    prev: Frame | None,
    school: IntArray,
    new: npt.NDArray[np.bool_],
    nc: IntArray,
    year: int,
    *,
    rng: np.random.Generator,
) -> IntArray:
    """The day each pupil started at their school: the phase's first September, or a day in the autumn for
    pupils who changed school during the year."""
    from pupildata.synth.vectors import days_from_ymd

    phase_start = np.where(nc >= 12, 12, np.where(nc >= 7, 7, 0))
    september = days_from_ymd(np.full(nc.size, year), 9, 1)
    entry = days_from_ymd(year - (nc - phase_start), 9, 1) if prev is None else np.where(school >= 0, prev["entry"], -1)
    starting = new & (nc == phase_start)
    moving = new & ~starting & (prev is not None)
    entry[starting] = september[starting] + rng.integers(0, 6, int(starting.sum()))
    entry[moving] = september[moving] + rng.integers(0, 130, int(moving.sum()))
    return np.where(school >= 0, entry, -1)


def _other_la(current: IntArray, geo: Geography, region: npt.NDArray[np.str_], rng: np.random.Generator) -> IntArray:
    """Another LA for each mover: most often in the same region, weighted by size."""
    count = geo.la_codes.size
    weights = geo.pupils.astype(np.float64)
    out = current.copy()
    draws = rng.random(current.size)
    for la in np.unique(current).tolist():
        members = current == la
        w = weights * np.where(region == region[la], 4.0, 1.0)
        w[la] = 0.0
        cum = np.cumsum(w) / w.sum()
        out[members] = np.minimum(np.searchsorted(cum, draws[members], side="right"), count - 1)
    return out


def _colleges(la: IntArray, geo: Geography, rng: np.random.Generator) -> IntArray:
    out = np.full(la.size, -1, dtype=np.int64)
    draws = rng.random(la.size)
    for code in np.unique(la).tolist():
        members = la == code
        idx = np.flatnonzero(geo.college_la == code)
        out[members] = idx[(draws[members] * idx.size).astype(np.int64)]
    return out
