"""list.h on emulated bytes with CONFIG_DEBUG_LIST's checks (lib/list_debug.c)."""

from __future__ import annotations

import pytest

from mmbits.emu.lists import ListCorruption
from mmbits.emu.machine import Machine

from .helpers import sva


@pytest.fixture
def m() -> Machine:
    return Machine(sva(), "v6.19+fixes", npages=128)


def _head(m: Machine, name: str) -> int:
    head = m.mem.alloc_static(name, 2 * m.facts.ptr_size)
    m.lists.init(head)
    return head


def test_add_del_and_poison(m: Machine) -> None:
    head = _head(m, "test_list")
    a, b = m.alloc_pages(0), m.alloc_pages(0)
    na, nb = m.pt_list_node(a), m.pt_list_node(b)
    m.lists.add(na, head)
    m.lists.add_tail(nb, head)
    assert m.lists.entries(head) == [na, nb]
    m.lists.delete(na)
    assert m.lists.entries(head) == [nb]
    assert m.lists.next(na) == m.lists.poison1 and m.lists.prev(na) == m.lists.poison2


def test_double_add_is_caught(m: Machine) -> None:
    head = _head(m, "test_list")
    na = m.pt_list_node(m.alloc_pages(0))
    m.lists.add(na, head)
    with pytest.raises(ListCorruption, match="double add"):
        m.lists.add(na, head)


def test_del_of_deleted_entry_is_caught(m: Machine) -> None:
    head = _head(m, "test_list")
    na = m.pt_list_node(m.alloc_pages(0))
    m.lists.add(na, head)
    m.lists.delete(na)
    with pytest.raises(ListCorruption, match="LIST_POISON1"):
        m.lists.delete(na)


def test_ptdesc_on_two_lists_corrupts_the_first(m: Machine) -> None:
    """Reference case 10: a ptdesc still on CPA's local list, queued for the
    worker without list_del(): the local list is corrupted."""
    cpa = _head(m, "pgtables")
    pte = m.pagetable_alloc("pte")
    node = m.pt_list_node(pte)
    other = m.pt_list_node(m.pagetable_alloc("pte"))
    m.lists.add(node, cpa)
    m.lists.add(other, cpa)
    m.lists.add(node, m.queues.work_head)  # the missing list_del()
    assert m.lists.entries(m.queues.work_head) == [node]  # the work list looks fine ...
    with pytest.raises(ListCorruption, match="next->prev should be"):
        m.lists.delete(other)  # ... CPA's list is broken: other->next->prev is not other


def test_splice_tail_init(m: Machine) -> None:
    src, dst = _head(m, "src"), _head(m, "dst")
    nodes = [m.pt_list_node(m.alloc_pages(0)) for _ in range(3)]
    for n in nodes:
        m.lists.add_tail(n, src)
    m.lists.splice_tail(src, dst)
    assert m.lists.empty(src)
    assert m.lists.entries(dst) == nodes
