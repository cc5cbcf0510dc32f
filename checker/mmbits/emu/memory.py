"""The emulated memory: an array of struct pages as real bytes, plus the few
other bytes the deferred-free system touches (list heads in kernel data and on
a stack, separately allocated ptdescs), the contents of pages used as page
tables, and a KASAN-style shadow saying which pages are free.

Every struct page access goes through a `Field` of a resolved layout (the
foundation's fast accessor), so aliasing is real: a list_add() on a ptdesc's
pt_list writes the bytes compound_head reads. Pointers are kernel virtual
addresses (vmemmap, kernel data, stack, slab), resolved back to bytes here.

Two cheap extras make exploration and reports possible: a running fingerprint
of the bytes (dirty pages are rehashed lazily) for state-hash pruning, and an
optional write journal (who wrote which word, old and new value) used when a
finding's schedule is replayed for its report.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mmbits.emu.facts import Facts
from mmbits.emu.footprint import Footprint, span
from mmbits.layout.model import Field


class Fault(Exception):
    """A dereference of an address that is not emulated memory (a wild or
    poisoned pointer): the kernel would oops."""

    def __init__(self, addr: int, what: str):
        super().__init__(f"{what}: unable to handle kernel paging request at {addr:#x}")
        self.addr = addr
        self.what = what


@dataclass
class Write:
    """One journaled store (replay mode only)."""

    region: str
    index: int  # pfn for struct pages, byte offset otherwise
    offset: int  # byte offset inside the struct page
    size: int
    word: str
    old: int
    new: int
    by: str


_REBASED: dict[tuple[Field, int, str], Field] = {}

# byte sizes of the small non-page regions (list heads, one stack per CPU)
KDATA_BYTES = 512
STACK_BYTES = 512


class Memory:
    """Struct pages + page contents + shadow + small kernel regions."""

    def __init__(self, facts: Facts, npages: int, slab_objects: int = 0):
        self.f = facts
        self.size = facts.sizeof_page
        self.npages = npages
        self.pages = bytearray(npages * self.size)
        self.vmemmap = facts.addresses["vmemmap_start"]
        self.kdata = bytearray(KDATA_BYTES)
        self.kdata_base = facts.addresses["kernel_data"]
        self.stack = bytearray(STACK_BYTES)
        self.stack_base = facts.addresses["stack"]
        self.slab_size = facts.ptdesc_object_size
        self.slab = bytearray(slab_objects * self.slab_size)
        self.slab_base = facts.addresses["slab"]
        # KASAN-style shadow of the page frames: 1 = free (poisoned), 0 = allocated
        self.shadow = bytearray(npages)
        # contents of pages used as arrays of entries (page tables, pmd_sv copies):
        # pfn -> {index: entry}; the inner dicts are never mutated in place
        self.contents: dict[int, dict[int, tuple[Any, ...]]] = {}
        self.version = 0  # bumped when page contents or the shadow change
        # what changed since the IOMMU's last walks: a page's shadow or all its
        # entries (pfn), one entry ((pfn, index))
        self.walk_dirty: set[int | tuple[int, int]] = set()
        self._contents_acc = 0  # XOR of hash((pfn, entries)) over the pages with contents
        self._kdata_next = 0
        self._stack_next = 0
        self.symbols: dict[int, str] = {}  # kdata/stack address -> C name (for messages)
        # fingerprinting
        # per page: its hash (a machine-word array: cloned by one memcpy)
        self._hash = array("q", bytes(8 * npages))
        self._acc = 0
        self._dirty: set[int] = set(range(npages))
        # pages whose list words (the lru union) were written after boot
        self.lru_touched: set[int] = set()
        self.lru_span = (0, 0)
        # watched struct page bytes (pfn -> (lo, hi) byte range) and the observer
        self.watched: dict[int, tuple[int, int]] = {}
        self.on_watch: Callable[[int, Field, int, int, bool], None] | None = None
        # fingerprint canonicalisation of a free page's dead bytes (set by the machine)
        self.dead_bytes: Callable[[bytes], object] | None = None
        # replay-mode journal
        self.journal: list[Write] | None = None
        self.writer = ""
        # the footprint being recorded (exploration with partial-order reduction)
        self.fp: Footprint | None = None

    # -- cloning and fingerprints -------------------------------------------
    def clone(self) -> Memory:
        new = Memory.__new__(Memory)
        new.__dict__.update(self.__dict__)
        new.pages = bytearray(self.pages)
        new.kdata = bytearray(self.kdata)
        new.stack = bytearray(self.stack)
        new.slab = bytearray(self.slab)
        new.shadow = bytearray(self.shadow)
        new.contents = dict(self.contents)
        new._hash = array("q", self._hash)
        # (a set emptied by clear() keeps its table: copying it walks every slot)
        new._dirty = set(self._dirty) if self._dirty else set()
        new.lru_touched = set(self.lru_touched)
        new.watched = dict(self.watched)
        new.walk_dirty = set(self.walk_dirty) if self.walk_dirty else set()
        new.on_watch = None
        new.journal = None
        new.fp = None
        return new

    def poison(self, pfn: int, free: int, count: int = 1) -> None:
        """Set the KASAN shadow of `count` page frames (1 = free).

        Only pages whose list words were written since boot are rehashed: a
        page's hash masks its dead list words while it is free (see
        Machine._dead_bytes), and for an untouched page masking changes
        nothing that could tell two states apart."""
        self.shadow[pfn:pfn + count] = bytes([free]) * count
        fp = self.fp
        if fp is not None:
            fp.writes.update(span("s", pfn, count))
        if count == 1:
            self.walk_dirty.add(pfn)
        else:
            self.walk_dirty.update(range(pfn, pfn + count))
        touched = self.lru_touched
        if count == 1:
            if pfn in touched:
                self._dirty.add(pfn)
        else:
            self._dirty.update(touched.intersection(range(pfn, pfn + count)))
        self.version += 1

    def fingerprint(self) -> int:
        if self._dirty:
            size = self.size
            view = memoryview(self.pages)
            acc = self._acc
            hashes = self._hash
            dead = self.dead_bytes
            shadow = self.shadow
            for pfn in self._dirty:
                data = bytes(view[pfn * size:(pfn + 1) * size])
                if shadow[pfn] and dead is not None:
                    h = hash((pfn, dead(data)))
                else:
                    h = hash((pfn, data))
                acc ^= hashes[pfn] ^ h
                hashes[pfn] = h
            self._acc = acc
            self._dirty = set()
        tables = self._contents_acc
        return hash((self._acc, bytes(self.kdata), bytes(self.stack), bytes(self.slab),
                     bytes(self.shadow), tables))

    # -- struct page words ----------------------------------------------------
    def get(self, pfn: int, f: Field) -> int:
        fp = self.fp
        if fp is not None:
            if f.offset + f.size <= self.size:
                fp.reads.add(("p", pfn))
            else:
                self._touch(fp.reads, pfn, f)
        return f.get(self.pages, pfn * self.size)

    def _touch(self, into: set[tuple[Any, ...]], pfn: int, f: Field) -> None:
        """The struct pages word f of page pfn covers (a folio word is in page[1] ...)."""
        size = self.size
        first = pfn + f.offset // size
        into.add(("p", first))
        last = pfn + (f.offset + f.size - 1) // size
        if last != first:
            into.add(("p", last))

    def is_free(self, pfn: int) -> bool:
        """The KASAN shadow of page frame pfn: freed (poisoned)."""
        if self.fp is not None:
            self.fp.reads.add(("s", pfn))
        return bool(self.shadow[pfn])

    def touch_pages(self, pfn: int, count: int, write: bool = False) -> None:
        """Record a raw access to the bytes of struct pages pfn .. pfn+count-1."""
        fp = self.fp
        if fp is not None:
            (fp.writes if write else fp.reads).update(span("p", pfn, count))

    def touch_raw(self, region: str, off: int, nbytes: int, write: bool = False) -> None:
        """Record a raw access to the words of kdata/stack/slab bytes off .. off+nbytes."""
        fp = self.fp
        if fp is not None:
            into = fp.writes if write else fp.reads
            first, end = off >> 3, (off + nbytes + 7) >> 3
            if end == first + 1:
                into.add(("m", region, first))
            else:
                into.update(("m", region, w) for w in range(first, end))

    def set(self, pfn: int, f: Field, value: int, rmw: bool = False) -> None:
        """Store a word of struct page `pfn` (rmw: a read-modify-write such as
        set_bit(), as opposed to a plain assignment)."""
        size = self.size
        base = pfn * size
        off = f.offset
        target, rel = (pfn, off) if off < size else (pfn + off // size, off % size)
        hit = False
        watched = self.watched
        if watched and target in watched:
            span = watched[target]
            hit = rel < span[1] and span[0] < rel + f.size
        journal = self.journal
        fp = self.fp
        if fp is not None:
            fp.writes.add(("p", target))
            if rel + f.size > size:
                fp.writes.add(("p", target + 1))
        if hit or journal is not None:
            old = f.get(self.pages, base)
        f.set(self.pages, value, base)
        self._dirty.add(target)
        if rel + f.size > size:
            self._dirty.add(target + 1)
        lo, hi = self.lru_span
        if rel < hi and lo < rel + f.size:
            self.lru_touched.add(target)
        if hit or journal is not None:
            new = f.get(self.pages, base)
            if journal is not None:
                journal.append(Write("pages", target, rel, f.size, f.name, old, new, self.writer))
            if hit and self.on_watch is not None:
                self.on_watch(target, f, old, new, rmw)

    def or_bits(self, pfn: int, f: Field, bits: int) -> None:
        if self.fp is not None:
            self._touch(self.fp.reads, pfn, f)
        old = f.get(self.pages, pfn * self.size)
        if old | bits != old:
            self.set(pfn, f, old | bits, rmw=True)

    def clear_bits(self, pfn: int, f: Field, bits: int) -> None:
        if self.fp is not None:
            self._touch(self.fp.reads, pfn, f)
        old = f.get(self.pages, pfn * self.size)
        if old & bits:
            self.set(pfn, f, old & ~bits, rmw=True)

    def _journal_other(self, region: str, index: int, f: Field, value: int) -> None:
        buf = self._buffer(region)
        old = f.get(buf, index)
        assert self.journal is not None
        self.journal.append(Write(region, index, f.offset, f.size, f.name, old, value, self.writer))

    def page_bytes(self, pfn: int) -> bytes:
        return bytes(self.pages[pfn * self.size:(pfn + 1) * self.size])

    # -- addresses ------------------------------------------------------------
    def page_addr(self, pfn: int) -> int:
        return self.vmemmap + pfn * self.size

    def pfn_of(self, addr: int, member_offset: int = 0) -> int:
        """The pfn whose struct page holds `addr` (container_of with a member offset)."""
        off = addr - member_offset - self.vmemmap
        if off < 0 or off % self.size or off // self.size >= self.npages:
            raise Fault(addr, "container_of() on an address that is not a struct page member")
        return off // self.size

    def is_page_addr(self, addr: int) -> bool:
        return self.vmemmap <= addr < self.vmemmap + self.npages * self.size

    def _buffer(self, region: str) -> bytearray:
        buf: bytearray = getattr(self, region)  # the regions are named after their buffers
        return buf

    def resolve(self, addr: int, nbytes: int) -> tuple[str, int]:
        """(region, byte offset) of an address, or Fault."""
        off = addr - self.vmemmap
        if off >= 0 and off + nbytes <= len(self.pages):
            return "pages", off
        for region, base in (("kdata", self.kdata_base), ("stack", self.stack_base), ("slab", self.slab_base)):
            if base <= addr and addr + nbytes <= base + len(getattr(self, region)):
                return region, addr - base
        raise Fault(addr, "dereference")

    def read_at(self, addr: int, f: Field) -> int:
        """Read the word `f` of the structure that starts at `addr`."""
        base = addr - self.vmemmap
        if base >= 0 and base + f.offset + f.size <= len(self.pages):  # struct page bytes (most lists)
            if self.fp is not None:
                self.fp.reads.add(("p", (base + f.offset) // self.size))
            return f.get(self.pages, base)
        off = addr + f.offset - self.kdata_base
        if off >= 0 and off + f.size <= len(self.kdata):  # a static list head
            if self.fp is not None:
                self.touch_raw("kdata", off, f.size)
            return f.get(self.kdata, off - f.offset)
        region, off = self.resolve(addr + f.offset, f.size)
        if self.fp is not None:
            if region == "pages":
                self.fp.reads.add(("p", off // self.size))
            else:
                self.touch_raw(region, off, f.size)
        return f.get(self._buffer(region), off - f.offset)

    def _rebased(self, f: Field, rel: int) -> Field:
        """A struct member's word (a list_head's prev ...) at its place in struct
        page, named after the first struct page word there (lru.prev)."""
        # by identity first: hashing a Field hashes its every member
        near = self.__dict__.setdefault("_rebased_by_id", {})
        hit = near.get((id(f), rel))
        if hit is not None and hit[0] is f:
            done: Field = hit[1]
            return done
        key = (f, rel, self.f.page.struct)
        shifted = _REBASED.get(key)
        if shifted is None:
            name = next((n for n, w in self.f.page.words.items() if w.offset == rel and w.size == f.size), f.name)
            shifted = _REBASED[key] = Field(name, rel, f.size, f.signed, f.little, f.bit_offset, f.bit_size)
        near[(id(f), rel)] = (f, shifted)
        return shifted

    def write_at(self, addr: int, f: Field, value: int) -> None:
        base = addr - self.vmemmap
        size = self.size
        if base >= 0 and base + f.offset + f.size <= len(self.pages):  # struct page bytes (most lists)
            if not base % size:
                self.set(base // size, f, value)
            else:  # a struct member that is not at a struct page boundary: still page bytes
                pfn, rel = divmod(base + f.offset, size)
                self.set(pfn, self._rebased(f, rel), value)
            return
        region, off = self.resolve(addr + f.offset, f.size)
        base = off - f.offset
        if region == "pages":
            pfn, rel = divmod(off, size)
            self.set(pfn, self._rebased(f, rel), value)
            return
        if self.journal is not None:
            self._journal_other(region, base, f, value)
        if self.fp is not None:
            self.touch_raw(region, off, f.size, write=True)
        f.set(self._buffer(region), value, base)

    def alloc_static(self, name: str, nbytes: int, on_stack: bool = False) -> int:
        """Reserve bytes for a static object or an on-stack variable (a list head)."""
        align = self.f.ptr_size
        if on_stack:
            off = -(-self._stack_next // align) * align
            self._stack_next = off + nbytes
            if self._stack_next > len(self.stack):
                raise MemoryError("emulated stack exhausted")
            addr = self.stack_base + off
        else:
            off = -(-self._kdata_next // align) * align
            self._kdata_next = off + nbytes
            if self._kdata_next > len(self.kdata):
                raise MemoryError("emulated kernel data exhausted")
            addr = self.kdata_base + off
        self.symbols[addr] = name
        return addr

    def describe(self, addr: int) -> str:
        """A readable name for an address (kdata symbol, struct page member, slab object)."""
        if addr in self.symbols:
            return self.symbols[addr]
        if self.is_page_addr(addr):
            pfn, rel = divmod(addr - self.vmemmap, self.size)
            return f"page pfn {pfn:#x} +{rel}"
        if self.slab_base <= addr < self.slab_base + len(self.slab):
            idx, rel = divmod(addr - self.slab_base, self.slab_size)
            return f"ptdesc object {idx} +{rel}"
        return f"{addr:#x}"

    # -- page contents (entries of tables and of pmd_sv copies) ---------------
    def entries(self, pfn: int) -> dict[int, tuple[Any, ...]]:
        """Every entry of page pfn (a whole-page read)."""
        if self.fp is not None:
            self.fp.read_whole("e", pfn)
        return self.contents.get(pfn, {})

    def entry(self, pfn: int, index: int) -> tuple[Any, ...] | None:
        """One entry of page pfn."""
        if self.fp is not None:
            self.fp.read_part("e", pfn, ("e", pfn, index))
        table = self.contents.get(pfn)
        return table.get(index) if table is not None else None

    def _put(self, pfn: int, new: dict[int, tuple[Any, ...]] | None, index: int | None = None) -> None:
        """Replace a page's contents (the dicts are never mutated in place);
        `index`: only that entry changed (the IOMMU re-walks only the VAs
        that read it)."""
        old = self.contents.get(pfn)
        self.walk_dirty.add(pfn if index is None else (pfn, index))
        if old is not None:
            self._contents_acc ^= hash((pfn, frozenset(old.items())))
            del self.contents[pfn]
        if new:
            self.contents[pfn] = new
            self._contents_acc ^= hash((pfn, frozenset(new.items())))
        self.version += 1

    def set_entry(self, pfn: int, index: int, entry: tuple[Any, ...] | None) -> None:
        new = dict(self.contents.get(pfn, {}))
        if self.fp is not None:
            self.fp.write_part("e", pfn, ("e", pfn, index))
            old = new.get(index)
            for e in (old, entry):
                if e is not None and e[0] == "t":
                    self.fp.writes.update((("link",), ("lk", e[1])))
                    # the table pointer at the entry (what the IOMMU's walks read) changes
                    self.fp.write_part("et", pfn, ("et", pfn, index))
        if entry is None:
            new.pop(index, None)
        else:
            new[index] = entry
        self._put(pfn, new, index)

    def _relinks(self, fp: Footprint, dst: int, src: int | None = None) -> None:
        """A whole-page store into dst (zeroed, or a copy of src's entries)
        writes the pointer graph, and every pointer it removes or adds."""
        fp.writes.add(("link",))
        fp.write_whole("et", dst)
        for page in (dst, src):
            if page is not None:
                fp.writes.update(("lk", e[1]) for e in self.contents.get(page, {}).values() if e[0] == "t")

    def zero_page(self, pfn: int) -> None:
        if self.fp is not None:
            self.fp.write_whole("e", pfn)
            self._relinks(self.fp, pfn)
        if pfn in self.contents:
            self._put(pfn, None)

    def copy_page(self, dst: int, src: int) -> None:
        if self.fp is not None:
            self.fp.read_whole("e", src)
            self.fp.write_whole("e", dst)
            self._relinks(self.fp, dst, src)
        self._put(dst, self.contents.get(src))
