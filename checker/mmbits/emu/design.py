"""The deferred kernel page-table free design as merged in v6.19 (backported
to 6.18.y), as kernel code paths over the emulated machine.

Reference: shared/reference/deferred-free-and-memdesc.md sections 2.3, 2.4,
3.2, 3.4 and 4.1. Kernel tables that the generic allocators make
(__pte_alloc_one_kernel(), pmd_alloc_one(&init_mm) ...) are allocated with
pagetable_alloc(__GFP_COMP | __GFP_ZERO), constructed, and marked PT_kernel
(= PG_referenced in ptdesc->pt_flags, 977870522af3); pagetable_free() tests
and clears the mark and hands marked tables to pagetable_free_kernel(), which
list_add()s pt_list onto kernel_pgtable_work.list under its lock and
schedules the worker; the worker splices the list onto its stack, calls
iommu_sva_invalidate_kva_range() and then __pagetable_free() =
__free_pages(page, compound_order(page)) on each entry, with no list_del
(v5). Without ASYNC_KERNEL_PGTABLE_FREE, pagetable_free_kernel() is
__pagetable_free().

As merged, three allocation/free paths are not covered (the variants in
mmbits.emu.variants add the fixes one at a time):
- memory hot-remove frees PMD-sized vmemmap blocks through free_pagetable()
  -> pagetable_free() (bf9e4e30f353), which frees compound_order() = 0 pages
  of a block vmemmap_alloc_block() allocated without __GFP_COMP (section 3.2);
- CPA's split_large_page() allocates its PTE table with
  alloc_pages(GFP_KERNEL, 0): no constructor, never marked, so collapse frees
  it through __pagetable_free() without the IOMMU invalidation (section 3.4);
- the tables of hot-added memory come from alloc_low_pages() and
  vmemmap_alloc_block_zero() (arch/x86/mm/init_64.c, mm/sparse-vmemmap.c),
  which neither construct nor mark them.

Every `st_*` method is one atomic step of a thread: a visible operation (a
write another thread or the IOMMU can observe, a lock-protected section, an
allocator call) plus the thread-private work around it. It returns the steps
the thread runs next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mmbits.emu.locks import LockSteps
from mmbits.emu.marking import Marking
from mmbits.emu.pgtable import LEAF, TABLE
from mmbits.emu.steps import Step, handlers_of, step

if TYPE_CHECKING:
    from mmbits.emu.machine import Machine

Steps = list[Step]


@dataclass
class Queues:
    """Where a design keeps its deferred-free lists: addresses of list heads
    in the machine's static and stack memory (set once at boot; the bytes
    they point at are machine state)."""

    work_head: int = 0  # kernel_pgtable_work.list (three-lists: .dtor)
    worker_list: int = 0  # the work function's on-stack list
    page_head: int = 0  # three-/two-lists: kernel_pgtable_work.page
    worker_page_list: int = 0


class Design(LockSteps):
    step_handlers: dict[str, Callable[..., Steps]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.step_handlers = handlers_of(cls)
    name = "v6.19"
    title = "as merged in v6.19: PT_kernel set by the generic allocators, one list, invalidate then __free_pages"
    separate_ptdesc = False
    deferred = True
    ptdump_walker = False  # a ptdump thread walks huge-pmd #0's range
    clear_before_free = False  # free_pte_table(), kasan_free_pte(): the kernel frees, then clears the entry
    worker_per_page = False  # one explored step per worker loop iteration (simulate --worker-per-page)
    default_only: tuple[str, ...] = ()  # the operations a run uses when the caller names none

    def __init__(self, proposal: Marking | None = None):
        self.proposal = proposal

    # -- the marking scheme ---------------------------------------------------------
    def own_marking(self) -> Marking | None:
        # include/linux/mm.h enum pt_flags { PT_kernel = PG_referenced } (27bfafac65d8);
        # ptdesc_set_kernel() in the allocators, ptdesc_clear_kernel() in pagetable_free()
        return Marking("PT_kernel", "PG_referenced", "ptdesc.pt_flags", "kernel-pgtable",
                       set_at="mark", test_at="pagetable_free", clear_at="pagetable_free", decides="defer")

    def markings(self) -> list[Marking]:
        """The design's marking, and a proposal's: one tested in
        pagetable_free() replaces the design's kernel-table test, any other is
        carried along and watched."""
        own = self.own_marking()
        out = [own] if own is not None else []
        if self.proposal is not None:
            if self.proposal.decides and own is not None and own.decides == self.proposal.decides:
                out = []
            out.append(self.proposal)
        return out

    # -- boot --------------------------------------------------------------------------
    def boot(self, m: Machine) -> None:
        ptr = m.facts.ptr_size
        q = m.queues
        q.work_head = m.mem.alloc_static("kernel_pgtable_work.list", 2 * ptr)
        m.lists.init(q.work_head)
        q.worker_list = m.mem.alloc_static("page_list (kernel_pgtable_work_func() stack)", 2 * ptr, on_stack=True)
        m.lists.init(q.worker_list)

    # -- ptdesc <-> page ----------------------------------------------------------------
    def page_ptdesc(self, m: Machine, pfn: int) -> int:
        """v6.18: struct ptdesc overlays struct page (a cast)."""
        return m.mem.page_addr(pfn)

    def ptdesc_page(self, m: Machine, ref: int) -> int:
        return m.mem.pfn_of(ref)

    def install_ptdesc(self, m: Machine, pfn: int) -> None:
        pass

    def release_ptdesc(self, m: Machine, pfn: int) -> None:
        pass

    # -- allocation -------------------------------------------------------------------
    def alloc_table(self, m: Machine, level: int, *, kernel: bool, role: str, ctor: bool = True,
                    mark: bool = True) -> int:
        """pagetable_alloc(GFP_PGTABLE_KERNEL | __GFP_COMP, 0), the level's ctor,
        then ptdesc_set_kernel() for init_mm's tables."""
        pfn = m.alloc_pages(0, comp=True, zero=True, who="pagetable_alloc", role=role,
                            kind="kernel-pgtable" if kernel else "pgtable")
        m.lifecycle("realloc", pfn)
        m.lifecycle("alloc", pfn)
        self.install_ptdesc(m, pfn)
        if ctor:
            m.set_page_table(pfn, f"pagetable_{m.facts.levels[level].name}_ctor")
            m.lifecycle("ctor", pfn)
        if kernel and mark:
            m.lifecycle("mark", pfn)
        return pfn

    def alloc_hotplug_table(self, m: Machine, level: int, role: str) -> int:
        """Tables of hot-added memory: alloc_low_pages() / vmemmap_alloc_block_zero()
        (arch/x86/mm/init_64.c, mm/sparse-vmemmap.c, v6.19): no constructor, no
        ptdesc_set_kernel()."""
        return self.alloc_table(m, level, kernel=True, role=role, ctor=False, mark=False)

    def alloc_cpa_table(self, m: Machine, role: str, level: int | None = None) -> int:
        """split_large_page(): base = alloc_pages(GFP_KERNEL, 0)
        (arch/x86/mm/pat/set_memory.c, v6.19) for a PTE table (2 MiB leaf)
        and a PMD table (1 GiB leaf) alike: not pagetable_alloc(), no
        constructor, never marked kernel (section 3.4)."""
        return m.alloc_pages(0, who="split_large_page: alloc_pages(GFP_KERNEL, 0)", role=role,
                             kind="kernel-pgtable")

    def ensure_tables(self, m: Machine, va: int, level: int, who: str) -> int:
        """The table at `level` covering va, allocating (and linking) missing ones."""
        pfn = m.tables.root
        for lv in range(level):
            idx = m.tables.index(va, lv)
            entry = m.mem.entry(pfn, idx)
            if entry is None:
                name = m.facts.levels[lv + 1].name
                child = self.alloc_table(m, lv + 1, kernel=True, role=f"{name} table for {va:#x} ({who})")
                m.tables.write(pfn, idx, (TABLE, child), who)
                entry = (TABLE, child)
            pfn = entry[1]
        return pfn

    # -- the free paths ------------------------------------------------------------------
    def dtor(self, m: Machine, pfn: int, who: str) -> None:
        """pagetable_dtor(): ptlock_free(), __ClearPageTable()."""
        if m.mem.get(pfn, m.F_type) == m.facts.page_type_none and not m.mem.is_free(pfn):
            m.report("wrong-table",
                     f"{who}: pagetable_dtor() on pfn {pfn:#x} ({m.role(pfn)}), which is not a constructed page "
                     f"table (page_type UINT_MAX): the caller passed the wrong page",
                     pfn=pfn, where=f"{who}: dtor of {m.role(pfn, stable=True)}")
        m.clear_page_table(pfn, f"{who}: pagetable_dtor")
        m.lifecycle("dtor", pfn)

    def kernel_table_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        """pte_free_kernel() / pmd_free(&init_mm) / pagetable_dtor_free() of a kernel table."""
        if m.trace:
            m.note(f"{who}: pagetable_dtor_free(pfn {pfn:#x})")
        m.lifecycle("pte_free_kernel", pfn)
        self.dtor(m, pfn, who)
        return self.pagetable_free(m, t, pfn, who)

    def check_unlinked(self, m: Machine, pfn: int, who: str) -> None:
        """A page table being freed must not be reachable from init_mm's tables."""
        if pfn == m.free_then_clear:
            return  # the kernel's own order in free_pte_table(): clear after the free
        where = m.tables.reachable().get(pfn)
        if where is not None and pfn != m.tables.root:
            parent, idx, lv = where
            m.report("wrong-table",
                     f"{who}: pagetable_free() of pfn {pfn:#x} ({m.role(pfn)}), which is still linked at "
                     f"{m.facts.levels[lv - 1].name}[{idx}] of pfn {parent:#x}: a live table is being freed",
                     pfn=pfn, where=f"{who}: frees live {m.role(pfn, stable=True)}")

    def pagetable_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        """pagetable_free(): kernel-marked tables go to pagetable_free_kernel()."""
        self.check_unlinked(m, pfn, who)
        kernel = m.lifecycle("pagetable_free", pfn)
        if kernel:
            return self.pagetable_free_kernel(m, t, pfn, who)
        self.pagetable_free_now(m, pfn, who)
        return []

    def pagetable_free_now(self, m: Machine, pfn: int, who: str) -> None:
        """__pagetable_free(): __free_pages(page, compound_order(page))."""
        order = m.buddy.compound_order(pfn)
        if m.trace:
            m.note(f"{who}: __pagetable_free(pfn {pfn:#x}) -> __free_pages(order {order})")
        m.lifecycle("free_pages", pfn)
        self.release_ptdesc(m, pfn)
        m.free_pages(pfn, order, who=f"{who}: __pagetable_free")

    def pagetable_free_kernel(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        if not m.async_free:
            # !CONFIG_ASYNC_KERNEL_PGTABLE_FREE: an inline __pagetable_free()
            self.pagetable_free_now(m, pfn, who)
            return []
        m.note("spin_lock(&kernel_pgtable_work.lock); list_add(&pt->pt_list, &kernel_pgtable_work.list); "
               "spin_unlock(); schedule_work()")
        m.lists.add(m.pt_list_node(pfn), m.queues.work_head)
        m.lifecycle("enqueue", pfn)
        m.st.work_pending = True
        return []

    def free_pagetable(self, m: Machine, pfn: int, order: int, who: str) -> None:
        """arch/x86/mm/init_64.c free_pagetable() (v6.18, v6.19, 7.1): a
        PageReserved page -- boot memory, e.g. a table alloc_low_pages() took
        from memblock -- goes back through put_page_bootmem() or
        free_reserved_pages(), never through the design's path; the rest
        through free_pagetable_pages() (each variant's non-reserved branch).
        bf9e4e30f353 left the reserved branch as it was; every variant keeps
        it (the drafts' free_pagetable() hunks are not in the archived
        messages we have: that they too changed only the other branch is an
        assumption)."""
        if m.mem.get(pfn, m.F_flags) & m.buddy.PG_reserved:
            self.free_bootmem(m, pfn, order, who)
            return
        self.free_pagetable_pages(m, pfn, order, who)

    def free_pagetable_pages(self, m: Machine, pfn: int, order: int, who: str) -> None:
        """free_pagetable()'s non-reserved branch after bf9e4e30f353:
        pagetable_free(page_ptdesc(page)) (the order is dropped)."""
        if m.trace:
            m.note(f"{who}: free_pagetable(pfn {pfn:#x}, order {order}) -> pagetable_free()")
        self.pagetable_free(m, "", pfn, who)

    # -- boot memory (PageReserved): free_pagetable()'s first branch -----------------------
    def free_bootmem(self, m: Machine, pfn: int, order: int, who: str) -> None:
        """free_pagetable(), PageReserved(page) (arch/x86/mm/init_64.c, v6.19):
        bootmem_type(page) = page->private & 0xf (include/linux/bootmem_info.h);
        SECTION_INFO (1) / MIX_SECTION_INFO (2) pages -- the vmemmap and the
        tables register_page_bootmem_memmap() registered -- go through
        put_page_bootmem() page by page, every other reserved page through
        free_reserved_pages(). x86_64's remove_pagetable() exists only with
        MEMORY_HOTREMOVE, which selects HAVE_BOOTMEM_INFO_NODE (mm/Kconfig), so
        the bootmem_type() test is always compiled in here."""
        btype = m.mem.get(pfn, m.buddy.F_private) & 0xF
        if btype in (1, 2):
            if m.trace:
                m.note(f"{who}: free_pagetable(pfn {pfn:#x}): PageReserved, bootmem type {btype}: put_page_bootmem()")
            for i in range(1 << order):
                self.put_page_bootmem(m, pfn + i, who)
            return
        if m.trace:
            m.note(f"{who}: free_pagetable(pfn {pfn:#x}): PageReserved: free_reserved_pages({1 << order})")
        for i in range(1 << order):
            self.free_reserved_page(m, pfn + i, who)

    def put_page_bootmem(self, m: Machine, pfn: int, who: str) -> None:
        """mm/bootmem_info.c put_page_bootmem() (v6.19): page_ref_dec_return();
        when one reference is left (the boot one), ClearPagePrivate(),
        set_page_private(0), INIT_LIST_HEAD(&page->lru), free_reserved_page().
        A page get_page_bootmem() counted more often stays reserved."""
        f = m.facts
        ref = m.buddy.refcount(pfn) - 1
        m.mem.set(pfn, m.buddy.F_ref, ref, rmw=True)
        if ref != 1:
            if m.trace:
                m.note(f"{who}: put_page_bootmem(pfn {pfn:#x}): refcount {ref}, still registered: not freed")
            return
        m.mem.clear_bits(pfn, m.F_flags, 1 << f.bit("PG_private"))
        m.mem.set(pfn, m.buddy.F_private, 0)
        m.lists.init(m.mem.page_addr(pfn) + f.pw("lru.next").offset)
        self.free_reserved_page(m, pfn, who)

    def free_reserved_page(self, m: Machine, pfn: int, who: str) -> None:
        """mm/page_alloc.c free_reserved_page() (v6.19): clear_page_tag_ref();
        ClearPageReserved(); init_page_count(); __free_page();
        adjust_managed_page_count(page, 1). No pagetable_dtor(), no
        pagetable_free(): a table freed here is not deferred past the IOMMU
        invalidation and its kernel mark is neither tested nor cleared (a
        PT_kernel bit goes with PAGE_FLAGS_CHECK_AT_PREP in free_pages_prepare()).
        Boot memory was never counted in zone->managed_pages, so the +1 is
        right for it; a page the buddy allocator handed out (PG_reserved set by
        something else, e.g. a PT_reserved marking) is counted twice."""
        from mmbits.emu.machine import RESERVED_PAGES

        m.mem.clear_bits(pfn, m.F_flags, m.buddy.PG_reserved)
        m.mem.set(pfn, m.buddy.F_ref, 1)
        if m.trace:
            m.note(f"{who}: free_reserved_page(pfn {pfn:#x}): ClearPageReserved(); init_page_count(); __free_page(); "
                   f"adjust_managed_page_count(+1)")
        m.lifecycle("free_pages", pfn)
        m.free_pages(pfn, 0, who=f"{who}: free_reserved_page")
        if pfn >= RESERVED_PAGES:
            m.report("managed-count",
                     f"{who}: free_reserved_page() of pfn {pfn:#x} ({m.role(pfn)}), which the buddy allocator handed "
                     f"out (PG_reserved was set after allocation): adjust_managed_page_count(page, 1) counts a page "
                     f"that zone->managed_pages already counted; managed and totalram pages grow by one per free",
                     pfn=pfn, where=f"{who}: free_reserved_page: {m.role(pfn, stable=True)}", severity="warning",
                     detected_by="emulator")

    def free_vmemmap_pages(self, m: Machine, pfn: int, order: int, who: str) -> None:
        """The fix: free_vmemmap_pages(page, order, NULL) -> __free_pages(page, order)."""
        if m.trace:
            m.note(f"{who}: free_vmemmap_pages(pfn {pfn:#x}, order {order}) -> __free_pages()")
        m.free_pages(pfn, order, who=f"{who}: free_vmemmap_pages")

    # -- ops: the CPU side ---------------------------------------------------------------
    def pte_table_of_pmd(self, m: Machine, table: int, idx: int, entry: tuple[Any, ...]) -> int:
        """page_ptdesc(pmd_page(*pmd)): the table the entry points to (v7)."""
        return int(entry[1])

    def pte_table_of_pmd_sv(self, m: Machine, sv: int, idx: int, entry: tuple[Any, ...]) -> int:
        """page_ptdesc(pmd_page(pmd_sv[i]))."""
        return int(entry[1])

    @step("pmd_free_pte_page", "va")
    def st_pmd_free_pte_page(self, m: Machine, t: str, va: int) -> Steps:
        """vmap_try_huge_pmd() -> pmd_free_pte_page(pmd, addr) (x86, v7 4/8)."""
        tables = m.tables
        if (found := tables.entry_of(va, tables.pmd_level, "pmd_free_pte_page", TABLE)) is None:
            return []
        loc, entry = found
        target = self.pte_table_of_pmd(m, loc[0], loc[1], entry)
        tables.write(loc[0], loc[1], None, "pmd_free_pte_page")
        if m.trace:
            m.note(f"pmd_clear(pmd[{loc[1]}] of pfn {loc[0]:#x}); flush_tlb_kernel_range()")
        return self.free_unlinked_pte_table(m, t, target)

    def free_unlinked_pte_table(self, m: Machine, t: str, pfn: int) -> Steps:
        """pmd_free_pte_page() after pmd_clear() and the flush: pagetable_dtor_free()."""
        return self.kernel_table_free(m, t, pfn, "pmd_free_pte_page")

    @step("free_pte_table_of_pmd", "pfn")
    def st_free_pte_table_of_pmd(self, m: Machine, t: str, pfn: int) -> Steps:
        return self.kernel_table_free(m, t, pfn, "pmd_free_pte_page")

    def vmap_huge_pmd_steps(self, va: int) -> list[Step]:
        """vmap_try_huge_pmd() as merged: no lock against software walkers."""
        return [Step("pmd_free_pte_page", (va,)), Step("pmd_set_huge", (va,))]

    # -- ptdump: a software walker of the kernel page tables --------------------------------
    def ptdump_steps(self, va: int, root: int) -> list[Step]:
        """ptdump_walk_pgd() (mm/ptdump.c): mmap_write_lock(&init_mm), walk, unlock."""
        return [Step("mmap_write_lock"), Step("ptdump_walk", (va, 0, root)), Step("mmap_write_unlock")]

    @step("ptdump_walk", "va", "level", "pfn")
    def st_ptdump_walk(self, m: Machine, t: str, va: int, level: int, table: int) -> Steps:
        """One level of walk_page_range_debug(): read the entry for va in
        `table`; a table entry sends the walk one level down (next step)."""
        lv = m.facts.levels[level]
        if m.mem.is_free(table):
            m.report("walker-use-after-free",
                     f"BUG: KASAN: use-after-free read in ptdump_walk_pgd(): the walk reads {lv.name}[...] of pfn "
                     f"{table:#x} ({m.role(table)}), freed after the walk read the entry pointing at it; "
                     f"{self.lock_state(m)}", pfn=table, where=f"ptdump_walk_pgd: read {m.role(table, stable=True)}")
            return []
        idx = m.tables.index(va, level)
        entry = m.mem.entry(table, idx)
        if m.trace:
            m.note(f"ptdump: {lv.name}[{idx}] of pfn {table:#x} = {entry!r}")
        if entry is None or entry[0] != TABLE or level + 1 >= len(m.facts.levels):
            return []
        return [Step("ptdump_walk", (va, level + 1, entry[1]))]

    @step("pmd_set_huge", "va")
    def st_pmd_set_huge(self, m: Machine, t: str, va: int) -> Steps:
        return _set_huge(m, va, m.tables.pmd_level, "pmd")

    @step("pud_free_pmd_page", "va")
    def st_pud_free_pmd_page(self, m: Machine, t: str, va: int) -> Steps:
        """vmap_try_huge_pud() -> pud_free_pmd_page(pud, addr) (x86, v7 4/8)."""
        tables = m.tables
        if (found := tables.entry_of(va, tables.pud_level, "pud_free_pmd_page", TABLE)) is None:
            return []
        loc, entry = found
        pmd = entry[1]
        sv = m.alloc_pages(0, who="__get_free_page", role=f"pmd_sv (pud_free_pmd_page copy for {va:#x})")
        m.cpu_access(pmd, "pud_free_pmd_page", "read")
        m.mem.copy_page(sv, pmd)
        present = sorted(m.mem.entries(sv))
        for idx in present:
            tables.write(pmd, idx, None, "pud_free_pmd_page")
        tables.write(loc[0], loc[1], None, "pud_free_pmd_page")
        if m.trace:
            m.note(f"pmd_sv = pfn {sv:#x}; copy and pmd_clear() {len(present)} entries of pfn {pmd:#x}; pud_clear(); "
                   f"flush_tlb_kernel_range()")
        steps: Steps = [Step("pud_free_pte", (sv, idx)) for idx in present]
        steps.append(Step("pud_free_tail", (sv, pmd)))
        return steps

    @step("pud_free_pte", "pfn", "index")
    def st_pud_free_pte(self, m: Machine, t: str, sv: int, idx: int) -> Steps:
        m.cpu_access(sv, "pud_free_pmd_page", "read")
        entry = m.mem.entry(sv, idx)
        if entry is None or entry[0] != TABLE:
            return []
        target = self.pte_table_of_pmd_sv(m, sv, idx, entry)
        return self.kernel_table_free(m, t, target, "pud_free_pmd_page")

    @step("pud_free_tail", "pfn", "pfn")
    def st_pud_free_tail(self, m: Machine, t: str, sv: int, pmd: int) -> Steps:
        """free_page((unsigned long)pmd_sv); pmd_free(&init_mm, pmd)."""
        m.free_pages(sv, 0, who="pud_free_pmd_page: free_page(pmd_sv)")
        return self.kernel_table_free(m, t, pmd, "pud_free_pmd_page: pmd_free(&init_mm)")

    @step("pud_set_huge", "va")
    def st_pud_set_huge(self, m: Machine, t: str, va: int) -> Steps:
        return _set_huge(m, va, m.tables.pud_level, "pud")

    @step("remove_pte_table", "va")
    def st_remove_pte_table(self, m: Machine, t: str, va: int) -> Steps:
        """remove_pte_table() (vmemmap 4 KiB pages) then free_pte_table()."""
        tables = m.tables
        if (found := self.table_at(m, va, tables.pmd_level, "remove_pagetable", "remove_pte_table")) is None:
            return []
        loc, pte = found
        for idx, leaf in sorted(m.mem.entries(pte).items()):
            # remove_pte_table() (v6.19): free_pagetable(pte_page(*pte), 0), then pte_clear()
            if leaf[0] == LEAF and leaf[3]:
                self.free_vmemmap_4k(m, leaf[1], "remove_pte_table")
            tables.write(pte, idx, None, "remove_pte_table")
        return self.free_pte_table(m, va, loc, pte)

    def free_pte_table(self, m: Machine, va: int, loc: tuple[int, int], pte: int) -> Steps:
        """free_pte_table() (arch/x86/mm/init_64.c, v6.19) frees first --
        free_pagetable(pmd_page(*pmd), 0) -- and clears the pmd after, under
        init_mm.page_table_lock: the freed table is still linked meanwhile."""
        def free() -> Steps:
            self.free_pagetable(m, pte, 0, "free_pte_table")
            return []

        return self.free_then_clear(m, loc, pte, free, Step("free_pte_table_clear", (va,)), "free_pte_table")

    def free_then_clear(self, m: Machine, loc: tuple[int, int], pfn: int, free: Callable[[], Steps], clear: Step,
                        who: str) -> Steps:
        """Free table pfn, linked at entry `loc`, then clear the entry in a
        later step (`clear`) -- the kernel's order in free_pte_table() /
        free_pmd_table() (arch/x86/mm/init_64.c) and kasan_free_pte() /
        kasan_free_pmd() (mm/kasan/init.c), v6.18 to 7.1: between the two a
        deferred free can be invalidated and done while the table is still
        reachable. A design with `clear_before_free` clears first."""
        if self.clear_before_free:
            m.tables.write(loc[0], loc[1], None, who)
            if m.trace:
                m.note(f"{who}: clear entry [{loc[1]}] of pfn {loc[0]:#x} before the free")
            return free()
        m.free_then_clear = pfn
        try:
            steps = free()
        finally:
            m.free_then_clear = -1
        return [*steps, clear]

    @step("pxd_clear", "va", "level", "text")
    def st_pxd_clear(self, m: Machine, t: str, va: int, level: int, who: str) -> Steps:
        """The clear after a free (free_then_clear()): pmd_clear() / pud_clear()
        of the level-`level` entry for va."""
        tables = m.tables
        loc = tables.locate(va, level, who)
        if loc is None:
            return []
        tables.write(loc[0], loc[1], None, who)
        if m.trace:
            m.note(f"{who}: {m.facts.levels[level].name}_clear([{loc[1]}] of pfn {loc[0]:#x}) after the free")
        return []

    @step("free_pte_table_clear", "va")
    def st_free_pte_table_clear(self, m: Machine, t: str, va: int) -> Steps:
        """free_pte_table(): spin_lock(&init_mm.page_table_lock); pmd_clear(pmd); spin_unlock()."""
        tables = m.tables
        loc = tables.locate(va, tables.pmd_level, "free_pte_table")
        if loc is None:
            return []
        tables.write(loc[0], loc[1], None, "free_pte_table")
        if m.trace:
            m.note(f"free_pte_table(): pmd_clear(pmd[{loc[1]}] of pfn {loc[0]:#x}) after the free")
        return []

    def free_vmemmap_4k(self, m: Machine, pfn: int, who: str) -> None:
        """remove_pte_table(): free_pagetable(pte_page(*pte), 0) (v6.19)."""
        self.free_pagetable(m, pfn, 0, who)

    def free_vmemmap_block(self, m: Machine, pfn: int, order: int, who: str) -> None:
        """free_hugepage_table(): free_pagetable(page, get_order(PMD_SIZE)) (v6.19)."""
        self.free_pagetable(m, pfn, order, who)

    @step("free_huge_vmemmap", "va")
    def st_free_huge_vmemmap(self, m: Machine, t: str, va: int) -> Steps:
        """remove_pmd_table(): a PMD-mapped vmemmap block -> free_hugepage_table(),
        then pmd_clear() under init_mm.page_table_lock (arch/x86/mm/init_64.c,
        v6.19: the block is freed while the leaf still maps it; the IOMMU
        caches no leaf, so one step holds both)."""
        tables = m.tables
        if (found := tables.entry_of(va, tables.pmd_level, "remove_pmd_table", LEAF)) is None:
            return []
        loc, entry = found
        order = (entry[2]).bit_length() - 1
        if m.trace:
            m.note(f"free_hugepage_table(pfn {entry[1]:#x}, order {order})")
        self.free_vmemmap_block(m, entry[1], order, "free_hugepage_table")
        tables.write(loc[0], loc[1], None, "remove_pmd_table")
        if m.trace:
            m.note(f"pmd_clear(pmd[{loc[1]}] of pfn {loc[0]:#x})")
        return []

    @step("cpa_split", "va")
    def st_cpa_split(self, m: Machine, t: str, va: int) -> Steps:
        """split_large_page(): a PTE table replaces the direct map's huge leaf."""
        return self.cpa_split(m, va, m.tables.pmd_level)

    def cpa_split(self, m: Machine, va: int, level: int) -> Steps:
        """split_large_page() of the level-`level` leaf for va
        (arch/x86/mm/pat/set_memory.c, v6.19): the table from
        alloc_cpa_table(), filled by __split_large_page() with leaves of the
        next level's size, then installed by __set_pmd_pte()."""
        tables = m.tables
        if (found := tables.entry_of(va, level, "split_large_page", LEAF)) is None:
            return []
        loc, entry = found
        child = level + 1
        name = tables.levels[child].name.upper()
        table = self.alloc_cpa_table(m, f"CPA split {name} table for {va:#x}", child)
        span = 1 << (tables.levels[child].shift - m.facts.page_shift)
        for i in range(2):
            tables.write(table, i, (LEAF, entry[1] + i * span, span, False), "__split_large_page")
        tables.write(loc[0], loc[1], (TABLE, table), "__set_pmd_pte")
        # the kernel's name for the entry (pmd_t even where the PMD level is folded into the pgd)
        entry_name = "pmd" if level == tables.pmd_level else "pud"
        if m.trace:
            m.note(f"split_large_page(): {name} table pfn {table:#x} at {entry_name}[{loc[1]}] of pfn {loc[0]:#x}")
        return []

    @step("cpa_collapse", "va", "addr")
    def st_cpa_collapse(self, m: Machine, t: str, va: int, head: int) -> Steps:
        """collapse_pmd_page(): huge leaf back, the PTE table queued on CPA's local list."""
        tables = m.tables
        if (found := self.collapse_target(m, va, tables.pmd_level, "collapse_pmd_page")) is None:
            return []
        loc, pte, first = found
        pfn = first[1] if first else m.device_pfn(va)
        npages = 1 << (tables.levels[tables.pmd_level].shift - m.facts.page_shift)
        tables.write(loc[0], loc[1], (LEAF, pfn, npages, False), "collapse_pmd_page")
        m.lists.add(m.pt_list_node(pte), head)
        if m.trace:
            m.note(f"collapse_pmd_page(): set_pmd(huge); list_add(&page_ptdesc(pfn {pte:#x})->pt_list, &pgtables)")
        return []

    def collapse_target(self, m: Machine, va: int, level: int, who: str
                        ) -> tuple[tuple[int, int], int, tuple[Any, ...] | None] | None:
        """collapse_large_pages(): the level-`level` entry for va is a table;
        its place, the table, and the table's first entry (read by `who`)."""
        if (found := self.table_at(m, va, level, "collapse_large_pages", who)) is None:
            return None
        loc, table = found
        return loc, table, m.mem.entry(table, 0)

    def table_at(self, m: Machine, va: int, level: int, walker: str, reader: str) -> tuple[tuple[int, int], int] | None:
        """The table the level-`level` entry for va points at (found by
        `walker`) and that entry's place, its contents about to be read by
        `reader` (a KASAN check); None when the entry is not a table."""
        if (found := m.tables.entry_of(va, level, walker, TABLE)) is None:
            return None
        loc, entry = found
        table = int(entry[1])
        m.cpu_access(table, reader, "read")
        return loc, table

    @step("cpa_free", "addr")
    def st_cpa_free(self, m: Machine, t: str, head: int) -> Steps:
        """cpa_collapse_large_pages(): flush_tlb_all(), then for each queued table
        list_del() and pagetable_free() (v7 6/8)."""
        if m.lists.empty(head):
            return []
        node = m.lists.next(head)
        pfn = m.pt_node_page(node)
        m.lists.delete(node)
        if m.trace:
            m.note(f"flush_tlb_all(); list_del(&ptdesc->pt_list); pagetable_free(pfn {pfn:#x})")
        steps = self.cpa_release(m, t, pfn)
        if not m.lists.empty(head):
            return steps + [Step("cpa_free", (head,))]
        m.pop_frame(head)
        return steps

    def cpa_release(self, m: Machine, t: str, pfn: int) -> Steps:
        return self.pagetable_free(m, t, pfn, "cpa_collapse_large_pages")

    @step("cpa_split_pud", "va")
    def st_cpa_split_pud(self, m: Machine, t: str, va: int) -> Steps:
        """split_large_page() of a 1 GiB direct-map leaf (arch/x86/mm/pat/set_memory.c,
        v6.19): the PMD table comes from the same alloc_pages(GFP_KERNEL, 0) as a
        PTE table, and __split_large_page() fills it with 2 MiB leaves."""
        return self.cpa_split(m, va, m.tables.pud_level)

    @step("cpa_collapse_pud", "va", "addr")
    def st_cpa_collapse_pud(self, m: Machine, t: str, va: int, head: int) -> Steps:
        """collapse_pud_page() (arch/x86/mm/pat/set_memory.c, v6.19; same in
        7.1), called by collapse_large_pages() once collapse_pmd_page() worked:
        the first pmd is a leaf (the emulated table's other pmds are taken as
        compatible), so list_add(&page_ptdesc(pud_page(*pud))->pt_list,
        pgtables) and set_pud() of a 1 GiB leaf; cpa_collapse_large_pages()
        frees the PMD table with the PTE table after flush_tlb_all()."""
        tables = m.tables
        if (found := self.collapse_target(m, va, tables.pud_level, "collapse_pud_page")) is None:
            return []
        loc, pmd, first = found
        if first is None or first[0] != LEAF:
            return []
        npages = 1 << (tables.levels[tables.pud_level].shift - m.facts.page_shift)
        m.lists.add(m.pt_list_node(pmd), head)
        tables.write(loc[0], loc[1], (LEAF, first[1], npages, False), "collapse_pud_page")
        if m.trace:
            m.note(f"collapse_pud_page(): list_add(&page_ptdesc(pfn {pmd:#x})->pt_list, &pgtables); set_pud(huge)")
        return []

    # -- the KASAN shadow of removed memory (mm/kasan/init.c, v6.19) ----------------------
    @step("kasan_free_pte", "va")
    def st_kasan_free_pte(self, m: Machine, t: str, va: int) -> Steps:
        """kasan_remove_pmd_table() at a pmd pointing at a PTE table (mm/kasan/init.c,
        v6.19; same in 6.18 and 7.1): kasan_remove_pte_table() pte_clear()s the
        entries mapping kasan_early_shadow_page, then kasan_free_pte() finds every
        pte none and calls pte_free_kernel(&init_mm, table) -- pagetable_dtor_free(),
        so a PT_kernel table is queued for the worker -- and only then
        pmd_clear(pmd), with no lock and no flush in between."""
        if (found := self.clear_pte_table(m, va, "kasan_remove_pte_table")) is None:
            return []
        loc, pte = found
        return self.free_then_clear(
            m, loc, pte, lambda: self.kernel_table_free(m, t, pte, "kasan_free_pte: pte_free_kernel(&init_mm)"),
            Step("pxd_clear", (va, m.tables.pmd_level, "kasan_free_pte")), "kasan_free_pte")

    @step("kasan_free_pmd", "va", "pfn")
    def st_kasan_free_pmd(self, m: Machine, t: str, va: int, early_pte: int) -> Steps:
        """The rest of kasan_remove_pmd_table() and kasan_free_pmd() (mm/kasan/init.c,
        v6.19): a pmd pointing at the static kasan_early_shadow_pte over a whole
        PMD_SIZE (kasan_pte_table()) is only pmd_clear()ed; then, every pmd of the
        table being none, pmd_free(&init_mm, table) and only then pud_clear(pud)."""
        tables = m.tables
        if (found := self.table_at(m, va, tables.pud_level, "kasan_remove_pud_table", "kasan_remove_pmd_table")) is None:
            return []
        loc, pmd = found
        for idx, e in sorted(m.mem.entries(pmd).items()):
            if e == (TABLE, early_pte):
                tables.write(pmd, idx, None, "kasan_remove_pmd_table")
        if m.mem.entries(pmd):
            if m.trace:
                m.note(f"kasan_free_pmd(): pfn {pmd:#x} still has entries: kept")
            return []
        return self.free_then_clear(
            m, loc, pmd, lambda: self.kernel_table_free(m, t, pmd, "kasan_free_pmd: pmd_free(&init_mm)"),
            Step("pxd_clear", (va, tables.pud_level, "kasan_free_pmd")), "kasan_free_pmd")

    # -- hot-remove of boot memory's direct map --------------------------------------------
    @step("remove_pte_table_direct", "va")
    def st_remove_pte_table_direct(self, m: Machine, t: str, va: int) -> Steps:
        """kernel_physical_mapping_remove() -> remove_pagetable(direct=true)
        (arch/x86/mm/init_64.c, v6.19): remove_pte_table() pte_clear()s the
        direct-map entries (direct: the mapped pages are not freed), then
        free_pte_table() -> free_pagetable(): a table alloc_low_pages() took
        from memblock at boot is PageReserved and goes back through
        free_reserved_pages(), then the pmd is cleared."""
        if (found := self.clear_pte_table(m, va, "remove_pte_table")) is None:
            return []
        loc, pte = found
        return self.free_pte_table(m, va, loc, pte)

    @step("free_pmd_table", "va")
    def st_free_pmd_table(self, m: Machine, t: str, va: int) -> Steps:
        """remove_pud_table() -> free_pmd_table(pmd_base, pud) (arch/x86/mm/init_64.c,
        v6.19): when every pmd of the table is none, free_pagetable(pud_page(*pud),
        0), and only then pud_clear() under init_mm.page_table_lock."""
        tables = m.tables
        if (found := self.table_at(m, va, tables.pud_level, "remove_pagetable", "free_pmd_table")) is None:
            return []
        loc, pmd = found
        if m.mem.entries(pmd):
            return []

        def free() -> Steps:
            self.free_pagetable(m, pmd, 0, "free_pmd_table")
            return []

        return self.free_then_clear(m, loc, pmd, free, Step("pxd_clear", (va, tables.pud_level, "free_pmd_table")),
                                    "free_pmd_table")

    def clear_pte_table(self, m: Machine, va: int, who: str) -> tuple[tuple[int, int], int] | None:
        """The PTE table the pmd for va points at, every entry pte_clear()ed
        (kasan_remove_pte_table(), remove_pte_table(direct)): the pmd's place
        and the table, or None when the pmd is not a table."""
        tables = m.tables
        if (found := self.table_at(m, va, tables.pmd_level, who, who)) is None:
            return None
        loc, pte = found
        for idx in sorted(m.mem.entries(pte)):
            tables.write(pte, idx, None, who)
        if m.trace:
            m.note(f"{who}(): pte_clear() of every entry of pfn {pte:#x}")
        return loc, pte

    @step("user_pte_free", "pfn")
    def st_user_pte_free(self, m: Machine, t: str, pfn: int) -> Steps:
        """pte_free(mm, pte) of a user page table -> pagetable_dtor_free()."""
        if m.trace:
            m.note(f"pte_free(mm, pfn {pfn:#x}) -> pagetable_dtor_free()")
        self.dtor(m, pfn, "pte_free")
        return self.pagetable_free(m, t, pfn, "pte_free")

    # API steps (Machine.pagetable_dtor_free / pagetable_free / enqueue)
    @step("kernel_table_free", "pfn", "text")
    def st_kernel_table_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        return self.kernel_table_free(m, t, pfn, who)

    @step("pagetable_free", "pfn", "text")
    def st_pagetable_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        return self.pagetable_free(m, t, pfn, who)

    @step("enqueue", "pfn", "text")
    def st_enqueue(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        return self.pagetable_free_kernel(m, t, pfn, who)

    # -- the worker ---------------------------------------------------------------------------
    @step("work_start")
    def st_work_start(self, m: Machine, t: str) -> Steps:
        """kernel_pgtable_work_func(): LIST_HEAD(page_list); under the lock
        list_splice_tail_init() onto it."""
        m.st.work_pending = False
        m.lists.init(m.queues.worker_list)
        m.lists.splice_tail(m.queues.work_head, m.queues.worker_list, init=True)
        m.note("kernel_pgtable_work_func(): spin_lock(); list_splice_tail_init(&kernel_pgtable_work.list, "
               "&page_list); spin_unlock()")
        return [Step("work_invalidate"), Step("work_next")]

    @step("work_invalidate")
    def st_work_invalidate(self, m: Machine, t: str) -> Steps:
        n = m.iommu.invalidate() if m.sva else 0
        if m.trace:
            m.note("iommu_sva_invalidate_kva_range(PAGE_OFFSET, TLB_FLUSH_ALL)"
                   + (f": {n} cached entries flushed" if m.sva else ": no SVA device bound"))
        return []

    @step("work_next")
    def st_work_next(self, m: Machine, t: str) -> Steps:
        """list_for_each_entry_safe(pt, next, &page_list, pt_list) __pagetable_free(pt):
        the whole batch in one step (the loop touches only pages no one else
        references any more; see mmbits.emu.explore), or with `worker_per_page`
        one step per iteration (work_free_one)."""
        if self.worker_per_page:
            pos = m.lists.next(m.queues.worker_list)
            nxt = m.lists.next(pos) if pos != m.queues.worker_list else pos
            return [Step("work_free_one", (pos, nxt, 0))]
        node = m.lists.next(m.queues.worker_list)
        budget = m.mem.npages
        while node != m.queues.worker_list:
            budget -= 1
            if budget < 0:
                m.report("list-corruption", "kernel_pgtable_work_func(): the spliced list never returns to its head "
                         "(a freed ptdesc is still linked)", where="kernel_pgtable_work_func: list loop", crash=True)
            node = self.work_free(m, t, node)
        m.pop_frame(m.queues.worker_list)
        return []

    @step("work_free_one", "addr", "addr", "index")
    def st_work_free_one(self, m: Machine, t: str, pos: int, nxt: int, count: int) -> Steps:
        """One iteration of kernel_pgtable_work_func()'s loop (mm/pgtable-generic.c,
        v6.19 and 7.1): list_for_each_entry_safe(pt, next, &page_list, pt_list)
        holds pos and n = pos->next in registers; the body __pagetable_free(pt)
        frees pos, then pos = n and n = n->next is read for the next iteration.
        Other CPUs and the IOMMU run between iterations."""
        head = m.queues.worker_list
        if pos == head:
            m.pop_frame(head)
            return []
        if count > m.mem.npages:
            m.report("list-corruption", "kernel_pgtable_work_func(): the spliced list never returns to its head "
                     "(a freed ptdesc is still linked)", where="kernel_pgtable_work_func: list loop", crash=True)
        self.work_free_entry(m, t, pos)
        after = m.lists.next(nxt) if nxt != head else head
        return [Step("work_free_one", (nxt, after, count + 1))]

    def work_free_entry(self, m: Machine, t: str, node: int) -> None:
        """The loop body on entry `node`: __pagetable_free(pt)."""
        pfn = m.pt_node_page(node)
        m.lifecycle("worker", pfn)
        self.pagetable_free_now(m, pfn, "kernel_pgtable_work_func")

    def work_free(self, m: Machine, t: str, node: int) -> int:
        """One iteration: n = pos->next is read before pos is freed; returns n."""
        nxt = m.lists.next(node)
        self.work_free_entry(m, t, node)
        return nxt

    # -- end of run ------------------------------------------------------------------------
    def in_flight(self, m: Machine) -> set[int]:
        """Pages queued for the worker (owned by the work list). The worker's
        on-stack list is out of scope once the work function has returned."""
        out = set()
        try:
            for node in m.lists.entries(m.queues.work_head, limit=m.mem.npages):
                out.add(m.pt_node_page(node))
        except Exception:  # noqa: BLE001 - a corrupted list was reported when it happened
            pass
        return out

    def end_checks(self, m: Machine) -> None:
        m.leak_check()


Design.step_handlers = handlers_of(Design)


def _set_huge(m: Machine, va: int, level: int, name: str) -> Steps:
    """pmd_set_huge() / pud_set_huge(): one leaf entry maps the whole range at `level`."""
    tables = m.tables
    loc = tables.locate(va, level, f"{name}_set_huge")
    if loc is None:
        return []
    npages = 1 << (tables.levels[level].shift - m.facts.page_shift)
    tables.write(loc[0], loc[1], (LEAF, m.device_pfn(va), npages, False), f"{name}_set_huge")
    if m.trace:
        m.note(f"{name}_set_huge({name}[{loc[1]}] of pfn {loc[0]:#x})")
    return []
