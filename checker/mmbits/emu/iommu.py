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

from typing import TYPE_CHECKING, Any

from mmbits.emu.footprint import Footprint
from mmbits.emu.pgtable import TABLE

if TYPE_CHECKING:
    from mmbits.emu.machine import Machine


_CACHE = ("c", 0)  # the whole paging-structure cache, as footprints name it


class Iommu:
    def __init__(self, m: Machine):
        self.m = m

    @property
    def cache(self) -> dict[tuple[int, int], int]:
        return self.m.st.iommu_cache

    def walk(self, va: int, seen: list[Any] | None = None, notes: bool = True) -> list[str]:
        """One page walk for va; returns descriptions of newly cached entries
        (`seen` collects what the walk read: each page's shadow as its pfn,
        each entry as (pfn, index)); notes=False: none (an exploration keeps
        no notes: only a traced replay shows them)."""
        m = self.m
        path = self._path(va)
        cache = m.st.iommu_cache
        fp = m.mem.fp
        start = 0
        pfn = m.st.root
        if fp is not None:  # read_part("c", 0, key) and read_part("et", pfn, key) below, inlined
            reads, part_r = fp.reads, fp.part_r
        for lv in range(len(path) - 2, -1, -1):
            _idx, key, ckey = path[lv]
            hit = cache.get(key)
            if fp is not None:  # a miss is not part of the cache a flush empties (it stays a miss)
                reads.add(ckey)
                if hit is not None:
                    part_r.add(_CACHE)
            if hit is not None:
                pfn = hit
                start = lv + 1
                break
        new: list[str] = []
        shadow = m.mem.shadow
        contents = m.mem.contents
        last = len(path) - 1
        for lv in range(start, len(path)):
            idx, key, _ckey = path[lv]
            if seen is not None:
                seen.append(pfn)
                seen.append((pfn, idx))
            if fp is not None:
                reads.add(("s", pfn))
                # the walk reads only whether the entry points at a table, and which
                reads.add(("et", pfn, idx))
                part_r.add(("et", pfn))
            if shadow[pfn]:
                # through a stale cached entry the free itself was the report;
                # through live tables a freed page is still linked (its own bug)
                if lv > start:
                    name = m.facts.levels[lv].name
                    m.report("iommu-use-after-free",
                             f"the IOMMU walked VA {va:#x} into pfn {pfn:#x} ({m.role(pfn)}), which the allocator has "
                             f"freed: it reads the page's new contents as {name} entries",
                             pfn=pfn, where=f"iommu walk: {m.role(pfn, stable=True)}")
                return new
            table = contents.get(pfn)
            entry = table.get(idx) if table is not None else None
            if entry is None or entry[0] != TABLE or lv == last:
                break
            target = entry[1]
            if cache.get(key) != target:
                if fp is not None:
                    fp.write_part("c", 0, ("c", *key))
                    fp.write_part("cv", 0, ("cv", target))
                    if key in cache:
                        fp.write_part("cv", 0, ("cv", cache[key]))
                cache = m.st.own("iommu_cache")
                cache[key] = target
                if notes:
                    name = m.facts.levels[lv].name
                    new.append(f"{name}[{idx}] of pfn {pfn:#x} -> pfn {target:#x}")
            pfn = target
        return new

    def _path(self, va: int) -> list[tuple[int, tuple[int, int], tuple[Any, ...]]]:
        """Per level: the entry index for va, the cache key (level, VA prefix)
        and that key as a footprint names it."""
        paths: dict[int, list[tuple[int, tuple[int, int], tuple[Any, ...]]]] = self.__dict__.setdefault("_paths", {})
        path = paths.get(va)
        if path is None:
            levels = self.m.facts.levels
            path = paths[va] = [(lv.index(va), (i, va >> lv.shift), ("c", i, va >> lv.shift))
                                for i, lv in enumerate(levels)]
        return path

    def rewalk(self, vas: list[int], reads: dict[int, frozenset[Any]], dirty: set[Any],
               into: dict[int, frozenset[Any]] | None = None) -> list[str]:
        """Walk again each VA whose last walk read something in `dirty`
        (or that was never walked); what each walk read goes into `into`
        (default: `reads` itself). Returns the notes (only on a traced
        machine: nothing else reads them)."""
        if into is None:
            into = reads
        m = self.m
        out: list[str] = []
        walk = self.walk
        notes = m.trace
        for va in vas:
            last = reads.get(va)
            if last is not None and last.isdisjoint(dirty):
                continue
            seen: list[Any] = []
            try:
                texts = walk(va, seen, notes)
            except m.caught as exc:  # a BUG, DEBUG_LIST report or oops: a finding
                m._caught(exc)
                texts = []
            for text in texts:
                out.append(f"walk {va:#x}: caches {text}")
            into[va] = frozenset(seen)
        return out

    def walk_all_flushed(self, vas: list[int]) -> list[str]:
        """Every VA walked over an empty cache (after a flush, or the first
        time): what that caches, reads and notes is a function of the root,
        the tables' entries and the shadow of the pages the walks read, so it
        is remembered under the root and the contents hash (as trusted as
        state hashing), with the shadow of the pages it read: a batch whose
        pages have the same shadow now read the same entries and stop at the
        same freed page, so they do the same (a page freed or allocated
        elsewhere, which changes the whole shadow's hash, keeps the batch).
        Shared by every clone of the machine; a batch that reported something
        is not kept."""
        m = self.m
        mem = m.mem
        key = (tuple(vas), m.st.root, mem._contents_acc, m.trace)
        memo: dict[Any, list[Any]] = self.__dict__.setdefault("_flushed", {})
        kept = memo.get(key)
        fp = mem.fp
        if kept:
            shadow = mem.shadow
            # (a batch remembered without a footprint serves only walks that record none)
            for pages, marks, cache, reads, out, foot in kept:
                if (fp is None or foot is not None) and [shadow[p] for p in pages] == marks:
                    m.st.adopt("iommu_cache", cache)
                    m._walk_reads = reads  # shared: never changed in place
                    if fp is not None and foot is not None:
                        fp.merge(foot)
                    return list(out)
        sub = Footprint() if fp is not None else None
        if sub is not None:
            m.record(sub)
        events = len(m.emitted)
        reads_now: dict[int, frozenset[Any]] = {}
        try:
            out = self.rewalk(vas, reads_now, set())
        finally:
            if fp is not None and sub is not None:
                m.record(fp)
                fp.merge(sub)
        m._walk_reads = reads_now
        if len(m.emitted) == events and not m.st.crashed:
            if len(memo) > 2048:
                memo.clear()
            cache = m.st.iommu_cache
            m.st.adopt("iommu_cache", cache)  # shared from now on: a change copies it first
            # the pages whose shadow the walks read (each walk records a page as its pfn)
            pages = sorted({p for seen in reads_now.values() for p in seen if isinstance(p, int)})
            batches = memo.setdefault(key, [])
            if len(batches) >= 16:
                del batches[0]
            batches.append((pages, [mem.shadow[p] for p in pages], cache, reads_now, tuple(out), sub))
        return out

    def invalidate(self) -> int:
        """iommu_sva_invalidate_kva_range(PAGE_OFFSET, TLB_FLUSH_ALL)."""
        n = len(self.cache)
        if self.m.mem.fp is not None:
            self.m.mem.fp.write_whole("c", 0)
            self.m.mem.fp.write_whole("cv", 0)
        self.m.st.iommu_cache = {}
        self.m.mem.version += 1
        self.m._walk_reads = {}  # every VA walks again from the root
        return n

    def cached_users(self, pfn: int) -> list[tuple[int, int]]:
        """The cache entries pointing at pfn (which keys: they change only
        when an entry's value moves to or from pfn)."""
        if self.m.mem.fp is not None:
            self.m.mem.fp.read_part("cv", 0, ("cv", pfn))
        return [key for key, target in self.cache.items() if target == pfn]
