"""Benchmark: pytest start-up time with and without the pagebits plugin.

The plugin is loaded by every pytest run through its pytest11 entry point, so
it must not import the engine at start-up. Runs `pytest --collect-only` on a
small test file, interleaving `-p no:pagebits` (plugin off) and the default
(plugin on), and prints medians and the difference.
Run: python bench/bench_plugin_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(cwd: str, extra: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *extra],
                   cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        Path(d, "test_x.py").write_text("def test_a():\n    pass\n")
        on, off = [], []
        for _ in range(args.runs):
            off.append(run(d, ["-p", "no:pagebits"]))
            on.append(run(d, []))
    m_on, m_off = statistics.median(on), statistics.median(off)
    print(f"pytest start-up, median of {args.runs}: without plugin {m_off * 1000:.1f} ms, "
          f"with plugin {m_on * 1000:.1f} ms, difference {(m_on - m_off) * 1000:+.1f} ms "
          f"({(m_on / m_off - 1) * 100:+.1f}%)")


if __name__ == "__main__":
    main()
