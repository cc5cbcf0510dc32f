"""Seed question 1: is BIT(NR_PAGEFLAGS) a free bit of ptdesc->pt_flags?

Baolu's one-list deferred free wanted ASYNC_PGTABLE_FREE_DTOR =
BIT(NR_PAGEFLAGS) in ptdesc->pt_flags to mark kernel page tables. Above
NR_PAGEFLAGS the flags word holds the packed fields (section, node, zone,
last_cpupid, KASAN tag, LRU gen/refs), so whether the bit is free depends on
the config. The list settled on PT_kernel = PG_referenced instead, a page
flag no page table uses. These tests are how a developer would settle it
with mmbits before posting.

    pytest examples/test_nr_pageflags_bit.py
"""

from __future__ import annotations

import pytest
from hypothesis import example, given

from mmbits.flags.packing import compute
from mmbits.kconfig.presets import preset
from mmbits.proposal import Proposal
from mmbits.prover import check
from mmbits.strategies import configs
from mmbits.testing import assert_bit_free

ASYNC_PGTABLE_FREE_DTOR = Proposal(name="ASYNC_PGTABLE_FREE_DTOR", expr="BIT(NR_PAGEFLAGS)",
                                   word="ptdesc.pt_flags", kind="kernel-pgtable")
PT_KERNEL = Proposal(name="PT_kernel", expr="PG_referenced", word="ptdesc.pt_flags", kind="kernel-pgtable",
                     set_at="alloc", test_at="pagetable_free", clear_at="pagetable_free")


def test_bit_nr_pageflags_is_not_free_on_every_config() -> None:
    """Over the whole default domain the bit lands on a packed field somewhere:
    the failure message is `mmbits check` output with a counterexample."""
    with pytest.raises(AssertionError) as failure:
        assert_bit_free(ASYNC_PGTABLE_FREE_DTOR)
    message = str(failure.value)
    assert message.startswith("ASYNC_PGTABLE_FREE_DTOR = BIT(NR_PAGEFLAGS) in ptdesc.pt_flags")
    assert "UNSAFE" in message
    assert "page.flags bits 25-26 = LRU_REFS" in message  # the colliding packed field, named
    assert "e.g. x86_64" in message or "e.g. arm64" in message  # with a config that shows it


@pytest.mark.mmbits_preset("x86_64-6.18")
def test_on_the_distro_kernel_the_bit_sits_in_the_gap(mmbits_flags) -> None:  # type: ignore[no-untyped-def]
    """On the 6.18 reference config the gap above the flags is wide: the
    bit only fails there because the allocator neither clears nor checks it."""
    nr = mmbits_flags.nr_pageflags
    first, last = mmbits_flags.gap
    assert first == nr and last - first + 1 >= 8
    with pytest.raises(AssertionError, match="unallocated-bit|not an allocated page flag"):
        assert_bit_free(ASYNC_PGTABLE_FREE_DTOR, "x86_64-6.18", lifecycle=False)


@given(configs(domain="default"))
@example(preset("x86_64-maxsmp"))  # NR_PAGEFLAGS = 25 is LRU_REFS bit 0 there
def test_where_the_bit_is_a_packed_field_the_prover_names_it(config) -> None:  # type: ignore[no-untyped-def]
    """Two views of one config must agree: the packing says which field owns
    bit NR_PAGEFLAGS, the prover must report a collision with that field."""
    word = compute(config)
    if not word.builds:
        return  # the kernel's own #error: nothing to place a bit in
    nr = word.nr_pageflags
    owners = [f for f in word.fields if f.lsb <= nr <= f.msb and not f.runtime]
    result = check(ASYNC_PGTABLE_FREE_DTOR, config=config, lifecycle=False)
    collisions = [f.message for f in result.findings if f.kind == "collision"]
    for field in owners:
        assert any(f"= {field.name.upper()}" in m for m in collisions), (config.label(), field, collisions)
    if not owners and nr < word.bits:
        assert not any("page.flags bits" in m and "ALLOC_TAG" not in m for m in collisions), collisions


def test_pt_kernel_alias_is_free_for_kernel_page_tables() -> None:
    """What was merged: PG_referenced, unused on page tables, set at
    allocation, tested and cleared in pagetable_free(); statically over the
    whole domain and through the emulated page-table lifecycle."""
    (result,) = assert_bit_free(PT_KERNEL)
    assert result.configs_checked > 100_000
    assert result.lifecycle.startswith("checked")
