"""A hypothesis RuleBasedStateMachine over the emulated allocator and the
deferred kernel page-table free system, for users to subclass.

The base drives correct kernel operations (allocate and free blocks, map a
PTE table into the vmalloc area, let the IOMMU walk it, pmd_free_pte_page(),
run the worker, invalidate) on bit-exact struct pages, and fails on any error
the emulator reports, after every step and at the end of a run (leaks of
what nobody holds). A subclass picks the design and the config and adds its
own rules and invariants; hypothesis then searches for, and shrinks, a
sequence that breaks them::

    from hypothesis.stateful import invariant
    from mmbits.stateful import DeferredFreeMachine

    class MyDesign(DeferredFreeMachine):
        config = "i386-pae-sparsemem"
        variant = "three-lists"

        @invariant()
        def queue_is_short(self):
            assert len(self.queued()) <= 4

    TestMyDesign = MyDesign.TestCase

`self.machine` is the mmbits.emu.Machine, `self.held` the blocks a test
thread owns, `self.linked` the PTE tables in place per virtual address.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mmbits.testing import assert_no_findings

__all__ = ["DeferredFreeMachine"]


class DeferredFreeMachine(RuleBasedStateMachine):
    #: a preset name or a mmbits Config
    config: Any = "x86_64-6.18"
    #: a design name (`mmbits simulate --variant`), or "proposal" with `proposal`
    variant: str = "v6.19+fixes+hotplug"
    #: a mmbits.proposal.Proposal plugged into the design (v6.19+fixes+hotplug, the proposal base, by default) (or None)
    proposal: Any = None
    npages: int = 256
    #: an SVA-bound IOMMU walking kernel tables (where the arch shares them)
    sva: bool = True
    #: CONFIG_ASYNC_KERNEL_PGTABLE_FREE (None: what the config says)
    async_free: bool | None = True
    #: PMD slots of the vmalloc area the rules map PTE tables into
    slots: int = 2
    #: most blocks held at once
    max_held: int = 12
    #: finding kinds that fail the run (None: every error)
    fail_on: tuple[str, ...] | None = None

    @initialize()
    def boot(self) -> None:
        from mmbits.emu.machine import Machine
        from mmbits.kconfig.presets import preset

        config = preset(self.config) if isinstance(self.config, str) else self.config
        self.machine = Machine(config, self.variant, npages=self.npages, sva=self.sva, async_free=self.async_free,
                               proposal=self.proposal)
        f = self.machine.facts
        step = 1 << f.levels[-2].shift  # one PMD entry's span
        self.vas = [f.addresses["vmalloc_start"] + (i + 1) * step for i in range(self.slots)]
        self.held: list[tuple[int, int, bool]] = []  # (pfn, order, __GFP_COMP)
        self.linked: dict[int, int] = {}  # va -> PTE table pfn

    # -- rules: what a correct kernel does ---------------------------------------------------------
    @rule(order=st.integers(0, 2), comp=st.booleans())
    def alloc_pages(self, order: int, comp: bool) -> None:
        if len(self.held) < self.max_held:
            self.held.append((self.machine.alloc_pages(order, comp=comp, who="test thread"), order, comp))

    @precondition(lambda self: bool(self.held))
    @rule(i=st.integers(0, 63))
    def free_pages(self, i: int) -> None:
        pfn, order, _ = self.held.pop(i % len(self.held))
        self.machine.free_pages(pfn, order)

    @rule(slot=st.integers(0, 63))
    def map_pte_table(self, slot: int) -> None:
        """vmap() of a small range: a kernel PTE table under a PMD entry."""
        va = self.vas[slot % self.slots]
        if va not in self.linked:
            pte = self.machine.pagetable_alloc("pte")
            self.machine.link(va, pte)
            self.linked[va] = pte

    @rule(slot=st.integers(0, 63))
    def iommu_walk(self, slot: int) -> None:
        self.machine.iommu_walk(self.vas[slot % self.slots])

    @rule()
    def iommu_walk_all(self) -> None:
        """The device touches every mapped address (its paging-structure cache fills)."""
        for va in self.linked:
            self.machine.iommu_walk(va)

    @rule()
    def iommu_invalidate(self) -> None:
        self.machine.iommu_invalidate()

    @rule(slot=st.integers(0, 63))
    def pmd_free_pte_page(self, slot: int) -> None:
        """Huge vmap promotion: pmd_clear(), then pagetable_dtor_free() of the PTE table."""
        va = self.vas[slot % self.slots]
        pte = self.linked.pop(va, None)
        if pte is not None:
            self.machine.unlink(va)
            self.machine.pagetable_dtor_free(pte)

    @rule()
    def run_worker(self) -> None:
        self.machine.run_worker()

    # -- what must hold ----------------------------------------------------------------------------
    @invariant()
    def no_findings(self) -> None:
        if hasattr(self, "machine"):
            assert_no_findings(self.machine, kinds=self.fail_on)

    def teardown(self) -> None:
        """End of a run: the worker drains, and whatever no page table, queue or
        test thread owns is a leak."""
        if not hasattr(self, "machine"):
            return
        m = self.machine
        m.run_worker()
        m.leak_check(held=frozenset(p + i for p, order, _ in self.held for i in range(1 << order)))
        assert_no_findings(m, kinds=self.fail_on)

    # -- helpers for subclasses --------------------------------------------------------------------
    def queued(self) -> list[int]:
        """The pfns on the deferred-free work list, in list order."""
        m = self.machine
        return [m.pt_node_page(node) for node in m.lists.entries(m.queues.work_head, limit=m.mem.npages)]
