#!/usr/bin/env python3
"""summarize.py - counts and notable cases from kernel_truth records.

Usage: summarize.py records.jsonl [failures.jsonl]  -> markdown on stdout
"""
from __future__ import annotations

import json
import lzma
import sys
from collections import Counter, defaultdict
from pathlib import Path


def load(p: str) -> list[dict]:
    path = Path(p)
    if not path.is_file():
        return []
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(ln) for ln in fh if ln.strip()]


def vkey(r: dict) -> str:
    return ".".join(r["version"].split(".")[:2])


def table(recs: list[dict], title: str) -> list[str]:
    cnt: Counter[tuple[str, str]] = Counter((r.get("arch_variant", r["arch"]), vkey(r)) for r in recs)
    arches = sorted({a for a, _ in cnt})
    vers = sorted({v for _, v in cnt}, key=lambda s: tuple(int(x) for x in s.split(".")))
    out = [f"### {title}", "", "| arch | " + " | ".join(vers) + " | total |",
           "|---" * (len(vers) + 2) + "|"]
    for a in arches:
        row = [str(cnt.get((a, v), 0)) for v in vers]
        out.append(f"| {a} | " + " | ".join(row) + f" | {sum(cnt.get((a, v), 0) for v in vers)} |")
    out.append("| total | " + " | ".join(str(sum(cnt.get((a, v), 0) for a in arches)) for v in vers)
               + f" | {len(recs)} |")
    out.append("")
    return out


def main() -> int:
    recs = load(sys.argv[1])
    fails = load(sys.argv[2]) if len(sys.argv) > 2 else []
    out: list[str] = []
    out += table(recs, f"Successful records ({len(recs)})")
    if fails:
        out += table(fails, f"Failures ({len(fails)})")
    # notable cases
    notes: dict[str, list[str]] = defaultdict(list)
    for r in recs:
        v = r["values"]
        d = r["defined"]
        tag = f"{r['version']} {r.get('arch_variant', r['arch'])} {r['config_source'].get('job_id')}"
        if d.get("LAST_CPUPID_NOT_IN_PAGE_FLAGS"):
            notes["LAST_CPUPID_NOT_IN_PAGE_FLAGS defined"].append(
                f"{tag} (LAST_CPUPID_SHIFT={v.get('LAST_CPUPID_SHIFT')}, NR_CPUS={v.get('NR_CPUS')}, "
                f"NODES_WIDTH={v.get('NODES_WIDTH')}, SECTIONS_WIDTH={v.get('SECTIONS_WIDTH')}, "
                f"KASAN_TAG_WIDTH={v.get('KASAN_TAG_WIDTH')}, BITS={v.get('BITS_PER_LONG')})")
        if d.get("NODE_NOT_IN_PAGE_FLAGS"):
            notes["NODE_NOT_IN_PAGE_FLAGS defined"].append(
                f"{tag} (NODES_SHIFT={v.get('NODES_SHIFT')}, SECTIONS_WIDTH={v.get('SECTIONS_WIDTH')})")
        for k, x in v.items():
            if isinstance(x, int) and x < 0:
                notes["negative value"].append(f"{tag} {k}={x}")
        if v.get("SECTIONS_WIDTH"):
            notes["sections in page->flags"].append(f"{tag} SECTIONS_WIDTH={v['SECTIONS_WIDTH']}")
        if v.get("KASAN_TAG_WIDTH"):
            notes["KASAN tag in page->flags"].append(f"{tag} KASAN_TAG_WIDTH={v['KASAN_TAG_WIDTH']}")
        if "LRU_REFS_WIDTH" in v and "__LRU_REFS_WIDTH" in v and v["LRU_REFS_WIDTH"] < v["__LRU_REFS_WIDTH"]:
            notes["LRU_REFS_WIDTH clamped by min()"].append(
                f"{tag} LRU_REFS_WIDTH={v['LRU_REFS_WIDTH']} < __LRU_REFS_WIDTH={v['__LRU_REFS_WIDTH']}")
        if r.get("not_constant"):
            notes["non-constant at compile time"].append(f"{tag} {','.join(r['not_constant'])}")
    for k, lst in notes.items():
        out.append(f"### {k}: {len(lst)}")
        out.append("")
        for s in lst[:25]:
            out.append(f"- {s}")
        if len(lst) > 25:
            out.append(f"- ... {len(lst) - 25} more")
        out.append("")
    if fails:
        out.append("### Failure reasons")
        out.append("")
        c = Counter(f"{f.get('failed_step')}: {f.get('error', '')[:160]}" for f in fails)
        for s, n in c.most_common(30):
            out.append(f"- {n} x {s}")
        out.append("")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
