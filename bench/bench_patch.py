"""Time and peak memory of `mmbits patch`: the fixtures and the hostile 1,000-macro patch
(issue #16), each as a whole process (python -m mmbits, its own peak RSS from wait4),
then in process (one scanner: parsing, proofs, and how many proofs ran).

    python bench/bench_patch.py [--only SUBSTRING] [--domain default] [--no-process]

The answer cache is off (MMBITS_CACHE=off): every run proves. Note the load (uptime)
beside the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ["MMBITS_CACHE"] = "off"

from util.hostile import many_macros, run_bounded  # noqa: E402


def cases(tmp: Path) -> list[tuple[str, Path]]:
    data = ROOT / "tests" / "patch" / "data"
    macros = tmp / "macros-1000.patch"
    macros.write_bytes(many_macros(1000))
    return [("1,000 macros, 8 bodies", macros),
            *((p.name, p) for p in sorted(data.glob("000*.patch")) if "crlf" not in p.name)]


def in_process(path: Path, domain: str) -> tuple[float, int]:
    from mmbits.kconfig.domain import load_domain
    from mmbits.patch import parse, scan_patches
    from mmbits.patch import scan as scan_mod

    calls = 0
    real = scan_mod.check

    def counted(*a, **kw):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return real(*a, **kw)

    scan_mod.check = counted  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        scan_patches(parse(path.read_bytes(), str(path)), domain=load_domain(domain), source=domain)
        return time.perf_counter() - start, calls
    finally:
        scan_mod.check = real


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    ap.add_argument("--domain", default="default")
    ap.add_argument("--no-process", action="store_true", help="skip the whole-process runs")
    args = ap.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"({os.cpu_count()} cpus), domain {args.domain}")
    with tempfile.TemporaryDirectory(prefix="mmbits-bench-patch-") as tmp:
        todo = [(n, p) for n, p in cases(Path(tmp)) if args.only in n]
        if not args.no_process:
            print(f"{'whole process':40} {'s':>7} {'peak MB':>8} {'exit':>4}")
            for name, path in todo:
                r = run_bounded(["patch", str(path), "--domain", args.domain], timeout=600,
                                memory=4 << 30, cwd=str(ROOT))
                print(f"{name:40} {r.seconds:7.2f} {r.peak_bytes / 2**20:8.1f} {r.code:4}", flush=True)
        print(f"{'in process (each alone, warm domain)':40} {'s':>7} {'proofs':>8}")
        for name, path in todo:
            seconds, calls = in_process(path, args.domain)
            print(f"{name:40} {seconds:7.2f} {calls:8}", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f} (python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
