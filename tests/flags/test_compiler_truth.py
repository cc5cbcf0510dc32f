"""`mmbits flags` equals the compiler on every committed truth record.

Each record (tests/data/truth, README.md there) is a real kernel tree + .config
built with Kbuild's own bounds.c command line: NR_PAGEFLAGS, every *_WIDTH
and *_PGOFF, LAST_CPUPID_NOT_IN_PAGE_FLAGS, the page-flags masks, every enum
pageflags constant and sizeof(struct page), as the compiler computed them.
We read the record's final .config (at the tree's release) and compare.
Identical inputs are computed once (the packing caches on them).
Records of a release the model does not list (7.1.5, README there) must be
refused with the "not modelled" error, never read as another release; once the
model lists that release they are compared like the others."""

from __future__ import annotations

import json
import lzma
from collections import Counter
from functools import cache
from typing import Any

import pytest

from mmbits.errors import InputError
from mmbits.flags.data import load_flag_data
from mmbits.flags.packing import compute
from mmbits.kconfig.config import Config
from mmbits.kconfig.dotconfig import parse_text, primaries
from mmbits.kconfig.model import load_model
from mmbits.kconfig.release import parse_release
from mmbits.layout.registry import layouts

from conftest import DATA

FIELDS = {"section": "SECTIONS", "node": "NODES", "zone": "ZONES", "last_cpupid": "LAST_CPUPID",
          "kasan_tag": "KASAN_TAG", "lru_gen": "LRU_GEN", "lru_refs": "LRU_REFS"}
MASKS = ("PAGEFLAGS_MASK", "PAGE_FLAGS_CHECK_AT_FREE", "PAGE_FLAGS_CHECK_AT_PREP", "__PG_MLOCKED", "__PG_HWPOISON")


@cache
def records() -> list[dict[str, Any]]:
    with lzma.open(DATA / "truth" / "pageflags-truth.jsonl.xz", "rt") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def config_of(rec: dict[str, Any]) -> Config:
    """The record's final .config, read the way `mmbits flags --config` reads one."""
    lines = [f"# Linux/{rec['arch']} {rec['version']} Kernel Configuration"]
    lines += [f"CONFIG_{k}={v}" for k, v in rec["config"].items()]
    dot = parse_text("\n".join(lines), rec["config_source"]["job_id"])
    model = load_model()
    values = primaries(dot, model)
    # the record keeps the symbols X86_PAT selects (ARCH_USES_PG_UNCACHED before
    # 6.12, ARCH_USES_PG_ARCH_2 after), not X86_PAT itself
    if values["ARCH"] in ("x86_64", "i386") and "y" in (rec["config"].get("ARCH_USES_PG_UNCACHED"),
                                                         rec["config"].get("ARCH_USES_PG_ARCH_2")):
        values["X86_PAT"] = 1
    # a record holds the symbols the mm headers read, not every Kconfig
    # dependency our rules check (X86_MCE ...): no rule check here
    return model.make_unchecked(values, name=rec["config_source"]["job_id"])


def differences(rec: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    cfg = config_of(rec)
    word = compute(cfg)
    v = rec["values"]
    got: dict[str, Any] = {"NR_PAGEFLAGS": word.nr_pageflags,
                           "LAST_CPUPID_NOT_IN_PAGE_FLAGS": not word.last_cpupid_in_flags}
    want: dict[str, Any] = {"NR_PAGEFLAGS": v["NR_PAGEFLAGS"],
                            "LAST_CPUPID_NOT_IN_PAGE_FLAGS": bool(rec["defined"].get("LAST_CPUPID_NOT_IN_PAGE_FLAGS"))}
    for field, macro in FIELDS.items():
        if f"{macro}_WIDTH" in v:
            want[f"{macro}_WIDTH"], got[f"{macro}_WIDTH"] = v[f"{macro}_WIDTH"], word.widths[field]
            if v[f"{macro}_WIDTH"]:  # a zero-width field's PGOFF is only a position
                want[f"{macro}_PGOFF"], got[f"{macro}_PGOFF"] = v[f"{macro}_PGOFF"], word.pgoff[field]
    for mask in MASKS:
        if mask in v:
            want[mask], got[mask] = int(v[mask], 16), word.masks[mask]
    names = {f.name: f.bit for f in word.flags} | {"__NR_PAGEFLAGS": word.nr_pageflags}
    for a in load_flag_data().aliases:  # an alias is an enum constant whatever its validity
        base = word.flag(a.base)
        if base is not None and a.exists(cfg):
            names.setdefault(a.name, base.bit)
    for name, bit in rec["pageflags"].items():
        want[f"enum pageflags {name}"], got[f"enum pageflags {name}"] = bit, names.get(name)
    if "sizeof:page" in v:
        want["sizeof(struct page)"] = v["sizeof:page"]
        got["sizeof(struct page)"] = layouts().resolve("page", cfg).size
    return {k: (got[k], want[k]) for k in want if got[k] != want[k]}


def modelled(rec: dict[str, Any]) -> bool:
    return parse_release(rec["version"]) in load_model().releases


def test_records_cover_versions_and_arches() -> None:
    recs = records()
    assert len({r["version"].rsplit(".", 1)[0] for r in recs}) >= 2
    assert len({r["arch_variant"] for r in recs}) >= 8
    assert all(r["ok"] for r in recs)


@pytest.mark.parametrize("variant", sorted({r["arch_variant"] for r in records()}))
def test_flags_equal_the_compiler(variant: str) -> None:
    bad = {}
    checked: Counter[str] = Counter()
    for rec in records():
        if rec["arch_variant"] != variant or not modelled(rec):
            continue
        diff = differences(rec)
        checked[rec["version"]] += 1
        if diff:
            bad[f"{rec['version']} {rec['config_source']['job_id']}"] = diff
    assert checked and not bad, bad


@pytest.mark.parametrize("version", sorted({r["version"] for r in records() if not modelled(r)}))
def test_unmodelled_releases_are_refused(version: str) -> None:
    for rec in records():
        if rec["version"] == version:
            with pytest.raises(InputError, match="is not modelled"):
                config_of(rec)
