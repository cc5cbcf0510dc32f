"""The designs argued in the seeds and the kernel's history, each as the
upstream design with one change (shared/reference/deferred-free-and-memdesc.md
sections 2.2, 3 and 6). What each one gets wrong is not written here: the
emulator finds it in the bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmbits.emu.design import Design, Steps
from mmbits.emu.marking import Marking
from mmbits.errors import InputError

if TYPE_CHECKING:
    from mmbits.emu.machine import Machine
    from mmbits.proposal import Proposal


class Sync(Design):
    name = "sync"
    title = "before the fix: kernel tables freed at once, no IOMMU invalidation"
    deferred = False

    def own_marking(self) -> Marking | None:
        return None

    def pagetable_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        self.check_unlinked(m, pfn, who)
        m.lifecycle("pagetable_free", pfn)
        self.pagetable_free_now(m, pfn, who)
        return []


class ThreeLists(Design):
    """Baolu Lu, 2025-08-23 (design 2 of section 2.2): `dtor` ptdescs whose
    destructor runs in the worker, `page` order-0 pages (CPA collapse), `pages`
    free_pages(addr, order) requests carried in kzalloc'd async_free_data;
    one lock; the worker splices all three, invalidates, then frees each with
    its own function (list_del first, as in the drafts)."""

    name = "three-lists"
    title = "three lists (dtor / page / pages) with per-list free functions"

    def own_marking(self) -> Marking | None:
        return None

    def boot(self, m: Machine) -> None:
        ptr = m.facts.ptr_size
        m.work_head = m.mem.alloc_static("kernel_pgtable_work.dtor", 2 * ptr)
        m.page_head = m.mem.alloc_static("kernel_pgtable_work.page", 2 * ptr)
        m.worker_list = m.mem.alloc_static("dtor_list (work func stack)", 2 * ptr, on_stack=True)
        m.worker_page_list = m.mem.alloc_static("page_list (work func stack)", 2 * ptr, on_stack=True)
        for head in (m.work_head, m.page_head, m.worker_list, m.worker_page_list):
            m.lists.init(head)

    def kernel_table_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        """pte_free_kernel(&init_mm) / pmd_free(&init_mm) -> kernel_pgtable_async_free_dtor()."""
        m.lifecycle("pte_free_kernel", pfn)
        self.check_unlinked(m, pfn, who)
        m.note("kernel_pgtable_async_free_dtor(): list_add(&ptdesc->pt_list, &kernel_pgtable_work.dtor)")
        m.lists.add(m.pt_list_node(pfn), m.work_head)
        m.lifecycle("enqueue", pfn)
        m.st.work_pending = True
        return []

    def pagetable_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        self.check_unlinked(m, pfn, who)
        m.lifecycle("pagetable_free", pfn)
        self.pagetable_free_now(m, pfn, who)
        return []

    def free_pagetable(self, m: Machine, pfn: int, order: int, who: str) -> None:
        m.note(f"{who}: kernel_pgtable_async_free_pages(pfn {pfn:#x}, order {order}) (async_free_data)")
        m.st.lists3 = (*m.st.lists3, (pfn, order))
        m.st.work_pending = True

    def free_vmemmap_4k(self, m: Machine, pfn: int, who: str) -> None:
        self.free_pagetable(m, pfn, 0, who)

    def free_vmemmap_block(self, m: Machine, pfn: int, order: int, who: str) -> None:
        self.free_pagetable(m, pfn, order, who)

    def cpa_release(self, m: Machine, t: str, pfn: int) -> Steps:
        m.note("kernel_pgtable_async_free_page(): list_add(&ptdesc->pt_list, &kernel_pgtable_work.page)")
        m.lists.add(m.pt_list_node(pfn), m.page_head)
        m.st.work_pending = True
        return []

    def in_flight(self, m: Machine) -> set[int]:
        out = super().in_flight(m)
        for node in m.lists.entries(m.page_head, limit=m.mem.npages):
            out.add(m.pt_node_page(node))
        for pfn, order in m.st.lists3:
            out.update(range(pfn, pfn + (1 << order)))
        return out

    def st_work_start(self, m: Machine, t: str) -> Steps:
        m.st.work_pending = False
        m.lists.init(m.worker_list)
        m.lists.init(m.worker_page_list)
        m.lists.splice_tail(m.work_head, m.worker_list, init=True)
        m.lists.splice_tail(m.page_head, m.worker_page_list, init=True)
        pages = m.st.lists3
        m.st.lists3 = ()
        m.note("spin_lock(); splice dtor, page and pages lists; spin_unlock()")
        return [("work_invalidate",), ("work_free3", pages)]

    def st_work_free3(self, m: Machine, t: str, pages: tuple) -> Steps:
        """The three loops: pagetable_dtor_free() the dtor list, __free_page()
        the page list (list_del first), free_pages() each async_free_data."""
        budget = m.mem.npages
        for which, head in (("dtor", m.worker_list), ("page", m.worker_page_list)):
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
                    m.note(f"list_del(); pagetable_dtor_free(pfn {pfn:#x})")
                    self.dtor(m, pfn, "kernel_pgtable_work_func")
                else:
                    m.note(f"list_del(); __free_page(pfn {pfn:#x})")
                self.pagetable_free_now(m, pfn, "kernel_pgtable_work_func")
        for pfn, order in pages:
            m.note(f"free_pages(pfn {pfn:#x}, order {order}); kfree(async_free_data)")
            m.free_pages(pfn, order, who="kernel_pgtable_work_func: free_pages")
        m.pop_frame(m.worker_list)
        m.pop_frame(m.worker_page_list)
        return []


class NrPageflagsBit(Design):
    """Baolu Lu, 2025-08-27 (design 3, seed 000): one list; pte_free_kernel()
    queues with ASYNC_PGTABLE_FREE_DTOR = BIT(NR_PAGEFLAGS) set in the flags
    word, other kernel pages are queued without it; the worker tests the bit
    to choose pagetable_dtor_free() or __free_page()."""

    name = "nr-pageflags-bit"
    title = "one list, ASYNC_PGTABLE_FREE_DTOR = BIT(NR_PAGEFLAGS) in the flags word"

    def own_marking(self) -> Marking | None:
        return Marking("ASYNC_PGTABLE_FREE_DTOR", "BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags",
                                        "kernel-pgtable", set_at="enqueue", test_at="worker", clear_at=None,
                                        decides="dtor")

    def kernel_table_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        """kernel_pgtable_async_free_dtor(): set the bit, list_add (the dtor runs later)."""
        m.lifecycle("pte_free_kernel", pfn)
        self.check_unlinked(m, pfn, who)
        m.note("kernel_pgtable_async_free_dtor(): __page_flags |= ASYNC_PGTABLE_FREE_DTOR; list_add()")
        m.lists.add(m.pt_list_node(pfn), m.work_head)
        m.lifecycle("enqueue", pfn)
        m.st.work_pending = True
        return []

    def pagetable_free(self, m: Machine, t: str, pfn: int, who: str) -> Steps:
        self.check_unlinked(m, pfn, who)
        m.lifecycle("pagetable_free", pfn)
        self.pagetable_free_now(m, pfn, who)
        return []

    def _queue_page(self, m: Machine, pfn: int, who: str) -> None:
        m.note(f"{who}: kernel_pgtable_async_free_page(pfn {pfn:#x}): list_add()")
        m.lists.add(m.pt_list_node(pfn), m.work_head)
        m.st.work_pending = True

    def free_pagetable(self, m: Machine, pfn: int, order: int, who: str) -> None:
        self._queue_page(m, pfn, who)

    def cpa_release(self, m: Machine, t: str, pfn: int) -> Steps:
        self._queue_page(m, pfn, "cpa_collapse_large_pages")
        return []

    def work_free(self, m: Machine, t: str, node: int) -> int:
        nxt = m.lists.next(node)
        pfn = m.pt_node_page(node)
        m.lists.delete(node)
        dtor = m.lifecycle("worker", pfn)
        if dtor:
            m.note(f"list_del(); ASYNC_PGTABLE_FREE_DTOR set: pagetable_dtor_free(pfn {pfn:#x})")
            self.dtor(m, pfn, "kernel_pgtable_work_func")
        else:
            m.note(f"list_del(); __free_page(pfn {pfn:#x})")
        self.pagetable_free_now(m, pfn, "kernel_pgtable_work_func")
        return nxt


class PageTypeBit0(Design):
    """Dave Hansen's suggestion as Baolu Lu wrote it, 2025-08-28 (design 4):
    PTDESC_TYPE_KERNEL = BIT(0) of ptdesc->__page_type, set in
    pte_free_kernel(), tested in pagetable_free()."""

    name = "page-type-bit0"
    title = "PTDESC_TYPE_KERNEL = BIT(0) of __page_type, set in pte_free_kernel, tested in pagetable_free"

    def own_marking(self) -> Marking | None:
        return Marking("PTDESC_TYPE_KERNEL", "BIT(0)", "ptdesc.__page_type", "kernel-pgtable",
                                        set_at="pte_free_kernel", test_at="pagetable_free", clear_at=None,
                                        decides="defer")


class PmdPtdesc(Design):
    """v6 3/7 (section 3.1): pmd_ptdesc(pmd) -- the page that CONTAINS the pmd
    entry -- instead of page_ptdesc(pmd_page(*pmd)), the table it points to;
    in pud_free_pmd_page() pmd_ptdesc(&pmd_sv[i])."""

    name = "pmd-ptdesc"
    title = "v6: pmd_ptdesc(pmd) frees the table containing the entry, not the one it points to"

    def pte_table_of_pmd(self, m: Machine, table: int, idx: int, entry: tuple) -> int:
        return table

    def pte_table_of_pmd_sv(self, m: Machine, sv: int, idx: int, entry: tuple) -> int:
        return sv


class VmemmapOrder9(Design):
    """bf9e4e30f353 before its fix (section 3.2): free_hugepage_table() ->
    free_pagetable(page, get_order(PMD_SIZE)) -> pagetable_free(page_ptdesc(page))
    on a block vmemmap_alloc_block() allocated without __GFP_COMP."""

    name = "vmemmap-order9"
    title = "hot-remove frees a non-compound order-9 vmemmap block through __pagetable_free"

    def free_vmemmap_4k(self, m: Machine, pfn: int, who: str) -> None:
        self.free_pagetable(m, pfn, 0, who)

    def free_vmemmap_block(self, m: Machine, pfn: int, order: int, who: str) -> None:
        self.free_pagetable(m, pfn, order, who)


class CpaUnmarked(Design):
    """Section 3.4: split_large_page()'s tables are never marked kernel, so
    collapse frees them through __pagetable_free() without the IOMMU flush."""

    name = "cpa-unmarked"
    title = "CPA split tables never marked kernel: collapse frees them without invalidation"

    def alloc_cpa_table(self, m: Machine, role: str) -> int:
        return self.alloc_table(m, m.tables.pte_level, kernel=True, role=role, ctor=False, mark=False)


class MemdescPtdesc(Design):
    """Willy's "Separate ptdesc from struct page" (section 6): struct page
    keeps memdesc next to compound_head (layouts/memdesc/page_sep.yaml), a
    page table's ptdesc is a 16-byte-aligned slab object (ptdesc_sep.yaml)
    reached through memdesc = pointer | PageTable, with a debug copy of the
    pointer in page->__folio_index. struct page's lru union still has users
    (the buddy allocator's free lists), and allocation sites that are not
    converted to ptdescs remain: CPA's split_large_page() uses alloc_pages()."""

    name = "memdesc-ptdesc"
    title = "ptdesc separated from struct page, memdesc next to compound_head, page->lru still used"
    separate_ptdesc = True

    def alloc_cpa_table(self, m: Machine, role: str) -> int:
        # 6.18's split_large_page(): base = alloc_pages(GFP_KERNEL, 0), not a ptdesc
        pfn = m.alloc_pages(0, who="split_large_page: alloc_pages", role=role, kind="kernel-pgtable")
        return pfn

    def _slab_alloc(self, m: Machine) -> int:
        used = m.st.slab_used
        n = len(m.mem.slab) // m.mem.slab_size
        for i in range(n):
            if not used >> i & 1:
                m.st.slab_used = used | (1 << i)
                addr = m.mem.slab_base + i * m.mem.slab_size
                off = i * m.mem.slab_size
                m.mem.slab[off:off + m.mem.slab_size] = bytes(m.mem.slab_size)  # kmem_cache_zalloc
                return addr
        raise MemoryError("ptdesc slab exhausted")

    def install_ptdesc(self, m: Machine, pfn: int) -> None:
        f = m.facts
        obj = self._slab_alloc(m)
        m.mem.write_at(obj, f.pd("pt_page"), m.mem.page_addr(pfn))
        m.mem.set(pfn, f.pw("memdesc"), obj | f.memdesc_pagetable_type)
        m.mem.set(pfn, f.pw("__folio_index"), obj)  # the RFC's debug copy of the pointer
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


class ProposalDesign(Design):
    """The upstream design with a user's marking scheme in place of PT_kernel."""

    name = "proposal"
    title = "upstream with a proposed marking"


VARIANTS: dict[str, type[Design]] = {
    cls.name: cls for cls in (Design, Sync, ThreeLists, NrPageflagsBit, PageTypeBit0, PmdPtdesc, VmemmapOrder9,
                              CpaUnmarked, MemdescPtdesc)
}


def make_design(name: str, proposal: Proposal | Marking | None = None) -> Design:
    """A design by CLI name; with a proposal, the upstream design using it."""
    if proposal is not None:
        marking = proposal if isinstance(proposal, Marking) else Marking.from_proposal(proposal)
        base = VARIANTS.get(name, Design) if name != "proposal" else Design
        return ProposalDesign(marking) if base is Design else base(marking)
    if name not in VARIANTS:
        from mmbits.cexpr import suggest

        raise InputError(f"unknown variant {name!r}{suggest(name, VARIANTS)}; known: {', '.join(VARIANTS)}")
    return VARIANTS[name]()
