"""Seed question 3: does a one-list deferred free leak non-compound pages?

With one work list the worker frees every queued table the same way:
__free_pages(page, compound_order(page)). A table is one page, so that is
right for tables; but memory hot-remove also hands vmemmap blocks to the
page-table free path, and vmemmap_alloc_block() allocates them without
__GFP_COMP. compound_order() of such a block is 0: one page goes back, the
other 511 are lost (the bug bf9e4e30f353 introduced and a later fix closed
with free_vmemmap_pages(page, order)). The three-lists design kept a list
with the order for exactly this.

    pytest examples/test_one_list_noncompound_leak.py
"""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from mmbits.emu.simulate import simulate
from mmbits.kconfig.presets import preset
from mmbits.stateful import DeferredFreeMachine
from mmbits.testing import assert_no_findings

PMD_ORDER = 9  # a 2 MiB vmemmap block on x86_64


@pytest.mark.mmbits_variant("v6.19+fixes", npages=2048, async_free=True)
@pytest.mark.parametrize("compound", [False, True], ids=["plain", "GFP_COMP"])
def test_worker_frees_compound_order_only(mmbits_machine, compound: bool) -> None:  # type: ignore[no-untyped-def]
    m = mmbits_machine
    block = m.alloc_pages(PMD_ORDER, comp=compound, who="vmemmap_alloc_block")
    m.enqueue(block)  # pagetable_free_kernel(): onto the one list
    m.quiesce()  # the worker: __free_pages(page, compound_order(page)); then the leak check
    leaks = [f for f in m.findings if f.kind == "leak"]
    if compound:
        assert_no_findings(m)
    else:
        assert len(leaks) == 1
        assert leaks[0].data["pages"] == (1 << PMD_ORDER) - 1  # all but the head page


@pytest.mark.parametrize("variant", ["v6.19+cpa-mark", "v6.19+fixes"])
def test_hot_remove_of_a_vmemmap_block(variant: str) -> None:
    """The same question through the whole hot-remove path (remove_pagetable()
    -> free_hugepage_table()), before and after the fix."""
    result = simulate(preset("x86_64-6.18"), variant, only=("hot-remove",), cpus=1, ops=1, mode="sequential")
    if variant == "v6.19+fixes":
        assert_no_findings(result)
    else:
        with pytest.raises(AssertionError, match=r"511 page\(s\) leaked"):
            assert_no_findings(result)


class QueuesVmemmapBlocks(DeferredFreeMachine):
    """The allocator and deferred free of the base class, plus hot-remove
    handing whole vmemmap blocks to the one list."""

    npages = 512
    compound_blocks = True

    @rule(order=st.integers(1, 3))
    def hot_remove_vmemmap_block(self, order: int) -> None:
        block = self.machine.alloc_pages(order, comp=self.compound_blocks, who="vmemmap_alloc_block")
        self.machine.enqueue(block)


class QueuesPlainBlocks(QueuesVmemmapBlocks):
    compound_blocks = False


# short runs: a leak needs two steps (queue a block, let the worker free it);
# `pytest --hypothesis-profile=fuzz` or `-m slow` runs the long searches
SHORT = settings(max_examples=15, stateful_step_count=8)
# finding the leak takes two machines; shrinking it to the smallest run takes ~60 more,
# so the default run only finds it and test_state_machine_long_runs (slow) also shrinks
FIND = settings(SHORT, phases=[Phase.explicit, Phase.reuse, Phase.generate])


def test_state_machine_with_compound_blocks_finds_nothing() -> None:
    run_state_machine_as_test(QueuesVmemmapBlocks, settings=SHORT)


def test_state_machine_finds_the_leak_of_plain_blocks() -> None:
    """hypothesis finds a run that leaks: a plain block queued and freed by the worker."""
    with pytest.raises(AssertionError, match=r"leak: \d+ page\(s\) leaked"):
        run_state_machine_as_test(QueuesPlainBlocks, settings=FIND)


@pytest.mark.slow
def test_state_machine_long_runs() -> None:
    """The same two questions with hypothesis's default search length; the leak is
    shrunk to its smallest run (one plain block queued, the worker frees it)."""
    run_state_machine_as_test(QueuesVmemmapBlocks)
    with pytest.raises(AssertionError, match=r"leak: \d+ page\(s\) leaked"):
        run_state_machine_as_test(QueuesPlainBlocks)
