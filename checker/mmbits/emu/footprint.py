"""What one transition of the explorer read and wrote: the footprint that
partial-order reduction compares (mmbits.emu.explore, sleep sets).

A transition is one step of one thread plus what the machine does after it
(the IOMMU re-walking the paths whose tables changed). While a footprint is
being recorded, every accessor of the emulated state adds the objects it
touches:

- ("p", pfn)               the bytes of struct page pfn (Memory.get/set, read_at/write_at)
- ("m", region, word)      an 8-byte word of kernel data, a stack or the ptdesc slab
- ("s", pfn)               the KASAN shadow of page frame pfn (free or not)
- ("e", pfn, index)        one entry of a page used as a table (whole page: part "e", pfn)
- ("et", pfn, index)       the table pointer in that entry (which table, or none): what the
                           IOMMU's walks read; written when the old or new entry points at a
                           table (whole page: part "et", pfn)
- ("c", level, prefix)     one IOMMU paging-structure cache entry (whole cache: part "c", 0;
                           a walk's miss is read as the key alone: a flush keeps it a miss)
- ("cv", pfn)              whether some IOMMU cache entry points at pfn (whole: part "cv", 0;
                           a free that finds none reads the key alone: a flush keeps it none)
- ("link",)                the graph of table -> lower-table pointers (what is reachable
                           from init_mm's pgd); written by an entry store whose old or new
                           value points at a table, read by a use of the whole
                           KernelTables.reachable() answer
- ("lk", pfn)              the table pointers to page pfn: written with ("link",) by a store
                           whose old or new value points at pfn; read by reachable()'s answer
                           about one page, for each page from which that page can be reached
- ("mk", pfn)              the marking state of page pfn (set, lost) and its watched bytes
- ("k", pfn), ("r", pfn)   the page-table kind and the page_owner-like role of a page
- ("st", field)            a field of the machine state (locks, work_pending, marks, ...)

Some keys name a fact derived from other keys rather than state of its own:
("link",) and ("lk", pfn) are functions of the table entries ("e"), ("cv", pfn)
of the IOMMU cache entries ("c"). A step that changes an entry also writes the
derived key, so that a reader of the derived fact conflicts with it; two steps
that both write a derived key but change different entries commute (the
entries are keyed themselves: the same entry conflicts through its own key),
so a write-write overlap on DERIVED keys alone is no conflict.

Two transitions are independent when neither writes what the other reads or
writes (derived keys aside, above); independent transitions of different threads commute (the same state,
the same findings, in either order) and do not enable or disable each other --
a thread's enabledness is read into its footprint (the rwsem for a lock step,
work_pending for the idle worker). A transition that crashed the machine
conflicts with everything. Recording is off (Memory.fp is None) outside
exploration, so the API and replays pay one `is None` test per access.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

Key = tuple[Any, ...]

# families of keys that are functions of other keys (see above)
DERIVED = frozenset({"link", "lk", "cv"})


@functools.lru_cache(maxsize=8192)
def span(family: str, first: int, count: int) -> frozenset[Key]:
    """The keys (family, pfn) of pages first .. first+count-1, made once per
    block (a set absorbs a frozenset in C: an order-9 free records ~2,500 keys)."""
    return frozenset((family, p) for p in range(first, first + count))


# one copy of each key kept by frozen footprints (Footprint.freeze)
_KEYS: dict[Key, Key] = {}
_intern = _KEYS.setdefault
_EMPTY: frozenset[Key] = frozenset()


class Footprint:
    __slots__ = ("reads", "writes", "whole_r", "whole_w", "part_r", "part_w", "crashed")

    def __init__(self) -> None:
        self.reads: set[Key] = set()  # (frozenset once frozen: Footprint.freeze)
        self.writes: set[Key] = set()
        # objects read or written as a whole (a table page's every entry, the
        # whole IOMMU cache), and the objects some part of which was touched
        self.whole_r: set[Key] = set()
        self.whole_w: set[Key] = set()
        self.part_r: set[Key] = set()
        self.part_w: set[Key] = set()
        self.crashed = False

    # -- recording --------------------------------------------------------------------
    def read_part(self, family: str, obj: Any, key: Key) -> None:
        self.reads.add(key)
        self.part_r.add((family, obj))

    def write_part(self, family: str, obj: Any, key: Key) -> None:
        self.writes.add(key)
        self.part_w.add((family, obj))

    def read_whole(self, family: str, obj: Any) -> None:
        self.whole_r.add((family, obj))

    def write_whole(self, family: str, obj: Any) -> None:
        self.whole_w.add((family, obj))

    def merge(self, other: Footprint) -> None:
        """Add what `other` read and wrote (a part of the transition recorded apart)."""
        self.reads.update(other.reads)
        self.writes.update(other.writes)
        if other.whole_r or other.whole_w or other.part_r or other.part_w:  # (mostly none)
            self.whole_r.update(other.whole_r)
            self.whole_w.update(other.whole_w)
            self.part_r.update(other.part_r)
            self.part_w.update(other.part_w)
        self.crashed = self.crashed or other.crashed

    def freeze(self) -> Footprint:
        """The same footprint, compact for keeping (the persistent-set search
        keeps one per transition): reads and writes as tuples of one shared
        copy of each key (a quarter of a set's memory; conflicts() takes them
        on either side), the small whole/part sets frozen, one shared empty
        set. Recording into it afterwards is an error."""
        for name in ("reads", "writes"):
            setattr(self, name, tuple(_intern(k, k) for k in getattr(self, name)))
        for name in ("whole_r", "whole_w", "part_r", "part_w"):
            keys = getattr(self, name)
            setattr(self, name, frozenset(keys) if keys else _EMPTY)
        return self

    @classmethod
    def union(cls, feet: list[Footprint]) -> Footprint:
        """What any of `feet` read and wrote, as one footprint of sets (frozen
        ones taken too): a summary of several transitions."""
        out = cls()
        out.crashed = any(f.crashed for f in feet)
        if not out.crashed:
            for name in ("reads", "writes", "whole_r", "whole_w", "part_r", "part_w"):
                setattr(out, name, set().union(*(getattr(f, name) for f in feet)))
        return out

    # -- comparing --------------------------------------------------------------------
    def conflicts(self, other: Footprint) -> bool:
        """True when the two transitions are dependent (may not commute)."""
        if self.crashed or other.crashed:
            return True
        # (sets, or a frozen footprint's tuples: Any, as the type says only the sets)
        w: Any = self.writes
        ow: Any = other.writes
        r: Any = self.reads
        orr: Any = other.reads
        if w.__class__ is tuple or ow.__class__ is tuple or r.__class__ is tuple or orr.__class__ is tuple:
            if _meet(w, orr) or _meet(r, ow):  # a frozen footprint's tuples (Footprint.freeze)
                return True
        elif not w.isdisjoint(orr) or not r.isdisjoint(ow):  # sets: the common case, inline
            return True
        if _meet(w, ow) and any(k[0] not in DERIVED for k in _common(w, ow)):
            return True
        if self.whole_w or self.whole_r or other.whole_w or other.whole_r:
            return _whole_conflict(self, other) or _whole_conflict(other, self)
        return False

    def summary(self) -> dict[str, int]:
        return {"reads": len(self.reads) + len(self.whole_r), "writes": len(self.writes) + len(self.whole_w)}


def _meet(a: Collection[Key], b: Collection[Key]) -> bool:
    """Whether two key collections share a key: sets, or a frozen
    footprint's tuples (Footprint.freeze) on either side."""
    if isinstance(a, tuple):
        if isinstance(b, tuple):
            return not set(a).isdisjoint(b)
        return not b.isdisjoint(a)  # type: ignore[attr-defined]
    return not a.isdisjoint(b)  # type: ignore[attr-defined]


def _common(a: Collection[Key], b: Collection[Key]) -> set[Key]:
    return set(a).intersection(b)


def _whole_conflict(a: Footprint, b: Footprint) -> bool:
    """A whole-object access of `a` against any access of `b` to that object."""
    if a.whole_w and not a.whole_w.isdisjoint(b.part_r | b.part_w | b.whole_r | b.whole_w):
        return True
    return bool(a.whole_r) and not a.whole_r.isdisjoint(b.part_w | b.whole_w)


# the machine-state fields a traced MState records by name; the dict fields
# (kinds, roles, iommu_cache) are recorded per key by their accessors, and
# `crashed` by Footprint.crashed
TRACED_FIELDS = frozenset({"work_pending", "bad_pages", "lists3", "slab_used", "mmap_readers", "mmap_writer",
                           "mmap_waiters", "ptdump_key", "root", "reported_cache"})
# read and written as one object on any access (none today: `marks` is
# recorded per page by the marking code)
COARSE_FIELDS: frozenset[str] = frozenset()
