#!/usr/bin/env python3
"""pack_truth.py - write the committed truth file from a campaign's records.

The campaign's records.jsonl keeps everything kernel_truth.py measured
(bounds.h, offsets, timings ...); the suite reads only a few fields, so the
committed tests/data/truth/pageflags-truth.jsonl.xz keeps those, in campaign
order, one record per job id (the first one wins, so re-running a job cannot
change committed data).  Failures are packed the same way with their error.

Usage: pack_truth.py records.jsonl failures.jsonl OUT_DIR
"""
from __future__ import annotations

import json
import lzma
import sys
from pathlib import Path

KEEP = ("version", "arch", "arch_variant", "cc", "config_source", "config", "ok", "defined",
        "values", "pageflags", "overrides_not_applied", "not_constant")
KEEP_FAIL = ("version", "arch", "arch_variant", "cross", "config_source", "ok", "failed_step", "error")


def pack(src: Path, dest: Path, keep: tuple[str, ...]) -> int:
    seen: set[str] = set()
    lines: list[str] = []
    for ln in src.read_text(encoding="utf-8").splitlines():
        if not ln.strip():
            continue
        rec = json.loads(ln)
        jid = rec["config_source"]["job_id"]
        if jid in seen:
            continue
        seen.add(jid)
        lines.append(json.dumps({k: rec[k] for k in keep if k in rec}, sort_keys=True,
                                separators=(",", ":")))
    with lzma.open(dest, "wt", encoding="utf-8", preset=9) as fh:
        fh.write("\n".join(lines) + "\n")
    return len(lines)


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[3])
    n = pack(Path(sys.argv[1]), out / "pageflags-truth.jsonl.xz", KEEP)
    print(f"{n} records")
    if Path(sys.argv[2]).is_file():
        m = pack(Path(sys.argv[2]), out / "pageflags-truth-failures.jsonl.xz", KEEP_FAIL)
        print(f"{m} failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
