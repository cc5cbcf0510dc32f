"""The acceptance table of shared/reference/page-flags-layout.md ("Concrete test cases a
checker must get right", 1-23), for the verdicts `mmbits check` gives. Presets are the
rows of that document's section 6.1 (A = x86_64-6.18, B2 = x86_64-maxsmp, D =
arm64-kasan-sw-tags, ...). Expected answers are the document's; the code derives them."""

from __future__ import annotations

import pytest

from mmbits.errors import InvalidConfigError
from mmbits.layout.registry import layouts
from mmbits.prover.site import resolve_site
from prover.helpers import blocking, config_of, kinds, messages, prove, whats

PT = "ptdesc.pt_flags"


# 1-5: BIT(NR_PAGEFLAGS) as an extra flag, in page->flags and in ptdesc->pt_flags (same word)
@pytest.mark.parametrize("word", ["page.flags", PT])
def test_case_1_reference_kernel_gap_bit_is_lifecycle_unsafe(word: str) -> None:
    r = prove("BIT(NR_PAGEFLAGS)", word, on="x86_64-6.18")
    assert "collision" not in kinds(r)  # bit 24 is in the free gap 24-34
    assert r.verdict == "unsafe" and blocking(r) == {"unallocated-bit"}
    assert whats(r, "unallocated-bit") == ["page.flags gap bits 24-34 (above NR_PAGEFLAGS = 24)"]
    text = messages(r, "unallocated-bit")
    assert "neither clears it at free nor checks it at allocation" in text
    assert "THP split does not copy it" in text and "%pGp" in text


@pytest.mark.parametrize("word", ["page.flags", PT])
def test_case_2_maxsmp_collides_with_lru_refs_bit_0(word: str) -> None:
    r = prove("BIT(NR_PAGEFLAGS)", word, on="x86_64-maxsmp")
    assert r.verdict == "unsafe"
    assert whats(r, "collision") == ["page.flags bits 25-26 = LRU_REFS"]
    assert f"{word} bit 25 is LRU_REFS bit 0" in messages(r, "collision")


@pytest.mark.parametrize("word", ["page.flags", PT])
def test_case_3_arm64_sw_tags_has_a_4_bit_gap(word: str) -> None:
    r = prove("BIT(NR_PAGEFLAGS)", word, on="arm64-kasan-sw-tags")
    assert "collision" not in kinds(r)
    assert whats(r, "unallocated-bit") == ["page.flags gap bits 24-27 (above NR_PAGEFLAGS = 24)"]


@pytest.mark.parametrize("word", ["page.flags", PT])
def test_case_4_compressed_alloc_tags_claim_the_gap_at_boot(word: str) -> None:
    static = prove("BIT(NR_PAGEFLAGS)", word, on="x86_64-defconfig-lru-gen", sets={"MEM_ALLOC_PROFILING": "y"})
    assert "collision" not in kinds(static)  # a purely static Kconfig check passes
    assert "compressed would hand the whole gap" in messages(static, "unallocated-bit")
    booted = prove("BIT(NR_PAGEFLAGS)", word, on="x86_64-defconfig-lru-gen",
                   sets={"MEM_ALLOC_PROFILING": "y", "MEM_PROFILING_COMPRESSED": "y"})
    assert whats(booted, "collision") == ["page.flags bits 22-50 = ALLOC_TAG"]
    assert "sysctl.vm.mem_profiling=1,compressed" in messages(booted, "collision")


def test_case_5_pt_flags_is_the_page_flags_word() -> None:
    for row in ("x86_64-6.18", "x86_64-maxsmp", "arm64-kasan-sw-tags"):
        a = prove("BIT(NR_PAGEFLAGS)", "page.flags", on=row)
        b = prove("BIT(NR_PAGEFLAGS)", PT, name="PT_kernel", on=row)
        assert (a.verdict, kinds(a)) == (b.verdict, kinds(b))
    merged = prove("PG_referenced", PT, "kernel-pgtable", "PT_kernel", on="x86_64-6.18")
    assert merged.verdict == "safe"
    assert merged.explanation[1].startswith("  bit 2: PG_referenced")


# 6-8: adding enum pageflags entries
def test_case_6_one_new_flag_shrinks_lru_refs_on_maxsmp() -> None:
    r = prove("BIT(PG_new_flag)", "page.flags", name="PG_new_flag", on="x86_64-maxsmp", new_flags=("PG_new_flag",))
    assert "cannot-build" not in kinds(r) and "collision" not in kinds(r)
    assert "LRU_REFS_WIDTH shrinks 2 -> 1 silently" in messages(r, "shrinks-field")


