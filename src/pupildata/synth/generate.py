"""Generate a synthetic England's data returns, with ground truth, into one folder.

Layout of ``DIR`` (collection reads it; nothing in it depends on the time it was made):

- ``manifest.json``: the config and seed, and for every file its path, source, academic year, record count,
  size and sha256;
- ``<2008-09>/census/<LAESTAB>.xml``: the spring school census, one file per school;
- ``<2008-09>/ks/ks1.csv`` .. ``ks4.csv``: key stage results from the assessment body;
- ``<2008-09>/ncmp/<health area>.csv``: child height and weight (Reception and Year 6) per health area;
- ``<2008-09>/post16/learners.csv``: learners aged 16 to 18 at colleges, from the learning and skills council;
- ``<2008-09>/survey/responses.csv``: the longitudinal cohort survey's responses that year;
- ``truth/``: who every record really is (see ``pupildata.synth.truth``).

The people and their years are built in this process; the files are written by worker processes, one job per
LA (census), key stage, health area or single file. Every job draws from its own seed, so the bytes do not
depend on how many workers there are.
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pupildata.errors import UsageError
from pupildata.synth.config import SynthConfig
from pupildata.synth.records import FileEntry, Index, Job, JobResult, job_rng, year_dir
from pupildata.synth.world import World, build_world

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Manifest:
    """What was written: the config, every file, and the truth files."""

    config: dict[str, Any]
    files: list[FileEntry]
    truth: list[FileEntry]
    people: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "generator": "pupildata synth",
            "config": self.config,
            "seed": self.config["seed"],
            "people": self.people,
            "files": [asdict(f) for f in self.files],
            "truth": [asdict(f) for f in self.truth],
        }

    def records(self, source: str) -> int:
        return sum(f.records for f in self.files if f.source == source)


def _jobs(world: World) -> list[Job]:
    from pupildata.synth.writers import census, tables

    jobs: list[Job] = []
    for year in world.config.years:
        jobs.extend(census.jobs(world, year))
        jobs.extend(tables.ks_jobs(world, year))
        jobs.extend(tables.ncmp_jobs(world, year))
        jobs.append(Job("post16", year, "", int((world.years[year]["college"] >= 0).sum())))
        jobs.append(Job("survey", year, "", 1))
    return jobs


def run_job(world: World, job: Job, out: Path) -> JobResult:
    from pupildata.synth.writers import census, tables

    runner = {
        "census": census.run,
        "ncmp": tables.ncmp_run,
        "post16": tables.post16_run,
        "survey": tables.survey_run,
    }.get(job.source, tables.ks_run)
    return runner(world, job, out, job_rng(world, job))


def rows_for(world: World, job: Job) -> Index:
    """The people a job can need, in order (a superset of the records it writes)."""
    import numpy as np

    from pupildata.synth.writers.tables import KS_YEAR, NCMP_YEARS

    state, s = world.years[job.year], world.geo.schools
    school = state["school"]
    in_school = school >= 0
    if job.source == "census":
        wanted = in_school & (s.la[np.maximum(school, 0)] == int(job.part))
    elif job.source == "ncmp":
        areas = np.array([a == job.part for a in world.geo.health_areas])
        wanted = in_school & np.isin(state["nc"], NCMP_YEARS) & areas[s.la[np.maximum(school, 0)]]
    elif job.source == "post16":
        wanted = state["college"] >= 0
    elif job.source == "survey":
        wanted = world.people["survey_id"] >= 0
    else:
        wanted = in_school & (state["nc"] == KS_YEAR[int(job.part)])
    return np.flatnonzero(wanted)


def _work(number: int, job: Job, world: World, out: Path) -> tuple[int, JobResult]:
    return number, run_job(world, job, out)


def _run_parallel(world: World, jobs: list[Job], order: list[int], out: Path, report: Progress) -> list[JobResult]:
    """Run jobs in worker processes, each sent only the people it needs, a few jobs in flight at a time."""
    results: dict[int, JobResult] = {}
    finished: queue.SimpleQueue[tuple[int, JobResult] | BaseException] = queue.SimpleQueue()
    context = multiprocessing.get_context("fork")
    waiting = iter(order)
    in_flight = 0
    with context.Pool(world.config.workers) as pool:

        def submit() -> bool:
            number = next(waiting, None)
            if number is None:
                return False
            job = jobs[number]
            args = (number, job, world.subset(rows_for(world, job)), out)
            pool.apply_async(_work, args, callback=finished.put, error_callback=finished.put)
            return True

        for _ in range(2 * world.config.workers):
            in_flight += submit()
        while in_flight:
            item = finished.get()
            in_flight -= 1
            if isinstance(item, BaseException):
                raise item
            results[item[0]] = item[1]
            report("Writing returns", len(results), len(jobs))
            in_flight += submit()
    return [results[n] for n in range(len(jobs))]


def _prepare(out: Path) -> None:
    """Make ``out`` ready: create it, or clear what an earlier run wrote there; refuse a folder of other files."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory")
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.json"
    if manifest.exists():
        for child in out.iterdir():
            if child.is_dir() and (child.name == "truth" or child.name[:4].isdigit()):
                shutil.rmtree(child)
        manifest.unlink()
    elif any(out.iterdir()):
        raise UsageError(f"--out {out} is not empty and holds no earlier synthetic data: choose an empty folder")


def generate(config: SynthConfig, out: Path, progress: Progress | None = None) -> Manifest:
    """Build the world and write every return and the truth into ``out``."""
    from pupildata.synth import truth

    report = progress or (lambda _stage, _done, _total: None)
    _prepare(out)
    report("Building people, schools and years", 0, 1)
    world = build_world(config)
    report("Building people, schools and years", 1, 1)
    jobs = _jobs(world)
    order = sorted(range(len(jobs)), key=lambda n: -jobs[n].weight)
    if config.workers > 1 and len(jobs) > 1:
        finished = _run_parallel(world, jobs, order, out, report)
    else:
        serial: dict[int, JobResult] = {}
        for number in order:
            serial[number] = run_job(world.subset(rows_for(world, jobs[number])), jobs[number], out)
            report("Writing returns", len(serial), len(jobs))
        finished = [serial[n] for n in range(len(jobs))]
    report("Writing the truth", 0, 1)
    truth_files = [truth.write_people(world, out)]
    for year in config.years:
        truth_files.append(truth.write_state(world, year, out))
        for source in sorted({job.source for job in jobs if job.year == year}):
            mine = [finished[n] for n, job in enumerate(jobs) if job.source == source and job.year == year]
            truth_files.append(truth.write_records(mine, source, year, out))
    report("Writing the truth", 1, 1)
    files = sorted((entry for r in finished for entry in r.files), key=lambda f: f.path)
    manifest = Manifest(
        config.to_dict(), files, sorted(truth_files, key=lambda f: f.path), int(world.people["pid"].size)
    )
    (out / "manifest.json").write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
    return manifest


def generate_demo(out: Path, progress: Progress | None = None) -> Manifest:
    """The demo's data: one LA and its small neighbour, 2006/07 to 2008/09, with the default seed."""
    return generate(SynthConfig(), out, progress)


__all__ = ["Manifest", "generate", "generate_demo", "year_dir"]
