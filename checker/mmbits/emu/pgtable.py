"""Kernel page tables as page contents: what a table page holds and who can
reach it.

An entry is a tuple: ("t", pfn) points at a lower-level table, ("l", pfn,
npages, owns) maps a leaf (a 4 KiB page, or a huge mapping of `npages`);
`owns` says the mapping is what keeps those pages allocated (a vmemmap
block), as opposed to a view of memory someone else owns (the direct map, an
ioremap). A table page is found the way a CPU or an IOMMU finds it: by walking
from the root (init_mm's pgd, swapper_pg_dir), reading entries out of the
pages on the way. Reading a page the allocator has freed is a use-after-free,
caught by the KASAN-style shadow.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmbits.emu.footprint import Footprint
    from mmbits.emu.machine import Machine

TABLE = "t"
LEAF = "l"


class KernelTables:
    def __init__(self, m: Machine):
        self.m = m
        self.levels = m.facts.levels
        self.pte_level = len(self.levels) - 1
        self.pmd_level = len(self.levels) - 2  # the level whose entries point at PTE tables
        self.pud_level = len(self.levels) - 3

    @property
    def root(self) -> int:
        return self.m.st.root

    def index(self, va: int, level: int) -> int:
        return self.levels[level].index(va)

    def level_size(self, level: int) -> int:
        return 1 << self.levels[level].shift

    def locate(self, va: int, level: int, who: str) -> tuple[int, int] | None:
        """(table pfn, index) of the level-`level` entry covering va, walking
        from the root like pXd_offset(); None when a table above is missing.
        Every table read is checked against the shadow (a CPU use-after-free)."""
        pfn = self.root
        for lv in range(level):
            self.m.cpu_access(pfn, who, "read")
            entry = self.m.mem.entry(pfn, self.index(va, lv))
            if entry is None or entry[0] != TABLE:
                return None
            pfn = entry[1]
        self.m.cpu_access(pfn, who, "read")
        return pfn, self.index(va, level)

    def read(self, pfn: int, index: int) -> tuple[Any, ...] | None:
        return self.m.mem.entry(pfn, index)

    def entry_of(self, va: int, level: int, who: str, kind: Any) -> tuple[tuple[int, int], tuple[Any, ...]] | None:
        """The level-`level` entry for va when it is of `kind` (TABLE or LEAF), with its
        place: what every unlinking operation first checks (pXd_present, pXd_leaf); None
        when the walk stops above it or the entry is something else, and nothing is done."""
        loc = self.locate(va, level, who)
        if loc is None:
            return None
        entry = self.read(*loc)
        if entry is None or entry[0] != kind:
            return None
        return loc, entry

    def write(self, pfn: int, index: int, entry: tuple[Any, ...] | None, who: str) -> None:
        self.m.cpu_access(pfn, who, "write")
        self.m.mem.set_entry(pfn, index, entry)

    def reachable(self) -> Mapping[int, tuple[int, int, int]]:
        """Every table reachable from the root: pfn -> (parent pfn, index, level).
        A table page that is free is still followed (its stale contents), and
        reported by the caller.

        While a footprint records, asking about one page (`get(pfn)`, `pfn in`)
        reads only the table pointers into the pages from which pfn can be
        reached (any page's entries, linked or not): no other pointer store
        can change that answer. Any other use (iterating) reads the whole
        pointer graph, ("link",)."""
        mem = self.m.mem
        # remembered per root and contents hash, for every clone
        memo: dict[Any, dict[int, tuple[int, int, int]]] = self.__dict__.setdefault("_reachable", {})
        key = (self.root, mem._contents_acc)
        out = memo.get(key)
        if out is None:
            if len(memo) > 4096:
                memo.clear()
            out = memo[key] = self._walk_from_root()
        return out if mem.fp is None else _Recorded(out, self, mem.fp)

    def _walk_from_root(self) -> dict[int, tuple[int, int, int]]:
        contents = self.m.mem.contents
        out = {self.root: (-1, -1, 0)}
        stack = [(self.root, 0)]
        while stack:
            pfn, lv = stack.pop()
            if lv >= self.pte_level:
                continue
            for idx, entry in contents.get(pfn, {}).items():
                if entry[0] == TABLE and entry[1] not in out:
                    out[entry[1]] = (pfn, idx, lv + 1)
                    stack.append((entry[1], lv + 1))
        return out

    def reaching(self, pfn: int) -> set[int]:
        """pfn and every page from which it can be reached through table
        pointers in any page's entries (the pages every path to pfn is made of)."""
        mem = self.m.mem
        memo: dict[Any, dict[int, set[int]]] = self.__dict__.setdefault("_pointed_by", {})
        preds = memo.get(mem._contents_acc)
        if preds is None:
            if len(memo) > 4096:
                memo.clear()
            preds = memo[mem._contents_acc] = {}
            for page, entries in mem.contents.items():
                for entry in entries.values():
                    if entry[0] == TABLE:
                        preds.setdefault(entry[1], set()).add(page)
        out = {pfn}
        todo = [pfn]
        while todo:
            for p in preds.get(todo.pop(), ()):
                if p not in out:
                    out.add(p)
                    todo.append(p)
        return out

    def owned_leaves(self, tables: Mapping[int, tuple[int, int, int]]) -> set[int]:
        """Pages kept allocated by an owning leaf mapping in a reachable table."""
        out: set[int] = set()
        mem = self.m.mem
        for pfn in tables:
            for entry in mem.entries(pfn).values():
                if entry[0] == LEAF and entry[3]:
                    out.update(range(entry[1], entry[1] + entry[2]))
        return out

    def va_of(self, level: int, indexes: dict[int, int]) -> int:
        va = 0
        for lv, idx in indexes.items():
            va |= idx << self.levels[lv].shift
        return va


class _Recorded(Mapping[int, tuple[int, int, int]]):
    """reachable()'s answer while a footprint records (see there)."""

    def __init__(self, found: dict[int, tuple[int, int, int]], tables: KernelTables, fp: Footprint):
        self.found = found
        self.tables = tables
        self.fp = fp

    def _one(self, pfn: int) -> None:
        reads = self.fp.reads
        reads.update(("lk", p) for p in self.tables.reaching(pfn))
        asked = getattr(reads, "asked", None)  # the step memo keys the answer (memo.OrderedKeys)
        if asked is not None:
            asked(("rq", pfn))

    def __getitem__(self, pfn: int) -> tuple[int, int, int]:
        self._one(pfn)
        return self.found[pfn]

    def get(self, pfn: int, default: Any = None) -> Any:  # noqa: D102 - Mapping.get
        self._one(pfn)
        return self.found.get(pfn, default)

    def __contains__(self, pfn: object) -> bool:
        if isinstance(pfn, int):
            self._one(pfn)
        return pfn in self.found

    def __iter__(self) -> Iterator[int]:
        self.fp.reads.add(("link",))
        return iter(self.found)

    def __len__(self) -> int:
        self.fp.reads.add(("link",))
        return len(self.found)
