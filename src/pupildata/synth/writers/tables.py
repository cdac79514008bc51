"""The CSV returns: key stage results, child height and weight, post-16 learners and the cohort survey.

Each sender has its own columns, date format and sex coding, as real senders do:

- assessment body (``ks/ks1.csv`` .. ``ks4.csv``): ``UPN,Surname,Forenames,DOB,Gender,LAEstab,...results``,
  DOB dd/mm/yyyy, Gender M/F;
- health areas (``ncmp/<health area>.csv``): ``NHS_PCT,SchoolURN,Surname,Forename,DOB,Sex,Postcode,
  DateOfMeasurement,HeightCm,WeightKg``, dates dd/mm/yyyy, Sex 1 (male) or 2 (female), no UPN;
- the learning and skills council (``post16/learners.csv``): ``ULN,FamilyName,GivenNames,DateOfBirth,Sex,
  Postcode,UKPRN,ProviderName,LearnStartDate,LearningAimLevel``, dates yyyy-mm-dd, Sex M/F;
- the research agency (``survey/responses.csv``): ``RespondentID,Wave,InterviewDate,FirstName,LastName,DOB,
  Gender,Postcode,...answers``, dates yyyymmdd, Gender Male/Female, names as interviewers typed them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pupildata.synth import attainment, growth
from pupildata.synth.places import SPECIAL
from pupildata.synth.records import FileEntry, Index, Job, JobResult, codes, shown_records, truth, year_label
from pupildata.synth.vectors import days_from_ymd, format_dates, ymd
from pupildata.synth.world import World
from pupildata.synth.writers.text import csv_text, tenths, write_file

KS_YEAR = {1: 2, 2: 6, 3: 9, 4: 11}  # the NC year at the end of each key stage
NCMP_YEARS = (0, 6)  # Reception and Year 6


def _write(out: Path, job: Job, relative: str, columns: dict[str, pa.Array], records: int) -> FileEntry:
    path = out / f"{job.year}-{(job.year + 1) % 100:02d}" / relative
    digest, size = write_file(path, [csv_text(columns)])
    return FileEntry(path.relative_to(out).as_posix(), job.source, year_label(job.year), records, digest, size)


def _sorted(world: World, idx: Index, *keys: np.ndarray) -> Index:
    return idx[np.lexsort((world.people["pid"][idx], *reversed([k[idx] for k in keys])))]


def ks_jobs(world: World, year: int) -> list[Job]:
    nc = world.years[year]["nc"]
    return [Job(f"ks{stage}", year, str(stage), int((nc == ncy).sum())) for stage, ncy in KS_YEAR.items()]


def ks_run(world: World, job: Job, out: Path, rng: np.random.Generator) -> JobResult:
    stage = int(job.part)
    state, p, geo = world.years[job.year], world.people, world.geo
    idx = np.flatnonzero(state["present"] & (state["school"] >= 0) & (state["nc"] == KS_YEAR[stage]))
    idx = _sorted(world, idx, geo.laestab[np.maximum(state["school"], 0)])
    school = state["school"][idx]
    shown = shown_records(world, idx, job.year, school, "upn", rates=world.config.ks_noise, rng=rng)
    assert shown.upn is not None
    columns: dict[str, pa.Array] = {
        "UPN": shown.upn,
        "Surname": shown.surname,
        "Forenames": shown.forename,
        "DOB": format_dates(shown.year, shown.month, shown.day, "dmy"),
        "Gender": codes(("M", "F"), p["sex"][idx]),
        "LAEstab": pa.array(geo.laestab[school]),
        "URN": pa.array(geo.schools.urn[school]),
    }
    person = {k: p[k][idx] for k in ("ability", "sen", "eal", "sex")}
    person["fsm"] = state["fsm"][idx]
    person["special"] = geo.schools.phase[school] == SPECIAL
    columns.update(attainment.results(stage, person, geo.schools.effect[school], rng))
    entry = _write(out, job, f"ks/ks{stage}.csv", columns, idx.size)
    return JobResult([entry], truth(world, idx, np.zeros(idx.size, np.int64), np.arange(idx.size), shown))


def ncmp_jobs(world: World, year: int) -> list[Job]:
    areas = sorted(set(world.geo.health_areas))
    return [Job("ncmp", year, area, 1) for area in areas]


def ncmp_run(world: World, job: Job, out: Path, rng: np.random.Generator) -> JobResult:
    state, p, geo = world.years[job.year], world.people, world.geo
    s = geo.schools
    school_all = np.maximum(state["school"], 0)
    in_area = np.array([area == job.part for area in geo.health_areas])[s.la[school_all]]
    eligible = state["present"] & (state["school"] >= 0) & (s.phase[school_all] != SPECIAL) & in_area
    eligible &= np.isin(state["nc"], NCMP_YEARS)
    idx = np.flatnonzero(eligible)
    idx = idx[rng.random(idx.size) < world.config.growth.participation]
    idx = _sorted(world, idx, s.urn[school_all], state["nc"])
    school = state["school"][idx]
    preferred = p["pref_sur"][idx] >= 0
    shown = shown_records(world, idx, job.year, school, None, rates=world.config.ncmp_noise, rng=rng)
    measured = days_from_ymd(np.full(idx.size, job.year), 9, 15) + rng.integers(0, 280, idx.size)
    female = p["sex"][idx] == 1
    year6 = state["nc"][idx] == 6
    g = world.config.growth
    height = np.zeros(idx.size, dtype=np.int64)
    weight = np.zeros(idx.size, dtype=np.int64)
    for group, obese, overweight in (
        (~year6, g.obese_reception, g.overweight_reception),
        (year6, g.obese_year6, g.overweight_year6),
    ):
        h, w = growth.measure(female[group], measured[group] - p["dob"][idx][group], obese, overweight, rng)
        height[group], weight[group] = h, w
    surname = pc.if_else(pa.array(preferred & ~shown.flags["names_swapped"]), _names(p["pref_sur"][idx]), shown.surname)
    columns: dict[str, pa.Array] = {
        "NHS_PCT": pa.array([job.part] * idx.size, type=pa.string()),
        "SchoolURN": pa.array(s.urn[school]),
        "Surname": surname,
        "Forename": shown.forename,
        "DOB": format_dates(shown.year, shown.month, shown.day, "dmy"),
        "Sex": codes(("1", "2"), p["sex"][idx]),
        "Postcode": geo.postcode_strings(shown.postcode),
        "DateOfMeasurement": format_dates(*ymd(measured), "dmy"),
        "HeightCm": tenths(height),
        "WeightKg": tenths(weight),
    }
    entry = _write(out, job, f"ncmp/{job.part}.csv", columns, idx.size)
    extra = {"preferred_surname": preferred, "age_days": measured - p["dob"][idx]}
    return JobResult([entry], truth(world, idx, np.zeros(idx.size, np.int64), np.arange(idx.size), shown, extra=extra))


def _names(idx: np.ndarray) -> pa.Array:
    from pupildata.synth.records import names

    return names(idx)


def post16_run(world: World, job: Job, out: Path, rng: np.random.Generator) -> JobResult:
    state, p, geo = world.years[job.year], world.people, world.geo
    idx = _sorted(world, np.flatnonzero(state["college"] >= 0), state["college"])
    college = state["college"][idx]
    shown = shown_records(world, idx, job.year, college, "uln", rates=world.config.post16_noise, rng=rng)
    assert shown.upn is not None
    first_year = job.year - np.clip(state["nc"][idx] - 12, 0, 2)
    start = days_from_ymd(first_year, 9, 1) + rng.integers(0, 20, idx.size)
    level = np.searchsorted([-0.6, 0.3], p["ability"][idx] + rng.normal(0, 0.5, idx.size))
    columns: dict[str, pa.Array] = {
        "ULN": shown.upn,
        "FamilyName": shown.surname,
        "GivenNames": shown.forename,
        "DateOfBirth": format_dates(shown.year, shown.month, shown.day, "iso"),
        "Sex": codes(("M", "F"), p["sex"][idx]),
        "Postcode": geo.postcode_strings(shown.postcode),
        "UKPRN": pa.array(geo.college_ukprn[college]),
        "ProviderName": codes(geo.college_name, college),
        "LearnStartDate": format_dates(*ymd(start), "iso"),
        "LearningAimLevel": codes(("Entry", "Level 2", "Level 3"), level),
    }
    entry = _write(out, job, "post16/learners.csv", columns, idx.size)
    return JobResult([entry], truth(world, idx, np.zeros(idx.size, np.int64), np.arange(idx.size), shown))


def survey_run(world: World, job: Job, out: Path, rng: np.random.Generator) -> JobResult:
    state, p, geo = world.years[job.year], world.people, world.geo
    wave = job.year - world.config.first_year + 1
    idx = np.flatnonzero((p["survey_id"] >= 0) & state["present"] & (p["survey_waves"] >= wave))
    idx = idx[np.argsort(p["survey_id"][idx], kind="stable")]
    group = np.zeros(idx.size, np.int64)
    shown = shown_records(world, idx, job.year, group, None, rates=world.config.survey_noise, rng=rng)
    interviewed = days_from_ymd(np.full(idx.size, job.year + 1), 3, 1) + rng.integers(0, 120, idx.size)
    activity = np.where(
        state["school"][idx] >= 0,
        0,
        np.where(state["college"][idx] >= 0, 1, np.where(rng.random(idx.size) < 0.6, 2, 3)),
    )
    keen = p["ability"][idx] + rng.normal(0, 1, idx.size)
    columns: dict[str, pa.Array] = {
        "RespondentID": pa.array(p["survey_id"][idx]),
        "Wave": pa.array(np.full(idx.size, wave)),
        "InterviewDate": format_dates(*ymd(interviewed), "compact"),
        "FirstName": shown.forename,
        "LastName": shown.surname,
        "DOB": format_dates(shown.year, shown.month, shown.day, "compact"),
        "Gender": codes(("Male", "Female"), p["sex"][idx]),
        "Postcode": geo.postcode_strings(shown.postcode),
        "MainActivity": codes(
            ("At school", "At college", "Working or training", "Not in education, employment or training"), activity
        ),
        "LikesSchool": codes(
            ("Strongly disagree", "Disagree", "Agree", "Strongly agree"), np.searchsorted([-1.2, -0.3, 0.9], keen)
        ),
        "PlansHigherEducation": codes(
            ("No", "Yes", "Don't know"), np.where(rng.random(idx.size) < 0.12, 2, (keen > -0.2).astype(np.int64))
        ),
        "HomeworkHoursPerWeek": pa.array(np.clip(np.round(4 + 2.5 * keen), 0, 25).astype(np.int64)),
    }
    entry = _write(out, job, "survey/responses.csv", columns, idx.size)
    return JobResult([entry], truth(world, idx, np.zeros(idx.size, np.int64), np.arange(idx.size), shown))
