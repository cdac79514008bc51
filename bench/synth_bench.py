"""Benchmark: the national scale (about 8 million pupils, one year) into a temporary folder.

Prints wall time, pupils per second and peak memory (this process plus its largest worker), and whether the
targets are met (at most 5 minutes and 8 GB on 2 cores). Run with:

    .venv/bin/python bench/synth_bench.py [--years 2008/09] [--workers 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pupildata.kernel.identifiers import parse_academic_year
from pupildata.synth.config import Scale, SynthConfig
from pupildata.synth.generate import generate

TARGET_SECONDS = 300
TARGET_GB = 8.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="2008/09")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scale", default="national")
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep the output")
    args = parser.parse_args()
    first, _, last = args.years.partition("..")
    config = SynthConfig(
        scale=Scale(args.scale),
        first_year=parse_academic_year(first),
        last_year=parse_academic_year(last or first),
        workers=args.workers,
    )
    folder = args.keep or Path(tempfile.mkdtemp(prefix="synth-bench-"))
    stages: dict[str, float] = {}
    start = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        if done == total:
            stages[stage] = time.perf_counter() - start

    try:
        manifest = generate(config, folder, progress)
        wall = time.perf_counter() - start
        size = sum(f.bytes for f in manifest.files)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    pupils = manifest.records("census")
    peak = own + children
    print(f"scale={args.scale} years={args.years} workers={args.workers}")
    for stage, seconds in stages.items():
        print(f"  {stage:<40} done at {seconds:7.1f} s")
    print(f"census pupils     {pupils:,} in {len([f for f in manifest.files if f.source == 'census']):,} schools")
    print(f"people            {manifest.people:,}")
    print(f"files             {len(manifest.files):,} ({size / 1024**3:.2f} GB)")
    print(f"wall time         {wall:.1f} s (target {TARGET_SECONDS} s)")
    print(f"pupils per second {pupils / wall:,.0f}")
    print(
        f"peak memory       {peak:.2f} GB (main {own:.2f} GB + largest worker {children:.2f} GB; target {TARGET_GB} GB)"
    )
    met = wall <= TARGET_SECONDS and peak <= TARGET_GB
    print("targets           " + ("met" if met else "NOT met"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
