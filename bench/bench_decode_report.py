"""Decoder and report timings (prints numbers; run by hand: python bench/bench_decode_report.py).

- decode throughput: a log of many dump_page reports with --config given, and
  with the config inferred from each report's flags: line (presets first, then
  the default domain: the first inference pays for indexing the domain once);
- report generation: the layout report (HTML and Markdown), the check and the
  simulation reports from result dicts.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def timed(label: str, fn, n: int = 1) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    dt = (time.perf_counter() - t0) / n
    print(f"{label:<58} {dt * 1000:9.1f} ms")
    return dt


def main() -> None:
    from mmbits.decode import decode_text
    from mmbits.kconfig.presets import preset
    from mmbits.report import api

    dumps = HERE.parent / "tests" / "data" / "dumps"
    seed = (dumps / "seed-004-willy-ptdesc-memdesc.txt").read_text()
    lkml = (dumps / "lkml-2504.1-11364-hugetlb-tail.txt").read_text()
    log = "\n".join([seed, lkml] * 500)  # 1000 reports

    cfg = preset("x86_64-6.18")
    t0 = time.perf_counter()
    pages = decode_text(lkml, config=cfg)
    print(f"{'first decode (loads layouts, data)':<58} {(time.perf_counter() - t0) * 1000:9.1f} ms")
    dt = timed("decode 1000 reports, --preset x86_64-6.18", lambda: decode_text(log, config=cfg))
    print(f"{'  -> reports per second':<58} {1000 / dt:9.0f}")
    t0 = time.perf_counter()
    decode_text(seed)
    print(f"{'first inferred decode (indexes the default domain)':<58} {(time.perf_counter() - t0) * 1000:9.1f} ms")
    dt = timed("decode 1000 reports, config inferred per report", lambda: decode_text(log))
    print(f"{'  -> reports per second':<58} {1000 / dt:9.0f}")
    del pages

    from report.results import CHECK_UNSAFE, SIM_UNSAFE

    with tempfile.TemporaryDirectory() as out:
        timed("layout report, HTML (incl. domain chart)", lambda: api.write_layout_report(out, "html"))
        timed("layout report, Markdown + SVG", lambda: api.write_layout_report(out, "md"))
        timed("check report, HTML", lambda: api.write_check_report(CHECK_UNSAFE, out, "html"), 5)
        timed("simulation report, HTML", lambda: api.write_simulation_report(SIM_UNSAFE, out, "html"), 5)
        size = (Path(out) / "layout-x86_64-6.18.html").stat().st_size
        print(f"{'layout report HTML size':<58} {size / 1024:9.1f} KiB")


if __name__ == "__main__":
    main()
