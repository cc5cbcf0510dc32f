"""An IOMMU doing SVA on the kernel's page tables.

It walks the tables from the root like the hardware does and keeps every
non-leaf entry it used in its paging-structure caches, keyed by level and the
VA prefix that entry covers, until iommu_sva_invalidate_kva_range() flushes
them (reference section 1: intermediate entries are cached while valid, even
when the final permission check fails). A walk starts from the deepest cached
entry, so a cached pointer to a table that has since been freed sends the
walk into freed memory.

The emulator lets the IOMMU walk every VA of the scenario after every step.
That is the most any schedule of IOMMU walks can cache, and it caches nothing
that some real schedule could not (each entry was reachable at some moment
since the last invalidation), so "a table went back to the allocator while a
cached entry pointed at it" is found exactly, without exploring the IOMMU's
own interleavings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagebits.emu.pgtable import TABLE

if TYPE_CHECKING:
    from pagebits.emu.machine import Machine


class Iommu:
    def __init__(self, m: Machine):
        self.m = m

    @property
    def cache(self) -> dict[tuple[int, int], int]:
        return self.m.st.iommu_cache

    def walk(self, va: int) -> list[str]:
        """One page walk for va; returns descriptions of newly cached entries."""
        m = self.m
        tables = m.tables
        levels = tables.levels
        cache = self.cache
        start = 0
        pfn = tables.root
        for lv in range(len(levels) - 2, -1, -1):
            hit = cache.get((lv, va >> levels[lv].shift))
            if hit is not None:
                pfn = hit
                start = lv + 1
                break
        new: list[str] = []
        for lv in range(start, len(levels)):
            # through a stale cached entry the free itself was the report;
            # through live tables a freed page is still linked (its own bug)
            if m.mem.shadow[pfn] and lv > start:
                m.report("iommu-use-after-free",
                         f"the IOMMU walked VA {va:#x} into pfn {pfn:#x} ({m.role(pfn)}), which the allocator has freed: "
                         f"it reads the page's new contents as {levels[lv].name} entries",
                         pfn=pfn, where=f"iommu walk: {m.role(pfn, stable=True)}")
                return new
            if m.mem.shadow[pfn]:
                return new
            entry = m.mem.entries(pfn).get(levels[lv].index(va))
            if entry is None or entry[0] != TABLE or lv == len(levels) - 1:
                break
            key = (lv, va >> levels[lv].shift)
            if cache.get(key) != entry[1]:
                cache[key] = entry[1]
                new.append(f"{levels[lv].name}[{levels[lv].index(va)}] of pfn {pfn:#x} -> pfn {entry[1]:#x}")
            pfn = entry[1]
        return new

    def invalidate(self) -> int:
        """iommu_sva_invalidate_kva_range(PAGE_OFFSET, TLB_FLUSH_ALL)."""
        n = len(self.cache)
        self.m.st.iommu_cache = {}
        self.m.mem.version += 1
        return n

    def cached_users(self, pfn: int) -> list[tuple[int, int]]:
        return [key for key, target in self.cache.items() if target == pfn]
