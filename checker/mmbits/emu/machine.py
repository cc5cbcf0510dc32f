"""The emulated machine: memory, allocator, kernel page tables, the deferred
free system of a design, and an IOMMU doing SVA.

This is also the Python API for tests and the pytest plugin::

    from mmbits.emu import Machine
    m = Machine(preset("x86_64-6.18"), "v6.19", sva=True)
    pte = m.pagetable_alloc("pte")          # pagetable_alloc + ctor + kernel marking
    m.link(va, pte)                          # pmd entry -> pte table
    m.iommu_walk(va)                         # the IOMMU caches the pmd entry
    m.unlink(va, "pte"); m.pagetable_dtor_free(pte)   # queued (kernel-marked)
    m.run_worker()                           # splice, invalidate, __free_pages
    assert not m.findings

Every method runs the design's kernel code to completion on the bytes;
problems become `m.findings` (mmbits.findings.Finding). Exploration of
interleavings is in mmbits.emu.explore, which drives the same code one
step at a time.
"""

from __future__ import annotations

import functools
import re
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from mmbits.emu.buddy import Buddy, OutOfMemory
from mmbits.emu.design import Queues
from mmbits.emu.facts import facts_for
from mmbits.emu.footprint import COARSE_FIELDS, TRACED_FIELDS, Footprint, span
from mmbits.emu.iommu import Iommu
from mmbits.emu.lists import ListCorruption, Lists
from mmbits.emu.marking import Marker
from mmbits.emu.memo import StepMemo
from mmbits.emu.memory import Fault, Memory
from mmbits.emu.pgtable import TABLE, KernelTables
from mmbits.emu.steps import Step
from mmbits.findings import Finding
from mmbits.kconfig.config import Config

if TYPE_CHECKING:
    from mmbits.emu.design import Design

_INSTANCE = re.compile(r" for 0x[0-9a-f]+| #\d+|,? ?\(page \d+ of order \d+\)")


@functools.lru_cache(maxsize=4096)
def _kind_of_role(role: str) -> str:
    """The kind of page a role names, not which one: "PTE table (huge-pmd)"."""
    return _INSTANCE.sub("", role)


DEFAULT_PAGES = 2048
RESERVED_PAGES = 16
SLAB_OBJECTS = 64


class Crash(Exception):
    """The emulated kernel hit a BUG()/VM_BUG_ON (a debug kernel stops there)."""


@dataclass
class Event:
    """Something the emulator found while running a step."""

    kind: str
    message: str
    where: str
    pfn: int | None = None
    severity: str = "error"
    crash: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.where)


@dataclass
class MState:
    """The machine's state besides bytes (copied on clone, part of the fingerprint
    unless marked as metadata)."""

    root: int = 0
    kinds: dict[int, str] = field(default_factory=dict)
    marks: dict[tuple[int, int], tuple[Any, ...]] = field(default_factory=dict)
    iommu_cache: dict[tuple[int, int], int] = field(default_factory=dict)
    slab_used: int = 0  # bitmap of ptdesc objects in use (separate-ptdesc model)
    work_pending: bool = False
    crashed: str = ""
    bad_pages: frozenset[int] = frozenset()
    lists3: tuple[Any, ...] = ()  # three-lists design: the `pages` list (addr, order) entries
    # init_mm.mmap_lock (an rwsem, mmbits.emu.locks): reader threads, the
    # writer, writers queued in order; arm64's ptdump static key
    mmap_readers: tuple[str, ...] = ()
    mmap_writer: str = ""
    mmap_waiters: tuple[str, ...] = ()
    ptdump_key: bool = False
    # metadata (not fingerprinted): what each page was allocated for, and
    # the stale IOMMU cache entries already reported
    roles: dict[int, str] = field(default_factory=dict)
    reported_cache: frozenset[Any] = frozenset()

    # remembered hashes of the dict fields (False: the reference path)
    incremental: ClassVar[bool] = True

    def clone(self) -> MState:
        """A copy that shares the dicts: whoever changes one takes its own
        copy first (`own()`), so a clone costs nothing per page."""
        new = MState.__new__(MState)
        new.__dict__.update(self.__dict__)
        new.__dict__.pop("_fp", None)
        new.__dict__["_own"] = set()
        self.__dict__["_own"] = set()
        return new

    def own(self, name: str) -> Any:
        """The dict field `name` (kinds, marks, iommu_cache, roles), copied
        first unless this state made it: the one way to change one in place."""
        d = self.__dict__
        owned = d.setdefault("_own", set())
        if name not in owned:
            d[name] = dict(d[name])
            owned.add(name)
        d.pop(_HASHED.get(name, ""), None)  # about to change: its remembered hash is stale
        return d[name]

    def adopt(self, name: str, value: dict[Any, Any]) -> None:
        """Set the dict field `name` to a dict someone else may share (own()
        copies it before a change)."""
        self.__dict__.setdefault("_own", set()).discard(name)
        setattr(self, name, value)

    def fingerprint(self) -> int:
        d = self.__dict__
        # the dicts' remembered hashes, looked at in place (_dict_hash when stale)
        hk, hm, hc = d.get("_hash_kinds"), d.get("_hash_marks"), d.get("_hash_iommu_cache")
        if not self.incremental:
            hk = hm = hc = None
        return hash((self.root,
                     hk[1] if hk is not None and hk[0] is d["kinds"] else self._dict_hash("kinds"),
                     hm[1] if hm is not None and hm[0] is d["marks"] else self._dict_hash("marks"),
                     hc[1] if hc is not None and hc[0] is d["iommu_cache"] else self._dict_hash("iommu_cache"),
                     self.slab_used, self.work_pending, self.crashed,
                     self.bad_pages, self.lists3, self.mmap_readers, self.mmap_writer, self.mmap_waiters,
                     self.ptdump_key))

    def _dict_hash(self, name: str) -> int:
        """hash(frozenset(items)) of dict field `name`, remembered with the dict
        it was computed on: the dicts are shared by clones and replaced or
        own()ed (which forgets the hash) before any change, so most states
        hash only the dict their last step changed. `MState.incremental =
        False` (the reference path) computes it every time."""
        d = self.__dict__
        value = d[name]
        key = _HASHED[name]
        memo = d.get(key)
        if memo is not None and memo[0] is value and self.incremental:
            h: int = memo[1]
            return h
        h = hash(frozenset(value.items()))
        d[key] = (value, h)
        return h


