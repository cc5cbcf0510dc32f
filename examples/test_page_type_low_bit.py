"""Seed question 2: is a low bit of ptdesc->__page_type kept across the
page-table lifecycle?

Dave Hansen suggested, and Baolu drafted, PTDESC_TYPE_KERNEL = BIT(0) of
__page_type, set in pte_free_kernel() and tested in pagetable_free(). The
catch is in the bytes: __SetPageTable() stores PGTY_table << 24 with the low
bits 0, __ClearPageTable() (the destructor, which runs between the set and
the test) stores UINT_MAX, and every untyped page reads UINT_MAX, so after
the destructor the bit reads 1 on every page. mmbits runs the lifecycle on
emulated struct pages and shows it.

    pytest examples/test_page_type_low_bit.py
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbits.emu.machine import Machine
from mmbits.kconfig.presets import preset
from mmbits.proposal import Proposal
from mmbits.testing import assert_bit_free, assert_no_findings

UINT_MAX = 0xFFFFFFFF


def ptdesc_type_kernel(bit: int = 0) -> Proposal:
    return Proposal(name="PTDESC_TYPE_KERNEL", expr=f"BIT({bit})", word="ptdesc.__page_type",
                    kind="kernel-pgtable", set_at="pte_free_kernel", test_at="pagetable_free", clear_at="never")


def vmalloc_va(m: Machine, slot: int = 1) -> int:
    """An address whose PTE table hangs off its own PMD entry."""
    return m.facts.addresses["vmalloc_start"] + slot * (1 << m.facts.levels[-2].shift)


@pytest.mark.mmbits_preset("x86_64-6.18")
def test_the_destructor_wipes_the_bit_before_pagetable_free_tests_it(mmbits_config) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AssertionError) as failure:
        assert_bit_free(ptdesc_type_kernel(0), mmbits_config)
    message = str(failure.value)
    assert "wiped-before-test" in message  # set at pte_free_kernel, overwritten by the dtor
    assert "always-true" in message  # and every untyped page reads it set
    assert "0xf2000001 -> 0xffffffff" in message  # the bytes that did it


@pytest.mark.mmbits_variant("page-type-bit0-sketch", npages=256, sva=True, async_free=True)
def test_the_bytes_of_one_table_through_its_life(mmbits_machine) -> None:  # type: ignore[no-untyped-def]
    m = mmbits_machine
    page_type = m.facts.pw("page_type")
    va = vmalloc_va(m)
    pte = m.pagetable_alloc("pte")
    assert m.mem.get(pte, page_type) == 0xF2 << 24  # __SetPageTable(): PGTY_table, low bits clear
    m.link(va, pte)
    m.iommu_walk(va)  # an SVA device caches the walk through this table
    m.unlink(va)
    m.pagetable_dtor_free(pte)  # pte_free_kernel() sets BIT(0), the dtor writes UINT_MAX
    assert m.mem.get(pte, page_type) == UINT_MAX
    kinds = {f.kind for f in m.findings}
    assert "wiped-before-test" in kinds
    # a user page table never sets the bit, yet pagetable_free() reads it set
    user = m.pagetable_alloc("pte", kernel=False)
    m.pagetable_dtor_free(user)
    m.run_worker()
    assert any(f.kind == "always-true" for f in m.findings)


@given(bit=st.integers(0, 23))
def test_no_low_bit_survives_the_destructor(bit: int) -> None:
    """Any owner bit below the type byte: the destructor's UINT_MAX makes it
    read set on every page, so none can mark a table past pagetable_dtor()."""
    config = preset("x86_64-6.18")
    m = Machine(config, "v6.19+fixes", npages=128, async_free=True, proposal=ptdesc_type_kernel(bit))
    pte = m.pagetable_alloc("pte")
    m.pagetable_dtor_free(pte)  # queued for the worker: no owner, no type
    assert m.mem.get(pte, m.facts.pw("page_type")) == UINT_MAX
    m.run_worker()  # ... and now a free buddy page
    assert any(f.kind in ("wiped-before-test", "always-true") for f in m.findings)


@pytest.mark.mmbits_variant("v6.19+fixes", npages=256, sva=True, async_free=True)
def test_upstream_pt_kernel_keeps_its_bit_until_pagetable_free(mmbits_machine) -> None:  # type: ignore[no-untyped-def]
    """What was merged keeps the mark in pt_flags (PG_referenced), which the
    destructor does not touch: the same life ends clean."""
    m = mmbits_machine
    va = vmalloc_va(m)
    pte = m.pagetable_alloc("pte")
    m.link(va, pte)
    m.iommu_walk(va)
    m.unlink(va)
    m.pagetable_dtor_free(pte)
    m.run_worker()
    assert_no_findings(m)
