"""Acceptance cases 1, 2, 4, 15 and 18 of shared/reference/deferred-free-and-memdesc.md."""

from __future__ import annotations

import pytest

from mmbits.layout.registry import layouts
from mmbits.prover.rules import produced_types
from mmbits.prover.site import resolve_site
from prover.helpers import blocking, config_of, kinds, messages, prove, whats


def test_case_1_bit_nr_pageflags_in_pt_flags_is_unsafe() -> None:
    r = prove("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable", "ASYNC_PGTABLE_FREE_DTOR", domain="default")
    assert r.verdict == "unsafe" and r.configs_unsafe == r.configs_checked
    fields = set(whats(r, "collision"))
    assert {"page.flags bits 25-26 = LRU_REFS"} <= fields  # the fields area growing down from bit 63
    assert any(w.endswith("= ALLOC_TAG") for w in fields)  # plus alloc-tag refs
    assert "unallocated-bit" in blocking(r)  # not an allocated page flag


def test_case_2_pt_kernel_is_pg_referenced_and_safe() -> None:
    r = prove("PG_referenced", "ptdesc.pt_flags", "kernel-pgtable", "PT_kernel", domain="default")
    assert r.verdict == "safe" and kinds(r) == {"existing-definition"}
    # naming itself: `--as PT_kernel` is v6.18's own definition, checked for consistency ...
    assert prove("PT_kernel", "ptdesc.pt_flags", name="PT_kernel", domain="default").verdict == "safe"
    # ... but a bare `PT_kernel` is a new use of bit 2, and PT_kernel already lives there on kernel page tables
    bare = prove("PT_kernel", "ptdesc.pt_flags", domain="default")
    assert bare.verdict == "unsafe" and whats(bare, "collision") == ["PT_kernel"]
    # PT_reserved = PG_reserved is its own use of PG_reserved on page tables, but in CHECK_AT_FREE
    res = prove("PG_reserved", "ptdesc.pt_flags", "kernel-pgtable", "PT_reserved")
    assert res.verdict == "safe" and "PAGE_FLAGS_CHECK_AT_FREE" in messages(res, "bad-page-at-free")


def test_case_4_ptdesc_type_kernel_bit0_in_page_type_is_unsafe() -> None:
    r = prove("BIT(0)", "ptdesc.__page_type", "kernel-pgtable", "PTDESC_TYPE_KERNEL", domain="default")
    assert r.verdict == "unsafe" and blocking(r) == {"always-true"}
    text = messages(r, "always-true")
    assert "bit 0 already reads 1 on every page without a type" in text
    assert "OR-ing it in is a no-op" in text


@pytest.mark.parametrize("align, produced", [(8, [0, 8]), (4, [0, 4, 8, 12]), (16, [0]), (2, list(range(0, 16, 2)))])
def test_case_15_pointer_alignment_gives_the_memdesc_types(align: int, produced: list[int]) -> None:
    assert produced_types(align, 4) == produced


def test_case_15_interim_layout_buddy_aliases_are_derived() -> None:
    r = prove("4", "page_memdesc.memdesc", domain="default")
    assert r.verdict == "unsafe"
    notes = whats(r, "memdesc-alias")
    assert "types 0/8 = Buddy" in notes and "types 0/4/8/12 = Buddy" in notes  # 64-bit and 32-bit
    assert "4/12 cannot occur here" in messages(r, "memdesc-alias")
    # type 4 is told apart from list pointers on 64-bit only
    only64 = prove("4", "page_memdesc.memdesc", on="x86_64-6.18")
    assert only64.verdict == "safe"
    assert prove("8", "page_memdesc.memdesc", on="x86_64-6.18").verdict == "unsafe"
    assert prove("5", "page_memdesc.memdesc", domain="default").verdict == "safe"
    # assigned types collide unless the proposal is that type
    assert "already Misc" in messages(prove("1", "page_memdesc.memdesc"), "collision")
    assert prove("1", "page_memdesc.memdesc", name="Misc").verdict == "safe"
    # bits above the 4-bit type are the 16-byte-aligned descriptor pointer
    wide = prove("0x13", "memdesc.memdesc")
    assert "descriptor pointer" in messages(wide, "collision")
    assert "truncated" in kinds(prove("20", "memdesc.type"))


def test_case_18_ioptdesc_words_sit_where_iommu_pages_asserts() -> None:
    cfg = config_of("x86_64-6.18")
    lset = layouts()
    elm = resolve_site(lset, "ioptdesc", "iopt_freelist_elm.next", cfg)
    assert (elm.page_offset, elm.anchor, elm.role) == (8, "compound_head", "pointer")
    ptype = resolve_site(lset, "ioptdesc", "__page_type", cfg)
    assert (ptype.page_offset, ptype.anchor, ptype.role) == (48, "page_type", "page_type")
    assert resolve_site(lset, "ioptdesc", "__page_refcount", cfg).page_offset == 52
    assert lset.resolve("ioptdesc", cfg).size <= lset.resolve("page", cfg).size
    assert blocking(prove("BIT(0)", "ioptdesc.iopt_freelist_elm.next")) == {"tail-marker"}