def test_case_7_three_new_flags_push_last_cpupid_out_on_maxsmp() -> None:
    new = ("PG_a", "PG_b", "PG_c")
    r = prove("BIT(PG_c)", "page.flags", name="PG_c", on="x86_64-maxsmp", new_flags=new)
    text = messages(r, "field-out-of-word")
    assert "LAST_CPUPID_NOT_IN_PAGE_FLAGS" in text
    assert "sizeof(struct page) 64 -> 80" in text and "HugeTLB vmemmap optimisation" in text
    assert "NR_UNUSED_PAGEFLAG_BITS is -3" in messages(r, "miscount")


@pytest.mark.parametrize("row", ["arm32-sparsemem", "i386-pae-sparsemem"])
def test_case_8_sparsemem_32bit_has_one_spare_bit(row: str) -> None:
    one = prove("BIT(PG_x)", "page.flags", name="PG_x", on=row, new_flags=("PG_x",))
    assert "cannot-build" not in kinds(one) and one.verdict == "safe"
    two = prove("BIT(PG_y)", "page.flags", name="PG_y", on=row, new_flags=("PG_x", "PG_y"))
    assert '#error "Not enough bits in page flags"' in messages(two, "cannot-build")


# 9-11: configurations that cannot exist
@pytest.mark.parametrize("row, sets", [
    ("i386-pae-sparsemem", {"LRU_GEN": "y"}),          # 9 (F + LRU_GEN)
    ("arm32-sparsemem", {"LRU_GEN": "y"}),             # 9 (G + LRU_GEN)
    ("x86_64-6.18", {"KASAN_SW_TAGS": "y"}),           # 10
    ("i386-sparsemem", {"NUMA": "y", "NODES_SHIFT": "3"}),  # 11
])
def test_cases_9_to_11_invalid_configurations(row: str, sets: dict[str, str]) -> None:
    with pytest.raises(InvalidConfigError):
        config_of(row, **sets)


