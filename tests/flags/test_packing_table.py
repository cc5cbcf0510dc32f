"""The acceptance table: shared/reference/page-flags-layout.md section 6.1 (and
6.3, 2.4). Every row must come out of the packing formulas exactly; the rows
below are the reference's numbers, typed in as test data."""

from __future__ import annotations

import pytest

from mmbits.flags.packing import compute
from mmbits.kconfig.presets import preset

# preset: (BPL, NR_PAGEFLAGS, zones, ZONES_W, SEC_W, NODES (shift, width), CPUPID (shift, width),
#          KASAN, GEN, REFS, NR_UNUSED (kernel), fields high->low as (NAME, msb, lsb), gap or None)
TABLE = {
    "x86_64-6.18": (64, 24, 5, 3, 0, (10, 10), (16, 16), 0, 0, 0, 11,
                    [("node", 63, 54), ("zone", 53, 51), ("last_cpupid", 50, 35)], (24, 34)),
    "x86_64-defconfig-lru-gen": (64, 22, 4, 2, 0, (6, 6), (0, 0), 0, 3, 2, 29,
                                 [("node", 63, 58), ("zone", 57, 56), ("lru_gen", 55, 53), ("lru_refs", 52, 51)],
                                 (22, 50)),
    "x86_64-maxsmp": (64, 25, 5, 3, 0, (10, 10), (21, 21), 0, 3, 2, 0,
                      [("node", 63, 54), ("zone", 53, 51), ("last_cpupid", 50, 30), ("lru_gen", 29, 27),
                       ("lru_refs", 26, 25)], None),
    "arm64-kasan-sw-tags": (64, 24, 4, 2, 0, (4, 4), (17, 17), 8, 3, 2, 4,
                            [("node", 63, 60), ("zone", 59, 58), ("last_cpupid", 57, 41), ("kasan_tag", 40, 33),
                             ("lru_gen", 32, 30), ("lru_refs", 29, 28)], (24, 27)),
    "arm64-kasan-hw-tags": (64, 24, 4, 2, 0, (4, 4), (17, 17), 4, 3, 2, 8,
                            [("node", 63, 60), ("zone", 59, 58), ("last_cpupid", 57, 41), ("kasan_tag", 40, 37),
                             ("lru_gen", 36, 34), ("lru_refs", 33, 32)], (24, 31)),
    "arm64-max": (64, 26, 5, 3, 0, (10, 10), (20, 0), 8, 3, 2, -8,
                  [("node", 63, 54), ("zone", 53, 51), ("kasan_tag", 50, 43), ("lru_gen", 42, 40),
                   ("lru_refs", 39, 38)], (26, 37)),
    "i386-highmem-flatmem": (32, 22, 4, 2, 0, (0, 0), (0, 0), 0, 0, 0, 8, [("zone", 31, 30)], (22, 29)),
    "i386-highmem-lru-gen": (32, 23, 4, 2, 0, (0, 0), (0, 0), 0, 3, 2, 2,
                             [("zone", 31, 30), ("lru_gen", 29, 27), ("lru_refs", 26, 25)], (23, 24)),
    "i386-pae-sparsemem": (32, 22, 4, 2, 7, (0, 0), (0, 0), 0, 0, 0, 1,
                           [("section", 31, 25), ("zone", 24, 23)], (22, 22)),
    "i386-sparsemem": (32, 22, 4, 2, 6, (0, 0), (0, 0), 0, 0, 0, 2, [("section", 31, 26), ("zone", 25, 24)], (22, 23)),
    "arm32-sparsemem": (32, 21, 3, 2, 8, (0, 0), (0, 0), 0, 0, 0, 1, [("section", 31, 24), ("zone", 23, 22)], (21, 21)),
    "arm32-sparsemem-dma": (32, 21, 4, 2, 8, (0, 0), (0, 0), 0, 0, 0, 1,
                            [("section", 31, 24), ("zone", 23, 22)], (21, 21)),
    "arm32-sa1100": (32, 21, 3, 2, 5, (0, 0), (0, 0), 0, 0, 0, 4, [("section", 31, 27), ("zone", 26, 25)], (21, 24)),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_section_6_1_row(name: str) -> None:
    bpl, nr, zones, zw, secw, nodes, cpupid, kasan, gen, refs, unused, fields, gap = TABLE[name]
    w = compute(preset(name))
    assert (w.bits, w.nr_pageflags, len(w.zones)) == (bpl, nr, zones)
    assert w.widths["zone"] == zw and w.widths["section"] == secw
    assert (w.shifts["node"], w.widths["node"]) == nodes
    assert (w.shifts["last_cpupid"], w.widths["last_cpupid"]) == cpupid
    assert (w.widths["kasan_tag"], w.widths["lru_gen"], w.widths["lru_refs"]) == (kasan, gen, refs)
    assert w.nr_unused_kernel == unused
    assert [(f.name, f.msb, f.lsb) for f in w.fields] == fields
    assert w.gap == gap
    assert w.builds


def test_pgshift_and_zoneid() -> None:
    """Section 6.1 'PGSHIFT/ZONEID (selected)' and section 1.5 for the reference kernel."""
    a = compute(preset("x86_64-6.18"))
    assert (a.pgoff["node"], a.pgoff["zone"], a.pgoff["last_cpupid"]) == (54, 51, 35)
    assert a.zoneid == (51, 13)
    b = compute(preset("x86_64-defconfig-lru-gen"))
    assert (b.pgoff["node"], b.pgoff["zone"], b.zoneid) == (58, 56, (56, 8))
    d = compute(preset("arm64-kasan-sw-tags"))
    assert (d.pgoff["last_cpupid"], d.pgoff["kasan_tag"], d.zoneid) == (41, 33, (58, 6))
    f = compute(preset("i386-pae-sparsemem"))
    assert (f.pgoff["section"], f.pgoff["zone"]) == (25, 23)


# section 2.4 [computed] mask values
MASKS = {
    "x86_64-6.18": (0xFFFFFF, 0, 0, 0x14E123, 0xFFFFFF),
    "x86_64-defconfig-lru-gen": (0x3FFFFF, 0xE0000000000000, 0x18000000000000, 0xE000000014E123, 0xF80000003FFFFF),
    "x86_64-maxsmp": (0x1FFFFFF, 0x38000000, 0x6000000, 0x3814E123, 0x3FDFFFFF),
    "arm64-kasan-sw-tags": (0xFFFFFF, 0x1C0000000, 0x30000000, 0x1C014E123, 0x1F0DFFFFF),
    "i386-highmem-flatmem": (0x3FFFFF, 0, 0, 0x14E123, 0x3FFFFF),
    "arm32-sparsemem": (0x1FFFFF, 0, 0, 0x14E123, 0x1FFFFF),
}


@pytest.mark.parametrize("name", sorted(MASKS))
def test_section_2_4_masks(name: str) -> None:
    pf, gen, refs, free, prep = MASKS[name]
    m = compute(preset(name)).masks
    assert (m["PAGEFLAGS_MASK"], m["LRU_GEN_MASK"], m["LRU_REFS_MASK"]) == (pf, gen, refs)
    assert (m["PAGE_FLAGS_CHECK_AT_FREE"], m["PAGE_FLAGS_CHECK_AT_PREP"]) == (free, prep)
    assert m["PAGE_FLAGS_SECOND"] == 0x103FF


# section 6.3: what +N new enum flags does (preset, N) -> (LRU_REFS width, LAST_CPUPID in word, #error?)
HEADROOM = [
    ("x86_64-6.18", 11, 0, True, None),
    ("x86_64-6.18", 12, 0, False, None),
    ("x86_64-6.18", 28, 0, False, "Vmemmap"),
    ("x86_64-defconfig-lru-gen", 29, 2, True, None),
    ("x86_64-defconfig-lru-gen", 30, 1, True, None),
    ("x86_64-defconfig-lru-gen", 31, 0, True, None),
    ("x86_64-defconfig-lru-gen", 32, None, None, "Vmemmap"),
    ("x86_64-maxsmp", 1, 1, True, None),
    ("x86_64-maxsmp", 2, 0, True, None),
    ("x86_64-maxsmp", 3, 2, False, None),  # non-monotonic: LRU_REFS jumps back to 2
    ("x86_64-maxsmp", 24, None, None, "Vmemmap"),
    ("arm64-kasan-sw-tags", 5, 1, True, None),
    ("arm64-kasan-sw-tags", 6, 0, True, None),
    ("arm64-kasan-sw-tags", 7, 2, False, None),
    ("arm64-kasan-sw-tags", 24, None, None, "Not enough bits"),
    ("i386-highmem-flatmem", 8, 0, True, None),
    ("i386-highmem-flatmem", 9, None, None, "Not enough bits"),
    ("i386-pae-sparsemem", 1, 0, True, None),
    ("i386-pae-sparsemem", 2, None, None, "Not enough bits"),
    ("arm32-sparsemem", 1, 0, True, None),
    ("arm32-sparsemem", 2, None, None, "Not enough bits"),
]


@pytest.mark.parametrize("name, extra, refs, cpupid_in, error", HEADROOM)
def test_section_6_3_headroom(name, extra, refs, cpupid_in, error) -> None:
    w = compute(preset(name), extra_flags=extra)
    if error:
        assert any(error in e for e in w.errors), w.errors
        return
    assert w.builds
    assert w.widths["lru_refs"] == refs
    assert w.last_cpupid_in_flags == cpupid_in


def test_b2_plus_three_grows_struct_page_and_miscounts() -> None:
    """Test case 7: NR_UNUSED_PAGEFLAG_BITS -3 while LAST_CPUPID leaves the word."""
    w = compute(preset("x86_64-maxsmp"), extra_flags=3)
    assert w.nr_unused_kernel == -3 and w.true_gap_bits > 0


def test_compressed_alloc_tags_claim_the_gap() -> None:
    """Test case 4: with compressed tags the whole gap [NR_PAGEFLAGS, LRU_REFS_PGOFF) is taken."""
    from mmbits.kconfig.model import load_model

    cfg = preset("x86_64-defconfig-lru-gen")
    values = dict(cfg.primary, MEM_ALLOC_PROFILING=1, MEM_PROFILING_COMPRESSED=1)
    w = compute(load_model().make(values))
    tag = w.field("alloc_tag")
    assert tag is not None and (tag.lsb, tag.msb) == (22, 50)
    assert w.free_bits == [] and w.gap == (22, 50)


def test_aliases_and_validity() -> None:
    w = compute(preset("x86_64-6.18"))
    ref = w.flag("PG_referenced")
    assert ref is not None and ref.bit == 2
    assert {a.name for a in ref.aliases} == {"PT_kernel"}
    assert w.flag("PT_reserved").bit == 13
    assert w.flag("PG_readahead").name == "PG_reclaim"
    second = {a.name for f in w.flags for a in f.aliases if a.page == "second"}
    assert second == {"PG_has_hwpoisoned", "PG_large_rmappable", "PG_partially_mapped"} - {"PG_has_hwpoisoned"}
    # PG_has_hwpoisoned needs MEMORY_FAILURE (off in the reference kernel)
    b2 = compute(preset("x86_64-maxsmp"))
    assert b2.flag("PG_has_hwpoisoned").bit == 8 and b2.flag("PG_hwpoison").bit == 21
