"""The kernel's history and the designs argued on the lists, each one code
change from its neighbour (shared/reference/deferred-free-and-memdesc.md
sections 2.2, 2.3, 3 and 6; the threads in shared/seeds/). The base class
mmbits.emu.design.Design is v6.19 as merged. What each variant gets wrong is
not written here: the emulator finds it in the bytes, the locks and the
IOMMU's caches.

History: sync (before the series) -> two-lists / three-lists (2025-08 drafts)
-> nr-pageflags-bit, page-type-bit0-sketch, page-type-bit0-baolu (one list,
2025-08-27/28) -> pmd-ptdesc (v6) -> v6.19 (merged) -> v6.19+vmemmap-fix,
v6.19+cpa-mark -> v6.19+fixes (both fixes, hot-remove as upstream) ->
v6.19+fixes+hotplug (hypothetical: hot-add tables marked too); ptdump-race / ptdump-fixed /
ptdump-arm64-both (2026-07); memdesc-ptdesc (the 2025-10 RFC).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmbits.emu.design import Design, Steps
from mmbits.emu.marking import Marking
from mmbits.emu.steps import Step, step
from mmbits.errors import InputError

if TYPE_CHECKING:
    from mmbits.emu.machine import Machine
    from mmbits.proposal import Proposal


class VmemmapFix(Design):
    """David Hildenbrand, "[PATCH v2] x86/mm: fix freeing of PMD-sized vmemmap
    pages", 2026-04-29 (Message-ID 20260429-vmemmap-v2-1-8dfcacffd877@kernel.org):
    vmemmap pages are freed by free_vmemmap_pages(page, order, altmap) ->
    __free_pages(page, order), no longer through free_pagetable()."""

    name = "v6.19+vmemmap-fix"
    title = "v6.19 plus free_vmemmap_pages(): hot-remove frees vmemmap blocks with their order"

    def free_vmemmap_4k(self, m: Machine, pfn: int, who: str) -> None:
        self.free_vmemmap_pages(m, pfn, 0, who)

    def free_vmemmap_block(self, m: Machine, pfn: int, order: int, who: str) -> None:
        self.free_vmemmap_pages(m, pfn, order, who)


class CpaMark(Design):
    """The gap Kiryl Shutsemau and Lorenzo Stoakes named on 2026-07-13 ("mm: fix
    UAF caused by race between ptdump and vmap pgtable freeing" thread; "I'll
    send a patch", status unverified): split_large_page() allocates its table
    with pagetable_alloc() and ptdesc_set_kernel(), so collapse defers it."""

    name = "v6.19+cpa-mark"
    title = "v6.19 plus kernel-marked CPA split tables (collapse defers them past the IOMMU flush)"

    def alloc_cpa_table(self, m: Machine, role: str, level: int | None = None) -> int:
        return self.alloc_table(m, m.tables.pte_level if level is None else level, kernel=True, role=role,
                                ctor=False)


class Fixes(VmemmapFix, CpaMark):
    """v6.19 with both fixes above, and nothing else: the kernel as it would
    be with them applied. Memory hot-remove stays as upstream has it (the v7
    8/8 commit message calls hot-unplug an uncovered corner; no posted patch
    changes it that we found):
    - the tables of hot-added memory are not marked kernel: alloc_low_pages()
      after boot is __get_free_pages(GFP_KERNEL | __GFP_ZERO, order)
      (arch/x86/mm/init.c, v6.19) and vmemmap_alloc_block_zero()
      (mm/sparse-vmemmap.c, v6.19) allocates a plain zeroed page; neither
      calls ptdesc_set_kernel(), so hot-remove frees them through
      __pagetable_free() without the IOMMU invalidation;
    - free_pte_table() frees the table first and clears the pmd after
      (arch/x86/mm/init_64.c, v6.19).
    So this variant is not SAFE on the IOMMU question: the hot-remove path is
    the hole that is left. `v6.19+fixes+hotplug` closes it (hypothetically)."""

    name = "v6.19+fixes"
    title = "v6.19 with the vmemmap fix and marked CPA split tables; hot-add tables unmarked, as upstream"


class Closed(Fixes):
    """v6.19+fixes plus two changes to memory hot-remove that are no upstream
    patch we know of, closing the hole v6.19+fixes leaves:
    - the tables of hot-added memory are marked kernel at allocation (as if
      alloc_low_pages() and vmemmap_alloc_block_zero() called
      ptdesc_set_kernel()), so hot-remove defers them past the IOMMU flush;
    - free_pte_table() clears the pmd before freeing the table: in the
      kernel's order (free, then clear) even a deferred free can have the
      worker invalidate the IOMMU while the table is still linked, the IOMMU
      walk it again, and the worker free it under the fresh cache entry.
    This is the design a marking proposal is plugged into (PROPOSAL_BASE):
    what goes wrong there is the proposal's, not a known hole."""

    name = "v6.19+fixes+hotplug"
    title = "hypothetical: v6.19+fixes plus marked hot-add tables and clear-before-free in hot-remove"
    clear_before_free = True

    def alloc_hotplug_table(self, m: Machine, level: int, role: str) -> int:
        return self.alloc_table(m, level, kernel=True, role=role, ctor=False)


class Sync(Design):
    """v6.18 before the series (and every arch without
    ASYNC_KERNEL_PGTABLE_FREE): no kernel-table mark, pte_free_kernel() ->
    pagetable_dtor_free() -> __free_pages() at once, free_pagetable() ->
    __free_pages(page, order) (before bf9e4e30f353), CPA collapse ->
    __free_page(). No IOMMU invalidation anywhere (section 1)."""

    name = "sync"
    title = "before the series: kernel tables freed at once, no IOMMU invalidation"
    deferred = False

    def own_marking(self) -> Marking | None:
        return None

    def pagetable_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        self.check_unlinked(m, pfn, who)
        m.lifecycle("pagetable_free", pfn)
        self.pagetable_free_now(m, pfn, who)
        return []

    def free_pagetable_pages(self, m: Machine, pfn: int, order: int, who: str) -> None:
        """arch/x86/mm/init_64.c free_pagetable() before bf9e4e30f353, non-reserved
        branch: __free_pages(page, order)."""
        if m.trace:
            m.note(f"{who}: free_pagetable(pfn {pfn:#x}, order {order}) -> __free_pages(order {order})")
        m.free_pages(pfn, order, who=f"{who}: free_pagetable")


class ThreeLists(Sync):
    """Lu Baolu, 2025-08-23 (Message-ID e321d374-38a7-4f60-b991-58458a2761b9;
    reference section 2.2 item 2), as posted: `kernel_pgtable_work` with the
    lists `dtor` (pte_free_kernel(): the destructor runs in the worker),
    `page` (order-0 pages: CPA collapse hands its whole `pgtables` list over
    with list_splice_tail()) and `pages` (free_pagetable(): an
    async_free_data {addr, order} from kzalloc(GFP_ATOMIC); when that fails
    the page is freed at once -- the emulator's kzalloc does not fail); one
    spinlock; the worker splices the three lists and frees each entry with
    its own function. There is no IOMMU invalidation: the commit message
    leaves it to "a future patch"."""

    name = "three-lists"
    title = "three lists (dtor / page / pages), as posted 2025-08-23: no IOMMU invalidation in the worker"
    deferred = True
    invalidates = False

    def boot(self, m: Machine) -> None:
        super().boot(m)
        ptr = m.facts.ptr_size
        q = m.queues
        q.page_head = m.mem.alloc_static("kernel_pgtable_work.page", 2 * ptr)
        q.worker_page_list = m.mem.alloc_static("page_list (work func stack)", 2 * ptr, on_stack=True)
        m.lists.init(q.page_head)
        m.lists.init(q.worker_page_list)

    def kernel_table_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        """pte_free_kernel(&init_mm) / pmd_free(&init_mm) -> kernel_pgtable_async_free_dtor()."""
        m.lifecycle("pte_free_kernel", pfn)
        self.check_unlinked(m, pfn, who)
        m.note("kernel_pgtable_async_free_dtor(): list_add(&ptdesc->pt_list, &kernel_pgtable_work.dtor)")
        m.lists.add(m.pt_list_node(pfn), m.queues.work_head)
        m.lifecycle("enqueue", pfn)
        m.st.work_pending = True
        return []

    def free_pagetable_pages(self, m: Machine, pfn: int, order: int, who: str) -> None:
        if m.trace:
            m.note(f"{who}: kernel_pgtable_async_free_pages(pfn {pfn:#x}, order {order}): "
                   f"kzalloc(GFP_ATOMIC) async_free_data, list_add(&kernel_pgtable_work.pages)")
        m.st.lists3 = (*m.st.lists3, (pfn, order))
        m.st.work_pending = True

    def free_vmemmap_4k(self, m: Machine, pfn: int, who: str) -> None:
        self.free_pagetable(m, pfn, 0, who)

    def free_vmemmap_block(self, m: Machine, pfn: int, order: int, who: str) -> None:
        self.free_pagetable(m, pfn, order, who)

    def st_cpa_free(self, m: Machine, t: str, head: int) -> Steps:
        """cpa_collapse_large_pages(): flush_tlb_all();
        kernel_pgtable_async_free_page_list(&pgtables) = list_splice_tail(&pgtables,
        &kernel_pgtable_work.page) under the lock (the on-stack head is not
        re-initialised: it dies with the frame)."""
        if m.lists.empty(head):
            m.pop_frame(head)
            return []
        m.note("flush_tlb_all(); spin_lock(); list_splice_tail(&pgtables, &kernel_pgtable_work.page); spin_unlock()")
        m.lists.splice_tail(head, m.queues.page_head, init=False)
        m.st.work_pending = True
        m.pop_frame(head)
        return []

    def in_flight(self, m: Machine) -> set[int]:
        out = super().in_flight(m)
        for node in m.lists.entries(m.queues.page_head, limit=m.mem.npages):
            out.add(m.pt_node_page(node))
        for pfn, order in m.st.lists3:
            out.update(range(pfn, pfn + (1 << order)))
        return out

    def st_work_start(self, m: Machine, t: str) -> Steps:
        q = m.queues
        m.st.work_pending = False
        m.lists.init(q.worker_list)
        m.lists.init(q.worker_page_list)
        m.lists.splice_tail(q.work_head, q.worker_list, init=True)
        m.lists.splice_tail(q.page_head, q.worker_page_list, init=True)
        pages = m.st.lists3
        m.st.lists3 = ()
        m.note("spin_lock(); splice the dtor, page and pages lists onto the stack; spin_unlock()")
        steps: Steps = [Step("work_invalidate")] if self.invalidates else []
        return [*steps, Step("work_free3", (pages,))]

    @step("work_free3", "pages")
    def st_work_free3(self, m: Machine, t: str, pages: tuple[Any, ...]) -> Steps:
        """The three loops: pagetable_dtor_free() the dtor list, __free_page()
        the page list (list_del first), free_pages() each async_free_data."""
        q = m.queues
        budget = m.mem.npages
        for which, head in (("dtor", q.worker_list), ("page", q.worker_page_list)):
            while not m.lists.empty(head):
                budget -= 1
                if budget < 0:
                    m.report("list-corruption", f"kernel_pgtable_work_func(): the {which} list never empties",
                             where="kernel_pgtable_work_func: list loop", crash=True)
                node = m.lists.next(head)
                pfn = m.pt_node_page(node)
                m.lists.delete(node)
                m.lifecycle("worker", pfn)
                if which == "dtor":
                    if m.trace:
                        m.note(f"list_del(); pagetable_dtor_free(pfn {pfn:#x})")
                    self.dtor(m, pfn, "kernel_pgtable_work_func")
                else:
                    if m.trace:
                        m.note(f"list_del(); __free_page(pfn {pfn:#x})")
                self.pagetable_free_now(m, pfn, "kernel_pgtable_work_func")
        for pfn, order in pages:
            if m.trace:
                m.note(f"free_pages(pfn {pfn:#x}, order {order}); kfree(async_free_data)")
            m.free_pages(pfn, order, who="kernel_pgtable_work_func: free_pages")
        m.pop_frame(q.worker_list)
        m.pop_frame(q.worker_page_list)
        return []


class TwoLists(ThreeLists):
    """The two-list draft Lu Baolu posted before the three-list version, as
    posted: "[PATCH v3 1/1] iommu/sva: Invalidate KVA range on kernel TLB
    flush" thread (iommu@lists.linux.dev, linux-kernel, stable), Baolu Lu
    2025-08-18 ("Perhaps a separate list is needed? What about something like
    the following?"), kept in the archive as quoted in Kevin Tian's reply of
    2025-08-21 and in Baolu's 2025-08-23 message (Message-ID
    e321d374-38a7-4f60-b991-58458a2761b9):

    - kernel_pte_work has two lists: `list` (pte_free_kernel_async():
      list_add(&ptdesc->pt_list), the destructor runs in the worker) and
      `pages` (kernel_pgtable_free_pages_async(page, order): every one of the
      1 << order pages list_add()ed on its own; kernel_pgtable_free_list_async():
      CPA's pgtables list_splice_tail()ed);
    - the worker calls iommu_sva_invalidate_kva_range(0, TLB_FLUSH_ALL)
      first, then under the lock list_move(&kernel_pte_work.list,
      &free_list) and list_move(&kernel_pte_work.pages, &pages_list) -- which
      move the global list HEADS onto the stack lists, not their entries --
      and frees each entry with list_del() + pagetable_dtor_free() or
      __free_page().

    The emulator runs that code; what the two list_move()s and the
    invalidate-before-take order do is found in the bytes, not written here."""

    name = "two-lists"
    title = "two lists (list / pages), 2025-08-18 draft: list_move() of the global heads, invalidate before taking"

    def free_pagetable_pages(self, m: Machine, pfn: int, order: int, who: str) -> None:
        """kernel_pgtable_free_pages_async(): each page of the block on `pages`."""
        if m.trace:
            m.note(f"{who}: kernel_pgtable_free_pages_async(pfn {pfn:#x}, order {order}): list_add() "
                   f"{1 << order} page(s) to kernel_pte_work.pages")
        for i in range(1 << order):
            m.lists.add(m.pt_list_node(pfn + i), m.queues.page_head)
        m.st.work_pending = True

    def in_flight(self, m: Machine) -> set[int]:
        out = Design.in_flight(self, m)
        for node in m.lists.entries(m.queues.page_head, limit=m.mem.npages):
            out.add(m.pt_node_page(node))
        return out

    def st_work_start(self, m: Machine, t: str) -> Steps:
        """kernel_pte_work_func(): LIST_HEAD(free_list); LIST_HEAD(pages_list);
        the invalidation comes first, before the lists are taken."""
        m.st.work_pending = False
        m.note("kernel_pte_work_func(): iommu_sva_invalidate_kva_range() before taking the lists")
        return [Step("work_invalidate"), Step("work_take_two"), Step("work_free3", ((),))]

    @step("work_take_two")
    def st_work_take_two(self, m: Machine, t: str) -> Steps:
        """spin_lock(); list_move(&kernel_pte_work.list, &free_list);
        list_move(&kernel_pte_work.pages, &pages_list); spin_unlock()."""
        q = m.queues
        m.lists.init(q.worker_list)
        m.lists.init(q.worker_page_list)
        m.note("spin_lock(); list_move(&kernel_pte_work.list, &free_list); "
               "list_move(&kernel_pte_work.pages, &pages_list); spin_unlock()")
        for head, stack in ((q.work_head, q.worker_list), (q.page_head, q.worker_page_list)):
            m.lists.delete(head)  # list_move() = list_del() + list_add() of the entry given: the head
            m.lists.add(head, stack)
        return []


class NrPageflagsBit(Design):
    """Lu Baolu, 2025-08-27 (Message-ID c69950ee-660b-4f51-9277-522470d0ce5d,
    quoted in seed 001; reference section 2.2 item 3): one list;
    kernel_pgtable_async_free_dtor() sets ASYNC_PGTABLE_FREE_DTOR =
    BIT(NR_PAGEFLAGS) in __page_flags and list_add()s; other kernel pages are
    queued without it; the worker invalidates, then list_del()s each entry and
    tests the bit to choose pagetable_dtor_free() or __free_page(). Dave
    Hansen's reply (seed 001): "Don't you need to _allocate_ a new bit?"."""

    name = "nr-pageflags-bit"
    title = "one list, ASYNC_PGTABLE_FREE_DTOR = BIT(NR_PAGEFLAGS) in the flags word (2025-08-27)"
    set_step = "enqueue"

    def own_marking(self) -> Marking | None:
        return Marking("ASYNC_PGTABLE_FREE_DTOR", "BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags",
                       "kernel-pgtable", set_at="enqueue", test_at="worker", clear_at=None, decides="dtor")

    def kernel_table_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        """kernel_pgtable_async_free_dtor(): set the bit, list_add (the dtor runs later)."""
        m.lifecycle("pte_free_kernel", pfn)
        self.check_unlinked(m, pfn, who)
        if m.trace:
            m.note(f"kernel_pgtable_async_free_dtor(): {self.own_marking_name()} |= bit; list_add()")
        m.lists.add(m.pt_list_node(pfn), m.queues.work_head)
        m.lifecycle("enqueue", pfn)
        m.st.work_pending = True
        return []

    def own_marking_name(self) -> str:
        own = self.own_marking()
        return own.name if own is not None else ""

    def pagetable_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        self.check_unlinked(m, pfn, who)
        m.lifecycle("pagetable_free", pfn)
        self.pagetable_free_now(m, pfn, who)
        return []

    def _queue_page(self, m: Machine, pfn: int, who: str) -> None:
        if m.trace:
            m.note(f"{who}: kernel_pgtable_async_free_page(pfn {pfn:#x}): list_add()")
        m.lists.add(m.pt_list_node(pfn), m.queues.work_head)
        m.st.work_pending = True

    def free_pagetable_pages(self, m: Machine, pfn: int, order: int, who: str) -> None:
        self._queue_page(m, pfn, who)

    def cpa_release(self, m: Machine, t: str, pfn: int) -> Steps:
        self._queue_page(m, pfn, "cpa_collapse_large_pages")
        return []

    def work_free_entry(self, m: Machine, t: str, node: int) -> None:
        pfn = m.pt_node_page(node)
        m.lists.delete(node)
        dtor = m.lifecycle("worker", pfn)
        if dtor:
            if m.trace:
                m.note(f"list_del(); {self.own_marking_name()} set: pagetable_dtor_free(pfn {pfn:#x})")
            self.dtor(m, pfn, "kernel_pgtable_work_func")
        else:
            if m.trace:
                m.note(f"list_del(); __free_pages(pfn {pfn:#x}, compound_order)")
        self.pagetable_free_now(m, pfn, "kernel_pgtable_work_func")


class PageTypeBit0Sketch(Design):
    """Dave Hansen's sketch, 2025-08-27 (Message-ID
    400cf9ab-de3f-4e8a-ab0a-4ac68c534bb8, seed 001): "#define
    PTDESC_TYPE_KERNEL BIT(0)" in ptdesc->__page_type ("the lower 24 bits
    ... are free"), set "as late as" pte_free_kernel() before
    pagetable_dtor_free(), tested in pagetable_free()."""

    name = "page-type-bit0-sketch"
    title = "PTDESC_TYPE_KERNEL = BIT(0) of __page_type, set in pte_free_kernel, tested in pagetable_free (08-27)"

    def own_marking(self) -> Marking | None:
        return Marking("PTDESC_TYPE_KERNEL", "BIT(0)", "ptdesc.__page_type", "kernel-pgtable",
                       set_at="pte_free_kernel", test_at="pagetable_free", clear_at=None, decides="defer")


class PageTypeBit0Baolu(NrPageflagsBit):
    """Lu Baolu, 2025-08-28 13:31 +0800 (Message-ID
    ee44764b-b9fe-431d-8b84-08fce6b5df75; reference section 2.2 item 4):
    pte_free_kernel() and pud_free_pmd_page() set PTDESC_TYPE_KERNEL = BIT(0)
    in __page_type and queue the table WITHOUT running the destructor; the
    worker tests the bit to choose pagetable_dtor_free() or
    __free_pages(page, compound_order(page)); free_pagetable() defers only
    order-0 pages (higher orders are freed at once, as before)."""

    name = "page-type-bit0-baolu"
    title = "PTDESC_TYPE_KERNEL = BIT(0) of __page_type set without the dtor, tested in the worker (08-28)"

    def own_marking(self) -> Marking | None:
        return Marking("PTDESC_TYPE_KERNEL", "BIT(0)", "ptdesc.__page_type", "kernel-pgtable",
                       set_at="enqueue", test_at="worker", clear_at=None, decides="dtor")

    def free_pagetable_pages(self, m: Machine, pfn: int, order: int, who: str) -> None:
        if order:
            if m.trace:
                m.note(f"{who}: free_pages(pfn {pfn:#x}, order {order}) at once (only order 0 is deferred)")
            m.free_pages(pfn, order, who=f"{who}: free_pages")
            return
        self._queue_page(m, pfn, who)


class PmdPtdesc(Design):
    """v6 3/7, "x86/mm: Use 'ptdesc' when freeing PMD pages" (2025-10-14,
    series 20251014130437.1090448-1; reference section 3.1, found by "[syzbot
    ci] Re: Fix stale IOTLB entries for kernel address space", 2025-10-14):
    pmd_ptdesc(pmd) -- the page that CONTAINS the pmd entry -- instead of
    page_ptdesc(pmd_page(*pmd)), the table it points to; in
    pud_free_pmd_page() pmd_ptdesc(&pmd_sv[i]). Otherwise the merged code."""

    name = "pmd-ptdesc"
    title = "v6: pmd_ptdesc(pmd) frees the table containing the entry, not the one it points to"

    def pte_table_of_pmd(self, m: Machine, table: int, idx: int, entry: tuple[Any, ...]) -> int:
        return table

    def pte_table_of_pmd_sv(self, m: Machine, sv: int, idx: int, entry: tuple[Any, ...]) -> int:
        return sv


class MemdescPtdesc(Closed):
    """Willy's "Separate ptdesc from struct page" (section 6): struct page
    keeps memdesc next to compound_head (layouts/memdesc/page_sep.yaml), a
    page table's ptdesc is a 16-byte-aligned slab object (ptdesc_sep.yaml)
    reached through memdesc = pointer | PageTable, with a debug copy of the
    pointer in page->__folio_index. struct page's lru union still has users
    (the buddy allocator's free lists), and allocation sites that are not
    converted to ptdescs remain: CPA's split_large_page() uses alloc_pages().
    Everything else is v6.19+fixes+hotplug, so the separation is the one change."""

    name = "memdesc-ptdesc"
    title = "ptdesc separated from struct page, memdesc next to compound_head, page->lru still used"
    separate_ptdesc = True
    alloc_cpa_table = Design.alloc_cpa_table  # split_large_page(): alloc_pages(GFP_KERNEL, 0)

    def _slab_alloc(self, m: Machine) -> int:
        used = m.st.slab_used
        n = len(m.mem.slab) // m.mem.slab_size
        for i in range(n):
            if not used >> i & 1:
                m.st.slab_used = used | (1 << i)
                addr = m.mem.slab_base + i * m.mem.slab_size
                off = i * m.mem.slab_size
                m.mem.touch_raw("slab", off, m.mem.slab_size, write=True)
                m.mem.slab[off:off + m.mem.slab_size] = bytes(m.mem.slab_size)  # kmem_cache_zalloc
                return addr
        raise MemoryError("ptdesc slab exhausted")

    def install_ptdesc(self, m: Machine, pfn: int) -> None:
        f = m.facts
        obj = self._slab_alloc(m)
        m.mem.write_at(obj, f.pd("pt_page"), m.mem.page_addr(pfn))
        m.mem.set(pfn, f.pw("memdesc"), obj | f.memdesc_pagetable_type)
        m.mem.set(pfn, f.pw("__folio_index"), obj)  # the RFC's debug copy of the pointer
        if m.trace:
            m.note(f"alloc_pages_memdesc(): ptdesc object {obj:#x}; page->memdesc = {obj | f.memdesc_pagetable_type:#x}")

    def release_ptdesc(self, m: Machine, pfn: int) -> None:
        obj = self.page_ptdesc(m, pfn)
        idx = (obj - m.mem.slab_base) // m.mem.slab_size
        m.st.slab_used &= ~(1 << idx)

    def page_ptdesc(self, m: Machine, pfn: int) -> int:
        """memdesc -> ptdesc; VM_BUG_ON_PAGE when the word is not a PageTable
        pointer to a live ptdesc of this page."""
        f = m.facts
        md = m.mem.get(pfn, f.pw("memdesc"))
        kind = md & 0xF
        obj = md & ~0xF
        ok = kind == f.memdesc_pagetable_type and m.mem.slab_base <= obj < m.mem.slab_base + len(m.mem.slab)
        if ok:
            idx = (obj - m.mem.slab_base) // m.mem.slab_size
            ok = bool(m.st.slab_used >> idx & 1) and m.mem.read_at(obj, f.pd("pt_page")) == m.mem.page_addr(pfn)
        if ok:
            return obj
        index = m.mem.get(pfn, f.pw("__folio_index"))
        type_name = f.memdesc_type_names.get(kind, "unassigned")
        width = f.ptr_size * 2
        writer = m.last_writer(pfn, f.pw("memdesc"))
        m.report("memdesc-clobbered",
                 f"page_ptdesc(): memdesc {md:0{width}x} index {index:0{width}x}: page->memdesc of pfn {pfn:#x} "
                 f"({m.role(pfn)}) is not a PageTable pointer (type {kind} {type_name}, pointer {obj:#x})"
                 + (f"; last written by {writer}" if writer else "")
                 + "; VM_BUG_ON_PAGE",
                 pfn=pfn, where=f"page_ptdesc: {m.role(pfn, stable=True)}", crash=True, memdesc=hex(md))
        return obj

    def ptdesc_page(self, m: Machine, ref: int) -> int:
        return m.mem.pfn_of(m.mem.read_at(ref, m.facts.pd("pt_page")))


class PtdumpRace(Closed):
    """syzbot+fd95a72470f5a44e464c and "mm: fix UAF caused by race between
    ptdump and vmap pgtable freeing" (Lorenzo Stoakes, v1 2026-07-10 .. v3
    2026-07-14; reference section 3.3): ptdump walks the kernel page tables
    under the init_mm mmap write lock, one level at a time, while
    vmap_try_huge_pmd() -> pmd_free_pte_page() unlinks and frees the PTE table
    holding no lock that excludes the walker. The deferred free only waits for
    the worker, not for the walker: it is not an RCU grace period. The rest is
    v6.19+fixes+hotplug (the walker race is the one question asked)."""

    name = "ptdump-race"
    title = "v6.19+fixes+hotplug with a ptdump walk: vmap huge promotion frees a table the walker is about to read"
    ptdump_walker = True
    # the walker and a vmap promotion of its range: small enough to explore every interleaving
    default_only = ("huge-pmd",)


class PtdumpFixed(PtdumpRace):
    """The fix (v3, 2026-07-14): vmap_try_huge_pmd() takes
    mmap_read_trylock(&init_mm) around pmd_free_pte_page() + pmd_set_huge()
    and gives the promotion up when it fails (the CPA collapse hunk of the
    series is not modelled here)."""

    name = "ptdump-fixed"
    title = "ptdump-race plus the fix: init_mm mmap read lock (trylock) around free + set_huge"

    def vmap_huge_pmd_steps(self, va: int) -> list[Step]:
        return [Step("vmap_huge_pmd_locked", (va,))]

    @step("vmap_huge_pmd_locked", "va")
    def st_vmap_huge_pmd_locked(self, m: Machine, t: str, va: int) -> Steps:
        if not self.mmap_read_trylock(m, t):
            m.note("vmap_try_huge_pmd(): the read lock is not free, keep the PTE table (no promotion)")
            return []
        return [*super().vmap_huge_pmd_steps(va), Step("mmap_read_unlock")]


class PtdumpArm64Both(PtdumpFixed):
    """The fix applied together with arm64's own earlier mitigation
    (fa93b45fd397: ptdump enables arm64_ptdump_lock_key before it takes the
    write lock, and pmd_free_pte_page() then does mmap_read_lock(&init_mm);
    mmap_read_unlock() before freeing). Lorenzo's series leaves arm64 out for
    this reason: the promotion already holds the read lock, ptdump queues for
    the write lock, and the nested read lock waits behind the queued writer."""

    name = "ptdump-arm64-both"
    title = "ptdump-fixed plus arm64's nested mmap_read_lock when ptdump runs: rwsem writer preference deadlocks"

    def ptdump_steps(self, va: int, root: int) -> list[Step]:
        return [Step("ptdump_key", (1,)), *super().ptdump_steps(va, root), Step("ptdump_key", (0,))]

    @step("ptdump_key", "text")
    def st_ptdump_key(self, m: Machine, t: str, on: int) -> Steps:
        m.st.ptdump_key = bool(on)
        if m.trace:
            m.note(f"static_branch_{'enable' if on else 'disable'}(&arm64_ptdump_lock_key)")
        return []

    def free_unlinked_pte_table(self, m: Machine, t: str, pfn: int) -> Steps:
        if not m.st.ptdump_key:
            return super().free_unlinked_pte_table(m, t, pfn)
        m.note("arm64_ptdump_lock_key is on: mmap_read_lock(&init_mm); mmap_read_unlock() before the free")
        return [Step("mmap_read_lock"), Step("mmap_read_unlock"), Step("free_pte_table_of_pmd", (pfn,))]


class ProposalDesign(Closed):
    """v6.19+fixes+hotplug with a user's marking scheme in place of PT_kernel:
    every other path has its known holes closed, so what goes wrong is the
    marking's."""

    name = "proposal"
    title = "v6.19+fixes+hotplug with a proposed marking"


VARIANTS: dict[str, type[Design]] = {
    cls.name: cls for cls in (Design, VmemmapFix, CpaMark, Fixes, Closed, Sync, TwoLists, ThreeLists, NrPageflagsBit,
                              PageTypeBit0Sketch, PageTypeBit0Baolu, PmdPtdesc, MemdescPtdesc, PtdumpRace,
                              PtdumpFixed, PtdumpArm64Both)
}
# the design a proposal plugs into
PROPOSAL_BASE = Closed.name


def make_design(name: str, proposal: Proposal | Marking | None = None) -> Design:
    """A design by CLI name; with a proposal, that design (PROPOSAL_BASE by
    default) using the proposal's marking."""
    if proposal is not None:
        marking = proposal if isinstance(proposal, Marking) else Marking.from_proposal(proposal)
        base = VARIANTS.get(name, Closed) if name != "proposal" else Closed
        return ProposalDesign(marking) if base is Closed else base(marking)
    if name not in VARIANTS:
        from mmbits.cexpr import suggest

        raise InputError(f"unknown variant {name!r}{suggest(name, VARIANTS)}; known: {', '.join(VARIANTS)}")
    return VARIANTS[name]()
