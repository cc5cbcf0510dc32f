"""Time and peak memory of every hostile case of issue #16, each as a whole `mmbits`
process (python -m mmbits) under a 512 MB address-space limit; peak RSS is the child's
own (wait4). Prints one line per case: seconds, peak MB, exit code, the first stderr line.

    python bench/bench_hostile.py [--only SUBSTRING]

The cases are the shapes of tests/util/hostile.py plus the issue's reproductions; the
tests assert the bounds (10 s, 512 MB), this prints the numbers.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from util.hostile import big_log, layout_alias_bomb, many_defines, proposal_alias_bomb, run_bounded  # noqa: E402


def hostile_import_btf() -> bytes:
    from btf.test_hostile_import import _hostile_btf

    with tempfile.TemporaryDirectory() as d:
        return _hostile_btf(Path(d)).read_bytes()


def cases(tmp: Path) -> list[tuple[str, list[str], bytes | int | None]]:
    prop = tmp / "bomb-proposal.yaml"
    prop.write_bytes(proposal_alias_bomb())
    lay = tmp / "bomb-layout.yaml"
    lay.write_bytes(layout_alias_bomb())
    cfg = (ROOT / "tests" / "data" / "linux-6.18-x86_64.config").read_bytes()
    cut = tmp / "cut.config.gz"
    whole = gzip.compress(cfg)
    cut.write_bytes(whole[: len(whole) * 7 // 10])
    two = tmp / "two.config.gz"
    two.write_bytes(whole + gzip.compress(b"CONFIG_X=y\n"))
    word = tmp / "word.txt"
    word.write_bytes(b"page: refcount:1 mapcount:0 mapping:0 index:0 pfn:0x1\nraw: " + b"g" * (32 << 20) + b"\n")
    patch = tmp / "long.patch"
    patch.write_text("--- a/mm/x.c\n+++ b/mm/x.c\n@@ -1,1 +1,2 @@\n x\n+\tfolio->" + "a" * 200_000 + " |= BIT(3);\n")
    hostile_btf = tmp / "hostile.btf"
    hostile_btf.write_bytes(hostile_import_btf())
    return [
        ("decode 50 MB log", ["decode", str(big_log(tmp / "big.log"))], None),
        ("patch 1,000 defines, 8 distinct", ["patch", str(many_defines(tmp / "defs.patch")), "--preset", "x86_64-6.18"],
         None),
        ("btf import hostile names", ["btf", "import", str(hostile_btf), "--config", str(ROOT / "tests" / "data" /
                                      "linux-6.12-amd64.config"), "--out", str(tmp / "imp")], None),
        ("check --proposal alias bomb", ["check", "--proposal", str(prop)], None),
        ("simulate --proposal alias bomb", ["simulate", "--proposal", str(prop)], None),
        ("show --layout alias bomb", ["show", "ptdesc", "--layout", str(lay)], None),
        ("overlay --layout alias bomb", ["overlay", "--layout", str(lay)], None),
        ("show --layout /dev/zero", ["show", "ptdesc", "--layout", "/dev/zero"], None),
        ("check --proposal /dev/zero", ["check", "--proposal", "/dev/zero"], None),
        ("patch /dev/zero", ["patch", "/dev/zero"], None),
        ("decode /dev/zero", ["decode", "/dev/zero"], None),
        ("simulate --replay /dev/zero", ["simulate", "--replay", "/dev/zero"], None),
        ("patch - < /dev/zero", ["patch", "-"], -1),
        ("decode - < /dev/zero", ["decode", "-"], -1),
        ("decode 32 MB raw: word", ["decode", str(word)], None),
        ("check 100,000-char identifier", ["check", "BIT(" + "a" * 100_000 + ")", "--word", "page.flags"], None),
        ("patch 200 KB identifier", ["patch", str(patch), "--preset", "x86_64-6.18"], None),
        (".config.gz cut at 70%", ["show", "page", "--config", str(cut)], None),
        (".config.gz with two members", ["show", "page", "--config", str(two)], None),
        ("--define A=B --define B=A", ["check", "A", "--word", "page.flags", "--define", "A=B", "--define", "B=A",
                                       "--preset", "x86_64-6.18"], None),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mmbits-bench-hostile-") as tmp:
        print(f"{'case':36} {'s':>6} {'cpu s':>6} {'peak MB':>8} {'exit':>4}  first stderr line")
        for name, argv, stdin in cases(Path(tmp)):
            if args.only not in name:
                continue
            if stdin == -1:
                with open("/dev/zero", "rb") as zero:
                    r = run_bounded(argv, stdin=zero.fileno(), cwd=str(ROOT))
            else:
                r = run_bounded(argv, cwd=str(ROOT))
            first = r.err_lines[0] if r.err_lines else ""
            print(f"{name:36} {r.seconds:6.2f} {r.cpu_seconds:6.2f} {r.peak_bytes / 2**20:8.1f} {r.code:4}  {first[:90]}",
                  flush=True)
    print(f"(python {sys.version.split()[0]}, {os.cpu_count()} cpus; bounds asserted by tests: 10 s, 512 MB)")


if __name__ == "__main__":
    main()
