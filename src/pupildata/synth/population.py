"""People: everyone of school or college age in the LAs in scope at any time in the years generated.

Each LA's people are drawn with a seed of their own (the config's seed and the LA number), one birth cohort at a
time, so an LA's people do not depend on which other LAs are generated. A person's true attributes are fixed
here; what changes from year to year (school, address, free school meals) is in ``timeline``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from pupildata.synth.config import SynthConfig
from pupildata.synth.frame import Frame, concat, take
from pupildata.synth.names import NameBook, ethnicities, name_book
from pupildata.synth.places import Geography
from pupildata.synth.vectors import days_from_ymd

NEVER = 9999  # a leave year meaning "still here"
OLDEST_NC = 14  # age 18 on 31 August: the last year of post-16 learning
PARENTS = ("Mother", "Father", "Carer")
ID_BLOCK = 10_000_000  # person ids are LA number * ID_BLOCK + a serial within the LA


@cache
def streets() -> tuple[str, ...]:
    """Street names for addresses."""
    text = (resources.files(__package__) / "data" / "streets.txt").read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line)


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def ethnicity_shares(region: str, rng: np.random.Generator, white_british: float) -> npt.NDArray[np.float64]:
    """One LA's ethnic mix: its region's, jittered, with White British moved towards the configured share."""
    groups = ethnicities()
    wbri = groups[0].regional_weight[region]
    wbri = 1 / (1 + np.exp(-(_logit(wbri) + rng.normal(0, 0.35) + _logit(white_british) - _logit(0.78))))
    others = np.array([g.regional_weight[region] for g in groups[1:]]) * rng.gamma(8.0, 1 / 8.0, len(groups) - 1)
    return np.asarray(np.r_[wbri, (1 - wbri) * others / others.sum()], dtype=np.float64)


def build_people(geo: Geography, config: SynthConfig) -> Frame:
    """Everyone in every LA in scope, in LA order; ``twin_idx`` is the position of a twin (-1 for none)."""
    blocks = [_la_people(geo, i, config) for i in range(geo.la_codes.size)]
    offsets = np.cumsum([0] + [b["pid"].size for b in blocks])[:-1]
    people = concat(blocks)
    local = people["twin_of"] - geo.la_codes[people["la"]] * ID_BLOCK
    people["twin_idx"] = np.where(people["twin_of"] >= 0, offsets[people["la"]] + local, -1)
    return people


def _la_people(geo: Geography, la: int, config: SynthConfig) -> Frame:
    code = int(geo.la_codes[la])
    rng = np.random.default_rng([config.seed, 2, code])
    pop = config.population
    cohort_size = geo.pupils[la] / (12 + 2 * pop.sixth_form_school)
    first, last = config.first_year, config.last_year
    cohorts = np.arange(first - OLDEST_NC, last + 1)
    per_cohort = rng.poisson(max(cohort_size, 0.5), cohorts.size)
    base_cohorts = np.repeat(cohorts, per_cohort)
    shares = ethnicity_shares(geo.region_codes[la], rng, pop.white_british)
    fsm_la = _logit(pop.fsm) + rng.normal(0, pop.fsm_la_spread) + (0.4 if geo.region_codes[la] == "E12000007" else 0)
    base = _draw(rng, base_cohorts, la, shares, fsm_la, geo=geo, config=config, arrive=first, abroad=0.0)
    twins = _twins(rng, base, pop.twins, name_book())
    joiners_n = rng.poisson(config.mobility.join * base_cohorts.size * (last - first))
    arrive = rng.integers(first + 1, last + 1, joiners_n) if last > first else np.zeros(0, dtype=np.int64)
    joiner_cohorts = arrive - rng.integers(0, OLDEST_NC, joiners_n)
    joiners = _draw(rng, joiner_cohorts, la, shares, fsm_la, geo=geo, config=config, arrive=arrive, abroad=0.6)
    people = concat([base, twins, joiners])
    n = people["cohort"].size
    people["pid"] = code * ID_BLOCK + np.arange(n, dtype=np.int64)
    twin_pos = people["twin_of"]
    people["twin_of"] = np.where(twin_pos >= 0, code * ID_BLOCK + twin_pos, -1)
    leave = np.full(n, NEVER, dtype=np.int64)
    for year in range(first + 1, last + 1):
        going = (leave == NEVER) & (people["arrive"] < year) & (rng.random(n) < config.mobility.leave)
        leave[going] = year
    leads = np.flatnonzero(twin_pos > np.arange(n))
    leave[twin_pos[leads]] = leave[leads]  # twins leave together
    people["leave"] = leave
    return people


def _draw(
    rng: np.random.Generator,
    cohorts: npt.NDArray[np.int64],
    la: int,
    shares: npt.NDArray[np.float64],
    fsm_la: float,
    *,
    geo: Geography,
    config: SynthConfig,
    arrive: int | npt.NDArray[np.int64],
    abroad: float,
) -> Frame:
    n = cohorts.size
    pop = config.population
    book = name_book()
    groups = ethnicities()
    mixes = [g.mix for g in groups]
    eth = np.minimum(np.searchsorted(np.cumsum(shares), rng.random(n) * shares.sum(), side="right"), len(groups) - 1)
    from_abroad = rng.random(n) < abroad
    if abroad and n:
        # Newcomers from abroad are rarely White British.
        eth[from_abroad & (eth == 0)] = rng.choice(np.arange(1, len(groups)), int((from_abroad & (eth == 0)).sum()))
    sex = (rng.random(n) < 0.488).astype(np.int8)  # 1 is female
    birth_start = days_from_ymd(cohorts - 5, 9, 1)
    dob = birth_start + (rng.random(n) * 365.25).astype(np.int64)
    fore = _forenames(book, mixes, eth, sex, rng)
    middle = np.where(rng.random(n) < pop.middle_name, _forenames(book, mixes, eth, sex, rng), -1)
    sur = book.mix_draw("surname", mixes, eth, rng)
    second = book.mix_draw("surname", mixes, eth, rng)
    sur2 = np.where((rng.random(n) < pop.hyphenated_surname) & (second != sur), second, -1)
    changed = rng.random(n) < pop.surname_change * (config.last_year - config.first_year + 4)
    former = np.where(changed, sur, -1)
    sur = np.where(changed, book.mix_draw("surname", mixes, eth, rng), sur)
    change_year = np.where(changed, rng.integers(config.first_year - 3, config.last_year + 1, n), -1)
    pref = np.where(rng.random(n) < pop.preferred_surname, book.mix_draw("surname", mixes, eth, rng), -1)
    eth_fsm = np.array([g.fsm_logit for g in groups])[eth]
    fsm = fsm_la + eth_fsm + rng.logistic(0, 1, n) > 0
    ability = rng.normal(0, 1, n) + np.array([g.ability for g in groups])[eth] - 0.45 * fsm
    sen = _sen(
        rng, ability, sex, fsm, statement=pop.sen_statement, action_plus=pop.sen_action_plus, action=pop.sen_action
    )
    eal_rate = np.array([g.eal_rate for g in groups])[eth]
    eal = rng.random(n) < np.minimum(0.95, eal_rate * np.where(from_abroad, 1.4, 1.0))
    sixth = ability + rng.normal(0, 1, n) > np.quantile(ability, 1 - pop.sixth_form_school) if n else sex > 0
    parent_rel = np.searchsorted([0.7, 0.92], rng.random(n), side="right")
    parent_sex = np.where(parent_rel == 0, 1, np.where(parent_rel == 1, 0, (rng.random(n) < 0.5).astype(np.int8)))
    parent_sur = np.where(rng.random(n) < 0.85, sur, book.mix_draw("surname", mixes, eth, rng))
    las = np.full(n, la, dtype=np.int64)
    landline = rng.random(n) < 0.5
    return {
        "cohort": cohorts.astype(np.int64),
        "la": las,
        "dob": dob,
        "sex": sex,
        "eth": eth.astype(np.int8),
        "fore": fore,
        "middle": middle.astype(np.int32),
        "sur": sur.astype(np.int32),
        "sur2": sur2.astype(np.int32),
        "former_sur": former.astype(np.int32),
        "sur_change_year": change_year.astype(np.int64),
        "pref_sur": pref.astype(np.int32),
        "ability": ability.astype(np.float32),
        "fsm": fsm,
        "sen": sen,
        "eal": eal,
        "special": (sen == 3) & (rng.random(n) < pop.special_school),
        "sixth": sixth,
        "fe": ~sixth & (rng.random(n) < pop.further_education / (1 - pop.sixth_form_school)),
        "postcode": geo.random_postcodes(las, rng),
        "house": rng.integers(1, 160, n),
        "street": rng.integers(0, len(streets()), n),
        "phone": np.where(landline, 1_000_000_000, 7_000_000_000) + rng.integers(100_000_000, 999_999_999, n),
        "parent_fore": _forenames(book, mixes, eth, parent_sex, rng),
        "parent_sur": parent_sur.astype(np.int32),
        "parent_rel": parent_rel.astype(np.int8),
        "twin_of": np.full(n, -1, dtype=np.int64),
        "arrive": np.broadcast_to(np.asarray(arrive, dtype=np.int64), (n,)).copy(),
        "abroad": from_abroad,
    }


def _forenames(
    book: NameBook,
    mixes: list[list[tuple[str, float]]],
    eth: npt.NDArray[np.int64],
    sex: npt.NDArray[np.int8],
    rng: np.random.Generator,
) -> npt.NDArray[np.int32]:
    boys = book.mix_draw("forename_m", mixes, eth, rng)
    girls = book.mix_draw("forename_f", mixes, eth, rng)
    return np.where(sex == 1, girls, boys).astype(np.int32)


def _sen(
    rng: np.random.Generator,
    ability: npt.NDArray[np.float64],
    sex: npt.NDArray[np.int8],
    fsm: npt.NDArray[np.bool_],
    *,
    statement: float,
    action_plus: float,
    action: float,
) -> npt.NDArray[np.int8]:
    """SEN provision: 0 none, 1 School Action, 2 School Action Plus, 3 statement; more likely with low
    attainment, for boys and for pupils eligible for free meals."""
    if ability.size == 0:
        return np.zeros(0, dtype=np.int8)
    need = -0.9 * ability + 0.4 * (sex == 0) + 0.25 * fsm + rng.normal(0, 0.6, ability.size)
    cuts = np.quantile(need, [1 - statement - action_plus - action, 1 - statement - action_plus, 1 - statement])
    return np.asarray(np.searchsorted(cuts, need, side="right"), dtype=np.int8)


def _twins(rng: np.random.Generator, base: Frame, rate: float, book: NameBook) -> Frame:
    """A second child for some births: same surname, birth date, address and parent; a name of their own."""
    n = base["cohort"].size
    first = np.flatnonzero(rng.random(n) < rate)
    twins = take(base, first)
    m = first.size
    twins["sex"] = (rng.random(m) < 0.488).astype(np.int8)
    mixes = [g.mix for g in ethnicities()]
    fresh = _forenames(book, mixes, twins["eth"].astype(np.int64), twins["sex"], rng)
    twins["fore"] = np.where(
        fresh == twins["fore"], _forenames(book, mixes, twins["eth"].astype(np.int64), twins["sex"], rng), fresh
    )
    twins["middle"] = np.where(
        twins["middle"] >= 0, _forenames(book, mixes, twins["eth"].astype(np.int64), twins["sex"], rng), -1
    ).astype(np.int32)
    twins["ability"] = (0.6 * twins["ability"] + 0.8 * rng.normal(0, 1, m)).astype(np.float32)
    twins["twin_of"] = first.astype(np.int64)
    base["twin_of"][first] = n + np.arange(m)
    return twins
