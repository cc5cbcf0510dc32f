"""Random access to the types of one BTF blob, without decoding them all.

A vmlinux BTF holds ~126k type records; printing one struct needs a few
dozen. The reader keeps the blob as bytes and the type section as a view of
32-bit words, and builds exactly one index: the word position of every type
id (one walk over the section, or loaded from the cache). Everything else is
decoded on demand from the words, so nothing per type is materialised.

Names are found without a name table: the string section is searched for the
NUL-delimited name, and the type section for records whose name_off equals
its offset (a bytes search, then a bisect in the position index to confirm
the hit starts a record).

Every access is checked: a type id past the end, a string offset outside the
string section, a kind the format does not have, a chain of typedefs or
modifiers that loops: each is an InputError naming the file, never an
IndexError or a hang.
"""

from __future__ import annotations

import struct
import sys
from array import array
from bisect import bisect_left
from collections import namedtuple
from collections.abc import Iterable, Iterator

from mmbits.btf import wire
from mmbits.btf.wire import (
    ARRAY,
    COMPOSITES,
    DATASEC,
    DECL_TAG,
    ENUM,
    ENUM64,
    ENUMS,
    FLOAT,
    FUNC,
    FUNC_PROTO,
    FWD,
    INT,
    MODIFIERS,
    PTR,
    STRUCT,
    TYPEDEF,
    UNION,
    VAR,
    Header,
    parse_header,
)
from mmbits.errors import InputError

MAX_HOPS = 64  # typedef/modifier chains longer than this are loops (the kernel's are < 6)
MAX_ARRAY_BYTES = 1 << 40
INDEX_TYPECODE = "I" if array("I").itemsize == 4 else "L"


# one struct/union member: bit_offset from the start of the struct, bitfield_size 0 when
# not a bitfield (collections.namedtuple: typing.NamedTuple costs a compile per field at start-up)
BtfMember = namedtuple("BtfMember", "name type bit_offset bitfield_size")


