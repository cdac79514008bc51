"""Identifiers of people: the UPN each pupil was given, temporary UPNs, and learner numbers.

A UPN is allocated by the first school a pupil attends (its LA and establishment numbers, the year, a serial
within that school and year). Pupils already at school before the first year generated were given theirs on
entering Reception. Some joiners first appear with a temporary UPN, replaced the next year by their permanent one
(and then kept as their former UPN). Everyone aged 14 or over has a ULN.
"""

from __future__ import annotations

import numpy as np

from pupildata.synth.config import SynthConfig
from pupildata.synth.frame import Frame, group_rank
from pupildata.synth.places import PRIMARY, Geography
from pupildata.synth.vectors import make_temporary_upns, make_ulns, make_upns

ULN_SLOTS_PER_LA = 900_000


def assign_identifiers(people: Frame, years: dict[int, Frame], geo: Geography, config: SynthConfig) -> None:
    """Add ``upn``, ``temp_upn`` (with ``temp_year``) and ``uln`` (with ``has_uln``) to ``people``."""
    n = people["pid"].size
    rng = np.random.default_rng([config.seed, 4])
    first_year = np.full(n, -1, dtype=np.int64)
    first_school = np.full(n, -1, dtype=np.int64)
    for year in sorted(years, reverse=True):
        school = years[year]["school"]
        here = school >= 0
        first_year[here] = year
        first_school[here] = school[here]
    joined = (people["arrive"] > config.first_year) & (people["arrive"] == first_year)
    new_in_window = (first_year >= 0) & ((first_year == people["cohort"]) | joined)
    s = geo.schools
    alloc_school = np.where(new_in_window, first_school, -1)
    alloc_year = np.where(new_in_window, first_year, people["cohort"])
    historic = alloc_school < 0
    was_primary = historic & (first_school >= 0) & (s.phase[np.maximum(first_school, 0)] == PRIMARY)
    alloc_school[was_primary] = first_school[was_primary]
    rest = historic & ~was_primary
    alloc_school[rest] = _random_primary(people["la"][rest], geo, rng)
    serial = group_rank(alloc_school * 10_000 + alloc_year)
    if serial.size and serial.max() > 999:
        raise ValueError("more than 999 UPNs allocated by one school in one year")
    la_codes = geo.la_codes[s.la[alloc_school]]
    people["upn"] = make_upns(la_codes, s.estab[alloc_school], alloc_year, serial)
    temporary = (people["arrive"] == first_year) & (first_year > config.first_year)
    temporary &= rng.random(n) < config.mobility.temporary_upn
    temp_serial = group_rank(np.where(temporary, first_school * 10_000 + first_year, -1))
    temp_school = np.maximum(first_school, 0)
    people["temp_upn"] = make_temporary_upns(
        geo.la_codes[s.la[temp_school]], s.estab[temp_school], first_year, temp_serial % 100, temp_serial // 100
    )
    people["temp_year"] = np.where(temporary, first_year, -1)
    has_uln = config.last_year - people["cohort"] >= 10
    slot = people["la"] * ULN_SLOTS_PER_LA + group_rank(np.where(has_uln, people["la"], -1))
    uln, _ = make_ulns(7 * np.minimum(slot, 142_000_000) + 1)
    people["uln"] = uln
    people["has_uln"] = has_uln


def _random_primary(la: np.ndarray, geo: Geography, rng: np.random.Generator) -> np.ndarray:
    out = np.full(la.size, -1, dtype=np.int64)
    draws = rng.random(la.size)
    s = geo.schools
    for code in np.unique(la).tolist():
        members = la == code
        idx = np.flatnonzero((s.la == code) & (s.phase == PRIMARY))
        out[members] = idx[(draws[members] * idx.size).astype(np.int64)]
    return out
