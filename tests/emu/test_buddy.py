"""The buddy allocator on struct page bytes: compound pages, refcounts,
free_pages_prepare()'s checks ("Bad page state" reasons) and what it clears,
the allocation-time check, and the leak of a non-compound block freed with
compound_order()."""

from __future__ import annotations

import pytest

from mmbits.emu.machine import Machine

from .helpers import sva


@pytest.fixture
def m() -> Machine:
    return Machine(sva(), "v6.19+fixes", npages=256)


def _kinds(m: Machine) -> list[str]:
    return [f.kind for f in m.findings]


def test_compound_page_layout(m: Machine) -> None:
    f = m.facts
    head = m.alloc_pages(2, comp=True)
    assert m.buddy.is_head(head) and m.buddy.compound_order(head) == 2
    assert m.mem.get(head, f.folio.field("_flags_1")) & 0xFF == 2  # folio_set_order()
    assert m.buddy.refcount(head) == 1
    for i in (1, 2, 3):
        assert m.mem.get(head + i, f.pw("compound_head")) == m.mem.page_addr(head) | 1
        assert m.mem.get(head + i, f.pw("mapping")) == f.poison["TAIL_MAPPING"]
        assert m.buddy.refcount(head + i) == 0
    m.free_pages(head, 2)
    assert not m.findings
    for i in range(4):
        assert m.mem.shadow[head + i] == 1
        assert m.mem.get(head + i, f.pw("compound_head")) & 1 == 0 or m.buddy.is_buddy(head + i)
    assert not m.mem.get(head + 1, f.pw("flags")) & f.masks["PAGE_FLAGS_SECOND"]


def test_non_compound_block_only_head_is_refcounted(m: Machine) -> None:
    pfn = m.alloc_pages(3)
    assert not m.buddy.is_head(pfn) and m.buddy.compound_order(pfn) == 0
    assert [m.buddy.refcount(pfn + i) for i in range(8)] == [1, 0, 0, 0, 0, 0, 0, 0]
    m.free_pages(pfn, 3)  # the right order: all eight back
    assert not m.findings
    assert all(m.mem.shadow[pfn + i] for i in range(8))


def test_compound_order_free_of_non_compound_block_leaks(m: Machine) -> None:
    pfn = m.alloc_pages(3, role="a non-compound order-3 block")
    m.free_pages(pfn, m.buddy.compound_order(pfn))  # what __pagetable_free() does
    m.leak_check()
    leaks = [f for f in m.findings if f.kind == "leak"]
    assert len(leaks) == 1 and leaks[0].data["pages"] == 7


def test_free_clears_check_at_prep_flags_type_and_cpupid(m: Machine) -> None:
    f = m.facts
    pte = m.pagetable_alloc("pte")
    flags = f.pw("flags")
    dirty = 1 << f.bit("PG_dirty")
    m.mem.or_bits(pte, flags, dirty | 1 << f.bit("PG_referenced"))
    cpupid = f.flags_word.field("last_cpupid")
    m.mem.clear_bits(pte, flags, cpupid.mask)
    m.free_pages(pte, 0)  # typed (PGTY_table) and flagged: 6.17+ resets the type
    assert not m.findings
    value = m.mem.get(pte, flags)
    assert value & f.masks["PAGE_FLAGS_CHECK_AT_PREP"] == 0
    assert value & cpupid.mask == cpupid.mask  # page_cpupid_reset_last()
    assert m.buddy.is_buddy(pte) or m.mem.get(pte, f.pw("page_type")) == 0xFFFFFFFF


@pytest.mark.parametrize(("word", "value", "reason"), [
    ("mapping", 0xFFFF888100000000, "non-NULL mapping"),
    ("memcg_data", 0xFFFF888100000002, "page still charged to cgroup"),
    ("_mapcount", 0, "nonzero mapcount"),
])
def test_bad_page_reasons(m: Machine, word: str, value: int, reason: str) -> None:
    pfn = m.alloc_pages(0)
    m.mem.set(pfn, m.facts.pw(word), value)
    m.free_pages(pfn, 0)
    bad = [f for f in m.findings if f.kind == "bad-page-at-free"]
    assert len(bad) == 1 and reason in bad[0].message
    assert not m.mem.shadow[pfn]  # a bad page is not freed


def test_reserved_flag_is_check_at_free(m: Machine) -> None:
    """Reference case 3: PG_reserved (PT_reserved) at __free_pages()."""
    pfn = m.alloc_pages(0)
    m.mem.or_bits(pfn, m.facts.pw("flags"), 1 << m.facts.bit("PT_reserved"))
    m.free_pages(pfn, 0)
    assert "PAGE_FLAGS_CHECK_AT_FREE flag(s) set" in m.findings[0].message


def test_referenced_is_not_check_at_free(m: Machine) -> None:
    """Reference case 2: PG_referenced is cleared by free_pages_prepare, silently."""
    pfn = m.alloc_pages(0)
    m.mem.or_bits(pfn, m.facts.pw("flags"), 1 << m.facts.bit("PG_referenced"))
    m.free_pages(pfn, 0)
    assert not m.findings


def test_last_failing_reason_wins(m: Machine) -> None:
    pfn = m.alloc_pages(0)
    m.mem.set(pfn, m.facts.pw("mapping"), 0x1000)
    m.mem.set(pfn, m.facts.pw("memcg_data"), 0x2000)
    m.free_pages(pfn, 0)
    assert "page still charged to cgroup" in m.findings[0].message


def test_nonzero_refcount_reason(m: Machine) -> None:
    pfn = m.alloc_pages(0)
    m.buddy.free_frozen(pfn, 0)  # a frozen-page free of a page someone still holds
    assert "nonzero _refcount" in m.findings[0].message


def test_alloc_time_check_at_prep(m: Machine) -> None:
    pfn = m.alloc_pages(0)
    m.free_pages(pfn, 0)
    m.mem.or_bits(pfn, m.facts.pw("flags"), 1 << m.facts.bit("PG_dirty"))  # written while free
    again = m.alloc_pages(0)
    assert again == pfn
    assert "PAGE_FLAGS_CHECK_AT_PREP flag(s) set" in m.findings[0].message


def test_double_free(m: Machine) -> None:
    pfn = m.alloc_pages(0)
    m.free_pages(pfn, 0)
    m.free_pages(pfn, 0)
    assert _kinds(m) == ["double-free"]


def test_freeing_everything_restores_the_boot_free_lists(m: Machine) -> None:
    boot = sorted(m.buddy.free_blocks())
    held = [(m.alloc_pages(o, comp=c), o) for o, c in ((0, False), (3, True), (1, False), (0, False), (2, True))]
    for pfn, order in reversed(held):
        m.free_pages(pfn, order)
    assert not m.findings
    assert sorted(m.buddy.free_blocks()) == boot
