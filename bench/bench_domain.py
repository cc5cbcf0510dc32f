"""Benchmark: the page->flags summary over whole config domains (issue 12: `flags --domain
all` and `everything`, every release and arch, at most a few times the `default` domain).

Per domain, the whole process `mmbits flags --domain NAME`: cold (an empty cache directory
each run: the domain enumerated, the index written) and warm (the index on disk), wall
time and CPU (user+sys of the child), median of --runs; then, in process, `summarise()`
with the index warm (wall and process CPU, the packing memo cleared each run). The load
average is printed beside the figures: the machine is shared.
Run: python bench/bench_domain.py [--domains default all everything] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--domains", nargs="+", default=["default", "all", "everything"])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mmbits-bench-domain-") as tmp:
        warm_dir = os.path.join(tmp, "warm")
        print(f"load average before: {_load()}")
        base: dict[str, float] = {}
        for name in args.domains:
            cold = [_run(name, tempfile.mkdtemp(dir=tmp)) for _ in range(args.runs)]
            _run(name, warm_dir)  # fills the index
            warm = [_run(name, warm_dir) for _ in range(args.runs)]
            cw, cc = _median(cold)
            ww, wc = _median(warm)
            base.setdefault("cpu", wc)
            print(f"mmbits flags --domain {name:<10} cold {cw:6.2f} s wall {cc:6.2f} s CPU | "
                  f"warm {ww:6.2f} s wall {wc:6.2f} s CPU ({wc / base['cpu']:.1f}x {args.domains[0]}) "
                  f"| load {_load()}")
        os.environ["MMBITS_CACHE_DIR"] = warm_dir
        for name in args.domains:
            in_process(name, args.runs)
        print(f"load average after: {_load()}")


def in_process(name: str, runs: int) -> None:
    """summarise() alone, the index warm and the domain loaded (what a long-lived caller pays)."""
    from mmbits.flags import packing
    from mmbits.flags.report import summarise
    from mmbits.kconfig.domain import DomainPart, load_domain

    dom = load_domain(name)
    walls, cpus = [], []
    for _ in range(runs):
        for cache in (packing._by_inputs, packing._by_derived, packing._core):
            cache.cache_clear()
        packing._MASKS.clear()
        dom.parts = [DomainPart(p.name, p.arch, p.vary, p.sets, p.model) for p in dom.parts]  # no memo
        t, c = time.perf_counter(), time.process_time()
        s = summarise(dom)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    print(f"in process summarise({name}): {s.configs} configs, {s.groups} groups, "
          f"median {statistics.median(walls):.3f} s wall {statistics.median(cpus):.3f} s CPU "
          f"-> {s.configs / statistics.median(walls):,.0f} configs/s | load {_load()}")


def _run(name: str, cache_dir: str) -> tuple[float, float]:
    """Wall and CPU (user+sys) of one child run with this cache directory."""
    env = dict(os.environ, MMBITS_CACHE_DIR=cache_dir)
    env.pop("MMBITS_CACHE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mmbits", "flags", "--domain", name], check=True,
                   capture_output=True, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
