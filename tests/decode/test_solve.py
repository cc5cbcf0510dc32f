"""The page->flags packing solved from a real kernel's own %pGp line.

Each case is a flags: line from tests/data/dumps/real; the widths follow from
include/linux/page-flags-layout.h (fields packed from bit 63 down: section,
node, zone, lastcpupid, kasantag) worked out by hand from the printed values.
"""

from __future__ import annotations

from mmbits.decode.solve import Packing, printed_fields, solve


def _solve(value: int, text: str, bits: int = 64) -> tuple[Packing, ...]:
    return solve(bits, value, tuple(sorted(printed_fields(text).items())))


def test_hpe_x86_64_node1_zone2_pins_every_width():
    # x86_64-6.6rc1-hpe: 0x57ffffc0000004: bits 63-54 hold node 1 (0b0000000001),
    # 53-51 zone 2, 50-30 all ones (lastcpupid 0x1fffff: 21 bits = 13 + LAST__PID_SHIFT 8)
    (p,) = [p for p in _solve(0x57FFFFC0000004, "referenced|node=1|zone=2|lastcpupid=0x1fffff")
            if p.lastcpupid == 21]
    assert (p.section, p.node, p.zone, p.kasantag, p.nr_cpus_bits) == (0, 10, 3, 0, 13)


def test_zone_only_word_has_one_zone_width():
    # x86_64-6.15rc3-zen3: 0x4000000000000000(zone=1): only a 2-bit zone at 63-62 reads 1
    assert {p.zone for p in _solve(0x4000000000000000, "zone=1")} == {2}
    assert all(p.node == 0 and p.lastcpupid == 0 for p in _solve(0x4000000000000000, "zone=1"))


def test_kasan_tag_field_is_found_below_lastcpupid():
    # arm64-6.14rc2 (KASAN SW tags): 0x1ffde8000000000: bits 56-46 all ones (lastcpupid 0x7ff,
    # 11 bits), 45-38 = 0b01111010 (kasantag 0x7a, 8 bits), node+zone in the 7 zero bits above
    sols = _solve(0x1FFDE8000000000, "node=0|zone=0|lastcpupid=0x7ff|kasantag=0x7a")
    exact = [p for p in sols if p.lastcpupid == 11]
    assert exact and all(p.kasantag == 8 and p.node + p.zone == 7 for p in exact)


def test_a_value_no_width_can_give_is_no_solution():
    assert _solve(0x0, "zone=1") == ()
    assert _solve(0x8000000000000000, "no_such_field=1") == ()


def test_32bit_zone_in_the_top_bits():
    # i386-6.10.10: 0x40000014 ... zone=1 at bits 31-30
    assert 2 in {p.zone for p in _solve(0x40000014, "referenced|uptodate|zone=1", bits=32)}
