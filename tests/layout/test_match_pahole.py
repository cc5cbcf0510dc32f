"""Acceptance (foundation issue): `mmbits show STRUCT --config <6.18 .config> --json`
gives every member offset and size the pahole text shows for that kernel. The
vendor-only member buddy_since is the one member the layout does not have."""

from __future__ import annotations

import pytest

from mmbits.kconfig.dotconfig import config_from_file
from mmbits.layout.pahole import format_layout
from mmbits.layout.registry import resolve

from conftest import DATA, REF_CONFIG, REF_PAHOLE
from util.pahole_text import parse

PAHOLE = parse(REF_PAHOLE) | parse(DATA / "linux-6.18-x86_64.ioptdesc.pahole.txt")
VENDOR_ONLY = {"page": {"buddy_since"}}


def _key(m: dict) -> tuple:
    return (m["offset"], m["size"], m.get("bit_offset"), m.get("bit_size"))


@pytest.mark.parametrize("struct", ["page", "folio", "ptdesc", "slab", "zpdesc", "ioptdesc"])
def test_show_json_matches_pahole(cli, struct: str) -> None:
    result = cli("show", struct, "--config", str(REF_CONFIG), "--json")
    assert result.code == 0, result.err
    ours = result.json()
    theirs = PAHOLE[struct]
    assert ours["struct"] == struct and ours["size"] == theirs["size"]
    by_name = {m["name"]: m for m in ours["members"]}
    want = {m["name"]: m for m in theirs["members"]}
    assert set(want) - set(by_name) == VENDOR_ONLY.get(struct, set())
    assert set(by_name) - set(want) == set()
    for name, m in by_name.items():
        assert _key(m) == _key(want[name]), name
        assert m["type"] == want[name]["type"], name
    # declaration order is pahole's
    assert [m["name"] for m in ours["members"]] == [n for n in want if n in by_name]


@pytest.mark.parametrize("struct", ["folio", "ptdesc", "slab", "zpdesc", "ioptdesc"])
def test_text_is_pahole_text(struct: str) -> None:
    """The text printer reproduces pahole 1.24's output line for line."""
    cfg, _ = config_from_file(REF_CONFIG)
    ours = format_layout(resolve(struct, cfg))
    source = DATA / ("linux-6.18-x86_64.ioptdesc.pahole.txt" if struct == "ioptdesc" else "linux-6.18-x86_64.pahole.txt")
    text = source.read_text()
    start = text.index(f"struct {struct} {{")
    theirs = text[start : text.index("\n};", start) + 3]
    assert ours == theirs


def test_page_text_differs_only_by_vendor_member() -> None:
    cfg, _ = config_from_file(REF_CONFIG)
    ours = format_layout(resolve("page", cfg)).splitlines()
    text = REF_PAHOLE.read_text()
    theirs = text[text.index("struct page {") : text.index("\n};", text.index("struct page {")) + 3].splitlines()
    assert [ln for ln in theirs if "buddy_since" not in ln] == ours
