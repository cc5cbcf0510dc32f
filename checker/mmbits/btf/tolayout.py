"""A BTF struct or union as the foundation's one model, `layout.model.Layout`.

The member tree mirrors the C declaration (anonymous unions/structs are
blocks, named members are fields), offsets are absolute, union arms are
recorded, and bitfields follow pahole's BTF loader: the storage unit is the
bitfield's integer type, aligned down to its size
(byte_offset = bit_offset / bits(type) * sizeof(type)), and `bit_offset` is
the bit inside that unit in memory order. Members whose type is a named
struct get a nested Layout, built only when an analysis asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import count
from typing import TYPE_CHECKING

from mmbits.btf.cnames import declare, type_name
from mmbits.btf.reader import MAX_HOPS, Btf
from mmbits.btf.wire import (
    ARRAY,
    COMPOSITES,
    ENUMS,
    FUNC_PROTO,
    INT,
    INT_SIGNED,
    INTEGRAL,
    MODIFIERS,
    PTR,
    STRUCT,
    TYPE_TAG,
    UNION,
)
from mmbits.errors import InputError
from mmbits.layout.model import Layout, Member

if TYPE_CHECKING:
    from mmbits.layout.ctypes import CType

MAX_MEMBERS = 20_000  # members (leaves + blocks) per layout; the most in the 6.18 vmlinux BTF is 272


class _Builder:
    def __init__(self, btf: Btf, meta: dict[int, tuple[int, int]] | None = None, with_ctypes: bool = True):
        self.btf = btf
        self.with_ctypes = with_ctypes
        # id(Member) -> (BTF type id, pahole's inferred member alignment), for printers
        self.meta = meta
        self.aligner = None
        if meta is not None:
            from mmbits.btf.align import Aligner

            self.aligner = Aligner(btf)
        self.union_ids = count(1)
        self.nested_types: dict[str, int] = {}
        self.members = 0

    def block(self, tid: int, name: str | None, base: int, arms: tuple[tuple[int, int], ...],
              visiting: frozenset[int], depth: int) -> Member:
        """A struct/union type laid out at absolute byte `base`."""
        btf = self.btf
        if tid in visiting or depth > MAX_HOPS:
            raise InputError(f"type loop: {btf.kind_name(tid).lower()} {btf.name_or_anon(tid)} (type {tid}) "
                             f"contains itself", file=btf.file)
        visiting = visiting | {tid}
        kind = btf.kind(tid)
        is_union = kind == UNION
        uid = next(self.union_ids) if is_union else 0
        children = []
        aligns = self.aligner.struct(tid)[1] if self.aligner is not None else []
        for i, m in enumerate(btf.members(tid)):
            self.members += 1
            if self.members > MAX_MEMBERS:
                raise InputError(f"more than {MAX_MEMBERS} members under {btf.name_or_anon(tid)}: not a real "
                                 f"kernel type", file=btf.file)
            child_arms = arms + ((uid, i),) if is_union else arms
            child = self.member(m.name, m.type, m.bit_offset, m.bitfield_size, base, child_arms, visiting, depth)
            if self.meta is not None:
                ctid = m.type if child.kind == "field" else inline_type(btf, m.type)
                self.meta[id(child)] = (ctid, aligns[i])
            children.append(child)
        return Member(
            name=name,
            kind="union" if is_union else "struct",
            type="",
            offset=base,
            size=btf.raw_size(tid),
            align=btf.align(tid),
            children=tuple(children),
            arms=arms,
        )

    def member(self, name: str, tid: int, bit_off: int, bf_size: int, base: int,
               arms: tuple[tuple[int, int], ...], visiting: frozenset[int], depth: int) -> Member:
        btf = self.btf
        inline = inline_type(btf, tid)
        if btf.kind(inline) in COMPOSITES and not btf.name(inline) and not bf_size:
            m = self.block(inline, name or None, base + bit_off // 8, arms, visiting, depth + 1)
            spelled = type_name(btf, tid)
            if name or spelled != f"{m.kind} {{...}}":
                # `struct { ... } shared;`, `struct { ... } vlan[2];`, `const struct { ... } x;`
                return Member(m.name, m.kind, spelled, m.offset, btf.size(tid), m.align,
                              children=m.children, arms=arms)
            return m
        scalar = btf.strip_typedefs(tid)
        skind = btf.kind(scalar)
        if not bf_size and skind == INT:  # legacy (kind_flag 0) bitfields live in the INT encoding
            _enc, int_off, nr_bits = btf.int_encoding(scalar)
            if int_off or nr_bits != btf.raw_size(scalar) * 8:
                bf_size, bit_off = nr_bits, bit_off + int_off
        size = btf.size(tid)
        ctype = self.ctype(tid) if self.with_ctypes else None
        if bf_size and skind in INTEGRAL and size:
            unit_bits = size * 8
            unit = bit_off // unit_bits * size
            out = Member(name=name, kind="field", type=type_name(btf, tid), offset=base + unit, size=size,
                         align=btf.align(tid), bit_offset=bit_off - unit * 8, bit_size=bf_size, arms=arms,
                         ctype=ctype)
        else:
            if ctype is not None and ctype.struct is not None:
                self.nested_types[name] = btf.strip_typedefs(tid)
            out = Member(name=name, kind="field", type=type_name(btf, tid), offset=base + bit_off // 8, size=size,
                         align=btf.align(tid), arms=arms, ctype=ctype)
        return out

    def ctype(self, tid: int) -> CType | None:
        """The member's C type in the layout-table form, so `Layout.words` can address it."""
        from mmbits.layout.ctypes import CType, TypeSpelling

        btf = self.btf
        dims: list[int] = []
        t = btf.skip(tid, MODIFIERS)
        while btf.kind(t) == ARRAY:
            elem, _idx, n = btf.array_info(t)
            dims.append(n)
            t = btf.skip(elem, MODIFIERS)
            if len(dims) > MAX_HOPS:
                raise InputError(f"type loop in array type {tid}", file=btf.file)
        if not dims:
            t = tid
        elem_tid = t
        count_ = 1
        for d in dims:
            count_ *= d
        real = btf.strip_typedefs(elem_tid)
        rkind = btf.kind(real)
        pointers = 0
        spelled = type_name(btf, elem_tid)
        if rkind == PTR and btf.kind(btf.skip(btf.ref(real), MODIFIERS)) != FUNC_PROTO and btf.kind(elem_tid) == PTR:
            p = elem_tid
            while btf.kind(btf.skip(p, MODIFIERS)) == PTR and pointers <= MAX_HOPS:
                pointers += 1
                p = btf.skip(btf.ref(btf.skip(p, MODIFIERS)), frozenset({TYPE_TAG}))
            spelled = declare(btf, p, "")
        elem_size = btf.size(elem_tid)
        signed = False
        fields: tuple[tuple[str, str], ...] = ()
        struct = None
        if rkind == INT:
            signed = bool(btf.int_encoding(real)[0] & INT_SIGNED)
        elif rkind in ENUMS:
            signed = btf.enum_signed(real)
        elif rkind in COMPOSITES and not dims:
            fields = self.small_fields(real)
            if not fields and rkind == STRUCT and btf.name(real):
                struct = btf.name(real)
            if len(fields) == 1:  # atomic_t: the wrapper reads as its one (signed) word
                only = btf.strip_typedefs(btf.members(real)[0].type)
                signed = btf.kind(only) == INT and bool(btf.int_encoding(only)[0] & INT_SIGNED)
        return CType(TypeSpelling(spelled, pointers, tuple(dims)), elem_size * count_, btf.align(elem_tid),
                     elem_size, signed, rkind == PTR, fields, struct)

    def small_fields(self, tid: int) -> tuple[tuple[str, str], ...]:
        """A struct of equal-sized scalar words (list_head, atomic_t ...): its words as NAME.FIELD."""
        btf = self.btf
        if btf.kind(tid) != STRUCT:
            return ()
        members = btf.members(tid)
        if not members or len(members) > 8:
            return ()
        size = btf.raw_size(tid)
        word = size // len(members)
        out = []
        for i, m in enumerate(members):
            k = btf.kind(btf.strip_typedefs(m.type))
            if m.bitfield_size or (k not in INTEGRAL and k != PTR) or btf.size(m.type) != word or \
                    m.bit_offset != i * word * 8 or not m.name:
                return ()
        for m in members:
            out.append((m.name, type_name(btf, m.type)))
        return tuple(out)