def test_case_9_cli_reports_invalid_config(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("check", "BIT(NR_PAGEFLAGS)", "--word", "page.flags", "--preset", "i386-pae-sparsemem",
            "--set", "LRU_GEN=y", "--json")
    assert r.code == 2
    data = r.json()
    assert data["verdict"] == "UNKNOWN" and data["findings"][0]["kind"] == "invalid-config"
    assert "LRU_GEN depends on 64BIT || !SPARSEMEM || SPARSEMEM_VMEMMAP" in data["findings"][0]["message"]
    assert r.err.count("\n") == 1 and "invalid-config" in r.err


# 12: the kernel's own miscount when LAST_CPUPID leaves the word
def test_case_12_arm64_max_true_gap_and_kernel_miscount() -> None:
    r = prove("BIT(NR_PAGEFLAGS)", "page.flags", on="arm64-max")
    assert whats(r, "unallocated-bit") == ["page.flags gap bits 26-37 (above NR_PAGEFLAGS = 26)"]
    assert "NR_UNUSED_PAGEFLAG_BITS is -8 but the true gap is bits 26-37 (12 bits)" in messages(r, "miscount")


# 13-15: second-page (PF_SECOND) folio flags
def test_case_13_second_page_flag_on_uptodate_hits_the_folio_order() -> None:
    r = prove("PG_uptodate", "folio._flags_1", name="PG_new_second", domain="default")
    assert r.verdict == "unsafe" and r.configs_colliding == r.configs_checked
    assert whats(r, "collision") == ["page[1].flags bits 0-7 = folio order"]


@pytest.mark.parametrize("flag", ["PG_private", "PG_hwpoison", "PG_owner_2"])
def test_case_14_second_page_flag_on_a_pf_any_flag_is_rejected(flag: str) -> None:
    r = prove(flag, "folio._flags_1", name="PG_new_second", on="x86_64-maxsmp")  # has MEMORY_FAILURE
    assert r.verdict == "unsafe"
    per_page = ["PG_anon_exclusive (= PG_owner_2; per page, on tail pages too)"] if flag == "PG_owner_2" else []
    assert whats(r, "collision") == [f"{flag} (PF_ANY: set per page, on tail pages too)", *per_page]


def test_case_15_second_page_flag_on_swapbacked_is_free_with_obligations() -> None:
    r = prove("PG_swapbacked", "folio._flags_1", name="PG_new_second", on="x86_64-6.18")
    assert r.verdict == "safe" and "collision" not in kinds(r)
    assert "add it to PAGE_FLAGS_SECOND" in messages(r, "obligation")
    # a CHECK_AT_FREE bit not in PAGE_FLAGS_SECOND: Bad page state on the tail page until it is added
    checked = prove("PG_unevictable", "folio._flags_1", name="PG_new_second", on="x86_64-6.18")
    assert "PAGE_FLAGS_CHECK_AT_FREE" in messages(checked, "bad-page-at-free")
    # not already a second-page flag: has_hwpoisoned 8 / large_rmappable 9 / partially_mapped 16
    taken = prove("PG_reclaim", "folio._flags_1", name="PG_new_second", on="x86_64-6.18")
    assert "already the second-page flag PG_partially_mapped" in messages(taken, "collision")


# 16-17: page_type
def test_case_16_bit_0_of_page_type_on_page_tables() -> None:
    r = prove("BIT(0)", "ptdesc.__page_type", "pgtable", domain="default")
    assert r.verdict == "unsafe" and blocking(r) == {"always-true"}
    assert "page_type == 0xffffffff" in messages(r, "always-true")
    assert "VM_BUG_ON" in messages(r, "always-true") and "UINT_MAX" in messages(r, "always-true")


def test_case_17_low_page_type_bits_on_zsmalloc() -> None:
    r = prove("(1 << 24) - 1", "page.page_type", "zsmalloc", on="x86_64-6.18")
    assert "first_obj_offset" in messages(r, "collision")
    assert "mm_types.h allows owners only the low 16 bits" in messages(r)  # F5: the comments disagree


# 18: tagged pointers over compound_head
@pytest.mark.parametrize("word", ["slab.slab_cache", "ptdesc.pt_list.next", "ioptdesc.iopt_freelist_elm.next",
                                  "page.pp_magic", "ptdesc._pt_pad_1"])
def test_case_18_bit_0_over_compound_head_is_the_tail_marker(word: str) -> None:
    # the default domain at 6.19 (include/linux/mm_types.h: compound_head)
    r = prove("BIT(0)", word, domain="6.19")
    assert r.verdict == "unsafe" and r.configs_colliding == r.configs_checked
    assert whats(r, "tail-marker") == ["page.compound_head bit 0 = compound_head tail marker"]
    assert "page_folio() returns value - 1" in messages(r, "tail-marker")
    # 7.1 (the default release): the word is compound_info (7.1.5 mm_types.h), bit 0 still the tail
    r71 = prove("BIT(0)", word, domain="default")
    assert r71.verdict == "unsafe" and r71.configs_colliding == r71.configs_checked
    assert whats(r71, "tail-marker") == ["page.compound_info bit 0 = compound_info tail marker"]


# 19-20: tag bits of mapping and memcg_data
def test_case_19_mapping_bit_2_depends_on_address_space_alignment() -> None:
    r64 = prove("BIT(2)", "page.mapping", on="x86_64-6.18")
    assert r64.verdict == "safe" and kinds(r64) == {"pointer-tag"}  # a warning: free by alignment only
    assert "8-byte aligned" in messages(r64)
    r32 = prove("BIT(2)", "page.mapping", on="i386-highmem-flatmem")
    assert r32.verdict == "unsafe" and "aligned to only 4 bytes" in messages(r32, "pointer-tag")
    assert prove("BIT(0)", "page.mapping", on="x86_64-6.18").findings[0].data["what"] == \
        "page.mapping bit 0 = FOLIO_MAPPING_ANON"


def test_case_20_memcg_data_bit_2_is_taken_and_bit_3_needs_16_byte_alignment() -> None:
    r = prove("BIT(2)", "page.memcg_data", on="x86_64-6.18")
    assert whats(r, "pointer-tag") == ["page.memcg_data bit 2 = OBJEXTS_NOSPIN_ALLOC"]
    r3 = prove("BIT(3)", "page.memcg_data", on="x86_64-6.18")
    assert r3.verdict == "unsafe" and "aligned to only 8 bytes" in messages(r3, "pointer-tag")


# 21: bit numbers come from the config's own enum, never a fixed table
def test_case_21_bit_numbers_follow_the_config() -> None:
    x86 = prove("PG_arch_2", "page.flags", on="x86_64-6.18")
    arm = prove("PG_arch_2", "page.flags", on="arm64-kasan-sw-tags")
    assert x86.explanation[1].startswith("  bit 23: PG_arch_2")
    assert arm.explanation[1].startswith("  bit 22: PG_arch_2")


# 22 (member-set check against BTF) is `mmbits btf verify`, not a bit question.

# 23: where _entire_mapcount lives
@pytest.mark.parametrize("row, page, offset", [("x86_64-6.18", 1, 24), ("i386-highmem-flatmem", 2, 16),
                                               ("arm32-sparsemem", 2, 16)])
def test_case_23_entire_mapcount_moves_to_page_2_on_32bit(row: str, page: int, offset: int) -> None:
    site = resolve_site(layouts(), "folio", "_entire_mapcount", config_of(row))
    assert (site.page_index, site.page_offset) == (page, offset)
