"""The scenario a simulation runs: kernel page tables for a few VA ranges,
and per CPU a list of operations that free them the way the kernel does.

Operations (which exist depends on the arch, emulator.yaml `ops`):

- huge-pmd   vmap_try_huge_pmd(): pmd_free_pte_page() frees a PTE table, then
             pmd_set_huge() writes the PMD table (ioremap-style promotion)
- huge-pud   vmap_try_huge_pud(): pud_free_pmd_page() frees two PTE tables
             and the PMD table (through a pmd_sv copy), then pud_set_huge()
- hot-remove remove_pagetable() of a vmemmap range: a 4 KiB vmemmap page,
             its PTE table, and a PMD-mapped vmemmap block of order
             get_order(PMD_SIZE) allocated without __GFP_COMP
- cpa        split_large_page() then cpa_collapse_large_pages()
- user-pte   pte_free() of a user page table (the control: not a kernel table)

Opt-in operations (emulator.yaml `optin: true`: only when named with --only):

- kasan-shadow     kasan_remove_zero_shadow() of hot-removed memory's KASAN
                   shadow: a PTE table (pte_alloc_one_kernel) and its PMD
                   table (pmd_alloc(&init_mm)) freed, each before its entry
                   is cleared (mm/kasan/init.c)
- cpa-pud          a 1 GiB direct-map leaf split to a PMD table, one 2 MiB
                   leaf of it split to a PTE table, both collapsed back
                   (collapse_pmd_page, collapse_pud_page) and freed
- hot-remove-boot  remove_pagetable() of boot memory's direct map: the PTE
                   and PMD tables are ones alloc_low_pages() took from
                   memblock at boot (PageReserved), freed by
                   free_reserved_page(), each before its entry is cleared

CPU i runs operations i*ops .. i*ops+ops-1 of the arch's rotation, each on its
own VA range; huge-pmd ranges share one PMD table. All setup happens before
the threads start, so every schedule starts from the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mmbits.emu.pgtable import LEAF, TABLE
from mmbits.emu.steps import Step
from mmbits.errors import InputError

if TYPE_CHECKING:
    from mmbits.emu.machine import Machine


@dataclass
class Workload:
    cpus: int
    ops: int
    programs: dict[str, tuple[Step, ...]] = field(default_factory=dict)
    plan: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"cpus": self.cpus, "ops_per_cpu": self.ops, "plan": self.plan}


def build(m: Machine, cpus: int, ops: int, only: tuple[str, ...] = ()) -> Workload:
    f = m.facts
    # the default rotation, or the named operations (opt-in ones only when named)
    kinds = f.ops if not only else tuple(k for k in f.ops + f.optin_ops if k in only)
    off = [o for o in only if o in f.ops_off]
    if off and not kinds:
        raise InputError(f"--only {off[0]}: the operation needs {f.ops_off[off[0]]}, which is false on "
                         f"{m.config.label()} (give it with --set or a config that has it)")
    if not kinds:
        raise InputError(f"no operation of {list(only) or 'the workload'} exists on arch {m.config.arch} "
                         f"(available: {', '.join(f.ops + f.optin_ops) or 'none'})")
    wl = Workload(cpus, ops)
    count: dict[str, int] = {}
    for c in range(cpus):
        steps: list[Step] = []
        labels: list[str] = []
        for j in range(ops):
            kind = kinds[(c * ops + j) % len(kinds)]
            k = count.get(kind, 0)
            count[kind] = k + 1
            steps.extend(SETUP[kind](m, k, c))
            labels.append(f"{kind}#{k}")
        wl.programs[f"cpu{c}"] = tuple(steps)
        wl.plan[f"cpu{c}"] = labels
    if m.design.ptdump_walker:
        if "huge-pmd" not in count:
            raise InputError(f"variant {m.design.name} walks the range of a huge-pmd operation; the workload has none")
        va = m.facts.addresses["vmalloc_start"] + _sizes(m)[0]  # huge-pmd #0
        wl.programs["ptdump"] = tuple(m.design.ptdump_steps(va, m.tables.root))
        wl.plan["ptdump"] = [f"ptdump of huge-pmd#0 ({va:#x})"]
    m.emitted.clear()
    return wl


def _sizes(m: Machine) -> tuple[int, int]:
    t = m.tables
    pmd = 1 << t.levels[t.pmd_level].shift
    pud = 1 << t.levels[t.pud_level].shift if t.pud_level >= 0 else pmd * t.levels[t.pmd_level].ptrs
    return pmd, pud


def _pte_table(m: Machine, parent: int, va: int, role: str, leaves: int = 2) -> int:
    d = m.design
    t = m.tables
    pte = d.alloc_table(m, t.pte_level, kernel=True, role=role)
    t.write(parent, t.index(va, t.pmd_level), (TABLE, pte), "setup")
    for i in range(leaves):
        t.write(pte, i, (LEAF, m.device_pfn(va) + i, 1, False), "setup")
    return pte


def setup_huge_pmd(m: Machine, k: int, cpu: int) -> list[Step]:
    pmd_size, _ = _sizes(m)
    va = m.facts.addresses["vmalloc_start"] + (k + 1) * pmd_size
    t = m.tables
    pmd = m.design.ensure_tables(m, va, t.pmd_level, "vmalloc area")
    _pte_table(m, pmd, va, f"PTE table for {va:#x} (huge-pmd #{k})")
    m.vas.append(va)
    return m.design.vmap_huge_pmd_steps(va)


def _pmd_table(m: Machine, va: int, area: str, role: str) -> int:
    """A kernel PMD table (pmd_alloc_one(&init_mm): constructed, marked) at the pud for va."""
    t = m.tables
    pud = m.design.ensure_tables(m, va, t.pud_level, area)
    pmd = m.design.alloc_table(m, t.pmd_level, kernel=True, role=role)
    t.write(pud, t.index(va, t.pud_level), (TABLE, pmd), "setup")
    return pmd


def setup_huge_pud(m: Machine, k: int, cpu: int) -> list[Step]:
    pmd_size, pud_size = _sizes(m)
    va = m.facts.addresses["vmalloc_start"] + (k + 1) * pud_size
    pmd = _pmd_table(m, va, "vmalloc area", f"PMD table for {va:#x} (huge-pud #{k})")
    for i in range(2):
        sub = va + i * pmd_size
        _pte_table(m, pmd, sub, f"PTE table for {sub:#x} (huge-pud #{k})")
        m.vas.append(sub)
    return [Step("pud_free_pmd_page", (va,)), Step("pud_set_huge", (va,))]


def setup_hot_remove(m: Machine, k: int, cpu: int) -> list[Step]:
    pmd_size, pud_size = _sizes(m)
    va = m.facts.addresses["vmemmap_start"] + (k + 1) * pud_size
    t = m.tables
    d = m.design
    order = m.facts.pmd_order
    # the PMD-mapped vmemmap block first: vmemmap_alloc_block() -> alloc_pages_node(), no __GFP_COMP
    block = m.alloc_pages(order, who="vmemmap_alloc_block",
                          role=f"vmemmap block for {va + pmd_size:#x} (order {order}, non-compound)", kind="vmemmap")
    pmd = d.ensure_tables(m, va, t.pmd_level, "vmemmap")
    pte = d.alloc_hotplug_table(m, t.pte_level, f"vmemmap PTE table for {va:#x} (hot-remove #{k})")
    t.write(pmd, t.index(va, t.pmd_level), (TABLE, pte), "setup")
    page = m.alloc_pages(0, zero=True, who="vmemmap_alloc_block_zero", role=f"vmemmap page for {va:#x}",
                         kind="vmemmap")
    t.write(pte, 0, (LEAF, page, 1, True), "setup")
    t.write(pmd, t.index(va + pmd_size, t.pmd_level), (LEAF, block, 1 << order, True), "setup")
    m.vas.extend([va, va + pmd_size])
    return [Step("remove_pte_table", (va,)), Step("free_huge_vmemmap", (va + pmd_size,))]


def setup_cpa(m: Machine, k: int, cpu: int) -> list[Step]:
    pmd_size, pud_size = _sizes(m)
    f = m.facts
    va = f.addresses["page_offset"] + (k + 1) * pud_size
    t = m.tables
    pmd = m.design.ensure_tables(m, va, t.pmd_level, "direct map")
    pfn = (va - f.addresses["page_offset"]) >> f.page_shift
    t.write(pmd, t.index(va, t.pmd_level), (LEAF, pfn, pmd_size >> f.page_shift, False), "setup")
    head = m.mem.alloc_static(f"pgtables (cpa_collapse_large_pages() on cpu{cpu})", 2 * f.ptr_size, on_stack=True)
    m.lists.init(head)
    m.vas.append(va)
    return [Step("cpa_split", (va,)), Step("cpa_collapse", (va, head)), Step("cpa_free", (head,))]


def _static_page(m: Machine, role: str) -> int:
    """A page of boot memory (PG_reserved, refcount 1: the kernel image's .bss,
    or memblock) with this role: the one already set up, or the next unused."""
    from mmbits.emu.machine import RESERVED_PAGES

    roles = m.st.roles
    for pfn in range(1, RESERVED_PAGES):
        if roles.get(pfn) == role:
            return pfn
    for pfn in range(1, RESERVED_PAGES):
        if pfn not in roles:
            m.set_role(pfn, role, "kernel-pgtable" if "table" in role else "data")
            return pfn
    raise InputError(f"the emulated boot memory ({RESERVED_PAGES - 1} pages) has no page left for {role}: "
                     f"run fewer hot-remove-boot operations")


def setup_kasan_shadow(m: Machine, k: int, cpu: int) -> list[Step]:
    """kasan_add_zero_shadow() of hot-added memory (mm/kasan/init.c, v6.19),
    after boot (slab_is_available()): zero_pud_populate() takes the PMD table
    from pmd_alloc(&init_mm) and zero_pmd_populate() a PTE table from
    pte_alloc_one_kernel(&init_mm) -- both constructed and PT_kernel-marked
    (977870522af3) -- for a range that is not PMD-aligned (the shadow of a
    memmap_on_memory block's vmemmap pages, mhp_init_memmap_on_memory()), its
    entries mapping kasan_early_shadow_page; an aligned PMD_SIZE of shadow
    points at the static kasan_early_shadow_pte."""
    pmd_size, pud_size = _sizes(m)
    va = m.facts.addresses["kasan_shadow"] + (k + 1) * pud_size
    t = m.tables
    d = m.design
    pmd = _pmd_table(m, va, "KASAN shadow", f"KASAN shadow PMD table for {va:#x} (kasan-shadow #{k})")
    pte = d.alloc_table(m, t.pte_level, kernel=True, role=f"KASAN shadow PTE table for {va:#x} (kasan-shadow #{k})")
    t.write(pmd, t.index(va, t.pmd_level), (TABLE, pte), "setup")
    zero = _static_page(m, "kasan_early_shadow_page (kernel .bss)")
    early = _static_page(m, "kasan_early_shadow_pte table (kernel .bss)")
    for i in range(2):
        t.write(pte, i, (LEAF, zero, 1, False), "setup")
        t.write(early, i, (LEAF, zero, 1, False), "setup")
    t.write(pmd, t.index(va + pmd_size, t.pmd_level), (TABLE, early), "setup")
    m.vas.extend([va, va + pmd_size])
    return [Step("kasan_free_pte", (va,)), Step("kasan_free_pmd", (va, early))]


def setup_cpa_pud(m: Machine, k: int, cpu: int) -> list[Step]:
    """A 1 GiB direct-map leaf (direct_gbpages) that CPA splits twice and
    collapses back (arch/x86/mm/pat/set_memory.c, v6.19)."""
    _, pud_size = _sizes(m)
    f = m.facts
    va = f.addresses["page_offset"] + (k + 129) * pud_size  # away from the cpa and hot-remove-boot ranges
    t = m.tables
    pud = m.design.ensure_tables(m, va, t.pud_level, "direct map")
    pfn = (va - f.addresses["page_offset"]) >> f.page_shift
    t.write(pud, t.index(va, t.pud_level), (LEAF, pfn, pud_size >> f.page_shift, False), "setup")
    head = m.mem.alloc_static(f"pgtables (cpa_collapse_large_pages() on cpu{cpu}, 1 GiB)", 2 * f.ptr_size,
                              on_stack=True)
    m.lists.init(head)
    m.vas.append(va)
    return [Step("cpa_split_pud", (va,)), Step("cpa_split", (va,)), Step("cpa_collapse", (va, head)),
            Step("cpa_collapse_pud", (va, head)), Step("cpa_free", (head,))]


def setup_hot_remove_boot(m: Machine, k: int, cpu: int) -> list[Step]:
    """Boot memory's direct map with PMD and PTE tables from alloc_low_pages()
    at boot (arch/x86/mm/init.c, v6.19: memblock, so PageReserved after
    memmap_init_reserved_pages(); no constructor, no PT_kernel mark, and not
    registered by register_page_bootmem_info_node(): page->private is 0)."""
    _, pud_size = _sizes(m)
    f = m.facts
    va = f.addresses["page_offset"] + (k + 257) * pud_size
    t = m.tables
    pud = m.design.ensure_tables(m, va, t.pud_level, "direct map")
    boot = "alloc_low_pages, memblock; hot-remove-boot"
    pmd = _static_page(m, f"boot direct-map PMD table for {va:#x} ({boot} #{k})")
    t.write(pud, t.index(va, t.pud_level), (TABLE, pmd), "setup")
    pte = _static_page(m, f"boot direct-map PTE table for {va:#x} ({boot} #{k})")
    t.write(pmd, t.index(va, t.pmd_level), (TABLE, pte), "setup")
    pfn = (va - f.addresses["page_offset"]) >> f.page_shift
    for i in range(2):
        t.write(pte, i, (LEAF, pfn + i, 1, False), "setup")
    m.vas.append(va)
    return [Step("remove_pte_table_direct", (va,)), Step("free_pmd_table", (va,))]


def setup_user_pte(m: Machine, k: int, cpu: int) -> list[Step]:
    pte = m.design.alloc_table(m, m.tables.pte_level, kernel=False, role=f"user PTE table (mm #{k})")
    return [Step("user_pte_free", (pte,))]


SETUP = {
    "huge-pmd": setup_huge_pmd,
    "huge-pud": setup_huge_pud,
    "hot-remove": setup_hot_remove,
    "cpa": setup_cpa,
    "user-pte": setup_user_pte,
    "kasan-shadow": setup_kasan_shadow,
    "cpa-pud": setup_cpa_pud,
    "hot-remove-boot": setup_hot_remove_boot,
}
