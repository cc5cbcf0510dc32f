"""Linux 7.0 and 7.1 in the one layout set.

Expected values are typed in from the kernel trees, never computed by the code
under test:
  - 7.0.0: the "Linux 7.0.0" import commit 1d9f96d2d of julianw1010/WASP-linux-7.0.0
    (mm/slab.h, include/linux/mm_types.h, arch/s390/Kconfig, arch/loongarch/Kconfig);
  - 7.1.5: danayer/linux-7.1.5 (Makefile VERSION 7 PATCHLEVEL 1 SUBLEVEL 5,
    include/linux/mm_types.h, mm/slab.h, mm/Kconfig);
  - 6.19.0: matankalina/linux-6.19.10-fork (the form 7.0 changed);
  - the compiler's own answers for 7.1.5 (tools/kernel_truth.py records made by the
    truth helper, job 7.1/x86_64/x86_64_defconfig: sizeof and offsetof values).
"""

from __future__ import annotations

import pytest

from mmbits.errors import InputError
from mmbits.kconfig.model import load_model
from mmbits.kconfig.release import parse_release, release_name
from mmbits.layout.registry import resolve


def config(version: str, **values: object):
    model = load_model()
    return model.make(model.normalise({"VERSION": version, **values}, where="test: "), name=f"test-{version}")


def members(struct: str, cfg) -> dict[str, tuple[int, int]]:
    return {str(m.name): (m.offset, m.size) for m in resolve(struct, cfg).members}


def test_major_7_releases_sort_after_6_19() -> None:
    # 7.1.5 Makefile: VERSION = 7, PATCHLEVEL = 1, SUBLEVEL = 5
    assert parse_release("7.1.5") == 7001
    assert parse_release("v7.0") == 7000
    assert parse_release("7.0.0-rc3") == 7000
    assert parse_release("6.19") < parse_release("7.0") < parse_release("7.1")
    assert release_name(7001) == "7.1" and release_name(7000) == "7.0"


def test_model_lists_7_0_and_7_1_and_defaults_to_the_newest() -> None:
    model = load_model()
    assert model.releases[-3:] == (6019, 7000, 7001)
    assert model.make({"ARCH": "x86_64"})["VERSION"] == 7001


def test_unmodelled_major_is_refused() -> None:
    with pytest.raises(InputError):
        config("7.2", ARCH="x86_64")


@pytest.mark.parametrize("version, name", [("6.19", "compound_head"), ("7.0", "compound_head"),
                                           ("7.1", "compound_info")])
def test_tail_word_renamed_in_7_1(version: str, name: str) -> None:
    # include/linux/mm_types.h: `unsigned long compound_head; /* Bit zero is set */`
    # in 6.19.0 and 7.0.0, `unsigned long compound_info;` in 7.1.5; the compiler
    # could not take offsetof(struct page, compound_head) in 7.1.5 (job
    # 7.1/x86_64/x86_64_defconfig lists it under not_available)
    page = members("page", config(version, ARCH="x86_64"))
    other = {"compound_head": "compound_info", "compound_info": "compound_head"}[name]
    assert page[name] == (8, 8) and other not in page
    pgmap = "_unused_pgmap_" + name
    assert page[pgmap] == (8, 8)


def test_7_1_folio_offsets_equal_the_compiler() -> None:
    # job 7.1/x86_64/x86_64_defconfig (NUMA, NODES_SHIFT 6, NR_CPUS 64, HUGETLB_PAGE,
    # no MEMCG): folio_offsets and sizeof:folio / sizeof:page as gcc computed them
    cfg = config("7.1", ARCH="x86_64", NUMA=1, NODES_SHIFT=6, NR_CPUS=64, HUGETLB_PAGE=1, MEMCG=0)
    folio = members("folio", cfg)
    expected = {"_flags_1": 64, "_head_1": 72, "_large_mapcount": 80, "_nr_pages_mapped": 84,
                "_entire_mapcount": 88, "_pincount": 92, "_mm_id_mapcount": 96, "_mm_id": 104,
                "_flags_2": 128, "_head_2": 136, "_deferred_list": 144, "_flags_3": 192, "_head_3": 200,
                "_hugetlb_subpool": 208, "_hugetlb_cgroup": 216, "_hugetlb_cgroup_rsvd": 224,
                "_hugetlb_hwpoison": 232}
    assert {k: folio[k][0] for k in expected} == expected
    assert resolve("folio", cfg).size == 256 and resolve("page", cfg).size == 64


def test_7_0_slab_drops_the_partial_and_deferred_arms_and_gains_stride() -> None:
    # 7.0.0 mm/slab.h struct slab: `struct list_head slab_list;` alone before
    # struct freelist_counters, whose counters struct ends in `unsigned int stride`
    # under CONFIG_64BIT (after inuse:16, objects:15, frozen:1)
    slab = members("slab", config("7.0", ARCH="x86_64"))
    assert slab["slab_list"] == (16, 16) and slab["freelist"] == (32, 8) and slab["counters"] == (40, 8)
    assert slab["stride"] == (44, 4)
    assert not {"llnode", "flush_freelist", "next", "slabs"} & set(slab)
    assert resolve("slab", config("7.0", ARCH="x86_64")).size == 64


