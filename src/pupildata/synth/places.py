"""Places: the local authorities in scope, their postcode districts and health areas, their schools and colleges.

Each LA's relative size and postcode area are in ``data/la_profiles.csv`` (sizes are plausible, not published
counts). Postcode districts are spread over the LAs sharing an area, so every postcode is valid and belongs to
one LA. Schools are drawn per LA with a seed of their own, so an LA's schools are the same at every scale.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from pupildata.kernel import reference
from pupildata.synth.config import SCALE_LAS, Scale, SynthConfig

_DATA = resources.files(__package__) / "data"
PRIMARY, SECONDARY, SPECIAL = 0, 1, 2
MEAN_PRIMARY_PUPILS = 215  # DCSF Schools, pupils and their characteristics, January 2009: about 220
MEAN_SECONDARY_PUPILS = 960  # about 980
PUPILS_PER_SPECIAL = 9_000  # one special school for about this many pupils in the LA
SIXTH_FORM_SHARE = 0.6  # secondaries with a sixth form
LEARNERS_PER_COLLEGE = 4_000


def health_area_code(la_code: int) -> str:
    """The health area (primary care trust) of an LA: from reference data where it exists, else a placeholder."""
    return _health_areas().get(la_code, f"PCT{la_code}")


@cache
def _health_areas() -> dict[int, str]:
    finder = getattr(reference, "health_areas", None)
    found: dict[int, str] = {}
    if finder is not None:
        for area in finder():
            for la in area.la_codes:
                found.setdefault(int(la), str(area.code))
    return found


@cache
def _profiles() -> tuple[tuple[int, str, float], ...]:
    with (_DATA / "la_profiles.csv").open("r", encoding="utf-8") as handle:
        return tuple(
            (int(r["old_la_code"]), r["postcode_area"], float(r["relative_size"])) for r in csv.DictReader(handle)
        )


@cache
def _districts() -> dict[int, tuple[str, ...]]:
    """The postcode districts of every LA: the districts of each area shared out among its LAs."""
    by_area: dict[str, list[int]] = {}
    for code, area, _ in _profiles():
        by_area.setdefault(area, []).append(code)
    out: dict[int, tuple[str, ...]] = {}
    for area, las in by_area.items():
        count = 4 if area == "EC" else (20 if len(area) == 1 else 30)
        share = max(1, count // len(las))
        for i, code in enumerate(las):
            numbers = range(1 + i * share, 1 + (i + 1) * share) if (i + 1) * share <= count else range(1 + i, 2 + i)
            out[code] = tuple(f"{area}{n}" for n in numbers)
    return out


@dataclass(frozen=True)
class Schools:
    """Every school in scope as parallel arrays, in LA order then phase then number."""

    la: npt.NDArray[np.int64]  # index into Geography.la_codes
    estab: npt.NDArray[np.int64]
    urn: npt.NDArray[np.int64]
    phase: npt.NDArray[np.int64]
    sixth_form: npt.NDArray[np.bool_]
    weight: npt.NDArray[np.float64]  # relative intake
    effect: npt.NDArray[np.float64]  # the school's effect on attainment, in pupil standard deviations
    postcode: npt.NDArray[np.int64]  # a postcode code (see Geography.postcode_strings)
    name: tuple[str, ...]


@dataclass(frozen=True)
class Geography:
    """The LAs in scope, their sizes, postcodes, schools, colleges and health areas."""

    la_codes: npt.NDArray[np.int64]
    la_names: tuple[str, ...]
    region_codes: tuple[str, ...]
    health_areas: tuple[str, ...]
    pupils: npt.NDArray[np.int64]  # census pupils wanted in each LA
    district_names: tuple[str, ...]
    district_start: npt.NDArray[np.int64]  # the LA's districts are district_start[i] .. district_start[i+1]-1
    schools: Schools
    laestab: npt.NDArray[np.int64]  # per school
    college_la: npt.NDArray[np.int64]
    college_ukprn: npt.NDArray[np.int64]
    college_name: tuple[str, ...]

    def postcode_strings(self, codes: npt.NDArray[np.int64]) -> pa.StringArray:
        """Postcode text for postcode codes (district index * 4000 + unit)."""
        import pyarrow.compute as pc

        from pupildata.synth.vectors import inward_codes, to_strings

        outward = pa.array(self.district_names, type=pa.string()).take(pa.array(codes // 4000))
        return pc.binary_join_element_wise(outward, to_strings(inward_codes(codes % 4000)), " ")

    def random_postcodes(self, la: npt.NDArray[np.int64], rng: np.random.Generator) -> npt.NDArray[np.int64]:
        """A random postcode code in each given LA."""
        start = self.district_start[la]
        count = self.district_start[la + 1] - start
        district = start + (rng.random(la.size) * count).astype(np.int64)
        return district * 4000 + rng.integers(0, 4000, la.size)


def las_in_scope(scale: Scale) -> list[int]:
    wanted = SCALE_LAS[scale]
    codes = [code for code, _, _ in _profiles()]
    return list(wanted) if wanted else codes


def build_geography(config: SynthConfig) -> Geography:
    """The LAs of the config's scale, sized to its pupil count, with their schools and colleges."""
    profiles = {code: (area, size) for code, area, size in _profiles()}
    codes = las_in_scope(config.scale)
    sizes = np.array([profiles[c][1] for c in codes])
    pupils = np.maximum(1, np.round(sizes / sizes.sum() * config.target_pupils)).astype(np.int64)
    las = reference.la_by_code()
    districts = _districts()
    names: list[str] = []
    starts = [0]
    for code in codes:
        names.extend(districts[code])
        starts.append(len(names))
    geo_partial = Geography(
        la_codes=np.array(codes, dtype=np.int64),
        la_names=tuple(las[c].name for c in codes),
        region_codes=tuple(las[c].region.code for c in codes),
        health_areas=tuple(health_area_code(c) for c in codes),
        pupils=pupils,
        district_names=tuple(names),
        district_start=np.array(starts, dtype=np.int64),
        schools=_no_schools(),
        laestab=np.zeros(0, dtype=np.int64),
        college_la=np.zeros(0, dtype=np.int64),
        college_ukprn=np.zeros(0, dtype=np.int64),
        college_name=(),
    )
    schools = _build_schools(geo_partial, config)
    college_la, college_ukprn, college_name = _build_colleges(geo_partial)
    return Geography(
        **{
            **geo_partial.__dict__,
            "schools": schools,
            "laestab": geo_partial.la_codes[schools.la] * 10_000 + schools.estab,
            "college_la": college_la,
            "college_ukprn": college_ukprn,
            "college_name": college_name,
        }
    )


