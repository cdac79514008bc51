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
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pupildata.errors import UsageError
from pupildata.synth.config import SynthConfig
from pupildata.synth.records import FileEntry, Job, JobResult, job_rng, year_dir
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


_WORKER: dict[str, Any] = {}


def _work(item: tuple[int, Job]) -> tuple[int, JobResult]:
    number, job = item
    return number, run_job(_WORKER["world"], job, _WORKER["out"])


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
    results: list[JobResult | None] = [None] * len(jobs)
    order = sorted(range(len(jobs)), key=lambda n: -jobs[n].weight)
    if config.workers > 1 and len(jobs) > 1:
        _WORKER.update(world=world, out=out)
        context = multiprocessing.get_context("fork")
        with context.Pool(config.workers) as pool:
            for done, (number, result) in enumerate(pool.imap_unordered(_work, [(n, jobs[n]) for n in order]), 1):
                results[number] = result
                report("Writing returns", done, len(jobs))
        _WORKER.clear()
    else:
        for done, number in enumerate(order, 1):
            results[number] = run_job(world, jobs[number], out)
            report("Writing returns", done, len(jobs))
    finished = [r for r in results if r is not None]
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


__all__ = ["Manifest", "generate", "year_dir"]
