"""What to generate: the scale, the years, the seed and every rate of the synthetic England.

Every rate is a field with a default; where a published figure exists the default follows it and the comment
says where it comes from (DfE Statistical First Releases of January 2009, the NCMP 2008/09 report, ONS birth
statistics). Rates without a published figure are plausible guesses and say so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pupildata.errors import UsageError
from pupildata.kernel.identifiers import format_academic_year, parse_academic_year


class Scale(StrEnum):
    """How much of England to generate."""

    school = "school"  # one small LA: a primary and a secondary school
    la = "la"  # one mid-size LA (Peterborough) and its small neighbour (Rutland)
    region = "region"  # every LA of the North East
    national = "national"  # all 150 LAs


# The LAs each scale covers (three-digit codes); national means every LA.
SCALE_LAS: dict[Scale, tuple[int, ...]] = {
    Scale.school: (857,),
    Scale.la: (874, 857),
    Scale.region: (805, 806, 807, 808, 841, 840, 929, 390, 391, 392, 393, 394),
    Scale.national: (),
}
# Census pupils in the last year at each scale, unless --pupils says otherwise.
SCALE_PUPILS: dict[Scale, int] = {
    Scale.school: 1_200,
    Scale.la: 30_000,
    Scale.region: 400_000,
    Scale.national: 8_000_000,
}


@dataclass(frozen=True)
class NoiseRates:
    """How often one sender's records are corrupted, each as a probability per record.

    UPN rates apply only to senders that carry a UPN; DOB and name rates to every sender.
    """

    upn_missing: float = 0.0
    upn_wrong: float = 0.0  # one digit mistyped: the check letter then fails
    upn_shared: float = 0.0  # another pupil's (valid) UPN, by mistake
    forename_nickname: float = 0.0  # Tom for Thomas
    forename_variant: float = 0.0  # Mohammad for Mohammed, Zoe for Zoë
    forename_typo: float = 0.0
    surname_variant: float = 0.0  # Thomson for Thompson, OBrien for O'Brien
    surname_typo: float = 0.0
    surname_hyphen_part: float = 0.0  # one half of a hyphenated surname only (applies to hyphenated people)
    names_swapped: float = 0.0  # forename and surname exchanged
    dob_swapped: float = 0.0  # day and month exchanged (only possible when the day is 12 or less)
    dob_typo: float = 0.0  # day or year off by one
    postcode_stale: float = 0.0  # the previous address's postcode after a move (applies to movers)
    postcode_typo: float = 0.0
    odd_case: float = 0.0  # SMITH, smith, sMITH


def _census_noise() -> NoiseRates:
    # Schools keep the UPN; about 1% of census records lack a valid one (a guess consistent with the
    # department's UPN guidance that a minority of returns carry missing or invalid UPNs).
    return NoiseRates(
        upn_missing=0.006,
        upn_wrong=0.004,
        upn_shared=0.0005,
        forename_variant=0.002,
        surname_variant=0.002,
        dob_typo=0.001,
        dob_swapped=0.001,
        postcode_typo=0.002,
    )


def _ks_noise() -> NoiseRates:
    # The 1-3% of missing or wrong UPNs; names as typed by exam centres.
    return NoiseRates(
        upn_missing=0.014,
        upn_wrong=0.006,
        upn_shared=0.0005,
        forename_nickname=0.02,
        forename_variant=0.01,
        forename_typo=0.005,
        surname_variant=0.01,
        surname_typo=0.005,
        surname_hyphen_part=0.3,
        names_swapped=0.002,
        dob_swapped=0.003,
        dob_typo=0.003,
    )


def _ncmp_noise() -> NoiseRates:
    # School nurses type names from class lists: more nicknames, a stale postcode after moves.
    return NoiseRates(
        forename_nickname=0.05,
        forename_variant=0.02,
        forename_typo=0.01,
        surname_variant=0.015,
        surname_typo=0.01,
        surname_hyphen_part=0.4,
        names_swapped=0.005,
        dob_swapped=0.01,
        dob_typo=0.01,
        postcode_stale=0.3,
        postcode_typo=0.01,
    )


def _post16_noise() -> NoiseRates:
    # For learners the "UPN" rates apply to the ULN.
    return NoiseRates(
        upn_missing=0.01,
        upn_wrong=0.003,
        forename_nickname=0.04,
        forename_variant=0.01,
        forename_typo=0.005,
        surname_variant=0.01,
        surname_typo=0.005,
        surname_hyphen_part=0.3,
        names_swapped=0.003,
        dob_swapped=0.004,
        dob_typo=0.004,
        postcode_stale=0.2,
        postcode_typo=0.005,
    )


def _survey_noise() -> NoiseRates:
    # Interviewers type what they hear.
    return NoiseRates(
        forename_nickname=0.08,
        forename_variant=0.03,
        forename_typo=0.03,
        surname_variant=0.03,
        surname_typo=0.03,
        surname_hyphen_part=0.5,
        names_swapped=0.01,
        dob_swapped=0.02,
        dob_typo=0.02,
        postcode_stale=0.3,
        postcode_typo=0.02,
        odd_case=0.25,
    )


@dataclass(frozen=True)
class PopulationRates:
    """Who the pupils are. Shares are of pupils in state-funded schools, January 2009, unless noted."""

    white_british: float = 0.78  # SFR 09/2009: 77.9% of primary and 81.8% of secondary pupils White British
    fsm: float = 0.145  # SFR 09/2009: 15.9% primary, 13.4% secondary eligible (LA spread widens it)
    fsm_la_spread: float = 0.55  # sd of the LA effect on the log-odds (LA rates range about 5% to 45%)
    fsm_yearly_change: float = 0.04  # share of pupils whose eligibility flips between years (a guess)
    sen_action: float = 0.11  # School Action, SFR 15/2009: about 11%
    sen_action_plus: float = 0.065  # School Action Plus: about 6.5%
    sen_statement: float = 0.027  # statements: 2.7%
    twins: float = 0.015  # ONS: about 1.5% of maternities are multiple, so about 3% of children are twins
    middle_name: float = 0.6  # pupils with a middle name (a guess)
    hyphenated_surname: float = 0.02  # double-barrelled surnames (a guess)
    preferred_surname: float = 0.02  # known by a different surname at school (a guess)
    surname_change: float = 0.004  # legal surname changes per pupil per year (a guess)
    sixth_form_school: float = 0.42  # of 16 and 17 year olds, in a school sixth form (DCSF participation SFR)
    further_education: float = 0.40  # of 16 to 18 year olds, at a college: the LSC's learners
    very_small_school: float = 0.04  # share of primaries with fewer than about 50 pupils (rural schools)
    special_school: float = 0.3  # of pupils with a statement, the share in a special school (SFR 15/2009: ~40%)


@dataclass(frozen=True)
class MobilityRates:
    """How pupils move between years (per pupil per year; a guess where no figure is published)."""

    house_move: float = 0.08  # moves house within the LA (English Housing Survey: about 1 family in 10 a year)
    school_change_on_move: float = 0.35  # of house movers, those who also change school
    school_change: float = 0.02  # changes school without moving house
    la_move: float = 0.015  # moves to another LA (changes school and postcode)
    leave: float = 0.012  # leaves the state sector or England
    join: float = 0.015  # joins from outside (abroad, the independent sector)
    temporary_upn: float = 0.25  # of joiners, those whose first census carries a temporary UPN


@dataclass(frozen=True)
class SurveyRates:
    """The longitudinal cohort survey: a sample of the Year 9 cohort of the first year, followed each year."""

    sample_fraction: float = 0.02  # LSYPE sampled about 15,500 of some 600,000 Year 9 pupils: about 2.6%
    minimum_sample: int = 60  # never fewer than this, so that small scales still have a survey
    attrition: float = 0.1  # share of respondents lost each wave (LSYPE: about 8-13%)


@dataclass(frozen=True)
class GrowthRates:
    """Child height and weight: prevalence under UK90 (NCMP 2008/09 national report)."""

    participation: float = 0.88  # NCMP 2008/09: 88% of eligible children measured
    obese_reception: float = 0.096  # 9.6% at or above the 95th centile
    overweight_reception: float = 0.132  # 13.2% from the 85th to below the 95th
    obese_year6: float = 0.183  # 18.3%
    overweight_year6: float = 0.143  # 14.3%


@dataclass(frozen=True)
class SynthConfig:
    """Everything that decides the output: the same config always gives the same bytes."""

    scale: Scale = Scale.la
    pupils: int | None = None  # census pupils in the last year; None means the scale's usual size
    first_year: int = 2006  # the calendar year the first academic year begins in
    last_year: int = 2008
    seed: int = 2009
    workers: int = 2  # processes writing files; the output does not depend on it
    population: PopulationRates = field(default_factory=PopulationRates)
    mobility: MobilityRates = field(default_factory=MobilityRates)
    survey: SurveyRates = field(default_factory=SurveyRates)
    growth: GrowthRates = field(default_factory=GrowthRates)
    census_noise: NoiseRates = field(default_factory=_census_noise)
    ks_noise: NoiseRates = field(default_factory=_ks_noise)
    ncmp_noise: NoiseRates = field(default_factory=_ncmp_noise)
    post16_noise: NoiseRates = field(default_factory=_post16_noise)
    survey_noise: NoiseRates = field(default_factory=_survey_noise)

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.first_year, self.last_year + 1))

    @property
    def target_pupils(self) -> int:
        return self.pupils if self.pupils is not None else SCALE_PUPILS[self.scale]

    def to_dict(self) -> dict[str, object]:
        """A plain form for the manifest."""
        data = dataclasses.asdict(self)
        data["scale"] = str(self.scale)
        data["years"] = [format_academic_year(y) for y in self.years]
        data.pop("workers")
        return data


def parse_years(text: str) -> tuple[int, int]:
    """'2006/07..2008/09' (or one year, '2008/09') as the first and last calendar years they begin in."""
    parts = text.replace("…", "..").split("..")
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise UsageError(f"--years '{text}' is not a range like 2006/07..2008/09")
    try:
        first, last = parse_academic_year(parts[0]), parse_academic_year(parts[1])
    except ValueError as exc:
        raise UsageError(f"--years: {exc}") from None
    if last < first:
        raise UsageError(f"--years '{text}' runs backwards: the first year must not be after the last")
    if first < 1995 or last > 2030:
        raise UsageError(f"--years '{text}' is outside the years this generator knows (1995/96 to 2030/31)")
    return first, last


def make_config(
    scale: str | None, pupils: int | None, years: str, seed: int, out: Path, *, workers: int = 2
) -> SynthConfig:
    """Check the command's options and build the config; every problem is one clear UsageError."""
    try:
        chosen = Scale(scale) if scale is not None else Scale.la
    except ValueError:
        names = ", ".join(s.value for s in Scale)
        raise UsageError(f"--scale '{scale}' is not one of {names}") from None
    if pupils is not None and pupils <= 0:
        raise UsageError(f"--pupils must be a positive number, not {pupils}")
    if pupils is not None and pupils > 20_000_000:
        raise UsageError(f"--pupils {pupils} is more than this generator can hold (at most 20,000,000)")
    if seed < 0:
        raise UsageError(f"--seed must be zero or more, not {seed}")
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory")
    first, last = parse_years(years)
    return SynthConfig(scale=chosen, pupils=pupils, first_year=first, last_year=last, seed=seed, workers=workers)
