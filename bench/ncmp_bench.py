"""Classifying a million children's BMI against UK90: the vectorised path vs rcpchgrowth's own scalar function.

    .venv/bin/python bench/ncmp_bench.py [--children 1000000] [--sample 2000]

The scalar peer is timed on a sample and scaled to the same number of children, in the same run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pupildata.kernel.growth import FIRST_DAY, LAST_DAY, lms_table
from pupildata.publish import ncmp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    sex = rng.choice(["M", "F"], args.children)
    days = rng.integers(FIRST_DAY, LAST_DAY, args.children)
    bmi = rng.normal(17, 3, args.children).clip(10, 40)

    start = time.perf_counter()
    lms_table("bmi", "male"), lms_table("bmi", "female")
    tables = time.perf_counter() - start
    start = time.perf_counter()
    ncmp.classify(ncmp.bmi_sds(sex, days, bmi))
    ours = time.perf_counter() - start

    from rcpchgrowth.global_functions import sds_for_measurement

    start = time.perf_counter()
    for i in range(args.sample):
        sds_for_measurement("uk-who", days[i] / 365.25, "bmi", float(bmi[i]), "male" if sex[i] == "M" else "female")
    scalar = (time.perf_counter() - start) / args.sample * args.children

    print(f"children                    {args.children:,}")
    print(f"building the per-day tables {tables:.2f} s (once per process)")
    print(f"vectorised classification   {ours:.2f} s")
    print(f"rcpchgrowth one at a time   {scalar:.1f} s (estimated from {args.sample:,})")
    print(f"ratio ours/scalar           {ours / scalar:.4f}")


if __name__ == "__main__":
    main()
