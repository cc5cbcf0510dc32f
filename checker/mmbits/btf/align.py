"""pahole's inference of `__attribute__((__aligned__(N)))` from BTF offsets.

BTF records no alignment. pahole 1.24 (btf_loader.c class__infer_alignment,
class__fixup_btf_bitfields; dwarves.c tag__natural_alignment) guesses it:
when a member starts further after the previous member's end than its
natural alignment explains, the power of two above the gap is its forced
alignment, rounded up to the cacheline (64) when the offset is
cacheline-aligned; the same test on the struct's size gives the type's
alignment. We do the same so `btf show` prints what pahole prints; the
inference is pahole's heuristic, not a kernel fact.
"""

from __future__ import annotations

from mmbits.btf.reader import MAX_HOPS, Btf
from mmbits.btf.wire import ARRAY, COMPOSITES, ENUM, ENUM64, FLOAT, INT, PTR, STRUCT

CACHELINE = 64


class Aligner:
    def __init__(self, btf: Btf):
        self.btf = btf
        self._natural: dict[int, int] = {}
        self._inferred: dict[int, tuple[int, list[int]]] = {}

    def natural(self, tid: int, depth: int = 0) -> int:
        """tag__natural_alignment() of a type stripped of typedefs and modifiers."""
        btf = self.btf
        tid = btf.strip_typedefs(tid)
        hit = self._natural.get(tid)
        if hit is not None:
            return hit
        if depth > MAX_HOPS:
            raise btf.deep_or_loop(tid, "aligning")
        kind = btf.kind(tid)
        out = 1
        if kind == PTR:
            out = btf.pointer_size()
        elif kind in (INT, FLOAT, ENUM, ENUM64):
            out = btf.raw_size(tid)
        elif kind in COMPOSITES:
            self._natural[tid] = 1  # a by-value self reference (malformed) stops here
            for m in btf.members(tid):
                out = max(out, self.natural(m.type, depth + 1))
        elif kind == ARRAY:
            out = self.natural(btf.array_info(tid)[0], depth + 1)
        out = out or 1
        self._natural[tid] = out
        return out

    @staticmethod
    def infer(byte_offset: int, natural: int, smallest_offset: int) -> int:
        """class__infer_alignment(), uint32 arithmetic and all."""
        delta = (byte_offset - smallest_offset) & 0xFFFFFFFF
        alignment = 0
        if delta and byte_offset % 2 == 0:
            bits = delta.bit_length()
            alignment = 1 if bits >= 32 else 1 << bits  # C's 1 << 32 on x86 is 1
        if alignment <= natural or alignment == 1:
            return 0
        if alignment < CACHELINE and CACHELINE % alignment == 0 and byte_offset % CACHELINE == 0:
            return CACHELINE
        return alignment

    def struct(self, tid: int) -> tuple[int, list[int]]:
        """(the type's inferred alignment, each member's) for a struct or union, 0 meaning none."""
        hit = self._inferred.get(tid)
        if hit is not None:
            return hit
        btf = self.btf
        smallest = 0
        out: list[int] = []
        for m in btf.members(tid):
            t = btf.strip_typedefs(m.type)
            size = btf.size(t)
            if size == 0:
                out.append(0)
                continue
            if m.bitfield_size and btf.kind(t) in (INT, ENUM, ENUM64):
                byte_offset = m.bit_offset // (size * 8) * size
            else:
                byte_offset = m.bit_offset // 8
            out.append(self.infer(byte_offset, self.natural(t), smallest))
            smallest = byte_offset + size
        result = (self.infer(btf.raw_size(tid), self.natural(tid), smallest), out)
        self._inferred[tid] = result
        return result


class _Slot:
    """What `layout.pahole.find_holes` reads of a member, without building a Layout."""

    __slots__ = ("offset", "size", "bit_offset", "bit_size", "children")

    def __init__(self, offset: int, size: int, bit_offset: int | None = None, bit_size: int | None = None):
        self.offset, self.size, self.bit_offset, self.bit_size = offset, size, bit_offset, bit_size
        self.children: list[_Slot] = []


def holes(btf: Btf, tid: int) -> object:
    """class__find_holes() of a struct type straight from its BTF members (see tolayout for the rules)."""
    from mmbits.layout.pahole import find_holes

    root = _Slot(0, btf.raw_size(tid))
    for m in btf.members(tid):
        t = btf.strip_typedefs(m.type)
        size = btf.size(m.type)
        bf = m.bitfield_size
        if not bf and btf.kind(t) == INT:
            _enc, int_off, nr_bits = btf.int_encoding(t)
            if int_off or nr_bits != btf.raw_size(t) * 8:
                bf = nr_bits
        if bf and size and btf.kind(t) in (INT, ENUM, ENUM64):
            unit = m.bit_offset // (size * 8) * size
            root.children.append(_Slot(unit, size, m.bit_offset - unit * 8, bf))
        else:
            root.children.append(_Slot(m.bit_offset // 8, size))
    return find_holes(root)  # type: ignore[arg-type]


class Packing:
    """pahole's __packed__ inference (dwarves.c class__infer_packed_attributes,
    union__infer_packed_attributes, type__check_structs_at_unnatural_alignments).

    As in pahole, printing a struct with holes or a union can mark the struct
    types of its members packed before they are printed inline, so `visit`
    must be called outer block first.
    """

    def __init__(self, btf: Btf, aligner: Aligner):
        self.btf = btf
        self.aligner = aligner
        self.known: dict[int | tuple[str, int], bool] = {}

    def _mark_unnatural(self, tid: int, union_size: int | None) -> None:
        btf = self.btf
        for m in btf.members(tid):
            t = btf.strip_typedefs(m.type)
            if btf.kind(t) != STRUCT:
                continue
            natural = self.aligner.natural(t)
            where = union_size if union_size is not None else m.bit_offset // 8
            if where % natural:
                self.known[t] = True

    def union(self, tid: int) -> None:
        if ("u", tid) in self.known:
            return
        self.known[("u", tid)] = True
        self._mark_unnatural(tid, self.btf.raw_size(tid))

    def struct(self, tid: int) -> bool:
        hit = self.known.get(tid)
        if hit is not None:
            return hit
        btf = self.btf
        found = holes(btf, tid)
        packed = False
        if found.padding or found.nr_holes:  # type: ignore[attr-defined]
            self._mark_unnatural(tid, None)
        else:
            max_natural = 1
            for m in btf.members(tid):
                natural = self.aligner.natural(m.type)
                if natural == 1:
                    continue
                max_natural = max(max_natural, natural)
                t = btf.strip_typedefs(m.type)
                size = btf.size(t)
                if m.bitfield_size and size and btf.kind(t) in (INT, ENUM, ENUM64):
                    byte_offset = m.bit_offset // (size * 8) * size
                else:
                    byte_offset = m.bit_offset // 8
                if byte_offset % natural:
                    packed = True
                    break
            else:
                packed = btf.raw_size(tid) % max_natural != 0
        self.known[tid] = packed
        return packed
