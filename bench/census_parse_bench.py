"""Census XML parse benchmark: CPU per file of ``parse_census`` against a bare lxml ``iterparse`` of the same files.

    .venv/bin/python bench/census_parse_bench.py --files 20 --repeat 9 --baseline main

Files of 1,000 pupils are made as the collection benchmark makes them (``_census_files``). Each repeat times,
one after the other in this process, the bare read (counting the ``<Pupil>`` elements with ``iterparse``) and
``parse_census`` on every file, in CPU time of this process; the best and the median of the repeats are printed
in ms per file, with their ratios to the bare read's, and the page faults per file. ``--baseline REV`` also times
``parse_census`` with the fast reader (``readers/census_fast.py``) as it is at the git revision ``REV``,
alternating with the current one in each repeat, so that a change can be compared on a noisy machine (the two
are first checked to give the same tables).

``--workers`` parses instead in two worker processes from a fork server, as a collection does (their memory is
not this process's: whether fresh memory costs page faults depends on what a process did before), one pool per
reading, the readings alternating ``--repeat`` times, each file's CPU time measured in its worker::

    .venv/bin/python bench/census_parse_bench.py --files 50 --repeat 3 --baseline main --workers
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collect_bench import _census_files  # a sibling script, not a package

if TYPE_CHECKING:
    from collections.abc import Callable

READER = "src/pupildata/collect/readers/census_fast.py"
BARE = "bare iterparse"
CURRENT = "parse_census"


def _baseline(revision: str) -> ModuleType:
    """The fast reader as it is at ``revision``, loaded as a module of its own."""
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(["git", "show", f"{revision}:{READER}"], cwd=root, check=True, capture_output=True)
    work = Path(tempfile.mkdtemp(prefix="census-baseline-"))
    path = work / "census_fast_baseline.py"
    path.write_bytes(source.stdout)
    spec = importlib.util.spec_from_file_location("census_fast_baseline", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shutil.rmtree(work, ignore_errors=True)
    return module


def _reading(name: str, baseline: str | None) -> Callable[[Path], None]:
    """One file's reading: the bare read, ``parse_census``, or ``parse_census`` with the baseline's fast reader."""
    from lxml import etree

    from pupildata.collect.readers import census_fast, census_xml

    if name == BARE:

        def bare(path: Path) -> None:
            assert sum(1 for _ in etree.iterparse(str(path), tag="Pupil")) == 1000

        return bare
    reader = _baseline(baseline).read_plain if name != CURRENT and baseline else census_fast.read_plain

    def parse(path: Path) -> None:
        census_xml.read_plain = reader  # swapped back and forth in this process
        parsed = census_xml.parse_census(path)
        assert parsed.table is not None, parsed.rejected
        assert parsed.table.num_rows == 1000

    return parse


_WORKER: dict[str, Callable[[Path], None]] = {}


def _start_worker(name: str, baseline: str | None) -> None:
    _WORKER["read"] = _reading(name, baseline)


def _in_worker(path: str) -> tuple[float, int]:
    """A file read in a worker: CPU ms and page faults."""
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.process_time()
    _WORKER["read"](Path(path))
    took = (time.process_time() - start) * 1000
    return took, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def _same_tables(files: list[Path], baseline: str) -> None:
    from pupildata.collect.readers import census_xml

    current = census_xml.read_plain
    old = _baseline(baseline).read_plain
    for f in files:
        data = f.read_bytes()
        new = census_xml.read_plain_census(data)
        census_xml.read_plain = old
        try:
            before = census_xml.read_plain_census(data)
        finally:
            census_xml.read_plain = current
        assert new is not None
        assert before is not None
        assert new[0] == before[0]
        assert all(a.equals(b) for a, b in zip(new[1], before[1], strict=True))


def _here(files: list[Path], names: list[str], baseline: str | None, repeat: int) -> dict[str, list[float]]:
    """Each repeat: every reading over every file in this process, CPU ms per file; and the faults."""
    steps = {name: _reading(name, baseline) for name in names}
    for step in steps.values():
        step(files[0])  # warm: imports, caches
    times: dict[str, list[float]] = {name: [] for name in names}
    faults = dict.fromkeys(names, 0.0)
    for _ in range(repeat):
        for name, step in steps.items():
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.process_time()
            for f in files:
                step(f)
            times[name].append((time.process_time() - start) / len(files) * 1000)
            faults[name] += (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / len(files) / repeat
    return {name: [*found, faults[name]] for name, found in times.items()}


def _workers(files: list[Path], names: list[str], baseline: str | None, repeat: int) -> dict[str, list[float]]:
    """Each repeat: every reading in a pool of two fresh workers of its own, each file read twice (the second
    measured: the first warms the workers); CPU ms per file in its worker; and the faults."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pupildata.collect.readers.census_xml"])
    times: dict[str, list[float]] = {name: [] for name in names}
    faults: dict[str, list[int]] = {name: [] for name in names}
    paths = [str(f) for f in files]
    for _ in range(repeat):
        for name in names:
            with ProcessPoolExecutor(
                2, mp_context=context, initializer=_start_worker, initargs=(name, baseline)
            ) as pool:
                found = list(pool.map(_in_worker, paths + paths))[len(paths) :]
            times[name] += [took for took, _ in found]
            faults[name] += [fault for _, fault in found]
    return {name: [*found, statistics.mean(faults[name])] for name, found in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20, help="files of 1,000 pupils")
    parser.add_argument("--repeat", type=int, default=9, help="rounds of every reading")
    parser.add_argument("--baseline", help="also time the fast reader of this git revision")
    parser.add_argument("--workers", action="store_true", help="read in worker processes from a fork server")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="census-parse-bench-"))
    try:
        folder = work / "census"
        _census_files(folder, args.files * 1000, valid=True)
        files = sorted(folder.iterdir())
        names = [BARE, CURRENT] + ([f"{CURRENT} at {args.baseline}"] if args.baseline else [])
        if args.baseline:
            _same_tables(files, args.baseline)  # the same tables, or the comparison means nothing
        measure = _workers if args.workers else _here
        found = measure(files, names, args.baseline, args.repeat)
        where = "each file's, in two workers" if args.workers else "each round's, in this process"
        print(f"{len(files)} files of 1,000 pupils, {args.repeat} rounds; CPU ms per file ({where}): best, median")
        print("| reading | best ms/file | ratio to bare | median ms/file | ratio to bare | page faults/file |")
        print("|---|---|---|---|---|---|")
        best = {name: min(times[:-1]) for name, times in found.items()}
        median = {name: statistics.median(times[:-1]) for name, times in found.items()}
        for name in names:
            print(
                f"| {name} | {best[name]:.2f} | {best[name] / best[BARE]:.2f} | {median[name]:.2f} | "
                f"{median[name] / median[BARE]:.2f} | {found[name][-1]:.0f} |"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
