"""Benchmark: the page->flags summary over a whole config domain.

Prints configs, distinct groups, wall time and configs/second for
`mmbits flags --domain NAME` (in-process, best of N) and for the whole
process. Run: python bench/bench_domain.py [--domain default] [--runs 5] [--compare all]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--domain", default="default")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--compare", nargs="*", default=[],
                    help="more domains to time whole-process (issue 12: `all` at most a few times `default`)")
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
        packing._MASKS.clear()
        t = time.perf_counter()
        s = summarise(dom)
        times.append(time.perf_counter() - t)
    best = min(times)
    print(f"domain {args.domain}: {size} valid configs of {dom.raw_size()} combinations; "
          f"domain load+count {setup:.3f}s")
    print(f"summary: {s.groups} groups, best {best:.3f}s, median {statistics.median(times):.3f}s "
          f"-> {size / best:,.0f} configs/s (cold caches each run)")
    for name in (args.domain, *args.compare):
        walls, cpus = whole_process(name)
        print(f"whole process `mmbits flags --domain {name}` (index on disk; load average "
              f"{os.getloadavg()[0]:.2f}): median {statistics.median(walls):.2f} s wall, "
              f"{statistics.median(cpus):.2f} s CPU")


def whole_process(name: str, runs: int = 3) -> tuple[list[float], list[float]]:
    """Wall and CPU (user+sys) of the child; the first, unmeasured run fills the domain index."""
    walls, cpus = [], []
    cmd = [sys.executable, "-m", "mmbits", "flags", "--domain", name]
    subprocess.run(cmd, check=True, capture_output=True)
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return walls, cpus


if __name__ == "__main__":
    main()
