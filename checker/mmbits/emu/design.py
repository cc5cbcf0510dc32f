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
    clear_before_free = False  # free_pte_table(): the kernel frees, then clears the pmd
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

    def alloc_cpa_table(self, m: Machine, role: str) -> int:
        """split_large_page(): base = alloc_pages(GFP_KERNEL, 0)
        (arch/x86/mm/pat/set_memory.c, v6.19): not pagetable_alloc(), no
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
        """arch/x86/mm/init_64.c free_pagetable(), non-reserved branch after
        bf9e4e30f353: pagetable_free(page_ptdesc(page)) (the order is dropped)."""
        m.note(f"{who}: free_pagetable(pfn {pfn:#x}, order {order}) -> pagetable_free()")
        self.pagetable_free(m, "", pfn, who)

    def free_vmemmap_pages(self, m: Machine, pfn: int, order: int, who: str) -> None:
        """The fix: free_vmemmap_pages(page, order, NULL) -> __free_pages(page, order)."""
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
        if (found := tables.entry_of(va, tables.pmd_level, "remove_pagetable", TABLE)) is None:
            return []
        loc, entry = found
        pte = entry[1]
        m.cpu_access(pte, "remove_pte_table", "read")
        for idx, leaf in sorted(m.mem.entries(pte).items()):
            tables.write(pte, idx, None, "remove_pte_table")
            if leaf[0] == LEAF and leaf[3]:
                self.free_vmemmap_4k(m, leaf[1], "remove_pte_table")
        # free_pte_table() (arch/x86/mm/init_64.c, v6.19) frees first --
        # free_pagetable(pmd_page(*pmd), 0) -- and clears the pmd after, under
        # init_mm.page_table_lock: the freed table is still linked meanwhile
        if self.clear_before_free:
            tables.write(loc[0], loc[1], None, "free_pte_table")
            m.note(f"free_pte_table(): pmd_clear(pmd[{loc[1]}] of pfn {loc[0]:#x}) before the free")
            self.free_pagetable(m, pte, 0, "free_pte_table")
            return []
        m.free_then_clear = pte
        try:
            self.free_pagetable(m, pte, 0, "free_pte_table")
        finally:
            m.free_then_clear = -1
        return [Step("free_pte_table_clear", (va,))]

    @step("free_pte_table_clear", "va")
    def st_free_pte_table_clear(self, m: Machine, t: str, va: int) -> Steps:
        """free_pte_table(): spin_lock(&init_mm.page_table_lock); pmd_clear(pmd); spin_unlock()."""
        tables = m.tables
        loc = tables.locate(va, tables.pmd_level, "free_pte_table")
        if loc is None:
            return []
        tables.write(loc[0], loc[1], None, "free_pte_table")
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
        """remove_pmd_table(): a PMD-mapped vmemmap block -> free_hugepage_table()."""
        tables = m.tables
        if (found := tables.entry_of(va, tables.pmd_level, "remove_pmd_table", LEAF)) is None:
            return []
        loc, entry = found
        tables.write(loc[0], loc[1], None, "remove_pmd_table")
        order = (entry[2]).bit_length() - 1
        m.note(f"pmd_clear(pmd[{loc[1]}] of pfn {loc[0]:#x}); free_hugepage_table(pfn {entry[1]:#x}, order {order})")
        self.free_vmemmap_block(m, entry[1], order, "free_hugepage_table")
        return []

    @step("cpa_split", "va")
    def st_cpa_split(self, m: Machine, t: str, va: int) -> Steps:
        """split_large_page(): a PTE table replaces the direct map's huge leaf."""
        tables = m.tables
        if (found := tables.entry_of(va, tables.pmd_level, "split_large_page", LEAF)) is None:
            return []
        loc, entry = found
        pte = self.alloc_cpa_table(m, f"CPA split PTE table for {va:#x}")
        for i in range(2):
            tables.write(pte, i, (LEAF, entry[1] + i, 1, False), "__split_large_page")
        tables.write(loc[0], loc[1], (TABLE, pte), "__set_pmd_pte")
        m.note(f"split_large_page(): PTE table pfn {pte:#x} at pmd[{loc[1]}] of pfn {loc[0]:#x}")
        return []

    @step("cpa_collapse", "va", "addr")
    def st_cpa_collapse(self, m: Machine, t: str, va: int, head: int) -> Steps:
        """collapse_pmd_page(): huge leaf back, the PTE table queued on CPA's local list."""
        tables = m.tables
        if (found := tables.entry_of(va, tables.pmd_level, "collapse_large_pages", TABLE)) is None:
            return []
        loc, entry = found
        pte = entry[1]
        m.cpu_access(pte, "collapse_pmd_page", "read")
        first = m.mem.entry(pte, 0)
        pfn = first[1] if first else m.device_pfn(va)
        npages = 1 << (tables.levels[tables.pmd_level].shift - m.facts.page_shift)
        tables.write(loc[0], loc[1], (LEAF, pfn, npages, False), "collapse_pmd_page")
        m.lists.add(m.pt_list_node(pte), head)
        m.note(f"collapse_pmd_page(): set_pmd(huge); list_add(&page_ptdesc(pfn {pte:#x})->pt_list, &pgtables)")
        return []

    @step("cpa_free", "addr")
    def st_cpa_free(self, m: Machine, t: str, head: int) -> Steps:
        """cpa_collapse_large_pages(): flush_tlb_all(), then for each queued table
        list_del() and pagetable_free() (v7 6/8)."""
        if m.lists.empty(head):
            return []
        node = m.lists.next(head)
        pfn = m.pt_node_page(node)
        m.lists.delete(node)
        m.note(f"flush_tlb_all(); list_del(&ptdesc->pt_list); pagetable_free(pfn {pfn:#x})")
        steps = self.cpa_release(m, t, pfn)
        if not m.lists.empty(head):
            return steps + [Step("cpa_free", (head,))]
        m.pop_frame(head)
        return steps

    def cpa_release(self, m: Machine, t: str, pfn: int) -> Steps:
        return self.pagetable_free(m, t, pfn, "cpa_collapse_large_pages")

    @step("user_pte_free", "pfn")
    def st_user_pte_free(self, m: Machine, t: str, pfn: int) -> Steps:
        """pte_free(mm, pte) of a user page table -> pagetable_dtor_free()."""
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
        m.note("iommu_sva_invalidate_kva_range(PAGE_OFFSET, TLB_FLUSH_ALL)"
               + (f": {n} cached entries flushed" if m.sva else ": no SVA device bound"))
        return []

    @step("work_next")
    def st_work_next(self, m: Machine, t: str) -> Steps:
        """list_for_each_entry_safe(pt, next, &page_list, pt_list) __pagetable_free(pt):
        the whole batch in one step (the loop touches only pages no one else
        references any more; see mmbits.emu.explore)."""
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

    def work_free(self, m: Machine, t: str, node: int) -> int:
        """One iteration: n = pos->next is read before pos is freed; returns n."""
        nxt = m.lists.next(node)
        pfn = m.pt_node_page(node)
        m.lifecycle("worker", pfn)
        self.pagetable_free_now(m, pfn, "kernel_pgtable_work_func")
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
    m.note(f"{name}_set_huge({name}[{loc[1]}] of pfn {loc[0]:#x})")
    return []