# the dict fields whose hash a state remembers, and the attribute it keeps it in
_HASHED = {name: f"_hash_{name}" for name in ("kinds", "marks", "iommu_cache")}


class TracedMState(MState):
    """An MState whose field reads and writes go into the footprint being
    recorded (the explorer swaps an MState's class to this one for one step).
    The traced fields are properties (below), so every other attribute reads
    at full speed."""


def _traced(name: str, coarse: bool) -> property:
    key = ("st", name)

    def get(self: MState) -> Any:
        d = self.__dict__
        fp = d["_fp"]
        fp.reads.add(key)
        if coarse:
            fp.writes.add(key)
        return d[name]

    def put(self: MState, value: Any) -> None:
        d = self.__dict__
        d["_fp"].writes.add(key)
        d[name] = value

    return property(get, put)


for _name in TRACED_FIELDS | COARSE_FIELDS:
    setattr(TracedMState, _name, _traced(_name, _name in COARSE_FIELDS))


class Machine:
    # what a step or an IOMMU walk may raise that becomes a finding (Machine._caught)
    caught: tuple[type[Exception], ...] = (Crash, ListCorruption, Fault)

    def __init__(self, config: Config, design: Design | str = "v6.19", *, npages: int = DEFAULT_PAGES,
                 sva: bool | None = None, async_free: bool | None = None, trace: bool = False,
                 proposal: Any = None):
        from mmbits.emu.variants import make_design

        if isinstance(design, str):
            design = make_design(design, proposal=proposal)
        self.design = design
        self.config = config
        self.facts = facts_for(config, separate_ptdesc=design.separate_ptdesc)
        f = self.facts
        if sva is None:
            sva = bool(config.get("IOMMU_SVA", 0))
        # an SVA device only reaches kernel tables where the arch shares them (emulator.yaml)
        self.sva = bool(sva) and f.sva_walks_kernel_tables
        self.sva_requested = bool(sva)
        self.async_free = bool(config.get("ASYNC_KERNEL_PGTABLE_FREE", 0)) if async_free is None else async_free
        if not design.deferred:
            self.async_free = False  # a design without the deferred path has no such switch
        self.mem = Memory(f, npages, SLAB_OBJECTS if f.separate_ptdesc else 0)
        nxt, prv = f.list_head()
        self.lists = Lists(self.mem, nxt, prv, f.poison["LIST_POISON1"], f.poison["LIST_POISON2"])
        self.st = MState()
        self.queues = Queues()
        self.buddy = Buddy(self)
        self.tables = KernelTables(self)
        self.iommu = Iommu(self)
        self.emitted: list[Event] = []
        self.all_events: list[Event] = []
        self.trace = trace
        self.notes: list[str] = []
        self.vas: list[int] = []  # VAs the IOMMU walks after every step
        self._walked = -1  # memory version of the IOMMU's last walks
        # per VA: the table pages its last walk read (a VA is walked again
        # only when one of them changed, or the caches were flushed)
        self._walk_reads: dict[int, frozenset[Any]] = {}
        self._in_step = False
        # the effects of steps by what they read, shared by every clone (mmbits.emu.memo)
        self.memo = StepMemo()
        self.free_then_clear = -1  # a table its caller frees before unlinking it (free_pte_table())
        self.F_type = f.pw("page_type")
        self.F_flags = f.pw("flags")
        self.markers = [Marker(mk.resolve(f), i) for i, mk in enumerate(design.markings())]
        self.mem.on_watch = self._on_watch
        # a function of the bytes alone (the layout's offsets): every clone's memory shares it
        self.mem.dead_bytes = functools.partial(_dead_bytes, self._dead_span)
        self.buddy.boot(RESERVED_PAGES)
        off = self.buddy.buddy_off
        self.mem.lru_span = (off, off + 2 * f.ptr_size)
        self.st.root = 0
        self.set_role(0, "swapper_pg_dir (init_mm.pgd, boot-reserved)", "kernel-pgtable")
        design.boot(self)
        self.emitted.clear()

    # -- cloning and fingerprints ---------------------------------------------------
    def clone(self) -> Machine:
        new = Machine.__new__(Machine)
        d = new.__dict__
        d.update(self.__dict__)
        mem = d["mem"] = self.mem.clone()
        # the clone's parts reach it through a weak proxy: no reference cycle,
        # so a discarded clone is freed at once, not by the cyclic collector
        mem.on_watch = functools.partial(Machine._on_watch, weakref.proxy(new))
        d["st"] = self.st.clone()
        # the list code, allocator, tables and IOMMU are made for the clone when
        # it first uses them (__getattr__): most explored states only replay
        # remembered steps, which use none of them
        protos = {}
        for name in _HELPERS:
            helper = d.pop(name, None)
            protos[name] = self.__dict__["_protos"][name] if helper is None else helper
        d["_protos"] = protos
        d["emitted"] = []
        d["all_events"] = list(self.all_events)
        d["notes"] = []
        d["vas"] = list(self.vas)
        # _walk_reads is shared: it is replaced, never changed in place
        return new

    if not TYPE_CHECKING:  # (the type checker keeps seeing only the attributes __init__ sets)
        def __getattr__(self, name: str) -> Any:
            """A helper (lists, buddy, tables, iommu) of a clone, made on first use
            from the one it was cloned from (its caches shared, as before)."""
            protos = self.__dict__.get("_protos")
            if protos is None or name not in protos:
                raise AttributeError(name)
            old = protos[name]
            mem = self.__dict__["mem"]
            if name == "lists":
                helper = old.clone_for(mem)
            else:
                helper = object.__new__(old.__class__)
                hd = helper.__dict__
                hd.update(old.__dict__)
                hd["m"] = weakref.proxy(self)
                if "mem" in hd:
                    hd["mem"] = mem
            self.__dict__[name] = helper
            return helper

    def fingerprint(self) -> int:
        return hash((self.mem.fingerprint(), self.st.fingerprint()))

    def record(self, fp: Footprint | None) -> None:
        """Start (a Footprint) or stop (None) recording what steps read and write."""
        self.mem.fp = fp
        st = self.st
        if fp is not None:
            st.__dict__["_fp"] = fp
            st.__class__ = TracedMState
        else:
            st.__class__ = MState
            st.__dict__.pop("_fp", None)

    def _dead_bytes(self, data: bytes) -> object:
        """For state hashing only: the list words of a free page inside a
        buddy block (not PageBuddy, on no list) are dead -- what they hold
        depends only on the order earlier frees happened in, and nothing reads
        them before an allocation rewrites them. States that differ only there
        are one state."""
        return _dead_bytes(self._dead_span, data)

    @property
    def _dead_span(self) -> tuple[int, int, int, int, bytes]:
        span = self.__dict__.get("_dead_span_cache")
        if span is None:
            n = 2 * self.facts.ptr_size
            off = self.buddy.buddy_off
            t = self.F_type
            buddy = bytearray(t.size)
            t.set(buddy, self.buddy.PGTY_buddy, -t.offset)
            span = self.__dict__["_dead_span_cache"] = (off, off + n, t.offset, t.offset + t.size, bytes(buddy))
        return span

    # -- reporting ----------------------------------------------------------------------
    def report(self, kind: str, message: str, *, pfn: int | None = None, where: str = "", crash: bool = False,
               severity: str = "error", detected_by: str = "", **data: Any) -> None:
        data["detected_by"] = detected_by or detector(kind, message)
        ev = Event(kind, message, where or kind, pfn, severity, crash, dict(data))
        self.emitted.append(ev)
        self.all_events.append(ev)
        if crash:
            self.st.crashed = message
            raise Crash(message)

    def report_bad_page(self, pfn: int, reason: str, at: str) -> bool:
        """A page that fails page_bad_reason()'s checks at free. The kernel
        checks only when is_check_pages_enabled() (CHECK_PAGES: DEBUG_VM or
        page debugging, mm/page_alloc.c v6.18): then it prints "Bad page
        state" and leaks the page (True); otherwise it clears the flags and
        frees the page, and only the emulator notices (False)."""
        if self.config.get("CHECK_PAGES", 0):
            self.report("bad-page-at-free",
                        f"BUG: Bad page state in {at}: pfn:{pfn:05x} ({self.role(pfn)}), page dumped because: "
                        f"{reason} (check_pages is on: the kernel reports it and leaks the page)",
                        pfn=pfn, where=f"{at}: {reason}: {self.role(pfn, stable=True)}",
                        detected_by="kernel (free_page_is_bad, check_pages)", kernel_reports=True)
            self.st.bad_pages = self.st.bad_pages | {pfn}
            return True
        self.report("bad-page-at-free",
                    f"pfn {pfn:#x} ({self.role(pfn)}) reaches {at} in a state page_bad_reason() calls \"{reason}\"; "
                    f"this config has no check_pages (no DEBUG_VM or page debugging), so the kernel does not report "
                    f"it: it clears the flags and frees the page",
                    pfn=pfn, where=f"{at}: {reason}: {self.role(pfn, stable=True)}", kernel_reports=False)
        return False

    def last_writer(self, pfn: int, f: Any) -> str:
        """Who last stored over the bytes of word f of page pfn (replay mode only)."""
        if self.mem.journal is None:
            return ""
        for w in reversed(self.mem.journal):
            if w.region == "pages" and w.index == pfn and w.offset < f.offset + f.size and f.offset < w.offset + w.size:
                return f"{w.by} ({w.word} = {w.new:#x})"
        return ""

    def note(self, text: str) -> None:
        if self.trace:
            self.notes.append(text)

    @property
    def findings(self) -> list[Finding]:
        """Everything found so far (API use; the explorer collects per step)."""
        label = self.config.label()
        out, seen = [], set()
        for ev in self.all_events:
            if ev.key in seen:
                continue
            seen.add(ev.key)
            data = dict(ev.data)
            if ev.pfn is not None:
                data.setdefault("pfn", ev.pfn)
            out.append(Finding(ev.kind, ev.message, label, ev.where, ev.severity, data))
        return out

    # -- page metadata (page_owner-like; what the page is for) ----------------------------
    def set_role(self, pfn: int, role: str, kind: str) -> None:
        fp = self.mem.fp
        if fp is not None:
            fp.writes.update((("k", pfn), ("r", pfn)))
        self.st.own("roles")[pfn] = role
        # only page tables carry a kind that code reads (the marking's page kind)
        if kind in ("kernel-pgtable", "pgtable"):
            self.st.own("kinds")[pfn] = kind
        elif pfn in self.st.kinds:
            del self.st.own("kinds")[pfn]

    def role(self, pfn: int, stable: bool = False) -> str:
        """What the page was last allocated for (page_owner-like); `stable`
        leaves out whether it is free now (finding keys must not depend on it)."""
        if self.mem.fp is not None:
            self.mem.fp.reads.add(("r", pfn))
        role = self.st.roles.get(pfn)
        if role is None:
            return "page" if stable or not self.mem.is_free(pfn) else "free page"
        if stable:
            # the kind of page, not which one: "PTE table (huge-pmd)"
            return _kind_of_role(role)
        if self.mem.is_free(pfn):
            return f"{role}, now free"
        return role

    def kind(self, pfn: int) -> str:
        if self.mem.fp is not None:
            self.mem.fp.reads.add(("k", pfn))
        return self.st.kinds.get(pfn, "page")

    # -- struct page basics ---------------------------------------------------------------
    def init_single_page(self, pfn: int) -> None:
        """__init_single_page(): set_page_links() (zone/node/section), refcount 1,
        _mapcount -1 (page_type UINT_MAX), last_cpupid reset, INIT_LIST_HEAD(&page->lru)."""
        f = self.facts
        mem = self.mem
        word = f.flags_word
        flags = 0
        zone = word.field("zone")
        if zone is not None:
            flags |= f.zone_index << zone.lsb
        section = word.field("section")
        if section is not None:
            pfn_section_shift = int(self.config["SECTION_SIZE_BITS"]) - f.page_shift
            flags |= ((pfn >> pfn_section_shift) & ((1 << section.width) - 1)) << section.lsb
        mem.set(pfn, self.F_flags, flags)
        mem.set(pfn, self.buddy.F_ref, 1)
        mem.set(pfn, self.F_type, f.page_type_none)
        self.page_cpupid_reset_last(pfn)
        lru = mem.page_addr(pfn) + f.pw("lru.next").offset
        self.lists.init(lru)

    def page_cpupid_reset_last(self, pfn: int) -> None:
        """page_cpupid_reset_last(): LAST_CPUPID all ones, in page->flags or in
        page->_last_cpupid when it did not fit (include/linux/mm.h)."""
        how = self.__dict__.get("_cpupid_how")
        if how is None:
            how = self.__dict__["_cpupid_how"] = self._cpupid_how()
        where, word, value = how
        if where == "flags":
            self.mem.or_bits(pfn, self.F_flags, value)
        elif where == "word":
            self.mem.set(pfn, word, value)

    def _cpupid_how(self) -> tuple[str, Any, int]:
        """Where LAST_CPUPID lives (page->flags mask, or the _last_cpupid word
        and its all-ones value), looked up once per machine and its clones."""
        f = self.facts
        fld = f.flags_word.field("last_cpupid")
        if fld is not None:
            return "flags", None, fld.mask
        shift = f.flags_word.shifts.get("last_cpupid", 0)
        word = f.page.words.get("_last_cpupid")
        if shift and word is not None:
            return "word", word, -1 & ((1 << shift) - 1)
        return "", None, 0

    def device_pfn(self, va: int) -> int:
        """A device (ioremap) frame for the huge mapping at va: outside emulated RAM."""
        f = self.facts
        return (f.addresses["device"] >> f.page_shift) + ((va >> f.levels[-2].shift) & 0xFFF) * 512

    def pop_frame(self, head: int) -> None:
        """A function returned: its on-stack list head is dead. Zero it, so
        states that differ only in dead stack bytes are one state (a stale
        pointer into it would now read NULL and be caught)."""
        n = 2 * self.facts.ptr_size
        region, off = self.mem.resolve(head, n)
        if region == "stack":
            self.mem.touch_raw("stack", off, n, write=True)
            self.mem.stack[off:off + n] = bytes(n)
            self.mem.regions_hash = None

    def cpu_access(self, pfn: int, who: str, op: str) -> None:
        """A CPU reading or writing a page's contents (table entries): KASAN."""
        if self.mem.is_free(pfn):
            self.report("use-after-free",
                        f"BUG: KASAN: use-after-free {op} in {who}: pfn {pfn:#x} ({self.role(pfn)}) was freed",
                        pfn=pfn, where=f"{who}: {op} {self.role(pfn, stable=True)}")

    # -- allocation API ---------------------------------------------------------------------
    def alloc_pages(self, order: int = 0, *, comp: bool = False, zero: bool = False, who: str = "alloc_pages",
                    role: str = "", kind: str = "data") -> int:
        pfn = self.buddy.alloc_pages(order, comp, zero, who)
        for i in range(1 << order):
            self.set_role(pfn + i, role or f"allocated by {who}" + (f" (page {i} of order {order})" if order else ""),
                          kind)
        return pfn

    def free_pages(self, pfn: int, order: int = 0, who: str = "__free_pages") -> None:
        if self._in_step:
            self.buddy.free_pages(pfn, order, who)
        else:  # API use: a BUG ends the call, the finding stays in m.findings
            self._guard(lambda: self.buddy.free_pages(pfn, order, who))

    @property
    def proposal_marker(self) -> Marker | None:
        return next((mk for mk in self.markers if mk.mk.from_proposal_file), None)

    def on_alloc(self, pfn: int, order: int, who: str) -> None:
        fp = self.mem.fp
        if fp is not None:
            fp.writes.update(span("mk", pfn, 1 << order))
        if self.st.marks:
            gone = [k for k in self.st.marks if pfn <= k[1] < pfn + (1 << order)]
            if gone:
                marks = self.st.own("marks")
                for k in gone:
                    del marks[k]

    def on_free(self, pfn: int, order: int) -> None:
        """A block passed free_pages_prepare() and is going back to the buddy
        lists: the IOMMU must not still cache a pointer to any of it."""
        end = pfn + (1 << order)
        kinds = self.st.kinds
        fp = self.mem.fp
        if fp is not None:
            fp.writes.update(span("k", pfn, end - pfn))
            fp.reads.update(span("mk", pfn, end - pfn))
            if self.sva:  # whether some cache entry points at each page; a "none" is not part of
                # the cache a flush empties (it stays "none"); a page some entry points at is
                # read as part of it by cached_users()
                fp.reads.update(span("cv", pfn, end - pfn))
        if end - pfn == 1:  # one page: membership tests instead of scans
            gone = [pfn] if pfn in kinds else []
            targets = {pfn} if self.sva and pfn in self.st.iommu_cache.values() else set()
            held = self.st.marks
            marks = set()
            if held:
                for marker in self.markers:  # the keys are (marker index, pfn)
                    if (marker.i, pfn) in held:
                        marks = {pfn}
                        break
        else:
            gone = [p for p in kinds if pfn <= p < end]
            targets = {p for p in self.st.iommu_cache.values() if pfn <= p < end} if self.sva else set()
            marks = {k[1] for k in self.st.marks if pfn <= k[1] < end}
        if gone:
            kinds = self.st.own("kinds")
            for p in gone:
                del kinds[p]
        for p in sorted(targets | marks):
            if p in targets:
                users = [u for u in self.iommu.cached_users(p) if u not in self.st.reported_cache]
                if users:
                    # one report per stale cache entry: the page's later owners
                    # freeing it again are the same bug
                    self.st.reported_cache = self.st.reported_cache | set(users)
                    lv, prefix = users[0]
                    level = self.facts.levels[lv]
                    va = prefix << level.shift
                    self.report("iommu-use-after-free",
                                f"pfn {p:#x} ({self.role(p)}) went back to the page allocator while the IOMMU's "
                                f"paging-structure cache still holds a {level.name} entry for VA {va:#x} pointing at "
                                f"it: the next IOMMU walk of that VA reads whatever the page's next owner writes",
                                pfn=p, where=f"__free_pages: {self.role(p, stable=True)}")
            if p in marks:
                for marker in self.markers:
                    marker.on_free(self, p)

    def _on_watch(self, pfn: int, f: Any, old: int, new: int, rmw: bool) -> None:
        for marker in self.markers:
            marker.on_write(self, pfn, f, old, new, rmw)

    # -- ptdescs ----------------------------------------------------------------------------
    def ptdesc_of(self, pfn: int) -> int:
        """page_ptdesc(): the address of the ptdesc describing page pfn."""
        return self.design.page_ptdesc(self, pfn)

    def ptdesc_page(self, ref: int) -> int:
        return self.design.ptdesc_page(self, ref)

    def pt_list_node(self, pfn: int) -> int:
        return self.ptdesc_of(pfn) + self.facts.pd("pt_list.next").offset

    def pt_node_page(self, node: int) -> int:
        ref = node - self.facts.pd("pt_list.next").offset
        return self.ptdesc_page(ref)

    # -- page-table pages: ctor/dtor (page_type, include/linux/page-flags.h) -------------------
    def set_page_table(self, pfn: int, who: str) -> None:
        """__SetPageTable(): return if already Table; VM_BUG_ON unless UINT_MAX; store PGTY_table << 24."""
        f = self.facts
        t = self.mem.get(pfn, self.F_type)
        table = f.pgty["PGTY_table"]
        if t >> f.page_type_shift == table:
            return
        if t != f.page_type_none:
            self.report("type-byte", f"{who}: __SetPageTable(): VM_BUG_ON_PAGE(page_type {t:#x} != UINT_MAX) on pfn "
                        f"{pfn:#x} ({self.role(pfn)}): something wrote page_type before the constructor",
                        pfn=pfn, where=f"{who}: __SetPageTable", crash=True)
        self.mem.set(pfn, self.F_type, table << f.page_type_shift)

    def clear_page_table(self, pfn: int, who: str) -> None:
        """__ClearPageTable(): return if UINT_MAX; VM_BUG_ON unless Table; store UINT_MAX."""
        f = self.facts
        t = self.mem.get(pfn, self.F_type)
        if t == f.page_type_none:
            return
        if t >> f.page_type_shift != f.pgty["PGTY_table"]:
            kind = "double-free" if t >> f.page_type_shift == f.pgty["PGTY_buddy"] else "wrong-table"
            self.report(kind, f"{who}: __ClearPageTable(): VM_BUG_ON_PAGE(!PageTable(page)) on pfn {pfn:#x} "
                        f"({self.role(pfn)}): page_type {t:#x}"
                        + (" is PGTY_buddy, the page is already free" if kind == "double-free" else ""),
                        pfn=pfn, where=f"{who}: __ClearPageTable: {self.role(pfn, stable=True)}", crash=True)
        self.mem.set(pfn, self.F_type, f.page_type_none)

    def is_page_table(self, pfn: int) -> bool:
        f = self.facts
        return self.mem.get(pfn, self.F_type) >> f.page_type_shift == f.pgty["PGTY_table"]

    def lifecycle(self, step: str, pfn: int) -> bool | None:
        """Run every marking's actions for a lifecycle step of page pfn; the
        result of a deciding marking's test (None when none tests here)."""
        decision = None
        kind = self.kind(pfn)
        for marker in self.markers:
            result = marker.at(self, step, pfn, kind)
            if result is not None and marker.mk.decides:
                decision = result
        return decision

    # -- kernel page tables (API) ---------------------------------------------------------------
    def pagetable_alloc(self, level: str = "pte", *, kernel: bool = True, role: str = "") -> int:
        """A page-table page of `level` as the design allocates it (ctor, marking)."""
        lv = self.facts.level_by_name[level]
        return self.design.alloc_table(self, lv, kernel=kernel, role=role or f"{level} table (API)")

    def link(self, va: int, pfn: int, level: str = "pte") -> None:
        """Install table pfn (of `level`) for va, creating the tables above it."""
        lv = self.facts.level_by_name[level]
        parent = self.design.ensure_tables(self, va, lv - 1, "link")
        self.tables.write(parent, self.tables.index(va, lv - 1), (TABLE, pfn), "link")
        if va not in self.vas:
            self.vas.append(va)

    def unlink(self, va: int, level: str = "pte") -> int | None:
        """pXd_clear() of the entry pointing at the `level` table for va; returns its pfn."""
        lv = self.facts.level_by_name[level]
        loc = self.tables.locate(va, lv - 1, "unlink")
        if loc is None:
            return None
        entry = self.tables.read(*loc)
        self.tables.write(loc[0], loc[1], None, "unlink")
        return entry[1] if entry and entry[0] == TABLE else None

    def pagetable_dtor_free(self, pfn: int) -> None:
        """pagetable_dtor_free(): the destructor, then pagetable_free()."""
        self._run(Step("kernel_table_free", (pfn, "API")))

    def pagetable_free(self, pfn: int) -> None:
        self._run(Step("pagetable_free", (pfn, "API")))

    def enqueue(self, pfn: int) -> None:
        """pagetable_free_kernel() of the design (queue for the worker)."""
        self._run(Step("enqueue", (pfn, "API")))

    def run_worker(self) -> None:
        """Run the deferred-free worker until the work is no longer pending."""
        guard = 0
        while self.st.work_pending and guard < 1000:
            guard += 1
            self._run(Step("work_start"), thread="worker")

    def iommu_walk(self, va: int) -> list[str]:
        if not self.sva:
            return []
        return self._guard(lambda: self.iommu.walk(va)) or []

    def iommu_invalidate(self) -> int:
        return self.iommu.invalidate()

    def quiesce(self) -> None:
        """Run pending work and the end-of-run checks (leaks, dangling tables)."""
        self.run_worker()
        self._guard(lambda: self.design.end_checks(self))

    def _guard(self, fn: Any) -> Any:
        try:
            return fn()
        except (Crash, ListCorruption, Fault) as exc:
            self._caught(exc)
            return None

    def _caught(self, exc: Exception) -> None:
        """What a BUG, a DEBUG_LIST report or an oops leaves (a Crash has
        already reported itself)."""
        if isinstance(exc, ListCorruption):
            self._list_corruption(exc)
        elif isinstance(exc, Fault):
            self._fault(exc)

    def _run(self, step: Step, thread: str = "cpu0") -> None:
        """Run a step and every step it schedules, to completion (API use)."""
        pending = [step]
        while pending and not self.st.crashed:
            head = pending.pop(0)
            more = self.exec_step(thread, head)
            pending[:0] = more

    # -- one step ----------------------------------------------------------------------------------
    def exec_step(self, thread: str, step: Step) -> list[Step]:
        """Run one micro-step of the design; returns the steps it schedules next."""
        handler = self.design.step_handlers[step.name]
        self.mem.writer = f"{thread}: {step.name}"
        self._in_step = True
        try:
            return list(handler(self.design, self, thread, *step.args) or ())
        except Crash:
            return []
        except ListCorruption as exc:
            self._list_corruption(exc)
            return []
        except Fault as exc:
            self._fault(exc)
            return []
        except OutOfMemory as exc:
            from mmbits.errors import InputError

            raise InputError(f"the emulated machine ran out of memory in {step.name}: {exc}") from None
        finally:
            self._in_step = False

    def _list_corruption(self, exc: ListCorruption) -> None:
        pfn = None
        if self.mem.is_page_addr(exc.entry):
            pfn = (exc.entry - self.mem.vmemmap) // self.mem.size
        where = self.role(pfn, stable=True) if pfn is not None else self.mem.describe(exc.entry)
        ev = Event("list-corruption", f"{exc.message} [DEBUG_LIST: the operation was skipped]",
                   f"{self.mem.writer.split(': ', 1)[-1]}: {where}", pfn,
                   data={"detected_by": "kernel (DEBUG_LIST)"})
        self.emitted.append(ev)
        self.all_events.append(ev)

    def _fault(self, exc: Fault) -> None:
        ev = Event("use-after-free" if exc.addr else "list-corruption",
                   f"BUG: {exc} (in {self.mem.writer}); oops", f"{self.mem.writer}: wild pointer", None, crash=True,
                   data={"detected_by": "kernel (page fault: oops)"})
        self.emitted.append(ev)
        self.all_events.append(ev)
        self.st.crashed = str(exc)

    def after_step(self) -> list[str]:
        """The IOMMU walks every scenario VA (see mmbits.emu.iommu). Nothing
        to do when no table, shadow or cache changed since its last walks;
        otherwise only the VAs whose last walk read an entry that changed
        since, or a page whose shadow or whole contents changed (or all,
        after a flush) are walked again: a walk over unchanged entries and
        unflushed caches caches nothing new."""
        if not self.sva or self.st.crashed or self._walked == self.mem.version:
            return []
        self._walked = self.mem.version
        if not self.st.iommu_cache and not self._walk_reads:
            out = self.iommu.walk_all_flushed(self.vas)
        else:
            reads, dirty = self._walk_reads, self.mem.walk_dirty
            # the VAs to walk again, found before a clone makes its IOMMU helper (mostly none)
            todo = [va for va in self.vas if (last := reads.get(va)) is None or not last.isdisjoint(dirty)]
            walked: dict[int, frozenset[Any]] = {}
            out = self.iommu.rewalk(todo, reads, dirty, walked) if todo else []
            if walked:  # a new dict: clones share the old one
                self._walk_reads = {**reads, **walked}
        self.mem.walk_dirty = set()
        return out

    # -- end-of-run checks ------------------------------------------------------------------------
    def leak_check(self, held: frozenset[int] = frozenset()) -> None:
        """Every allocated page must be owned: reserved, a table reachable from
        the root, a page an owning leaf maps, a page a thread holds, a page the
        kernel deliberately leaked after a bad-page report. The rest leaked."""
        tables = self.tables.reachable()
        for pfn in tables:
            if self.mem.shadow[pfn]:
                parent, idx, lv = tables[pfn]
                self.report("use-after-free",
                            f"the kernel page tables still link pfn {pfn:#x} ({self.role(pfn)}) at "
                            f"{self.facts.levels[lv - 1].name}[{idx}] of pfn {parent:#x} after it was freed",
                            pfn=pfn, where=f"end of run: dangling table {self.role(pfn, stable=True)}")
        owned = set(tables) | self.tables.owned_leaves(tables) | set(held) | set(self.st.bad_pages)
        owned |= set(range(RESERVED_PAGES))
        owned |= self.design.in_flight(self)
        leaked = [p for p in range(self.mem.npages) if not self.mem.shadow[p] and p not in owned]
        if leaked:
            groups: dict[str, list[int]] = {}
            for p in leaked:
                groups.setdefault(self.role(p, stable=True).split(" (page ")[0], []).append(p)
            for role, pfns in groups.items():
                self.report("leak",
                            f"{len(pfns)} page(s) leaked: {role}: allocated, no longer reachable from any page "
                            f"table or owner, never returned to the allocator (pfns {_ranges(pfns)})",
                            pfn=pfns[0], where=f"end of run: {role}", pages=len(pfns))


# the helpers a clone makes on first use (Machine.__getattr__)
_HELPERS = ("lists", "buddy", "tables", "iommu")


def _dead_bytes(span: tuple[int, int, int, int, bytes], data: bytes) -> object:
    """Machine._dead_bytes with the layout's offsets given."""
    off, end, type_off, type_end, buddy = span
    if data[type_off:type_end] == buddy:
        return data
    return (data[:off], data[end:])


def detector(kind: str, message: str) -> str:
    """Who reports a finding: the kernel (with the debug option that makes it
    check) or only the emulator (a check the kernel does not have)."""
    if message.startswith("BUG: KASAN"):
        return "kernel (KASAN)"
    if "VM_BUG_ON" in message:
        return "kernel (DEBUG_VM)"
    if kind == "list-corruption":
        return "kernel (DEBUG_LIST)"
    return "emulator"


def _ranges(pfns: list[int]) -> str:
    out = []
    start = prev = pfns[0]
    for p in pfns[1:] + [-1]:
        if p == prev + 1:
            prev = p
            continue
        out.append(f"{start:#x}" if start == prev else f"{start:#x}-{prev:#x}")
        start = prev = p
    return ", ".join(out)
