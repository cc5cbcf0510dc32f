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

The struct page bytes are kept in chunks of CHUNK_PAGES pages, copied on
write: a clone (one per explored child state) copies the list of chunks, and
a store copies its chunk the first time that copy writes it -- a transition
writes a few chunks, while copying all the bytes cost more than the step
itself. `Memory.cow = False` is the reference path (every clone copies every
chunk) the tests compare the exploration against.
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

# Zobrist keys of the shadow, per number of pages: one random 64-bit key per
# page frame and their prefix XORs (the XOR of a run of keys in two lookups)
_SHADOW_KEYS: dict[int, tuple[list[int], list[int]]] = {}


def _shadow_keys(npages: int) -> tuple[list[int], list[int]]:
    keys = _SHADOW_KEYS.get(npages)
    if keys is None:
        import random

        rng = random.Random(npages)
        z = [rng.getrandbits(64) for _ in range(npages)]
        prefix = [0]
        for k in z:
            prefix.append(prefix[-1] ^ k)
        keys = _SHADOW_KEYS[npages] = (z, prefix)
    return keys

# struct pages per copy-on-write chunk (a power of two: pfn >> CHUNK_SHIFT is the chunk)
CHUNK_SHIFT = 6
CHUNK_PAGES = 1 << CHUNK_SHIFT
CHUNK_MASK = CHUNK_PAGES - 1

# byte sizes of the small non-page regions (list heads, one stack per CPU)
KDATA_BYTES = 512
STACK_BYTES = 512


