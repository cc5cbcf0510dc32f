"""Struct pages are bytes read and written through the resolved layouts:
aliasing between descriptors is real, and the fast Field path and construct
agree byte for byte."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbits.emu.machine import Machine
from mmbits.layout.codec import construct_decode, construct_encode
from mmbits.layout.model import Layout

from .helpers import sva

VA = 0xFFFFC90000200000


@pytest.fixture
def m() -> Machine:
    return Machine(sva(), "v6.19+fixes", npages=256)


def test_pt_list_writes_the_word_compound_head_reads(m: Machine) -> None:
    f = m.facts
    pte = m.pagetable_alloc("pte")
    m.link(VA, pte)
    m.unlink(VA)
    m.pagetable_dtor_free(pte)  # kernel-marked: list_add() on pt_list
    node = m.mem.get(pte, f.pd("pt_list.next"))
    assert node == m.queues.work_head  # the only entry: its next is the list head
    assert m.mem.get(pte, f.pw("compound_head")) == node  # the same bytes
    assert m.mem.get(pte, f.pw("lru.next")) == node
    assert node & 1 == 0  # not mistaken for a tail page (reference case 10)
    assert not m.buddy.is_tail(pte)


def test_list_del_writes_list_poison_with_the_arch_delta(m: Machine) -> None:
    f = m.facts
    delta = int(m.config["POISON_POINTER_DELTA"])
    pfn = m.alloc_pages(0)  # the allocator list_del()s the block off its free list
    assert m.mem.get(pfn, f.pw("buddy_list.next")) == delta + 0x100
    assert m.mem.get(pfn, f.pw("lru.prev")) == delta + 0x122  # LIST_POISON2, include/linux/poison.h
    assert delta == 0xDEAD000000000000


def test_clear_page_table_writes_uint_max_over_page_type(m: Machine) -> None:
    f = m.facts
    pte = m.pagetable_alloc("pte")
    assert m.mem.get(pte, f.pd("__page_type")) == f.pgty["PGTY_table"] << 24
    m.clear_page_table(pte, "test")
    assert m.mem.get(pte, f.pw("page_type")) == 0xFFFFFFFF
    assert m.mem.get(pte, f.pw("_mapcount")) == -1  # the same bits, as an atomic_t


def test_mark_is_pg_referenced_in_the_flags_word(m: Machine) -> None:
    f = m.facts
    pte = m.pagetable_alloc("pte")
    assert m.mem.get(pte, f.pd("pt_flags")) >> f.bit("PG_referenced") & 1
    assert f.bit("PT_kernel") == f.bit("PG_referenced") == 2  # reference section 0.2


def _check_codec(layout: Layout, data: bytes) -> None:
    fast = layout.decode(data)
    assert construct_decode(layout, data) == fast
    assert construct_encode(layout, fast) == data


@pytest.mark.parametrize("name", ["x86_64-6.18", "i386-pae-sparsemem", "arm64-max"])
def test_field_path_and_construct_give_identical_bytes(name: str) -> None:
    m = Machine(sva(name), "v6.19+fixes", npages=256)
    f = m.facts
    pte = m.pagetable_alloc("pte")
    va = f.addresses["vmalloc_start"] + (1 << f.levels[-2].shift)
    m.link(va, pte)
    m.unlink(va)
    m.pagetable_dtor_free(pte)
    busy = m.alloc_pages(2, comp=True)
    for pfn in (pte, busy, busy + 1, busy + 3, m.mem.npages - 1):
        data = m.mem.page_bytes(pfn)
        _check_codec(f.page, data)
        _check_codec(f.ptdesc, data[:f.ptdesc.size])


def test_sizes_per_config() -> None:
    assert Machine(sva("x86_64-6.18"), npages=64).facts.sizeof_page == 64
    assert Machine(sva("i386-pae-sparsemem"), npages=64).facts.sizeof_page == 40


@cache
def _machine() -> Machine:
    return Machine(sva(), "v6.19+fixes", npages=64)


@given(st.data())
def test_fast_path_write_equals_construct_build(data: st.DataObject) -> None:
    """The bench's comparison as a property: one word written with Field.set
    and with construct's build of that word give the same page bytes."""
    import io

    import construct as cs

    m = _machine()
    layout = m.facts.page
    names = sorted(n for n, f in layout.words.items() if f.bit_size is None)
    f = layout.field(data.draw(st.sampled_from(names)))
    value = data.draw(st.integers(0, (1 << f.size * 8) - 1))
    page = bytearray(m.mem.page_bytes(data.draw(st.integers(0, m.mem.npages - 1))))
    fast = bytearray(page)
    f.set(fast, value)
    stream = io.BytesIO(bytes(page))
    signed = value - (1 << f.size * 8) if f.signed and value >> (f.size * 8 - 1) else value
    cs.Pointer(f.offset, cs.BytesInteger(f.size, signed=f.signed, swapped=f.little)).build_stream(signed, stream)
    assert stream.getvalue() == bytes(fast)
    assert construct_decode(layout, bytes(fast)) == layout.decode(bytes(fast))
