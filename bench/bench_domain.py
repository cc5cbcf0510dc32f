"""Benchmark: the page->flags summary over a whole config domain.

Prints configs, distinct groups, wall time and configs/second for
`mmbits flags --domain NAME` (in-process, best of N) and for the whole
process. Run: python bench/bench_domain.py [--domain default] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--domain", default="default")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    from mmbits.flags import packing
    from mmbits.flags.report import summarise
    from mmbits.kconfig.domain import load_domain

    t0 = time.perf_counter()
    dom = load_domain(args.domain)
    size = dom.size()
    setup = time.perf_counter() - t0
    times = []
    for _ in range(args.runs):
        packing._by_inputs.cache_clear()
        packing._by_derived.cache_clear()
        packing._core.cache_clear()
        t = time.perf_counter()
        s = summarise(dom)
        times.append(time.perf_counter() - t)
    best = min(times)
    print(f"domain {args.domain}: {size} valid configs of {dom.raw_size()} combinations; "
          f"domain load+count {setup:.3f}s")
    print(f"summary: {s.groups} groups, best {best:.3f}s, median {statistics.median(times):.3f}s "
          f"-> {size / best:,.0f} configs/s (cold caches each run)")
    procs = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mmbits", "flags", "--domain", args.domain],
                       check=True, capture_output=True)
        procs.append(time.perf_counter() - t)
    print(f"whole process `mmbits flags --domain {args.domain}`: median {statistics.median(procs):.3f}s")


if __name__ == "__main__":
    main()
