"""enum pageflags/pagetype from our data equal the values real kernels' BTF
gives (the bpftool-derived text shipped beside each blob), each kernel read
at the release its .config header names: the 6.18 reference kernel and
Debian's 6.12.117 amd64 kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbits.flags.data import load_flag_data
from mmbits.flags.packing import compute
from mmbits.kconfig.dotconfig import config_from_file

from conftest import OLD_CONFIG, OLD_PAHOLE, REF_CONFIG, REF_PAHOLE
from util.pahole_text import parse

KERNELS = {"6.18": (REF_CONFIG, REF_PAHOLE), "6.12": (OLD_CONFIG, OLD_PAHOLE)}


def _ours(config: Path) -> tuple[dict[str, int], int]:
    cfg, _ = config_from_file(config)
    word = compute(cfg)
    ours = {f.name: f.bit for f in word.flags}
    ours["__NR_PAGEFLAGS"] = word.nr_pageflags
    for f in word.flags:
        for a in f.aliases:
            if a.enum == "pageflags":
                ours[a.name] = f.bit
    # aliases whose validity condition is off in this config are still enum
    # constants, if the release has them at all
    for a in load_flag_data().aliases:
        if a.enum == "pageflags" and a.name not in ours and a.exists(cfg):
            base = word.flag(a.base)
            assert base is not None, a.name
            ours[a.name] = base.bit
    return ours, cfg.kernel


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_pageflags_equal_btf(kernel: str) -> None:
    config, pahole = KERNELS[kernel]
    ours, release = _ours(config)
    assert release == int(kernel.split(".")[0]) * 1000 + int(kernel.split(".")[1])
    assert ours == parse(pahole)["enum pageflags"]["enum"]


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_pagetype_equal_btf(kernel: str) -> None:
    config, pahole = KERNELS[kernel]
    cfg, _ = config_from_file(config)
    ours = {t.name: t.value for t in load_flag_data().present_page_types(cfg)}
    assert ours == parse(pahole)["enum pagetype"]["enum"]
