"""Overlay byte map, MATCH asserts and bit rules, on the shipped layouts and on
broken ones (a user's modified descriptor)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbits.kconfig.domain import load_domain
from mmbits.kconfig.presets import preset, preset_names
from mmbits.layout.model import exclusive
from mmbits.layout.registry import DESCRIPTORS, layout_env, layouts
from mmbits.overlay import byte_map, check_rules

LAYOUT_SYMBOLS = sorted({s for n in DESCRIPTORS for s in layouts().config_symbols(n)})


@pytest.mark.parametrize("name", preset_names())
def test_every_rule_holds_on_presets(name: str) -> None:
    broken = [s for s in check_rules(preset(name)) if not s.ok]
    assert broken == []


@cache
def _domain_configs() -> list:
    return [g.config for g in load_domain("default").groups(LAYOUT_SYMBOLS)]


domain_configs = st.integers(min_value=0, max_value=10**9).map(lambda i: _domain_configs()[i % len(_domain_configs())])


@given(domain_configs)
def test_rules_hold_across_domain(cfg) -> None:
    assert [s.rule for s in check_rules(cfg) if not s.ok] == []


@given(domain_configs, st.sampled_from(DESCRIPTORS))
def test_overlay_coverage_property(cfg, struct) -> None:
    """Within one descriptor, two fields share a bit only as alternative union arms:
    every bit is covered by at most one field per union-arm path."""
    layout = layouts().resolve(struct, cfg)
    fields = [m for m in layout.root.walk() if m.kind == "field"]
    for b in range(layout.size * 8):
        here = [m for m in fields if m.bit_range()[0] <= b <= m.bit_range()[1]]
        for i, a in enumerate(here):
            for c in here[i + 1 :]:
                assert exclusive(a, c), (struct, b, a.name, c.name)


@given(domain_configs)
def test_match_pairs_share_bytes_in_byte_map(cfg) -> None:
    """Every FOLIO/TABLE/SLAB/ZPDESC/IOPTDESC_MATCH pair shows up in the same byte-map row."""
    from mmbits.overlay import load_rules

    rows = byte_map(cfg)
    page = layouts().resolve("page", cfg)
    for r in load_rules().match:
        if r.page_index or r.desc == "folio":
            continue
        member = page.by_name.get(r.page)
        if member is None or (r.cond is not None and not r.cond.truth(layout_env(cfg))):
            continue
        row = next(x for x in rows if x.start <= member.offset < x.end)
        cells = " ".join(row.cells.get(r.desc, []))
        assert r.field in cells, (r.macro, r.page, r.field, row.cells)


BROKEN_PTDESC = """struct: ptdesc
members:
  - pt_flags: memdesc_flags_t
  - union:
      - pt_rcu_head: struct callback_head
      - pt_list: struct list_head
      - struct:
          - _pt_pad_1: unsigned long
          - pmd_huge_pte: pgtable_t
      - struct:
          - pt_kernel_flags: unsigned long
            note: "a proposal: flags word over compound_head"
  - __page_mapping: unsigned long
  - pt_index: unsigned long
  - _pt_pad_2: unsigned long
  - __page_type: unsigned int
  - __page_refcount: atomic_t
  - pt_memcg_data: unsigned long
    if: MEMCG
"""


def test_word_over_compound_head_breaks_tail_marker(cli, tmp_path: Path) -> None:
    path = tmp_path / "ptdesc.yaml"
    path.write_text(BROKEN_PTDESC)
    result = cli("overlay", "ptdesc", "--layout", str(path), "--json")
    assert result.code == 1
    kinds = {(f["kind"], f["where"]["struct"], f["where"]["field"]) for f in result.json()["findings"]}
    assert ("tail-marker", "ptdesc", "pt_kernel_flags") in kinds


def test_moved_field_breaks_match(cli, tmp_path: Path) -> None:
    path = tmp_path / "ptdesc.yaml"
    text = BROKEN_PTDESC.replace("  - __page_mapping: unsigned long\n", "").replace(
        "  - _pt_pad_2: unsigned long\n", "  - _pt_pad_2: unsigned long\n  - __page_mapping: unsigned long\n")
    path.write_text(text)
    result = cli("overlay", "ptdesc", "--layout", str(path))
    assert result.code == 1
    assert "TABLE_MATCH(mapping, __page_mapping)" in result.out
    assert "ERROR:match-broken" in result.out


def test_grown_descriptor_breaks_size_assert(cli, tmp_path: Path) -> None:
    path = tmp_path / "zpdesc.yaml"
    path.write_text("""struct: zpdesc
members:
  - flags: unsigned long
  - lru: struct list_head
  - movable_ops: unsigned long
  - next: unsigned long
  - zspage: unsigned long
  - first_obj_offset: unsigned int
  - _refcount: atomic_t
  - extra: unsigned long[2]
""")
    result = cli("overlay", "--layout", str(path), "--json")
    assert result.code == 1
    assert any(f["kind"] == "size-assert" for f in result.json()["findings"])


def test_byte_map_reference_kernel() -> None:
    rows = byte_map(preset("x86_64-6.18"))
    at8 = next(r for r in rows if r.start == 8)
    assert at8.end == 16
    assert "compound_head" in at8.cells["page"] and "pt_list.next" in at8.cells["ptdesc"]
    assert at8.cells["folio[1]"] == ["_head_1"]
    assert next(r for r in rows if r.start == 48).cells["zpdesc"] == ["first_obj_offset"]


def test_overlay_cli_clean(cli) -> None:
    result = cli("overlay")
    assert result.code == 0, result.out
    assert "rules: " in result.out and "0 broken" in result.out
