"""Census XML parse benchmark: CPU per file of ``parse_census`` against a bare lxml ``iterparse`` of the same files.

    flock /tmp/pupildata-bench.lock .venv/bin/python bench/census_parse_bench.py --files 20 --repeat 5

Files of 1,000 pupils are made as the collection benchmark makes them (``_census_files``). Each repeat times,
one after the other in the same process, the bare read (counting the ``<Pupil>`` elements with ``iterparse``)
and ``parse_census`` on every file, in CPU seconds of this process; the best of the repeats is printed in ms per
file, with the ratio of ``parse_census`` to the bare read. ``--baseline REV`` also times ``parse_census`` with
the fast reader (``readers/census_fast.py``) as it is at the git revision ``REV`` (e.g. ``HEAD`` or ``main``),
alternating with the current one in each repeat, so that a change can be compared on a noisy machine::

    flock /tmp/pupildata-bench.lock .venv/bin/python bench/census_parse_bench.py --files 20 --repeat 7 --baseline HEAD
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collect_bench import _census_files  # a sibling script, not a package

if TYPE_CHECKING:
    from collections.abc import Callable

READER = "src/pupildata/collect/readers/census_fast.py"


def _baseline(revision: str) -> ModuleType:
    """The fast reader as it is at ``revision``, loaded as a module of its own."""
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(
        ["git", "show", f"{revision}:{READER}"], cwd=root, check=True, capture_output=True
    ).stdout  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="census-baseline-"))
    path = work / "census_fast_baseline.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("census_fast_baseline", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shutil.rmtree(work, ignore_errors=True)
    return module


def _cpu(step: Callable[[], object]) -> float:
    start = time.process_time()
    step()
    return time.process_time() - start


def main() -> None:
    from lxml import etree

    from pupildata.collect.readers import census_xml

    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20, help="files of 1,000 pupils")
    parser.add_argument("--repeat", type=int, default=5, help="the best of this many runs is kept")
    parser.add_argument("--baseline", help="also time the fast reader of this git revision")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="census-parse-bench-"))
    try:
        folder = work / "census"
        _census_files(folder, args.files * 1000, valid=True)
        files = sorted(folder.iterdir())
        current = census_xml.read_plain
        baseline = _baseline(args.baseline).read_plain if args.baseline else None

        def parse() -> None:
            for f in files:
                parsed = census_xml.parse_census(f)
                assert parsed.table is not None, parsed.rejected
                assert parsed.table.num_rows == 1000

        def bare() -> None:
            for f in files:
                assert sum(1 for _ in etree.iterparse(str(f), tag="Pupil")) == 1000

        def with_reader(reader: object) -> Callable[[], None]:
            def run() -> None:
                census_xml.read_plain = reader  # type: ignore[assignment]
                try:
                    parse()
                finally:
                    census_xml.read_plain = current

            return run

        steps: dict[str, Callable[[], None]] = {"bare iterparse": bare, "parse_census": with_reader(current)}
        if baseline is not None:
            steps[f"parse_census at {args.baseline}"] = with_reader(baseline)
        if baseline is not None:  # the same tables, or the comparison means nothing
            for f in files:
                data = f.read_bytes()
                new = census_xml.read_plain_census(data)
                census_xml.read_plain = baseline
                try:
                    old = census_xml.read_plain_census(data)
                finally:
                    census_xml.read_plain = current
                assert new is not None
                assert old is not None
                assert new[0] == old[0]
                assert all(a.equals(b) for a, b in zip(new[1], old[1], strict=True))
        parse()  # warm: imports, caches
        times: dict[str, list[float]] = {name: [] for name in steps}
        faults: dict[str, int] = dict.fromkeys(steps, 0)
        for _ in range(args.repeat):
            for name, step in steps.items():
                before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                times[name].append(_cpu(step) / len(files) * 1000)
                faults[name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        best = {name: min(found) for name, found in times.items()}
        median = {name: statistics.median(found) for name, found in times.items()}
        print(f"{len(files)} files of 1,000 pupils, CPU ms per file: best and median of {args.repeat}")
        print("| reading | best ms/file | ratio to bare | median ms/file | ratio to bare | page faults/file |")
        print("|---|---|---|---|---|---|")
        for name in steps:
            print(
                f"| {name} | {best[name]:.2f} | {best[name] / best['bare iterparse']:.2f} | {median[name]:.2f} | "
                f"{median[name] / median['bare iterparse']:.2f} | {faults[name] / args.repeat / len(files):.0f} |"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
