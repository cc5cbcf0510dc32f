"""enum pageflags/pagetype from our data equal the values the reference
kernel's BTF gives (the bpftool-derived text shipped beside the blob)."""

from __future__ import annotations

from mmbits.flags.data import load_flag_data
from mmbits.flags.packing import compute
from mmbits.kconfig.presets import preset

from conftest import REF_PAHOLE
from util.pahole_text import parse


def test_pageflags_equal_btf() -> None:
    btf = parse(REF_PAHOLE)["enum pageflags"]["enum"]
    word = compute(preset("x86_64-6.18"))
    ours = {f.name: f.bit for f in word.flags}
    ours["__NR_PAGEFLAGS"] = word.nr_pageflags
    for f in word.flags:
        for a in f.aliases:
            if a.enum == "pageflags":
                ours[a.name] = f.bit
    # aliases whose validity condition is off in this config are still enum constants
    data = load_flag_data()
    for a in data.aliases:
        if a.enum == "pageflags" and a.name not in ours:
            ours[a.name] = word.flag(a.base).bit
    assert ours == btf


def test_pagetype_equal_btf() -> None:
    btf = parse(REF_PAHOLE)["enum pagetype"]["enum"]
    ours = {t.name: t.value for t in load_flag_data().page_types}
    assert ours == btf