def _no_schools() -> Schools:
    empty = np.zeros(0, dtype=np.int64)
    none = np.zeros(0, dtype=np.float64)
    return Schools(empty, empty, empty, empty, np.zeros(0, dtype=bool), none, none, empty, ())


def _school_words() -> list[str]:
    return (_DATA / "school_words.txt").read_text(encoding="utf-8").split("\n")[:-1]


def _build_schools(geo: Geography, config: SynthConfig) -> Schools:
    words = _school_words()
    cols: dict[str, list[npt.NDArray[np.generic]]] = {
        k: [] for k in Schools.__dataclass_fields__ if k not in ("name", "urn")
    }
    names: list[str] = []
    for i, code in enumerate(geo.la_codes.tolist()):
        rng = np.random.default_rng([config.seed, 1, code])
        cohort = geo.pupils[i] / 12.8
        counts = {
            PRIMARY: max(1, round(7 * cohort / MEAN_PRIMARY_PUPILS)),
            SECONDARY: max(1, round(5.8 * cohort / MEAN_SECONDARY_PUPILS)),
            SPECIAL: round(geo.pupils[i] / PUPILS_PER_SPECIAL),
        }
        for phase, count in counts.items():
            weight = rng.lognormal(0.0, 0.45 if phase == PRIMARY else 0.3, count)
            if phase == PRIMARY and count > 4:
                small = rng.random(count) < config.population.very_small_school
                weight[small] = rng.uniform(0.08, 0.2, int(small.sum()))
            cols["la"].append(np.full(count, i, dtype=np.int64))
            cols["estab"].append({PRIMARY: 2000, SECONDARY: 4000, SPECIAL: 7000}[phase] + np.arange(count))
            cols["phase"].append(np.full(count, phase, dtype=np.int64))
            cols["sixth_form"].append((phase == SECONDARY) & (rng.random(count) < SIXTH_FORM_SHARE))
            cols["weight"].append(weight)
            cols["effect"].append(rng.normal(0.0, 0.22, count))
            cols["postcode"].append(geo.random_postcodes(np.full(count, i, dtype=np.int64), rng))
            suffix = {PRIMARY: "Primary School", SECONDARY: "High School", SPECIAL: "Special School"}[phase]
            town = geo.la_names[i].split(",")[0]
            for k in range(count):
                word = words[int(rng.integers(len(words)))]
                names.append(f"{word} {suffix}" if k % 3 else f"{town} {word} {suffix}")
        # Every LA has at least one school sixth form.
        secondary_sixth = cols["sixth_form"][-2]
        if not secondary_sixth.any():
            secondary_sixth[0] = True
    stacked = {k: np.concatenate(v) for k, v in cols.items()}
    # URNs: 100000 plus the school's place in the national order, so a school keeps its URN at every scale.
    national_rank = {code: n for n, code in enumerate(c for c, _, _ in _profiles())}
    urn = (
        100_000
        + np.array([national_rank[c] for c in geo.la_codes.tolist()], dtype=np.int64)[stacked["la"]] * 1000
        + np.arange(stacked["la"].size)
        - np.searchsorted(stacked["la"], stacked["la"])
    )
    return Schools(name=tuple(names), urn=urn, **stacked)


def _build_colleges(geo: Geography) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], tuple[str, ...]]:
    """Further education colleges: at least one per LA, with 8-digit UK provider reference numbers."""
    la: list[int] = []
    names: list[str] = []
    for i in range(geo.la_codes.size):
        count = max(1, round(geo.pupils[i] * 0.08 / LEARNERS_PER_COLLEGE))
        town = geo.la_names[i].split(",")[0]
        for k in range(count):
            la.append(i)
            names.append(f"{town} College" if k == 0 else f"{town} College of Further Education {k + 1}")
    la_arr = np.array(la, dtype=np.int64)
    rank = np.arange(la_arr.size, dtype=np.int64)
    ukprn = 10_000_000 + geo.la_codes[la_arr] * 100 + rank - np.searchsorted(la_arr, la_arr)
    return la_arr, ukprn, tuple(names)
