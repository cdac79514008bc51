"""What every data return shares: the job that writes it, what it wrote, and the truth of each record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from pupildata.kernel.identifiers import format_academic_year
from pupildata.synth.config import NoiseRates
from pupildata.synth.names import name_book
from pupildata.synth.noise import FLAGS, Shown, TrueRecord, corrupt
from pupildata.synth.world import World

SOURCES = ("census", "ks1", "ks2", "ks3", "ks4", "ncmp", "post16", "survey")
Index = npt.NDArray[np.int64]


def year_dir(year: int) -> str:
    """The folder of an academic year: 2008 gives '2008-09'."""
    return f"{year}-{(year + 1) % 100:02d}"


@dataclass(frozen=True)
class Job:
    """One unit of writing: a source, a year and a part (an LA, a key stage, a health area)."""

    source: str
    year: int
    part: str = ""
    weight: int = 1  # expected records, to start the biggest jobs first


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the output folder, with forward slashes
    source: str
    year: str
    records: int
    sha256: str
    bytes: int


@dataclass
class JobResult:
    files: list[FileEntry] = field(default_factory=list)
    truth: dict[str, npt.NDArray[np.generic]] = field(default_factory=dict)


def job_rng(world: World, job: Job) -> np.random.Generator:
    """A generator for one job, fixed by the seed, source, year and part: never by the worker running it."""
    part = int.from_bytes(job.part.encode("utf-8")[:16].ljust(16, b"\0"), "big")
    return np.random.default_rng([world.config.seed, 8, SOURCES.index(job.source), job.year, part])


def true_record(world: World, idx: Index, year: int, group: Index, ident: str | None) -> TrueRecord:
    """What the records of these people should say in this year."""
    p = world.people
    state = world.years[year]
    previous = world.years.get(year - 1)
    moved = state["moved_house"][idx]
    prev_postcode = np.where(moved, previous["postcode"][idx], -1) if previous is not None else np.full(idx.size, -1)
    upn = world.upn_in(idx, year) if ident == "upn" else (p["uln"][idx] if ident == "uln" else None)
    return TrueRecord(
        fore=p["fore"][idx],
        sur=world.surname_in(idx, year).astype(np.int32),
        sur2=p["sur2"][idx],
        dob=p["dob"][idx],
        upn=upn,
        group=group,
        postcode=state["postcode"][idx],
        previous_postcode=prev_postcode,
    )


def shown_records(
    world: World, idx: Index, year: int, group: Index, ident: str | None, *, rates: NoiseRates, rng: np.random.Generator
) -> Shown:
    return corrupt(true_record(world, idx, year, group, ident), rates, name_book(), rng)


def truth(
    world: World,
    idx: Index,
    file_no: Index,
    record_index: Index,
    shown: Shown,
    *,
    extra: dict[str, npt.NDArray[np.generic]] | None = None,
) -> dict[str, npt.NDArray[np.generic]]:
    """The truth columns of a job's records: which file, which record, whose, and what was done to it."""
    out: dict[str, npt.NDArray[np.generic]] = {
        "file_no": file_no.astype(np.int64),
        "record_index": record_index.astype(np.int64),
        "person_id": world.people["pid"][idx],
    }
    out.update({name: shown.flags[name] for name in FLAGS})
    out.update(extra or {})
    return out


def names(idx: npt.NDArray[np.int32]) -> pa.Array:
    """Names for name indices, empty where the index is -1."""
    book = name_book()
    table = pa.array((*book.names, ""), type=pa.string())
    return table.take(pa.array(np.where(idx >= 0, idx, len(book.names))))


def codes(labels: tuple[str, ...], idx: npt.ArrayLike) -> pa.Array:
    return pa.array(labels, type=pa.string()).take(pa.array(np.asarray(idx)))


def relative(out: Path, path: Path) -> str:
    return path.relative_to(out).as_posix()


def year_label(year: int) -> str:
    return format_academic_year(year)
