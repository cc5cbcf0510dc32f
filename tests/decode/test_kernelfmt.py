"""The kernel's own printing, reproduced: %pGp, the dump_page mapcount rule, page_type, %p."""

from __future__ import annotations

import pytest

from mmbits.decode.data import load_dump_data
from mmbits.decode.kernelfmt import (
    dump_mapcount,
    format_pgp,
    looks_hashed,
    page_type_text,
    pgp_parts,
)
from mmbits.flags.packing import compute
from mmbits.kconfig.presets import preset


def word(name):
    return compute(preset(name))


def test_pgp_names_in_mmflags_order_then_fields():
    w = word("x86_64-6.18")  # NODE 63-54, ZONE 53-51, LAST_CPUPID 50-35 (reference table row A)
    bits = {n: w.flag(n).bit for n in ("PG_locked", "PG_waiters", "PG_referenced", "PG_head", "PG_arch_2")}
    value = (1 << 54) | (2 << 51) | (0xFFFF << 35) | sum(1 << b for b in bits.values())
    # waiters (bit 7) before referenced (bit 2): the name table's order, not bit order
    assert format_pgp(value, w, load_dump_data()) == \
        f"{value:#x}(locked|waiters|referenced|head|arch_2|node=1|zone=2|lastcpupid=0xffff)"


def test_pgp_prints_zero_fields_and_nothing_for_absent_ones():
    d = load_dump_data()
    assert format_pgp(0, word("x86_64-6.18"), d) == "0x0(node=0|zone=0|lastcpupid=0x0)"
    assert format_pgp(0, word("i386-highmem-flatmem"), d) == "0x0(zone=0)"
    assert format_pgp(0, word("i386-pae-sparsemem"), d) == "0x0(section=0|zone=0)"
    assert format_pgp(0, word("arm64-kasan-sw-tags"), d) == "0x0(node=0|zone=0|lastcpupid=0x0|kasantag=0x0)"


def test_pgp_lru_gen_is_never_printed_and_gap_bits_show_as_hex():
    w = word("x86_64-defconfig-lru-gen")
    gen = w.field("lru_gen")
    names, fields = pgp_parts((1 << gen.lsb) | (1 << w.gap[0]), w, load_dump_data())
    assert names == [] and [n for n, _v, _t in fields] == ["node", "zone"]


@pytest.mark.parametrize("mapcount_word, printed", [
    (0xFFFFFFFF, 0), (0, 1), (2, 3), (0xF2000000, 0), (0xF0000000, 0), (0xFF000000, -16777215),
])
def test_dump_mapcount(mapcount_word, printed):
    assert dump_mapcount(mapcount_word) == printed


@pytest.mark.parametrize("page_type, text", [
    (0xF2000000, "f2(table)"), (0xF5000000, "f5(slab)"), (0xF0000000, "f0(buddy)"),
    (0xF6000123, "f6((null))"), (0xF8000000, "f8(unknown)"), (0xFFFFFFFF, None), (0x00000003, None),
])
def test_page_type_line(page_type, text):
    assert page_type_text(page_type, load_dump_data()) == text


def test_hashed_pointers():
    assert looks_hashed("00000000ce81ba6f", 0xFFFF000100000C00, 64)
    assert not looks_hashed("ffff000100000c00", 0xFFFF000100000C00, 64)
    assert looks_hashed("(____ptrval____)", 0, 64)