class Btf:
    """One BTF blob: header, string section and a lazily decoded type section."""

    def __init__(self, blob: bytes, name: str, index: bytes | None = None, pointer_size: int | None = None):
        self.file = name
        self.blob = blob
        self.header: Header = parse_header(blob, name)
        h = self.header
        self.little = h.little
        self._order = "<" if h.little else ">"
        raw = memoryview(blob)[h.type_off : h.type_off + h.type_len]
        if h.little == (sys.byteorder == "little"):
            self.w: memoryview | array[int] = raw.cast("I")
        else:
            words = array("I")
            words.frombytes(raw)
            words.byteswap()
            self.w = words
        self.nwords = len(self.w)
        self._str_lo = h.str_off
        self._str_hi = h.str_off + h.str_len
        self.offs, self._named, self._names = self._load_index(index) if index is not None else self._walk()
        self.count = len(self.offs)  # type ids are 1..count
        self._ptr_size = pointer_size
        self._names_bytes: bytes | None = None
        self._acyclic: set[int] = set()
        self._members: dict[int, list[BtfMember]] = {}
        self._align: dict[int, int] = {}

    # -- the index -------------------------------------------------------
    def _walk(self) -> tuple[array[int], array[int], array[int]]:
        """Word position of every type record (validating each record's kind and
        length), plus the positions and name offsets of the named kinds `find` serves."""
        w, n = self.w, self.nwords
        step, per = wire.STEP, wire.PER
        named_kind = [k in wire.NAMED_KINDS for k in range(32)]
        offs, named, names = array(INDEX_TYPECODE), array(INDEX_TYPECODE), array(INDEX_TYPECODE)
        ap, ap_named, ap_name = offs.append, named.append, names.append
        i = 0
        try:
            while i < n:
                ap(i)
                info = w[i + 1]
                k = (info >> 24) & 31
                s = step[k]
                if not s:
                    raise InputError(f"type {len(offs)}: unknown BTF kind {k} at byte {i * 4} of the type section",
                                     file=self.file)
                if named_kind[k]:
                    ap_named(i)
                    ap_name(w[i])
                i += s + per[k] * (info & 0xFFFF)
        except IndexError:
            i = n + 1
        if i != n:
            raise InputError(f"type {len(offs)}: record runs past the end of the type section "
                             f"(vlen {self._safe_vlen(offs[-1])}): truncated or corrupt", file=self.file)
        return offs, named, names

    def _safe_vlen(self, pos: int) -> int:
        return self.w[pos + 1] & 0xFFFF if pos + 1 < self.nwords else 0

    def _load_index(self, index: bytes) -> tuple[array[int], array[int], array[int]]:
        """The three arrays of `_walk` from `index_bytes()` (a cache entry)."""
        head = array(INDEX_TYPECODE)
        head.frombytes(index[: 3 * head.itemsize])
        n_offs, n_named, n_names = head
        parts = []
        at = 3 * head.itemsize
        for n in (n_offs, n_named, n_names):
            a = array(INDEX_TYPECODE)
            a.frombytes(index[at : at + n * a.itemsize])
            if len(a) != n:
                raise ValueError("truncated index")
            parts.append(a)
            at += n * a.itemsize
        offs, named, names = parts
        # trusted only as far as it is consistent with the blob
        if at != len(index) or not offs or offs[0] != 0 or offs[-1] >= self.nwords or n_named != n_names:
            raise ValueError("index does not match this blob")
        return offs, named, names

    def index_bytes(self) -> bytes:
        head = array(INDEX_TYPECODE, [len(self.offs), len(self._named), len(self._names)])
        return head.tobytes() + self.offs.tobytes() + self._named.tobytes() + self._names.tobytes()

    # -- raw records -----------------------------------------------------
    def pos(self, tid: int) -> int:
        if not 0 < tid <= self.count:
            raise InputError(f"type id {tid} out of range (this BTF has {self.count} types; split module BTF "
                             f"needs its vmlinux base)", file=self.file)
        return int(self.offs[tid - 1])

    def info(self, tid: int) -> tuple[int, int, int, int]:
        """(kind, vlen, kind_flag, word position)."""
        p = self.pos(tid)
        info = self.w[p + 1]
        return (info >> 24) & 31, info & 0xFFFF, info >> 31, p

    def kind(self, tid: int) -> int:
        return 0 if tid == 0 else (self.w[self.pos(tid) + 1] >> 24) & 31

    def kind_name(self, tid: int) -> str:
        return "VOID" if tid == 0 else wire.KIND_NAMES[self.kind(tid)]

    def keyword(self, tid: int) -> str:
        """`struct`, `union` or `enum` for a KEYWORDED kind (a FWD says which in kind_flag), else ""."""
        kind, _vlen, kflag, _p = self.info(tid)
        if kind in COMPOSITES:
            return "struct" if kind == STRUCT else "union"
        if kind in ENUMS:
            return "enum"
        if kind == FWD:
            return "union" if kflag else "struct"
        return ""

    def str_at(self, off: int) -> str:
        start = self._str_lo + off
        if not off >= 0 or start >= self._str_hi:
            raise InputError(f"string offset {off} outside the string section ({self._str_hi - self._str_lo} bytes)",
                             file=self.file)
        end = self.blob.find(b"\0", start, min(self._str_hi, start + wire.MAX_NAME))
        if end < 0:
            raise InputError(f"string at offset {off} is not NUL-terminated within {wire.MAX_NAME} bytes",
                             file=self.file)
        return self.blob[start:end].decode("latin-1")

    def name(self, tid: int) -> str:
        return "" if tid == 0 else self.str_at(self.w[self.pos(tid)])

    def ref(self, tid: int) -> int:
        """The size|type word: the referenced type for PTR/TYPEDEF/modifiers/FUNC/VAR/DECL_TAG."""
        return self.w[self.pos(tid) + 2]

    def raw_size(self, tid: int) -> int:
        return self.w[self.pos(tid) + 2]

    # -- typed accessors -------------------------------------------------
    def int_encoding(self, tid: int) -> tuple[int, int, int]:
        """(encoding bits, bit offset, nr_bits) of an INT."""
        x = self.w[self.pos(tid) + 3]
        return (x >> 24) & 0x0F, (x >> 16) & 0xFF, x & 0xFF

    def array_info(self, tid: int) -> tuple[int, int, int]:
        """(element type, index type, number of elements)."""
        p = self.pos(tid)
        return self.w[p + 3], self.w[p + 4], self.w[p + 5]

    def members(self, tid: int) -> list[BtfMember]:
        """A struct's or union's members (decoded once per type: printers ask many times)."""
        hit = self._members.get(tid)
        if hit is not None:
            return hit
        kind, vlen, kflag, p = self.info(tid)
        if kind not in COMPOSITES:
            raise InputError(f"type {tid} is a {wire.KIND_NAMES[kind]}, not a struct or union", file=self.file)
        w = self.w
        out = []
        for j in range(p + 3, p + 3 + 3 * vlen, 3):
            off = w[j + 2]
            if kflag:
                out.append(BtfMember(self.str_at(w[j]), w[j + 1], off & 0xFFFFFF, off >> 24))
            else:
                out.append(BtfMember(self.str_at(w[j]), w[j + 1], off, 0))
        self._members[tid] = out
        return out

    def enum_values(self, tid: int) -> list[tuple[str, int]]:
        kind, vlen, kflag, p = self.info(tid)
        w = self.w
        out = []
        if kind == ENUM:
            for j in range(p + 3, p + 3 + 2 * vlen, 2):
                v = w[j + 1]
                if kflag and v >= 1 << 31:
                    v -= 1 << 32
                out.append((self.str_at(w[j]), v))
        elif kind == ENUM64:
            for j in range(p + 3, p + 3 + 3 * vlen, 3):
                v = w[j + 1] | w[j + 2] << 32
                if kflag and v >= 1 << 63:
                    v -= 1 << 64
                out.append((self.str_at(w[j]), v))
        else:
            raise InputError(f"type {tid} is a {wire.KIND_NAMES[kind]}, not an enum", file=self.file)
        return out

    def enum_signed(self, tid: int) -> bool:
        return bool(self.info(tid)[2])

    def params(self, tid: int) -> tuple[list[tuple[str, int]], bool]:
        """FUNC_PROTO parameters as (name, type) and whether it ends in `...`."""
        kind, vlen, _kf, p = self.info(tid)
        if kind != FUNC_PROTO:
            raise InputError(f"type {tid} is not a function prototype", file=self.file)
        w = self.w
        out = [(self.str_at(w[j]) if w[j] else "", w[j + 1]) for j in range(p + 3, p + 3 + 2 * vlen, 2)]
        varargs = bool(out) and out[-1] == ("", 0)
        return (out[:-1] if varargs else out), varargs

    def decl_tag_component(self, tid: int) -> int:
        v = self.w[self.pos(tid) + 3]
        return v - (1 << 32) if v >= 1 << 31 else v

    # -- following references ---------------------------------------------
    def skip(self, tid: int, kinds: frozenset[int]) -> int:
        """Follow references while the type's kind is in `kinds` (loop-safe)."""
        start = tid
        seen: set[int] = set()
        for _ in range(MAX_HOPS):
            if tid == 0 or self.kind(tid) not in kinds:
                return tid
            if tid in seen:
                raise InputError(f"type loop: following type {start} ({self.name_or_anon(start)}) does not end",
                                 file=self.file)
            seen.add(tid)
            tid = self.ref(tid)
        raise InputError(f"type {start} ({self.name_or_anon(start)}): a chain of more than {MAX_HOPS} "
                         "typedefs/modifiers (the kernel's are under 6)", file=self.file)

    def strip_modifiers(self, tid: int) -> int:
        return self.skip(tid, MODIFIERS)

    def strip_typedefs(self, tid: int) -> int:
        return self.skip(tid, MODIFIERS | {TYPEDEF})

    def name_or_anon(self, tid: int) -> str:
        try:
            return self.name(tid) or "(anon)"
        except InputError:
            return "(bad)"

    def by_value(self, tid: int) -> int:
        """The struct/union a member of type `tid` embeds by value (0 when none)."""
        for _ in range(MAX_HOPS):
            t = self.skip(tid, MODIFIERS | {TYPEDEF})
            if self.kind(t) != ARRAY:
                return t if self.kind(t) in COMPOSITES else 0
            tid = self.array_info(t)[0]
        raise InputError(f"type loop in array type {tid}", file=self.file)

    def deep_or_loop(self, tid: int, what: str) -> InputError:
        """The error for a walk that went past MAX_HOPS levels at `tid`: a type loop when
        `tid` can reach itself (through references, array elements or members), else
        honest nesting that is too deep (issue #16: 65 nested structs are not a loop)."""
        seen: set[int] = set()
        todo = list(self._edges(tid))
        while todo and len(seen) < 100_000:
            t = todo.pop()
            if t == tid:
                return InputError(f"type loop: {what} type {tid} ({self.name_or_anon(tid)}) contains itself",
                                  file=self.file)
            if t and t not in seen:
                seen.add(t)
                todo.extend(self._edges(t))
        return InputError(f"{what} type {tid} ({self.name_or_anon(tid)}): nested more than {MAX_HOPS} levels deep "
                          "(the kernel's types nest under 10)", file=self.file)

    def _edges(self, tid: int) -> list[int]:
        try:
            kind = self.kind(tid)
            if kind in COMPOSITES:
                return [m.type for m in self.members(tid)]
            if kind == ARRAY:
                return [self.array_info(tid)[0]]
            if kind in MODIFIERS or kind in (TYPEDEF, PTR):
                return [self.ref(tid)]
        except (InputError, IndexError, ValueError):
            pass
        return []

    def check_acyclic(self, tid: int) -> None:
        """A struct that contains itself by value (through typedefs, arrays, inline
        members) is impossible in C: refuse it before anything recurses into it."""
        if tid in self._acyclic:
            return
        path: list[int] = []
        on_path: set[int] = set()
        stack: list[tuple[int, Iterator[int]]] = []

        def push(t: int) -> None:
            path.append(t)
            on_path.add(t)
            stack.append((t, iter([self.by_value(m.type) for m in self.members(t)])))

        push(tid)
        while stack:
            t, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                on_path.discard(t)
                self._acyclic.add(t)
                continue
            if not child or child in self._acyclic:
                continue
            if child in on_path:
                cycle = " -> ".join(self.name_or_anon(x) for x in path[path.index(child):] + [child])
                raise InputError(f"type loop: {self.kind_name(child).lower()} {self.name_or_anon(child)} contains "
                                 f"itself by value ({cycle})", file=self.file)
            if len(stack) > 10_000:
                raise InputError(f"types nested more than 10000 deep under type {tid}", file=self.file)
            push(child)

    def pointer_size(self) -> int:
        """sizeof(void *): BTF does not record it, so take it from `long` as libbpf does."""
        if self._ptr_size is None:
            self._ptr_size = 8
            for cand in ("long unsigned int", "long int", "unsigned long", "long"):
                ids = self.find(cand, {INT})
                if ids:
                    size = self.raw_size(ids[0])
                    if size in (4, 8):
                        self._ptr_size = size
                        break
        return self._ptr_size

    def size(self, tid: int) -> int:
        """sizeof(type) in bytes, loop-safe."""
        nelems = 1
        for _ in range(MAX_HOPS):
            if tid == 0:
                return 0
            kind = self.kind(tid)
            if kind in (INT, ENUM, ENUM64, STRUCT, UNION, FLOAT, DATASEC):
                total = nelems * self.raw_size(tid)
                return total if total <= MAX_ARRAY_BYTES else MAX_ARRAY_BYTES
            if kind == PTR:
                return nelems * self.pointer_size()
            if kind == ARRAY:
                elem, _idx, n = self.array_info(tid)
                nelems *= n
                if nelems > MAX_ARRAY_BYTES:
                    raise InputError(f"type {tid}: array of {nelems} elements is absurd", file=self.file)
                tid = elem
                continue
            if kind in MODIFIERS or kind in (TYPEDEF, VAR):
                tid = self.ref(tid)
                continue
            return 0  # FWD, FUNC, FUNC_PROTO, DECL_TAG: no size
        raise InputError(f"type loop: the size of type {tid} never resolves", file=self.file)

    def align(self, tid: int, _depth: int = 0) -> int:
        """Natural alignment (BTF has none recorded): scalars by size, aggregates by members."""
        tid = self.strip_typedefs(tid)
        hit = self._align.get(tid)
        if hit is not None:
            return hit
        if _depth > MAX_HOPS:
            raise InputError(f"type loop: type {tid} ({self.name_or_anon(tid)}) contains itself", file=self.file)
        kind = self.kind(tid)
        if kind == ARRAY:
            a = self.align(self.array_info(tid)[0], _depth + 1)
        elif kind in COMPOSITES:
            self._align[tid] = 1  # provisional: a by-value self reference cannot recurse forever
            a = 1
            size = self.raw_size(tid)
            for m in self.members(tid):
                ma = self.align(m.type, _depth + 1) if not m.bitfield_size else 1
                if m.bitfield_size:
                    ma = min(self._scalar_align(self.size(m.type)), 8)
                if (m.bit_offset // 8) % ma and not m.bitfield_size:
                    a = 0  # a member off its natural alignment: packed
                    break
                a = max(a, ma)
            if a == 0 or (size and size % a):
                a = 1
        elif kind == PTR:
            a = self.pointer_size()
        else:
            a = self._scalar_align(self.size(tid))
        self._align[tid] = a
        return a

    @staticmethod
    def _scalar_align(size: int) -> int:
        return size if size in (1, 2, 4, 8, 16) else 1

    # -- finding types by name --------------------------------------------
    def find(self, name: str, kinds: Iterable[int] | None = None) -> list[int]:
        """Type ids with this name (and one of `kinds`), in id order."""
        want = frozenset(kinds) if kinds is not None else None
        key = name.encode("latin-1", "replace")
        if not key or b"\0" in key or len(key) > wire.MAX_NAME:
            return []
        lo, hi = self._str_lo, self._str_hi
        needle = b"\0" + key + b"\0"
        # a deduplicated string section holds each name once: stop at the first
        # occurrence that names a wanted type, keep looking otherwise
        at = lo - 1 if self.blob.startswith(key + b"\0", lo) else self.blob.find(needle, lo, hi)
        while at >= 0:
            so = at + 1 - lo
            found = self._named_with(so) if want is not None and want <= wire.NAMED_KINDS else self._scan_with(so)
            out = sorted(t for t in set(found) if want is None or self.kind(t) in want)
            if out:
                return out
            at = self.blob.find(needle, at + 1, hi)
        return []

    def _named_with(self, name_off: int) -> Iterator[int]:
        """Ids of named-kind records whose name_off is `name_off` (a bytes search of the side index)."""
        if self._names_bytes is None:
            self._names_bytes = self._names.tobytes()
        raw, named, offs = self._names_bytes, self._named, self.offs
        size = self._names.itemsize
        pattern = array(INDEX_TYPECODE, [name_off]).tobytes()
        at = raw.find(pattern)
        while at >= 0:
            if at % size == 0:
                yield bisect_left(offs, named[at // size]) + 1
            at = raw.find(pattern, at + 1)

    def _scan_with(self, name_off: int) -> Iterator[int]:
        """Any record named `name_off`: a bytes search, confirmed by the index."""
        pattern = struct.pack(self._order + "I", name_off)
        base = self.header.type_off
        end = base + self.header.type_len
        blob, offs = self.blob, self.offs
        at = blob.find(pattern, base, end)
        while at >= 0:
            rel = at - base
            if rel % 4 == 0:
                word = rel // 4
                j = bisect_left(offs, word)
                if j < len(offs) and offs[j] == word:
                    yield j + 1
            at = blob.find(pattern, at + 1, end)

    def names_of_kind(self, kinds: Iterable[int]) -> Iterator[tuple[str, int]]:
        """(name, id) of every named type of these kinds: the slow path, for suggestions and listings."""
        want = frozenset(kinds)
        w = self.w
        for j, p in enumerate(self.offs):
            if (w[p + 1] >> 24) & 31 in want and w[p]:
                yield self.str_at(w[p]), j + 1


def describe_kind(kind: int) -> str:
    return {STRUCT: "struct", UNION: "union", ENUM: "enum", ENUM64: "enum", TYPEDEF: "typedef", FWD: "forward",
            INT: "base type", FLOAT: "base type", FUNC: "function", DECL_TAG: "decl tag", VAR: "variable"}.get(
        kind, wire.KIND_NAMES[kind].lower())
