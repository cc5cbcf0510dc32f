"""`mmbits btf show`: look types up by name and print them pahole-style or as JSON.

Structs and unions go through the foundation's printer
(`layout.pahole.format_layout`) from the one Layout model, so BTF and YAML
layouts print identically; enums print like `pahole -C` (names padded to the
longest); typedefs like pahole's `typedef struct page * pgtable_t;`, with an
anonymous struct/union body expanded in place.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from mmbits.btf.cnames import declare, type_name
from mmbits.btf.reader import Btf
from mmbits.btf.tolayout import build_layout
from mmbits.btf.wire import (
    ARRAY,
    COMPOSITES,
    ENUMS,
    FUNC_PROTO,
    FWD,
    MODIFIERS,
    PTR,
    STRUCT,
    TYPEDEF,
    UNION,
)
from mmbits.errors import InputError
from mmbits.layout.model import Layout, Member

PREFIXES: dict[str, frozenset[int]] = {"struct": frozenset({STRUCT}), "union": frozenset({UNION}), "enum": ENUMS,
                                       "typedef": frozenset({TYPEDEF})}
DEFAULT_ORDER = (COMPOSITES, PREFIXES["typedef"], ENUMS)


# a type found by name: what the user typed, its id and kind
Found = namedtuple("Found", "query tid kind")


def parse_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if not any(names):
        raise InputError("no type name given (e.g. page,folio or 'enum pageflags')")
    if not all(names):
        raise InputError(f"empty name in the list {text!r}")
    return names


def lookup(btf: Btf, query: str) -> Found:
    """`page`, `struct page`, `union foo`, `enum pageflags`, `typedef pgtable_t`."""
    words = query.split()
    if len(words) == 2 and words[0] in PREFIXES:
        orders: tuple[frozenset[int], ...] = (PREFIXES[words[0]],)
        name = words[1]
    elif len(words) == 1:
        orders = DEFAULT_ORDER
        name = words[0]
    else:
        raise InputError(f"bad type name {query!r}: use NAME or struct|union|enum|typedef NAME")
    for kinds in orders:
        ids = btf.find(name, kinds)
        if ids:
            return Found(query, ids[0], btf.kind(ids[0]))
    fwd = btf.find(name, (FWD,))
    if fwd:
        raise InputError(f"{query}: only a forward declaration in this BTF (no layout)", file=btf.file)
    raise InputError(f"no struct, union, enum or typedef named {query!r}{_suggest(btf, name)}", file=btf.file)


def _suggest(btf: Btf, name: str) -> str:
    from mmbits.cexpr import suggest

    return suggest(name, {n for n, _ in btf.names_of_kind(frozenset().union(*PREFIXES.values()))})


# -- JSON -------------------------------------------------------------------

def to_json(btf: Btf, found: Found) -> dict[str, Any]:
    if found.kind in COMPOSITES:
        out = build_layout(btf, found.tid, with_ctypes=False).to_json()
        if found.kind == UNION:
            out["union"] = True
        return out
    if found.kind in ENUMS:
        return {"enum": btf.name(found.tid), "size": btf.raw_size(found.tid), "signed": btf.enum_signed(found.tid),
                "values": [{"name": n, "value": v} for n, v in btf.enum_values(found.tid)]}
    target = btf.ref(found.tid)
    out = {"typedef": btf.name(found.tid), "type": type_name(btf, target), "size": btf.size(found.tid)}
    real = btf.skip(target, MODIFIERS)
    if btf.kind(real) in COMPOSITES and not btf.name(real):
        out["members"] = build_layout(btf, real, name=btf.name(found.tid), with_ctypes=False).to_json()["members"]
    return out


# -- text -------------------------------------------------------------------

def pahole_text(btf: Btf, tid: int, hex_: bool = False, name: str | None = None) -> str:
    """A struct/union printed by the foundation's printer with pahole's exact member text."""
    from mmbits.btf.align import Aligner, Packing, holes
    from mmbits.btf.decl import member_text
    from mmbits.layout.pahole import format_layout

    meta: dict[int, tuple[int, int]] = {}
    layout = build_layout(btf, tid, name=name, meta=meta, with_ctypes=False)
    aligner = Aligner(btf)
    packing = Packing(btf, aligner)
    paddings: dict[int, int] = {}

    def decl(m: Member, spacing: int, flex_ok: bool, mname: str) -> str | None:
        t = meta.get(id(m))
        return None if t is None else member_text(btf, t[0], mname, spacing, flex_ok, hex_=hex_)

    def padding(m: Member) -> int:
        t = meta.get(id(m))
        if t is None or btf.kind(t[0]) != STRUCT:
            return 0
        if t[0] not in paddings:
            paddings[t[0]] = holes(btf, t[0]).padding  # type: ignore[attr-defined]
        return paddings[t[0]]

    def aligned(m: Member) -> tuple[int, int, bool]:
        """(member __aligned__, type __aligned__, type __packed__); called outer block first."""
        t = meta.get(id(m))
        if t is None:
            return 0, 0, False
        if m.kind == "union":
            packing.union(t[0])
            return t[1], 0, False  # union__fprintf prints no attributes
        if m.kind != "struct":
            return t[1], 0, False
        packed = packing.struct(t[0])
        return t[1], 0 if packed else aligner.struct(t[0])[0], packed

    return format_layout(layout, hex_=hex_, decl=decl, padding=padding, aligned=aligned)


def to_text(btf: Btf, found: Found, hex_: bool = False) -> str:
    if found.kind in COMPOSITES:
        return pahole_text(btf, found.tid, hex_)
    if found.kind in ENUMS:
        return enum_text(btf, found.tid, hex_)
    return typedef_text(btf, found.tid, hex_)


def enum_text(btf: Btf, tid: int, hex_: bool = False, suffix: str = "") -> str:
    values = btf.enum_values(tid)
    name = btf.name(tid)
    head = f"enum {name}" if name else "enum"
    if not values:
        return head + (f" {suffix}" if suffix else "") + ";"
    width = max(len(n) for n, _ in values)
    lines = [head + " {"]
    for n, v in values:
        shown = (f"{v:#x}" if v >= 0 else f"-{-v:#x}") if hex_ else str(v)
        lines.append(f"\t{n:<{width}} = {shown},")
    tail = "}"
    if btf.raw_size(tid) < 4:
        tail += " __attribute__((__packed__))"
    return "\n".join(lines) + "\n" + tail + (f" {suffix}" if suffix else "") + ";"


def typedef_text(btf: Btf, tid: int, hex_: bool = False) -> str:
    from mmbits.btf.decl import ftype, tag_name

    name = btf.name(tid)
    target = btf.ref(tid)
    real = btf.skip(target, MODIFIERS)
    kind = btf.kind(real)
    if kind in COMPOSITES and not btf.name(real):
        body = pahole_text(btf, real, hex_, name="")
        return f"typedef {body[:-2]}}} {name};"  # the printer closes with `};`
    if kind in ENUMS and not btf.name(real):
        return "typedef " + enum_text(btf, real, hex_, suffix=name)
    if kind == PTR and btf.kind(btf.skip(btf.ref(real), MODIFIERS)) == FUNC_PROTO:
        return f"typedef {ftype(btf, btf.skip(btf.ref(real), MODIFIERS), name, pointer=True, spacing=0)};"
    if kind in (ARRAY, FUNC_PROTO):
        return f"typedef {declare(btf, target, name)};"
    return f"typedef {tag_name(btf, target)} {name};"


def layout_of(btf: Btf, name: str) -> Layout | None:
    """The Layout of struct NAME, or None when this BTF has no such struct."""
    ids = btf.find(name, COMPOSITES)
    return build_layout(btf, ids[0]) if ids else None
