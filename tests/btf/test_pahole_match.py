"""Acceptance: what the reader gives for page, folio, ptdesc, slab, zpdesc, ioptdesc equals the
pahole text shipped beside each blob (offsets, sizes, bitfields, types, declaration order),
`mmbits btf show` prints that text byte for byte, and enum pageflags/pagetype equal the
bpftool-derived values in the same files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbits.btf import open_btf
from mmbits.btf.render import lookup, to_json

from conftest import DATA, OLD_PAHOLE, REF_PAHOLE
from util.pahole_text import parse

REF = parse(REF_PAHOLE) | parse(DATA / "linux-6.18-x86_64.ioptdesc.pahole.txt")
OLD = parse(OLD_PAHOLE)
STRUCTS = ("page", "folio", "ptdesc", "slab", "zpdesc", "ioptdesc")


def _kernels(ref_btf: Path, old_btf: Path) -> list[tuple[Path, dict, Path]]:
    return [(ref_btf, REF, REF_PAHOLE), (old_btf, OLD, OLD_PAHOLE)]


def _key(m: dict) -> tuple:
    return m["name"], m["offset"], m["size"], m.get("bit_offset"), m.get("bit_size"), m["type"]


@pytest.mark.parametrize("kernel", ["ref", "old"])
def test_every_member_equals_pahole(kernel: str, ref_btf: Path, old_btf: Path) -> None:
    path, oracle, _ = _kernels(ref_btf, old_btf)[kernel == "old"]
    b = open_btf(path)
    checked = 0
    for name in STRUCTS:
        if name not in oracle:
            assert not b.find(name), f"{name}: pahole text says absent"
            continue
        ours = to_json(b, lookup(b, name))
        assert ours["size"] == oracle[name]["size"], name
        assert [_key(m) for m in ours["members"]] == [_key(m) for m in oracle[name]["members"]], name
        checked += len(ours["members"])
    assert checked > 80


@pytest.mark.parametrize("kernel", ["ref", "old"])
@pytest.mark.parametrize("enum", ["pageflags", "pagetype"])
def test_enums_equal_bpftool(kernel: str, enum: str, ref_btf: Path, old_btf: Path) -> None:
    path, oracle, _ = _kernels(ref_btf, old_btf)[kernel == "old"]
    b = open_btf(path)
    got = to_json(b, lookup(b, f"enum {enum}"))
    assert {v["name"]: v["value"] for v in got["values"]} == oracle[f"enum {enum}"]["enum"]
    # declaration order too (aliases after __NR_PAGEFLAGS)
    assert [v["name"] for v in got["values"]] == list(oracle[f"enum {enum}"]["enum"])


def _pahole_block(text: str, struct: str) -> str:
    start = text.index(f"struct {struct} {{")
    return text[start : text.index("\n};", start) + 3]


@pytest.mark.parametrize("kernel", ["ref", "old"])
def test_show_text_is_pahole_text(cli, kernel: str, ref_btf: Path, old_btf: Path) -> None:
    path, oracle, text_path = _kernels(ref_btf, old_btf)[kernel == "old"]
    present = [s for s in STRUCTS if s in oracle and s != "ioptdesc"]
    r = cli("btf", "show", ",".join(present), "--btf", str(path))
    assert r.code == 0, r.err
    text = text_path.read_text()
    assert r.out == "\n".join(_pahole_block(text, s) for s in present) + "\n"
    if kernel == "ref":
        r = cli("btf", "show", "ioptdesc", "--btf", str(path))
        assert r.out == _pahole_block((DATA / "linux-6.18-x86_64.ioptdesc.pahole.txt").read_text(), "ioptdesc") + "\n"


def test_show_json_diffs_cleanly_against_show(cli, ref_btf: Path) -> None:
    """`btf show --json` and `show --json` share one schema: on 6.18 only buddy_since differs."""
    from conftest import REF_CONFIG

    for name in STRUCTS:
        ours = cli("show", name, "--config", str(REF_CONFIG), "--json").json()
        btf = cli("btf", "show", name, "--btf", str(ref_btf), "--json").json()
        assert set(ours) == set(btf) == {"struct", "size", "members"}
        extra = [m for m in btf["members"] if m not in ours["members"]]
        assert [m["name"] for m in extra] == (["buddy_since"] if name == "page" else [])
        assert [m for m in btf["members"] if m not in extra] == ours["members"]
