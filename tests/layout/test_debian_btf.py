"""Acceptance (versions issue): for every Debian kernel image whose BTF is in
tests/data/kernels (pahole text beside each .config), our layouts resolved for
that .config - at the release its header names - equal the BTF member for
member (name, offset, size, bitfield, type, declaration order), the structs
its release lacks are absent from the BTF too, and enum pageflags is equal.

The pahole text comes from the kernel packages (see PROVENANCE.md beside it),
not from the code under test."""

from __future__ import annotations

from functools import cache

import pytest

from mmbits.flags.data import load_flag_data
from mmbits.flags.packing import compute
from mmbits.kconfig.dotconfig import config_from_file
from mmbits.layout.registry import layouts

from conftest import DATA
from util.pahole_text import parse

KERNELS = sorted(p.name.removesuffix(".pahole.txt") for p in (DATA / "kernels").glob("*.pahole.txt"))
STRUCTS = ("page", "folio", "ptdesc", "slab", "zpdesc", "ioptdesc")


def _key(m: dict) -> tuple:
    return m["name"], m["offset"], m["size"], m.get("bit_offset"), m.get("bit_size"), " ".join(m["type"].split())


@cache
def _kernel(name: str) -> tuple:
    cfg, dot = config_from_file(DATA / "kernels" / f"{name}.config.xz")
    return cfg, dot, parse(DATA / "kernels" / f"{name}.pahole.txt")


def test_there_are_kernels() -> None:
    assert any(k.startswith("linux-6.1.") for k in KERNELS) and len(KERNELS) >= 2


@pytest.mark.parametrize("kernel", KERNELS)
def test_layouts_equal_btf(kernel: str) -> None:
    cfg, dot, oracle = _kernel(kernel)
    # the release comes from the .config header, e.g. 6.1.176 -> 6.1
    major, minor = dot.kernel_version.split(".")[:2]
    assert cfg.kernel == int(major) * 1000 + int(minor)
    lset = layouts()
    compared = 0
    for struct in STRUCTS:
        if struct not in oracle:
            assert not lset.exists(struct, cfg), f"{struct}: the BTF has none, our data says Linux {major}.{minor} has"
            continue
        assert lset.exists(struct, cfg), struct
        ours = lset.resolve(struct, cfg).to_json()
        theirs = oracle[struct]
        assert ours["size"] == theirs["size"], struct
        assert [_key(m) for m in ours["members"]] == [_key(m) for m in theirs["members"]], struct
        compared += len(ours["members"])
    assert compared > 40


@pytest.mark.parametrize("kernel", KERNELS)
def test_pageflags_equal_btf(kernel: str) -> None:
    cfg, _dot, oracle = _kernel(kernel)
    word = compute(cfg)
    ours = {f.name: f.bit for f in word.flags}
    ours["__NR_PAGEFLAGS"] = word.nr_pageflags
    for a in load_flag_data().aliases:
        base = word.flag(a.base)
        if a.enum == "pageflags" and base is not None and a.exists(cfg):
            ours.setdefault(a.name, base.bit)
    assert ours == oracle["enum pageflags"]["enum"]


def test_provenance_is_shipped() -> None:
    text = (DATA / "kernels" / "PROVENANCE.md").read_text()
    for kernel in KERNELS:
        assert kernel in text, kernel
