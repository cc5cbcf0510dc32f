"""Word sites and roles come from the layouts and match.yaml; grouping symbols are the
ones that can move the word."""

from __future__ import annotations

import pytest

from mmbits.flags.packing import INPUT_SYMBOLS
from mmbits.layout.registry import layouts
from mmbits.prover.site import resolve_site, site_symbols, word_of_access
from prover.helpers import config_of


@pytest.mark.parametrize("word, role, anchor, page", [
    ("page.flags", "flags", "flags", 0),
    ("ptdesc.pt_flags", "flags", "flags", 0),
    ("slab.flags", "flags", "flags", 0),
    ("zpdesc.flags", "flags", "flags", 0),
    ("ioptdesc.__page_flags", "flags", "flags", 0),
    ("folio._flags_1", "flags", "flags", 1),
    ("folio._flags_3", "flags", "flags", 3),
    ("ptdesc.__page_type", "page_type", "page_type", 0),
    ("zpdesc.first_obj_offset", "page_type", "page_type", 0),
    ("folio._mapcount_1", "page_type", "page_type", 1),
    ("slab.slab_cache", "pointer", "compound_head", 0),
    ("folio._head_2", "pointer", "compound_head", 2),
    ("page.mapping", "pointer", "mapping", 0),
    ("ptdesc.pt_memcg_data", "pointer", "memcg_data", 0),
    ("page_memdesc.memdesc", "memdesc", None, 0),
    ("memdesc.type", "memdesc", None, 0),
    ("ptdesc.pt_index", "plain", None, 0),
])
@pytest.mark.parametrize("row", ["x86_64-6.18", "i386-pae-sparsemem"])
def test_roles(word: str, role: str, anchor: str | None, page: int, row: str) -> None:
    struct, field = word.split(".", 1)
    cfg = config_of(row)
    if anchor == "compound_head" and cfg["VERSION"] >= 7001:
        anchor = "compound_info"  # the same word's name from 7.1 (7.1.5 include/linux/mm_types.h)
    site = resolve_site(layouts(), struct, field, cfg)
    assert (site.role, site.anchor, site.page_index) == (role, anchor, page)


def test_mapping_rule_only_applies_to_the_head_page() -> None:
    # page 1's mapping slot holds folio fields (_large_mapcount ...), not a tagged pointer
    site = resolve_site(layouts(), "folio", "_large_mapcount", config_of("x86_64-6.18"))
    assert site.page_index == 1 and site.role == "plain"


def test_flags_word_site_does_not_depend_on_memcg_or_spinlocks() -> None:
    syms = site_symbols(layouts(), "ptdesc", "pt_flags")
    # (SPINLOCK_SIZE is read since struct page of 6.1 .. 6.5 held the page-table
    # spinlock in its first union, which every later page word follows)
    assert not syms & {"MEMCG", "DEBUG_SPINLOCK", "KMSAN"}
    assert "MEMCG" in site_symbols(layouts(), "ptdesc", "pt_memcg_data")  # exists only with MEMCG
    assert "ALLOC_SPLIT_PTLOCKS" in site_symbols(layouts(), "ptdesc", "ptl")
    # the 6.1 .. 6.5 page-table arm (ptl, pt_share_count) sizes the union before every later page word
    assert not syms - set(INPUT_SYMBOLS) - {"ARCH", "CPU_BIG_ENDIAN", "ALLOC_SPLIT_PTLOCKS", "SPINLOCK_SIZE",
                                            "ARCH_WANT_HUGE_PMD_SHARE"}


@pytest.mark.parametrize("access, declared, expect", [
    ("&ptdesc->pt_flags.f", None, ("ptdesc", "pt_flags.f")),
    ("ptdesc->__page_flags", None, ("ptdesc", "pt_flags")),  # renamed in 522abd92279a
    ("pt->__page_type", None, ("ptdesc", "__page_type")),
    ("desc->__page_flags", {"desc": "ioptdesc"}, ("ioptdesc", "__page_flags")),
    ("&folio->flags.f", None, ("folio", "flags.f")),
    ("ptdesc->some_field", None, None),
    ("skb->len", None, None),
])
def test_word_of_access(access: str, declared: dict[str, str] | None, expect: tuple[str, str] | None) -> None:
    assert word_of_access(access, layouts(), config_of("x86_64-6.18"), declared) == expect
