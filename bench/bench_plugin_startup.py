"""Benchmark: pytest start-up time with and without the mmbits plugin.

The plugin is loaded by every pytest run through its pytest11 entry point, so
it must not import the engine at start-up. Runs `pytest --collect-only` on a
small test file, interleaving `-p no:mmbits` (plugin off) and the default
(plugin on), and prints medians and the difference. pytest's own start-up
(~1 s with hypothesis) is noisy to +-100 ms on a shared machine, so the
plugin's own cost is also measured directly: `python -X importtime` of
`mmbits.pytest_plugin` after pytest is imported, and which mmbits
modules that import loads (only the plugin and the empty package).
Run: python bench/bench_plugin_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
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


def plugin_import_us() -> tuple[int, list[str]]:
    """Cumulative import time of the plugin module (us) and the mmbits modules it loaded."""
    code = "import json, pytest, sys; import mmbits.pytest_plugin; " \
           "print(json.dumps(sorted(m for m in sys.modules if m.startswith('mmbits'))))"
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    total = 0
    for line in r.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == "mmbits.pytest_plugin":
            total = int(parts[1])
    return total, json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        Path(d, "test_x.py").write_text("def test_a():\n    pass\n")
        on, off = [], []
        for _ in range(args.runs):
            off.append(run(d, ["-p", "no:mmbits"]))
            on.append(run(d, []))
    m_on, m_off = statistics.median(on), statistics.median(off)
    print(f"pytest start-up, median of {args.runs}: without plugin {m_off * 1000:.1f} ms, "
          f"with plugin {m_on * 1000:.1f} ms, difference {(m_on - m_off) * 1000:+.1f} ms "
          f"({(m_on / m_off - 1) * 100:+.1f}%)")
    samples = [plugin_import_us() for _ in range(args.runs)]
    print(f"import mmbits.pytest_plugin (after pytest), median of {args.runs}: "
          f"{statistics.median(t for t, _ in samples) / 1000:.2f} ms; mmbits modules loaded: "
          f"{', '.join(samples[0][1])}")


if __name__ == "__main__":
    main()
