"""32-bit layouts against shared/reference/page-flags-layout.md section 4 (a gcc -m32
replica of the six structs: i386 with 8-byte struct page alignment, arm32 with 4)."""

from __future__ import annotations

import pytest

from mmbits.kconfig.model import load_model
from mmbits.kconfig.presets import preset_info
from mmbits.layout.registry import resolve


def preset(name: str, version: str = "6.18"):
    """The reference replica is of Linux 6.18: pin the preset to that release."""
    model = load_model()
    values = model.normalise({**preset_info(name).values, "VERSION": version}, where="test: ")
    return model.make(values, name=name)


def _offsets(struct: str, cfg) -> dict[str, tuple[int, int]]:
    return {m.name: (m.offset, m.size) for m in resolve(struct, cfg).members}


@pytest.mark.parametrize("name, page, folio, ptdesc, slab, zpdesc, iopt", [
    ("i386-pae-sparsemem", 40, 160, 36, 36, 32, 36),
    ("arm32-sparsemem", 36, 144, 36, 36, 32, 36),
    ("x86_64-6.18", 64, 256, 64, 64, 56, 64),
])
def test_sizes(name, page, folio, ptdesc, slab, zpdesc, iopt) -> None:
    cfg = preset(name)
    assert [resolve(s, cfg).size for s in ("page", "folio", "ptdesc", "slab", "zpdesc", "ioptdesc")] == [
        page, folio, ptdesc, slab, zpdesc, iopt]


def test_sizes_without_memcg() -> None:
    m = load_model()
    i386 = m.make({"ARCH": "i386", "MEMCG": 0})
    arm = m.make({"ARCH": "arm32", "MEMCG": 0})
    assert (resolve("page", i386).size, resolve("folio", i386).size) == (32, 128)
    assert (resolve("page", arm).size, resolve("folio", arm).size) == (32, 128)
    assert resolve("ptdesc", i386).size == 32


def test_i386_page() -> None:
    o = _offsets("page", preset("i386-pae-sparsemem"))
    assert o["flags"] == (0, 4) and o["lru"] == (4, 8) and o["pcp_llist"] == (4, 4)
    assert o["mapping"] == (12, 4) and o["__folio_index"] == (16, 4) and o["private"] == (20, 4)
    assert o["pp_magic"] == (4, 4) and o["pp"] == (8, 4) and o["dma_addr"] == (16, 4)
    assert o["page_type"] == (24, 4) and o["_refcount"] == (28, 4) and o["memcg_data"] == (32, 4)


@pytest.mark.parametrize("name, table", [
    # field: (i386 MEMCG, arm32 MEMCG) absolute offsets, section 4.2
    ("i386-pae-sparsemem", {"_flags_1": 40, "_head_1": 44, "_large_mapcount": 48, "_nr_pages_mapped": 52,
                            "_entire_mapcount": 96, "_pincount": 100, "_mm_id_mapcount": 56, "_mm_id": 60,
                            "_usable_1": 48, "_mapcount_1": 64, "_refcount_1": 68, "_nr_pages": 72,
                            "_flags_2": 80, "_head_2": 84, "_deferred_list": 88, "_flags_3": 120, "_head_3": 124,
                            "_hugetlb_subpool": 128, "_hugetlb_cgroup": 132, "_hugetlb_cgroup_rsvd": 136,
                            "_hugetlb_hwpoison": 140}),
    ("arm32-sparsemem", {"_flags_1": 36, "_head_1": 40, "_large_mapcount": 44, "_nr_pages_mapped": 48,
                         "_entire_mapcount": 88, "_pincount": 92, "_mm_id_mapcount": 52, "_mm_id": 56,
                         "_usable_1": 44, "_mapcount_1": 60, "_refcount_1": 64, "_nr_pages": 68,
                         "_flags_2": 72, "_head_2": 76, "_deferred_list": 80, "_flags_3": 108, "_head_3": 112,
                         "_hugetlb_subpool": 116, "_hugetlb_cgroup": 120, "_hugetlb_cgroup_rsvd": 124,
                         "_hugetlb_hwpoison": 128}),
])
def test_folio_32bit(name: str, table: dict[str, int]) -> None:
    o = _offsets("folio", preset(name))
    assert {k: o[k][0] for k in table} == table
    assert o["_usable_1"][1] == 16 and o["_mm_id_mapcount"][1] == 4


def test_entire_mapcount_location() -> None:
    """Test case 23: 64-bit keeps _entire_mapcount/_pincount in page 1 (88/92); 32-bit in page 2."""
    o = _offsets("folio", preset("x86_64-6.18"))
    assert (o["_entire_mapcount"][0], o["_pincount"][0]) == (88, 92)


def test_slab_and_descriptors_32bit() -> None:
    i386 = preset("i386-pae-sparsemem")
    s = _offsets("slab", i386)
    assert s["slab_cache"] == (4, 4) and s["slab_list"] == (8, 8) and s["freelist"] == (16, 4)
    assert s["counters"] == (20, 4) and s["freelist_counter"] == (16, 8) and s["obj_exts"] == (32, 4)
    assert "freelist_counter" not in _offsets("slab", preset("arm32-sparsemem"))  # no cmpxchg64 on arm32
    # 6.19.0 mm/slab.h: struct freelist_counters, whose double-word arm is
    # freelist_full_t freelist_counters (u64 on 32-bit), over freelist+counters
    s19 = _offsets("slab", preset("i386-pae-sparsemem", "6.19"))
    assert s19["freelist_counters"] == (16, 8) and "freelist_counter" not in s19
    p = _offsets("ptdesc", i386)
    assert p["pt_list"] == (4, 8) and p["pt_index"] == (16, 4) and p["__page_type"] == (24, 4)
    z = _offsets("zpdesc", i386)
    assert z["first_obj_offset"] == (24, 4) and z["zspage"] == (20, 4)


def test_config_dependent_members() -> None:
    m = load_model()
    d3 = preset("arm64-max")
    page = _offsets("page", d3)
    assert page["_last_cpupid"] == (64, 4) and resolve("page", d3).size == 80
    assert resolve("folio", d3).size == 320
    kmsan = m.make({"ARCH": "x86_64", "KMSAN": 1, "MEMCG": 1})
    assert resolve("page", kmsan).size == 80
    assert "_unused_slab_obj_exts" in _offsets("page", m.make({"ARCH": "x86_64", "MEM_ALLOC_PROFILING": 1}))
    assert resolve("page", m.make({"ARCH": "x86_64", "MEMCG": 0})).size == 64  # 56 padded to 16
    assert resolve("page", m.make({"ARCH": "arm32", "MEMCG": 0})).size == 32
    split = m.make({"ARCH": "x86_64", "DEBUG_SPINLOCK": 1})
    assert resolve("ptdesc", split).by_name["ptl"].type == "spinlock_t *"
    assert resolve("ptdesc", preset("x86_64-6.18")).by_name["ptl"].type == "spinlock_t"
