"""Whole-process timing: `mmbits btf show page,folio,ptdesc,slab,zpdesc,ioptdesc --btf BLOB`
against `pahole -F btf -C page,folio,ptdesc,slab,zpdesc,ioptdesc BLOB`.

Runs are interleaved (ours cold, ours cached, pahole, repeat) so machine noise
hits all three alike; the figures are medians and ratios of medians. "Cold"
points MMBITS_CACHE_DIR at an empty directory for every run; "cached" at
a directory a previous run filled (the output cache answers: hash + read);
"index cached" keeps only the type-index cache (MMBITS_OUTPUT_CACHE=off:
what a query this kernel was not asked before costs). The start-up floor (`mmbits --version`,
the interpreter plus click) is printed too, since no subcommand can be faster.
pahole 1.24 prints "Unknown kind 17/18" on stderr for DECL_TAG/TYPE_TAG;
that is ignored. Without pahole, our figures are printed alone.

    python bench/bench_btf.py [--btf FILE] [--runs N]
"""

from __future__ import annotations

import argparse
import lzma
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STRUCTS = "page,folio,ptdesc,slab,zpdesc,ioptdesc"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_XZ = ROOT / "tests" / "data" / "linux-6.18-x86_64.btf.xz"


def mmbits_cmd() -> list[str]:
    exe = shutil.which("mmbits", path=str(Path(sys.executable).parent)) or shutil.which("mmbits")
    return [exe] if exe else [sys.executable, "-m", "mmbits"]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+sys) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {r.returncode}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--btf", help="BTF blob (default: the 6.18 reference blob from tests/data)")
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-btf-"))
    try:
        if args.btf:
            blob = Path(args.btf)
        else:
            blob = work / "linux-6.18-x86_64.btf"
            with lzma.open(DEFAULT_XZ) as src, open(blob, "wb") as dst:
                shutil.copyfileobj(src, dst)
        ours = mmbits_cmd() + ["btf", "show", STRUCTS, "--btf", str(blob)]
        floor = mmbits_cmd() + ["--version"]
        pahole = shutil.which("pahole")
        theirs = [pahole, "-F", "btf", "-C", STRUCTS, str(blob)] if pahole else None
        # an installed mmbits runs from .pyc files; a checkout with PYTHONDONTWRITEBYTECODE
        # would compile every module on every run, so give the children a bytecode cache
        base_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        base_env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        warm_env = dict(base_env, MMBITS_CACHE_DIR=str(work / "warm"))
        for _ in range(2):  # fill the index cache and the bytecode cache
            subprocess.run(ours, stdout=subprocess.DEVNULL, env=warm_env, check=True)
            subprocess.run(floor, stdout=subprocess.DEVNULL, env=warm_env, check=True)
        index_env = dict(warm_env, MMBITS_OUTPUT_CACHE="off")
        wall: dict[str, list[float]] = {"cold": [], "cached": [], "index": [], "floor": [], "pahole": []}
        cpu: dict[str, list[float]] = {k: [] for k in wall}

        def run(key: str, cmd: list[str], env: dict[str, str]) -> None:
            w, c = timed(cmd, env)
            wall[key].append(w)
            cpu[key].append(c)

        for i in range(args.runs):
            run("cold", ours, dict(base_env, MMBITS_CACHE_DIR=str(work / f"cold{i}")))
            run("cached", ours, warm_env)
            run("index", ours, index_env)
            run("floor", floor, warm_env)
            if theirs:
                run("pahole", theirs, warm_env)
        mw = {k: statistics.median(v) * 1000 for k, v in wall.items() if v}
        mc = {k: statistics.median(v) * 1000 for k, v in cpu.items() if v}
        size = blob.stat().st_size
        print(f"btf show {STRUCTS}: {blob.name} ({size / 1e6:.1f} MB), {args.runs} interleaved runs, medians")
        print(f"  {'':28} {'wall ms':>8} {'cpu ms':>8}")
        rows = [("mmbits cold (no cache)", "cold"), ("mmbits cached", "cached"),
                ("mmbits index cached", "index"),
                ("start-up floor (--version)", "floor"), ("pahole -F btf -C", "pahole")]
        for label, key in rows:
            if key in mw:
                print(f"  {label:28} {mw[key]:8.1f} {mc[key]:8.1f}")
        if "pahole" in mw:
            for label, key, target in (("cold / pahole", "cold", "target <= 2x"),
                                       ("cached / pahole", "cached", "target <= 1x"),
                                       ("index cached / pahole", "index", "new query, index cache only"),
                                       ("floor / pahole", "floor", "python + click alone")):
                print(f"  ratio {label:22} {mw[key] / mw['pahole']:7.2f}x {mc[key] / mc['pahole']:7.2f}x  ({target})")
        else:
            print("  pahole not installed: our figures only")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
