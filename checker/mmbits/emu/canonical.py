"""The visited-state key of an exhaustive exploration: the state's
fingerprint, except that the order of the deferred-free queue does not count.

Why: CPUs that free kernel page tables list_add() them onto
kernel_pgtable_work.list in whatever order they happen to run, and the
worker splices the list onto its stack and frees every entry in one step.
Interleavings that differ only in that order reach states whose bytes differ
(the pt_list words of the queued struct pages and of the list heads), though
nothing the emulated kernel does next can tell them apart: on 3 CPUs x 2
huge-pmd operations 131,897 states by the bytes, 40,713 once the queue is
hashed as a set (bench/bench_emu.py, `--case 3`).

The key: a state whose queue lists (the work list and the worker's on-stack
list) each hold at most one entry keeps its exact fingerprint; otherwise the
pt_list words of the queued pages and the two words of each such list's head
are hashed as zeros, with each list's members (sorted pfns) hashed beside
them. States with the same key are explored once (mmbits.emu.explore:
`World.key()`).

Soundness (the reduction keeps every end state's key, every finding and the
verdict): let s and t have the same key, so they are equal but for the order
of the members of the queue lists. Then every step runs the same way from
both, with the same events, and leads to states that again differ at most in
that order, because no step observes the order:

- the design's enqueue is Design.pagetable_free_kernel (list_add() of a page
  not on the list: DEBUG_LIST's checks look at the head and its first entry,
  whose links are consistent in both states) and its worker is Design's own
  (work_start: list_splice_tail_init() keeps the members and moves them
  as a block; work_invalidate; work_next: the whole batch freed in one step,
  each entry by __pagetable_free() of its own page). Freeing a set of pages
  in any order leaves the same bytes: the buddy's free lists are kept in
  address order (mmbits.emu.buddy), merging depends only on which pages are
  free, a merged-away page's list words are dead (Machine._dead_bytes), and
  each page's free-time checks and IOMMU report read only that page and the
  caches, which the batch does not change. The events of the step are the
  same set (their order within the step is not a finding's key). One
  exception: a batch that crashes part-way (a VM_BUG_ON on some page) has
  freed the pages before that one, which depend on the order; the explorer
  then raises QueueOrderObserved and explores again with every state told
  apart by its bytes (explore.keyed).
  Designs with other queue code (three-lists, two-lists, nr-pageflags-bit,
  the per-page worker of --worker-per-page, a separate ptdesc whose pt_list
  lives in slab memory) are not reduced: `applies()` is False;
- a state is reduced only when nothing else can reach a queued page's list
  words: each list is well formed (every node's prev is its predecessor, it
  returns to its head) and made of pt_list nodes of allocated struct pages,
  no queued page is referenced by a page-table entry (no pending step can
  unlink and free it again) or named by a pending step's arguments (pfn or
  node address), and no marking watches the list words. A step that frees
  or re-adds a queued page -- a double free, the very bug class the
  variants look for -- therefore starts from a state with the exact
  fingerprint, and runs the same from every order of that state's history;
- the IOMMU, the page-table walkers, the end checks (leaks: the set of
  queued pages) and the markings read no list word of a queued page.

So s and t have the same futures up to that order: the same findings, end
states with the same keys, the same verdict. The key is not a congruence,
though: a step may leave a queued page referenced (kasan-shadow frees a
table before it clears the entry), and then the key of each successor is
its fingerprint, so the successors of s and t get different keys although
they still differ only in the order of pages nothing reaches. No behaviour
is lost (whichever is explored stands for the other), but explorations that
reach other representatives (with sleep sets or without) may count other
numbers of states; the tests that count states compare with the key off. Sleep sets stay sound: two
steps independent at s commute exactly there, so at t they commute up to the
key. tests/emu/test_canonical.py compares exploration with and without the
reduction on every variant (the same end-state keys, findings and verdict).

Not reduced, and why (measured, bench/bench_emu.py): the CPUs of the 3 x 3
huge-pmd workload run the same operations on other VA ranges, but exchanging
two of them is no symmetry of the model: their page tables sit at different
pfns, and the buddy allocator merges a freed page with its neighbour by pfn,
so exchanging the CPUs does not map the states reached onto each other."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, ClassVar

from mmbits.emu.design import Design
from mmbits.emu.memory import CHUNK_MASK, CHUNK_SHIFT
from mmbits.emu.pgtable import LEAF, TABLE
from mmbits.emu.steps import Step

if TYPE_CHECKING:
    from mmbits.emu.explore import World
    from mmbits.emu.machine import Machine
    from mmbits.emu.memory import Memory

# the worker steps whose code the soundness argument reads (Design's own)
_WORKER_STEPS = ("work_start", "work_invalidate", "work_next")


def applies(design: Design) -> bool:
    """The design enqueues and frees its queue with the code the argument
    above is about (v6.19 and the variants that change only what is queued)."""
    cls = type(design)
    return (not design.worker_per_page and not design.separate_ptdesc and design.deferred
            and cls.pagetable_free_kernel is Design.pagetable_free_kernel
            and cls.work_free is Design.work_free and cls.work_free_entry is Design.work_free_entry
            and all(cls.step_handlers.get(n) is Design.step_handlers.get(n) for n in _WORKER_STEPS))


# what _walk() finds: each list's (head, sorted member pfns), the pfns, the pfns
# and node addresses, the heads' masked regions, what masking the pages' list
# words changes in the struct pages' hash (Memory.fingerprint_shifted)
_Lists = tuple[tuple[tuple[int, tuple[int, ...]], ...], list[int], frozenset[int],
               tuple[tuple[str, int, int], ...], int]


class QueueKey:
    """The key of states of one machine's explorations (see the module).

    `remember` (False: the reference path, every list walked and every
    masked hash made from the bytes): the lists found are kept by their
    heads' links with the hash of each page walked, and taken again when
    every such page still has that hash -- most transitions do not touch the
    queue; the masked regions kept by the regions' hash."""

    remember: ClassVar[bool] = True

    def __init__(self, m: Machine) -> None:
        mem = m.mem
        f = m.facts
        ptr = f.ptr_size
        self.heads = (m.queues.work_head, m.queues.worker_list)
        self.node_off = f.pd("pt_list.next").offset
        self.span = (self.node_off, self.node_off + 2 * ptr)
        self.regions = [mem.resolve(h, 2 * ptr) for h in self.heads]
        nxt, prv = m.lists.next_f, m.lists.prev_f
        if nxt.offset or prv.offset != ptr:
            raise ValueError("a list_head is not {next, prev}")  # every layout's is
        # a list_head's two words, read straight from the bytes (no footprint is recording)
        self.pair = struct.Struct(("<" if nxt.little else ">") + ("Q" if ptr == 8 else "I") * 2)
        # the pfns page-table entries reference, by contents hash
        self._refs: dict[int, tuple[frozenset[int], tuple[tuple[int, int], ...]]] = {}
        # per program (by identity): the integers its pending steps name, its hash
        self._named: dict[int, tuple[tuple[Step, ...], frozenset[int], int]] = {}
        # a queued page's hash with its list words masked, by its hash
        self._masked: dict[int, int] = {}
        # what _walk() found, by the heads' links: [(the hash of each page walked, the lists)]
        self._lists: dict[tuple[tuple[int, int], ...], list[tuple[tuple[tuple[int, int, int, int], ...], _Lists]]] = {}
        # the kernel data and stack with the heads' words masked, hashed, by their hash unmasked
        self._regions: dict[tuple[int, tuple[tuple[str, int, int], ...]], int] = {}

    @staticmethod
    def of(world: World) -> QueueKey | None:
        m = world.m
        return QueueKey(m) if applies(m.design) and m.async_free else None

    def key(self, world: World) -> tuple[int, bool]:
        """The state's key, and whether it merged orders of the queue."""
        m = world.m
        mem = m.mem
        unpack = self.pair.unpack_from
        (r0, o0), (r1, o1) = self.regions
        first = unpack(mem.kdata if r0 == "kdata" else mem.stack, o0)
        second = unpack(mem.kdata if r1 == "kdata" else mem.stack, o1)
        if first[0] == first[1] and second[0] == second[1]:  # at most one entry on each list
            return world.fingerprint(), False
        links = (first, second)
        mem.fingerprint()  # every page's hash up to date (the lists' pages are checked by theirs)
        lists = self._known(mem, links) if self.remember else None
        if lists is None:
            lists = self._walk(mem, links)
            if lists is None:
                return world.fingerprint(), False
        refs = self._refs.get(mem._contents_acc)
        if refs is None:
            if len(self._refs) > 4096:
                self._refs.clear()
            refs = self._refs[mem._contents_acc] = _table_refs(mem.contents, mem.npages)
        members, pfns, queued, regions, delta = lists
        tables, leaves = refs
        if not tables.isdisjoint(pfns) or leaves and any(a <= pfn < b for pfn in pfns for a, b in leaves):
            return world.fingerprint(), False  # a page-table entry points at a queued page
        progs = self._programs(world, queued)
        if progs is None or not self._unwatched(mem, pfns):
            return world.fingerprint(), False
        if self.remember:
            masked = mem.fingerprint_shifted(delta, regions, self._regions)
        else:
            lo, hi = self.span
            masked = mem.fingerprint_masked(pfns, lo, hi, regions, {})
        return hash((masked, m.st.fingerprint(), progs, members)), True

    def _walk(self, mem: Memory, links: tuple[tuple[int, int], ...]) -> _Lists | None:
        """The queue lists read from the bytes (None: one is not a well-formed
        list of allocated pages' pt_list nodes); remembered by the heads'
        links (`remember`) with the hash of every page walked."""
        members: list[tuple[int, tuple[int, ...]]] = []
        regions = []
        for head, (nxt, prv), (region, off) in zip(self.heads, links, self.regions, strict=True):
            if nxt == prv:
                continue
            nodes = self._members(mem, head, nxt, prv)
            if nodes is None:
                return None
            members.append((head, tuple(sorted(nodes))))
            regions.append((region, off, self.span[1] - self.span[0]))
        pfns = [p for _h, nodes in members for p in nodes]
        base, size, off = mem.vmemmap, mem.size, self.node_off
        queued = frozenset({*pfns, *(base + pfn * size + off for pfn in pfns)})
        lo, hi = self.span
        delta = 0
        hashes = []
        for pfn in pfns:
            c, i = pfn >> CHUNK_SHIFT, pfn & CHUNK_MASK
            h = mem._hash[c][i]
            hashes.append((pfn, c, i, h))
            delta ^= h ^ mem.masked_page_hash(pfn, lo, hi, self._masked)
        out = (tuple(members), pfns, queued, tuple(regions), delta)
        if self.remember:
            known = self._lists.setdefault(links, [])
            if len(known) >= 8:
                del known[0]
            if len(self._lists) > 65536:
                self._lists.clear()
                self._lists[links] = known
            known.append((tuple(hashes), out))
        return out

    def _known(self, mem: Memory, links: tuple[tuple[int, int], ...]) -> _Lists | None:
        """The lists _walk() found for these head links before, if every page
        it walked has the same hash now (the same bytes, allocated: the same
        nodes in the same order)."""
        known = self._lists.get(links)
        if not known:
            return None
        rows, shadow = mem._hash, mem.shadow
        for hashes, out in known:
            for pfn, c, i, h in hashes:
                if rows[c][i] != h or shadow[pfn]:
                    break
            else:
                return out
        return None

    def _programs(self, world: World, queued: frozenset[int]) -> tuple[int, ...] | None:
        """Each thread's program's hash (in the threads' order, the same in
        every clone); None when a pending step names a queued page (`queued`:
        their pfns and node addresses). What each program names and its hash
        are remembered by the program's identity: a thread's program is a new
        tuple after each of its steps, shared by the clones until then; an
        entry keeps its tuple alive, so the id is not reused while it is kept."""
        named = self._named
        out = []
        for prog in world.threads.values():
            got = named.get(id(prog))
            if got is None or got[0] is not prog:
                if len(named) > 4096:
                    named.clear()
                got = named[id(prog)] = (prog, _named_ints(prog), hash(prog))
            if not got[1].isdisjoint(queued):
                return None
            out.append(got[2])
        return tuple(out)

    def _members(self, mem: Memory, head: int, node: int, last: int) -> list[int] | None:
        """The pfns of a well-formed list (head's links `node`, `last`) of
        allocated pages' pt_list nodes, in order; None when it is anything
        else (whether a page-table entry points at one: key())."""
        base, size, off, npages = mem.vmemmap, mem.size, self.node_off, mem.npages
        unpack = self.pair.unpack_from
        shadow = mem.shadow
        out: list[int] = []
        prev = head
        while node != head:
            rel = node - base - off
            pfn = rel // size
            if rel < 0 or rel % size or pfn >= npages or shadow[pfn] or len(out) >= npages:
                return None
            buf, at = mem.page_buf(pfn)
            nxt, back = unpack(buf, at + off)
            if back != prev:
                return None
            out.append(pfn)
            prev, node = node, nxt
        return out if last == prev else None

    def _unwatched(self, mem: Memory, pfns: list[int]) -> bool:
        """No marking watches the list words of these pages."""
        watched = mem.watched
        if watched:
            lo, hi = self.span
            for pfn in pfns:
                w = watched.get(pfn)
                if w is not None and w[0] < hi and lo < w[1]:
                    return False
        return True


def _named_ints(prog: tuple[Step, ...]) -> frozenset[int]:
    """Every integer the steps' arguments hold (a pfn, a node address; inside
    tuples too): what a pending step may reach a page by."""
    out: set[int] = set()
    todo: list[Any] = [a for st in prog for a in st.args]
    while todo:
        a = todo.pop()
        if isinstance(a, int):
            out.add(a)
        elif isinstance(a, tuple):
            todo.extend(a)
    return frozenset(out)


def _table_refs(contents: dict[int, dict[int, tuple[Any, ...]]],
                npages: int) -> tuple[frozenset[int], tuple[tuple[int, int], ...]]:
    """What page-table entries point at among the struct pages (below
    npages), from any page with entries (a linked table, an unlinked one, a
    pmd_sv copy): the tables, and the pfn ranges leaves map."""
    tables: set[int] = set()
    leaves: set[tuple[int, int]] = set()
    for entries in contents.values():
        for entry in entries.values():
            if entry[0] == TABLE:
                tables.add(entry[1])
            elif entry[0] == LEAF and entry[1] < npages:
                leaves.add((entry[1], entry[1] + entry[2]))
    return frozenset(tables), tuple(sorted(leaves))