def inline_type(btf: Btf, tid: int) -> int:
    """The type a member is written with once modifiers and array dimensions are taken off."""
    t = btf.skip(tid, MODIFIERS)
    for _ in range(MAX_HOPS):
        if btf.kind(t) != ARRAY:
            return t
        t = btf.skip(btf.array_info(t)[0], MODIFIERS)
    raise InputError(f"type loop in array type {tid}", file=btf.file)


class _LazyNested(Mapping[str, Layout]):
    """Layouts of struct-typed members, built when first read."""

    def __init__(self, btf: Btf, types: dict[str, int], source: str):
        self._btf = btf
        self._types = types
        self._source = source
        self._built: dict[str, Layout] = {}

    def __getitem__(self, key: str) -> Layout:
        if key not in self._types:
            raise KeyError(key)
        if key not in self._built:
            self._built[key] = build_layout(self._btf, self._types[key], self._source)
        return self._built[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)


def build_layout(btf: Btf, tid: int, source: str = "", name: str | None = None,
                 meta: dict[int, tuple[int, int]] | None = None, with_ctypes: bool = True) -> Layout:
    """The Layout of struct/union `tid` (typedefs and modifiers followed).

    `meta`, when given, receives id(member) -> (BTF type id, pahole's inferred
    alignment) for every member and the root: what pahole-exact printing needs.
    `with_ctypes=False` leaves `Member.ctype` empty: enough to print and to
    compare, cheaper, but `Layout.words` then has nothing to address.
    """
    real = btf.strip_typedefs(tid)
    if btf.kind(real) not in COMPOSITES:
        raise InputError(f"type {tid} ({btf.name_or_anon(tid)}) is a {btf.kind_name(real)}, not a struct or union",
                         file=btf.file)
    btf.check_acyclic(real)
    b = _Builder(btf, meta, with_ctypes)
    label = name if name is not None else btf.name(real)
    root = b.block(real, label, 0, (), frozenset(), 0)
    if meta is not None:
        meta[id(root)] = (real, 0)
    return Layout(
        struct=label,
        size=root.size,
        align=root.align,
        root=root,
        config=None,
        little=btf.little,
        source=source or btf.file,
        nested=_LazyNested(btf, b.nested_types, source or btf.file),
    )