def test_6_19_slab_keeps_its_arms_and_has_no_stride() -> None:
    # 6.19.0 mm/slab.h: the slab_list union with the deferred deactivate_slab()
    # struct and, with SLUB_CPU_PARTIAL, next/slabs; no stride
    slab = members("slab", config("6.19", ARCH="x86_64", SLUB_CPU_PARTIAL=1))
    assert slab["llnode"] == (16, 8) and slab["next"] == (16, 8) and slab["slabs"] == (24, 4)
    assert "stride" not in slab


def test_32bit_7_0_slab_has_no_stride() -> None:
    # 7.0.0 mm/slab.h: stride is inside #ifdef CONFIG_64BIT
    slab = members("slab", config("7.0", ARCH="i386"))
    assert "stride" not in slab and slab["counters"][1] == 4


def test_slub_cpu_partial_is_ignored_from_7_0() -> None:
    # e323b52cf00f "slab: remove SLUB_CPU_PARTIAL" (7.0): the layout no longer reads it
    on = members("slab", config("7.0", ARCH="x86_64", SLUB_CPU_PARTIAL=1))
    off = members("slab", config("7.0", ARCH="x86_64", SLUB_CPU_PARTIAL=0))
    assert on == off


@pytest.mark.parametrize("version, delta", [("6.19", 0), ("7.0", 0xdead000000000000), ("7.1", 0xdead000000000000)])
def test_s390_illegal_pointer_value(version: str, delta: int) -> None:
    # arch/s390/Kconfig: `config ILLEGAL_POINTER_VALUE ... default 0xdead000000000000`
    # in 7.0.0 and 7.1.5, absent from 6.19.0 (so POISON_POINTER_DELTA is 0)
    assert config(version, ARCH="s390x")["POISON_POINTER_DELTA"] == delta


@pytest.mark.parametrize("version, aligned", [("6.19", 0), ("7.0", 1), ("7.1", 1)])
def test_loongarch_aligned_struct_page(version: str, aligned: int) -> None:
    # arch/loongarch/Kconfig: `select HAVE_ALIGNED_STRUCT_PAGE` and `select
    # HAVE_CMPXCHG_DOUBLE` in 7.0.0 (the first `if 64BIT` in 7.1.5), neither in 6.19.0
    cfg = config(version, ARCH="loongarch64")
    assert cfg["HAVE_ALIGNED_STRUCT_PAGE"] == aligned and cfg["HAVE_CMPXCHG_DOUBLE"] == aligned
    # _struct_page_alignment: __aligned(2 * sizeof(unsigned long)) only with the select
    assert resolve("page", cfg).align == (16 if aligned else 8)
    assert ("freelist_counters" in members("slab", cfg)) == bool(aligned)


def test_memory_hotplug_needs_vmemmap_from_7_1() -> None:
    # mm/Kconfig MEMORY_HOTPLUG: `depends on SPARSEMEM` in 7.0.0, `depends on
    # SPARSEMEM_VMEMMAP` in 7.1.5; loongarch64 has SPARSEMEM without VMEMMAP
    model = load_model()
    for version, ok in (("7.0", True), ("7.1", False)):
        values = model.normalise({"VERSION": version, "ARCH": "loongarch64", "MEMORY_HOTPLUG": 1}, where="test: ")
        assert (not model.violations(model.complete(model.primary_of(values)))) == ok, version


def test_7_1_x86_64_defconfig_flags_equal_the_compiler() -> None:
    # job 7.1/x86_64/x86_64_defconfig of the 7.1.5 truth campaign (gcc 12.2.0 on the
    # 7.1.5 tree): NUMA, NODES_SHIFT 6, NR_CPUS 64, SPARSEMEM_VMEMMAP, ZONE_DMA/DMA32,
    # ARCH_USES_PG_ARCH_2 (X86_PAT), no NUMA_BALANCING/MEMCG/LRU_GEN/KASAN/THP
    from mmbits.flags.packing import compute

    cfg = config("7.1", ARCH="x86_64", NUMA=1, NODES_SHIFT=6, NR_CPUS=64, HUGETLB_PAGE=1, MEMCG=0, X86_PAT=1)
    word = compute(cfg)
    assert word.nr_pageflags == 22
    assert (word.widths["node"], word.widths["zone"], word.widths["section"], word.widths["last_cpupid"]) == \
        (6, 2, 0, 0)
    assert (word.pgoff["node"], word.pgoff["zone"]) == (58, 56)
    assert word.masks["PAGEFLAGS_MASK"] == 0x3FFFFF
    assert word.masks["PAGE_FLAGS_CHECK_AT_FREE"] == 0x14E123
    assert word.masks["PAGE_FLAGS_CHECK_AT_PREP"] == 0x3FFFFF
    bits = {f.name: f.bit for f in word.flags}
    assert (bits["PG_locked"], bits["PG_head"], bits["PG_dropbehind"], bits["PG_mlocked"], bits["PG_arch_2"]) == \
        (0, 6, 19, 20, 21)