class Memory:
    """Struct pages + page contents + shadow + small kernel regions."""

    # copy-on-write chunks on clone (False: the reference path, a full copy)
    cow = True
    # the word fast paths: load_word/store_word, set()'s plain store (False: the reference path)
    fast_words = True
    # the shadow's hash kept up to date by poison() (False: the reference
    # path, recomputed from every byte at each fingerprint)
    incremental = True

    def __init__(self, facts: Facts, npages: int, slab_objects: int = 0):
        self.f = facts
        self.size = facts.sizeof_page
        self.npages = npages
        nchunks = -(-npages // CHUNK_PAGES)
        # the struct page bytes, CHUNK_PAGES pages a chunk; _owned[c]: chunk c
        # is this memory's own (not shared with a clone), so it may be written
        self._chunks = [bytearray(CHUNK_PAGES * self.size) for _ in range(nchunks)]
        self._owned = bytearray(b"\x01" * nchunks)
        self._nbytes = npages * self.size
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
        # its hash: the XOR of the Zobrist keys of the free frames
        self.shadow_hash = 0
        self._zkeys = _shadow_keys(npages)
        # contents of pages used as arrays of entries (page tables, pmd_sv copies):
        # pfn -> {index: entry}; the inner dicts are never mutated in place
        self.contents: dict[int, dict[int, tuple[Any, ...]]] = {}
        self.version = 0  # bumped when page contents or the shadow change
        # what changed since the IOMMU's last walks: a page's shadow or all its
        # entries (pfn), one entry ((pfn, index))
        self.walk_dirty: set[int | tuple[int, int]] = set()
        self._contents_acc = 0  # XOR of hash((pfn, entries)) over the pages with contents
        # the hash of the kernel data, stack and slab bytes; None once one is written
        # (store_word, write_at, Machine.pop_frame and the step memo's replay say so)
        self.regions_hash: int | None = None
        self._kdata_next = 0
        self._stack_next = 0
        self.symbols: dict[int, str] = {}  # kdata/stack address -> C name (for messages)
        # fingerprinting
        # per page: its hash, in one machine-word array per chunk, copied on
        # write like the chunks (_hash_owned)
        self._hash = [array("q", bytes(8 * CHUNK_PAGES)) for _ in range(nchunks)]
        self._hash_owned = bytearray(b"\x01" * nchunks)
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
        if self.cow:
            # both share every chunk now: whoever writes one first copies it
            new._chunks = list(self._chunks)
            new._owned = bytearray(len(self._chunks))
            self._owned = bytearray(len(self._chunks))
            new._hash = list(self._hash)
            new._hash_owned = bytearray(len(self._hash))
            self._hash_owned = bytearray(len(self._hash))
        else:
            new._chunks = [bytearray(c) for c in self._chunks]
            new._owned = bytearray(b"\x01" * len(self._chunks))
            new._hash = [array("q", h) for h in self._hash]
            new._hash_owned = bytearray(b"\x01" * len(self._hash))
        new.kdata = bytearray(self.kdata)
        new.stack = bytearray(self.stack)
        new.slab = bytearray(self.slab)
        new.shadow = bytearray(self.shadow)
        new.contents = dict(self.contents)
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
        shadow = self.shadow
        z, prefix = self._zkeys
        if count == 1:
            if bool(shadow[pfn]) != bool(free):
                self.shadow_hash ^= z[pfn]
            shadow[pfn] = free
        else:
            old = shadow[pfn:pfn + count]
            if not any(old) if free else all(old):  # every frame flips: a run of keys
                self.shadow_hash ^= prefix[pfn] ^ prefix[pfn + count]
            else:
                for i, was in enumerate(old):
                    if bool(was) != bool(free):
                        self.shadow_hash ^= z[pfn + i]
            shadow[pfn:pfn + count] = bytes([free]) * count
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
            chunks = self._chunks
            acc = self._acc
            hashes = self._hash
            owned = self._hash_owned
            dead = self.dead_bytes
            shadow = self.shadow
            for pfn in self._dirty:
                c = pfn >> CHUNK_SHIFT
                i = pfn & CHUNK_MASK
                base = i * size
                data = bytes(chunks[c][base:base + size])
                if shadow[pfn] and dead is not None:
                    h = hash((pfn, dead(data)))
                else:
                    h = hash((pfn, data))
                row = hashes[c]
                if not owned[c]:
                    row = hashes[c] = array("q", row)
                    owned[c] = 1
                acc ^= row[i] ^ h
                row[i] = h
            self._acc = acc
            self._dirty = set()
        regions = self.regions_hash
        if regions is None or not self.incremental:
            regions = self.regions_hash = hash((bytes(self.kdata), bytes(self.stack), bytes(self.slab)))
        return hash((self._acc, regions, self.shadow_key(), self._contents_acc))

    def fingerprint_masked(self, pages: list[int], lo: int, hi: int, regions: list[tuple[str, int, int]] | tuple[
            tuple[str, int, int], ...], memo: dict[int, int]) -> int:
        """fingerprint() as if bytes [lo, hi) of each struct page of `pages`
        (allocated ones) and each (region, offset, nbytes) of kdata/stack
        held zeros: the state key of mmbits.emu.canonical, which hashes a
        list's links by its members, not its order. `memo`: a page's masked
        hash by its hash (the caller's, kept across states)."""
        self.fingerprint()
        acc = self._acc
        for pfn in pages:
            c, i = pfn >> CHUNK_SHIFT, pfn & CHUNK_MASK
            acc ^= self._hash[c][i] ^ self.masked_page_hash(pfn, lo, hi, memo)
        return hash((acc, self.masked_regions_hash(regions), self.shadow_key(), self._contents_acc))

    def masked_page_hash(self, pfn: int, lo: int, hi: int, memo: dict[int, int]) -> int:
        """The hash of allocated struct page pfn with bytes [lo, hi) as zeros
        (fingerprint() first: its hash is current), by its hash in `memo`."""
        c, i = pfn >> CHUNK_SHIFT, pfn & CHUNK_MASK
        h = self._hash[c][i]
        masked = memo.get(h)
        if masked is None:
            if len(memo) > 65536:
                memo.clear()
            size = self.size
            data = self._chunks[c][i * size:(i + 1) * size]
            data[lo:hi] = bytes(hi - lo)
            masked = memo[h] = hash((pfn, bytes(data)))
        return masked

    def masked_regions_hash(self, regions: list[tuple[str, int, int]] | tuple[tuple[str, int, int], ...]) -> int:
        """The hash of the kernel data, stack and slab bytes with each
        (region, offset, nbytes) of kdata/stack as zeros."""
        kdata, stack = bytes(self.kdata), bytes(self.stack)
        for region, off, n in regions:
            if region == "kdata":
                kdata = kdata[:off] + bytes(n) + kdata[off + n:]
            else:
                stack = stack[:off] + bytes(n) + stack[off + n:]
        return hash((kdata, stack, bytes(self.slab)))

    def fingerprint_shifted(self, delta: int, regions: tuple[tuple[str, int, int], ...],
                            memo: dict[tuple[int, tuple[tuple[str, int, int], ...]], int]) -> int:
        """fingerprint_masked() given what masking the pages changes in their
        hashes' XOR (`delta`; fingerprint() already called), the masked
        regions' hash taken from `memo` by the regions' hash."""
        rkey = (self.regions_hash, regions)
        masked = memo.get(rkey)  # type: ignore[arg-type]
        if masked is None:
            if len(memo) > 65536:
                memo.clear()
            masked = memo[rkey] = self.masked_regions_hash(regions)  # type: ignore[index]
        return hash((self._acc ^ delta, masked, self.shadow_key(), self._contents_acc))

    def shadow_key(self) -> int:
        """The shadow's hash: kept up to date by poison(), or (the reference
        path) recomputed from its bytes."""
        return self.shadow_hash if self.incremental else self.shadow_hash_of_bytes()

    def shadow_hash_of_bytes(self) -> int:
        """The shadow's hash from its every byte (what poison() keeps up to date)."""
        z = self._zkeys[0]
        acc = 0
        for pfn, free in enumerate(self.shadow):
            if free:
                acc ^= z[pfn]
        return acc

    # -- the struct page bytes (copy-on-write chunks) --------------------------
    @property
    def pages(self) -> bytes:
        """Every struct page's bytes, a snapshot (replays, reports, benches)."""
        return b"".join(self._chunks)[:self._nbytes]

    def page_buf(self, pfn: int) -> tuple[bytearray, int]:
        """The chunk holding struct page pfn and the page's offset in it, for
        reading words with Field.get(buf, base) (never for writing: the chunk
        may be shared with a clone)."""
        return self._chunks[pfn >> CHUNK_SHIFT], (pfn & CHUNK_MASK) * self.size

    def _own_chunk(self, c: int) -> bytearray:
        """Chunk c, copied first when it is shared with a clone: the one way to write one."""
        chunk = self._chunks[c]
        if not self._owned[c]:
            chunk = self._chunks[c] = bytearray(chunk)
            self._owned[c] = 1
        return chunk

    def _word_get(self, start: int, f: Field) -> int:
        """Word f whose first byte is byte `start` of the struct page array
        (any struct: a list_head inside a page, a folio word in page[1])."""
        cb = CHUNK_PAGES * self.size
        c = start // cb
        inside = start - c * cb
        if inside + f.size <= cb:
            return f.get(self._chunks[c], inside - f.offset)
        return f.get(self._span_copy(c), inside - f.offset)  # a word across two chunks (never aligned)

    def _word_set(self, start: int, f: Field, value: int) -> None:
        cb = CHUNK_PAGES * self.size
        c = start // cb
        inside = start - c * cb
        if inside + f.size <= cb:
            f.set(self._own_chunk(c), value, inside - f.offset)
            return
        tmp = self._span_copy(c)
        f.set(tmp, value, inside - f.offset)
        self._own_chunk(c)[:] = tmp[:cb]
        self._own_chunk(c + 1)[:] = tmp[cb:]

    def _span_copy(self, c: int) -> bytearray:
        return bytearray(self._chunks[c] + self._chunks[c + 1])

    # -- struct page words ----------------------------------------------------
    def get(self, pfn: int, f: Field) -> int:
        fp = self.fp
        size = self.size
        off = f.offset
        if off + f.size <= size:
            if fp is not None:
                fp.reads.add(("p", pfn))
            fmt = f._fmt
            if fmt is not None and f.bit_size is None:  # Field.get's plain word, inlined
                value: int = fmt.unpack_from(self._chunks[pfn >> CHUNK_SHIFT], (pfn & CHUNK_MASK) * size + off)[0]
                return value
            return f.get(self._chunks[pfn >> CHUNK_SHIFT], (pfn & CHUNK_MASK) * size)
        if fp is not None:
            self._touch(fp.reads, pfn, f)
        return self._word_get(pfn * size + off, f)

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
        off = f.offset
        fmt = f._fmt
        if (off + f.size <= size and fmt is not None and f.bit_size is None and self.journal is None
                and pfn not in self.watched and self.fast_words):
            # the common store: a plain word of this page, unwatched, no journal (Field.set inlined)
            fp = self.fp
            if fp is not None:
                fp.writes.add(("p", pfn))
            c = pfn >> CHUNK_SHIFT
            chunk = self._chunks[c] if self._owned[c] else self._own_chunk(c)
            if f.signed:
                half = 1 << (f.size * 8 - 1)
                value = ((value + half) & f.mask) - half
            else:
                value &= f.mask
            fmt.pack_into(chunk, (pfn & CHUNK_MASK) * size + off, value)
            self._dirty.add(pfn)
            lo, hi = self.lru_span
            if off < hi and lo < off + f.size:
                self.lru_touched.add(pfn)
            return
        base = pfn * size
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
        if rel + f.size <= size:  # the word is in struct page `target`
            chunk = self._chunks[target >> CHUNK_SHIFT]
            if not self._owned[target >> CHUNK_SHIFT]:
                chunk = self._own_chunk(target >> CHUNK_SHIFT)
            at = (target & CHUNK_MASK) * size + rel - off
            if hit or journal is not None:
                old = f.get(chunk, at)
            f.set(chunk, value, at)
        else:
            if hit or journal is not None:
                old = self._word_get(base + off, f)
            self._word_set(base + off, f, value)
        self._dirty.add(target)
        if rel + f.size > size:
            self._dirty.add(target + 1)
        lo, hi = self.lru_span
        if rel < hi and lo < rel + f.size:
            self.lru_touched.add(target)
        if hit or journal is not None:
            new = self._word_get(base + off, f)
            if journal is not None:
                journal.append(Write("pages", target, rel, f.size, f.name, old, new, self.writer))
            if hit and self.on_watch is not None:
                self.on_watch(target, f, old, new, rmw)

    def or_bits(self, pfn: int, f: Field, bits: int) -> None:
        if self.fp is not None:
            self._touch(self.fp.reads, pfn, f)
        old = self._word_get(pfn * self.size + f.offset, f)
        if old | bits != old:
            self.set(pfn, f, old | bits, rmw=True)

    def clear_bits(self, pfn: int, f: Field, bits: int) -> None:
        if self.fp is not None:
            self._touch(self.fp.reads, pfn, f)
        old = self._word_get(pfn * self.size + f.offset, f)
        if old & bits:
            self.set(pfn, f, old & ~bits, rmw=True)

    def _journal_other(self, region: str, index: int, f: Field, value: int) -> None:
        buf = self._buffer(region)
        old = f.get(buf, index)
        assert self.journal is not None
        self.journal.append(Write(region, index, f.offset, f.size, f.name, old, value, self.writer))

    def page_bytes(self, pfn: int) -> bytes:
        return self.pages_bytes(pfn, 1)

    def pages_bytes(self, pfn: int, count: int) -> bytes:
        """The bytes of struct pages pfn .. pfn+count-1."""
        size = self.size
        out = []
        while count > 0:
            c, first = pfn >> CHUNK_SHIFT, pfn & CHUNK_MASK
            n = min(count, CHUNK_PAGES - first)
            out.append(self._chunks[c][first * size:(first + n) * size])
            pfn += n
            count -= n
        return b"".join(out)

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
        if off >= 0 and off + nbytes <= self._nbytes:
            return "pages", off
        for region, base in (("kdata", self.kdata_base), ("stack", self.stack_base), ("slab", self.slab_base)):
            if base <= addr and addr + nbytes <= base + len(getattr(self, region)):
                return region, addr - base
        raise Fault(addr, "dereference")

    def read_at(self, addr: int, f: Field) -> int:
        """Read the word `f` of the structure that starts at `addr`."""
        start = addr - self.vmemmap + f.offset
        if start >= 0 and start + f.size <= self._nbytes:  # struct page bytes (most lists)
            if self.fp is not None:
                self.fp.reads.add(("p", start // self.size))
            return self._word_get(start, f)
        off = addr + f.offset - self.kdata_base
        if off >= 0 and off + f.size <= len(self.kdata):  # a static list head
            if self.fp is not None:
                self.touch_raw("kdata", off, f.size)
            return f.get(self.kdata, off - f.offset)
        region, off = self.resolve(addr + f.offset, f.size)
        if self.fp is not None:
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
        if base >= 0 and base + f.offset + f.size <= self._nbytes:  # struct page bytes (most lists)
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
        self.regions_hash = None

    # -- plain words at an address (the list code's fast path) -----------------
    # The same values, bytes and footprints as read_at()/write_at() on a word
    # that is neither signed nor a bitfield, without their layers of calls;
    # anything else (a watched page, the replay journal) goes through
    # read_at()/write_at() themselves. `Memory.fast_words = False` is the
    # reference path (test_fastpath compares the two), for set()'s inlined
    # plain store too.

    def load_word(self, addr: int, f: Field) -> int:
        """read_at(addr, f) for an unsigned, non-bitfield word f."""
        start = addr - self.vmemmap + f.offset
        size = self.size
        if start >= 0 and start + f.size <= self._nbytes:
            pfn = start // size
            rel = start - pfn * size
            if rel + f.size <= size:
                fp = self.fp
                if fp is not None:
                    fp.reads.add(("p", pfn))
                fmt = f._fmt
                assert fmt is not None
                value: int = fmt.unpack_from(self._chunks[pfn >> CHUNK_SHIFT], (pfn & CHUNK_MASK) * size + rel)[0]
                return value
            return self.read_at(addr, f)
        region, buf, off = self._small(addr + f.offset, f.size)
        if buf is None:
            return self.read_at(addr, f)
        fp = self.fp
        if fp is not None:
            fp.reads.add(("m", region, off >> 3))
        fmt = f._fmt
        assert fmt is not None
        word: int = fmt.unpack_from(buf, off)[0]
        return word

    def _small(self, addr: int, nbytes: int) -> tuple[str, bytearray | None, int]:
        """(region, its bytes, offset) of a word inside one 8-byte word of kernel
        data or the stack (list heads); (.., None, ..) for anything else."""
        off = addr - self.kdata_base
        if off >= 0 and off + nbytes <= len(self.kdata) and (off & 7) + nbytes <= 8:
            return "kdata", self.kdata, off
        off = addr - self.stack_base
        if off >= 0 and off + nbytes <= len(self.stack) and (off & 7) + nbytes <= 8:
            return "stack", self.stack, off
        return "", None, 0

    def store_word(self, addr: int, f: Field, value: int) -> None:
        """write_at(addr, f, value) for an unsigned, non-bitfield word f."""
        start = addr - self.vmemmap + f.offset
        size = self.size
        if start >= 0 and start + f.size <= self._nbytes and self.journal is None:
            pfn = start // size
            rel = start - pfn * size
            if rel + f.size <= size and pfn not in self.watched:
                fp = self.fp
                if fp is not None:
                    fp.writes.add(("p", pfn))
                c = pfn >> CHUNK_SHIFT
                chunk = self._chunks[c] if self._owned[c] else self._own_chunk(c)
                fmt = f._fmt
                assert fmt is not None
                fmt.pack_into(chunk, (pfn & CHUNK_MASK) * size + rel, value & f.mask)
                self._dirty.add(pfn)
                lo, hi = self.lru_span
                if rel < hi and lo < rel + f.size:
                    self.lru_touched.add(pfn)
                return
        elif self.journal is None:
            region, buf, off = self._small(addr + f.offset, f.size)
            if buf is not None:
                fp = self.fp
                if fp is not None:
                    fp.writes.add(("m", region, off >> 3))
                fmt = f._fmt
                assert fmt is not None
                fmt.pack_into(buf, off, value & f.mask)
                self.regions_hash = None
                return
        self.write_at(addr, f, value)

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
