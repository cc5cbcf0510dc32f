"""Property test of the allocator + deferred free: any sequence of correct
kernel operations on the upstream design keeps the machine consistent and
finds nothing; on the `sync` design an IOMMU finding appears exactly when a
table the IOMMU still caches is freed."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mmbits.emu.machine import Machine

from .helpers import sva

PAGES = 256
SLOTS = 2  # PTE-table slots in one PMD table of the vmalloc area


class Deferred(RuleBasedStateMachine):
    design = "v6.19+fixes"

    @initialize()
    def boot(self) -> None:
        self.m = Machine(sva(), self.design, npages=PAGES, sva=True, async_free=True)
        f = self.m.facts
        self.vas = [f.addresses["vmalloc_start"] + (i + 1) * (1 << f.levels[-2].shift) for i in range(SLOTS)]
        self.held: list[tuple[int, int, bool]] = []  # (pfn, order, compound)
        self.linked: dict[int, int] = {}  # va -> pte table pfn
        self.expect_iommu = False

    # -- the rules ---------------------------------------------------------------
    @rule(order=st.integers(0, 2), comp=st.booleans())
    def alloc(self, order: int, comp: bool) -> None:
        if len(self.held) < 12:
            self.held.append((self.m.alloc_pages(order, comp=comp), order, comp))

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0, 11))
    def free(self, i: int) -> None:
        pfn, order, _comp = self.held.pop(i % len(self.held))
        self.m.free_pages(pfn, order)

    @rule(slot=st.integers(0, SLOTS - 1))
    def map_table(self, slot: int) -> None:
        va = self.vas[slot]
        if va not in self.linked:
            pte = self.m.pagetable_alloc("pte")
            self.m.link(va, pte)
            self.linked[va] = pte

    @rule(slot=st.integers(0, SLOTS - 1))
    def iommu_walk(self, slot: int) -> None:
        self.m.iommu_walk(self.vas[slot])

    @rule()
    def iommu_walks_everything(self) -> None:
        for va in self.vas:
            self.m.iommu_walk(va)

    @rule()
    def invalidate(self) -> None:
        self.m.iommu_invalidate()

    @rule(slot=st.integers(0, SLOTS - 1))
    def unlink_and_free(self, slot: int) -> None:
        """pmd_free_pte_page(): pmd_clear, then pagetable_dtor_free()."""
        va = self.vas[slot]
        pte = self.linked.pop(va, None)
        if pte is None:
            return
        assert self.m.unlink(va) == pte
        cached = pte in self.m.st.iommu_cache.values()
        before = len(self.m.findings)
        self.m.pagetable_dtor_free(pte)
        self.after_free(pte, cached, before)

    def after_free(self, pte: int, cached: bool, before: int) -> None:
        pass

    @rule()
    def run_worker(self) -> None:
        self.m.run_worker()

    # -- invariants, after every step ---------------------------------------------
    @invariant()
    def nothing_found(self) -> None:
        if self.design == "v6.19+fixes":
            assert self.m.findings == [], [f.line() for f in self.m.findings]

    @invariant()
    def free_lists_match_the_shadow(self) -> None:
        m = self.m
        covered = bytearray(PAGES)
        for pfn, order in m.buddy.free_blocks():
            assert pfn % (1 << order) == 0
            assert m.buddy.is_buddy(pfn) and m.buddy.buddy_order(pfn) == order
            for p in range(pfn, pfn + (1 << order)):
                assert not covered[p]
                covered[p] = 1
        assert bytes(covered) == bytes(m.mem.shadow)

    @invariant()
    def held_blocks_are_intact(self) -> None:
        m = self.m
        for pfn, order, comp in self.held:
            assert m.buddy.refcount(pfn) == 1
            assert m.buddy.compound_order(pfn) == (order if comp and order else 0)
            for p in range(pfn, pfn + (1 << order)):
                assert not m.mem.shadow[p]
                assert m.buddy.is_tail(p) == (comp and p != pfn)

    @invariant()
    def queued_tables_look_like_case_13(self) -> None:
        """On the deferred list: page_type UINT_MAX, PT_kernel clear,
        refcount 1, mapping 0, pt_list linked (bit 0 clear)."""
        m = self.m
        f = m.facts
        for node in m.lists.entries(m.queues.work_head):
            pfn = m.pt_node_page(node)
            assert not m.mem.shadow[pfn]
            assert m.mem.get(pfn, f.pw("page_type")) == f.page_type_none
            assert not m.mem.get(pfn, f.pw("flags")) >> f.bit("PT_kernel") & 1
            assert m.buddy.refcount(pfn) == 1 and m.mem.get(pfn, f.pw("mapping")) == 0
            assert not m.buddy.is_tail(pfn)

    @invariant()
    def linked_tables_are_live(self) -> None:
        for va, pte in self.linked.items():
            assert self.m.tables.locate(va, self.m.tables.pte_level, "check") == (pte, self.m.tables.index(
                va, self.m.tables.pte_level))
            assert not self.m.mem.shadow[pte]


class SyncDesign(Deferred):
    """`sync` frees kernel tables at once: the IOMMU finding must appear
    exactly when the IOMMU's cache still points at the freed table."""

    design = "sync"

    def after_free(self, pte: int, cached: bool, before: int) -> None:
        new = [f for f in self.m.findings[before:] if f.kind == "iommu-use-after-free"]
        assert bool(new) == cached
        if cached:
            self.m.iommu_invalidate()  # one stale entry reported; start clean


TestDeferred = Deferred.TestCase
TestSyncDesign = SyncDesign.TestCase
