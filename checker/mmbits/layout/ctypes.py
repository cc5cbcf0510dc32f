"""C types per ABI, from layouts/<version>/types.yaml.

A type spelling in a layout file (`unsigned long`, `struct page *`,
`mm_id_t[2]`) is parsed into a base name, a pointer depth and array
dimensions; its size and alignment come from the table's expressions evaluated
for the config, or from resolving another layout (`struct page` inside folio).
The canonical spelling is what pahole and BTF print, so our JSON and the BTF
reader's JSON can be diffed directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

from mmbits.byvalue import ByValue
from mmbits.cexpr import Expr, ExprError, Value, parse
from mmbits.errors import InputError

_ARRAY = re.compile(r"\[\s*(\d+)\s*\]\s*$")
_NAME = re.compile(r"^(?:(struct|union|enum)\s+)?[A-Za-z_][A-Za-z0-9_]*(?:\s+[A-Za-z_][A-Za-z0-9_]*)*$")


class TypeSpelling(ByValue):
    base: str  # canonical base name ("long unsigned int", "struct page")
    pointers: int
    dims: tuple[int, ...]

    _SHOWN = ("base", "pointers", "dims")

    def __init__(self, base: str, pointers: int, dims: tuple[int, ...]) -> None:
        self.base = base
        self.pointers = pointers
        self.dims = dims

    def _fields(self) -> tuple[object, ...]:
        return (self.base, self.pointers, self.dims)

    @property
    def text(self) -> str:
        out = self.base + (" " + "*" * self.pointers if self.pointers else "")
        return out + "".join(f"[{d}]" for d in self.dims)

    @property
    def is_pointer(self) -> bool:
        return self.pointers > 0

    @property
    def count(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n


class TypeInfo(ByValue):
    name: str
    size: Expr
    align: Expr
    signed: bool
    pointer: bool
    fields: tuple[tuple[str, str], ...]

    _SHOWN = ("name", "size", "align", "signed", "pointer", "fields")

    def __init__(self, name: str, size: Expr, align: Expr, signed: bool, pointer: bool,
                 fields: tuple[tuple[str, str], ...]) -> None:
        self.name = name
        self.size = size
        self.align = align
        self.signed = signed
        self.pointer = pointer
        self.fields = fields

    def _fields(self) -> tuple[object, ...]:
        return (self.name, self.size, self.align, self.signed, self.pointer, self.fields)


class CType(ByValue):
    """A type resolved for one config."""

    spelling: TypeSpelling
    size: int  # total, arrays included
    align: int
    elem_size: int
    signed: bool
    pointer: bool
    fields: tuple[tuple[str, str], ...]  # sub-words of a small struct type
    struct: str | None  # name of a layout struct when the member embeds one

    _SHOWN = ("spelling", "size", "align", "elem_size", "signed", "pointer", "fields", "struct")

    def __init__(self, spelling: TypeSpelling, size: int, align: int, elem_size: int, signed: bool,
                 pointer: bool, fields: tuple[tuple[str, str], ...], struct: str | None) -> None:
        self.spelling = spelling
        self.size = size
        self.align = align
        self.elem_size = elem_size
        self.signed = signed
        self.pointer = pointer
        self.fields = fields
        self.struct = struct

    def _fields(self) -> tuple[object, ...]:
        return (self.spelling, self.size, self.align, self.elem_size, self.signed, self.pointer, self.fields,
                self.struct)

    @property
    def text(self) -> str:
        return self.spelling.text

    @property
    def scalar(self) -> bool:
        """A single integer-like word we can read and write as one value."""
        return not self.spelling.dims and (not self.fields or len(self.fields) == 1) and self.struct is None


class TypeTable:
    def __init__(self, path: Path, infos: dict[str, TypeInfo], aliases: dict[str, str]):
        self.path = path
        self.infos = infos
        self.aliases = aliases

    def symbols(self) -> frozenset[str]:
        out: set[str] = set()
        for info in self.infos.values():
            out |= info.size.symbols | info.align.symbols
        return frozenset(out)

    def parse(self, text: str) -> TypeSpelling:
        """Parse a type spelling; raise ValueError with a reason."""
        s = " ".join(str(text).split())
        dims: list[int] = []
        while True:
            m = _ARRAY.search(s)
            if not m:
                break
            dims.insert(0, int(m.group(1)))
            s = s[: m.start()].rstrip()
        pointers = 0
        while s.endswith("*"):
            pointers += 1
            s = s[:-1].rstrip()
        if not s or not _NAME.match(s):
            raise ValueError(f"malformed type {text!r}")
        base = self.aliases.get(s, s)
        if base == "void" and not pointers:
            raise ValueError("void is only usable as a pointer")
        if any(d <= 0 for d in dims):
            raise ValueError(f"array size must be positive in {text!r}")
        return TypeSpelling(base, pointers, tuple(dims))

    def known_base(self, base: str, structs: Mapping[str, object]) -> bool:
        if base in self.infos or base == "void":
            return True
        return base.startswith("struct ") and base[7:] in structs

    def resolve(
        self,
        spelling: TypeSpelling,
        env: Mapping[str, Value],
        struct_size: Callable[[str], tuple[int, int]],
    ) -> CType:
        word = int(env["BITS_PER_LONG"]) // 8
        if spelling.pointers:
            size = align = word
            signed = False
            pointer = True
            fields: tuple[tuple[str, str], ...] = ()
            struct = None
        elif spelling.base in self.infos:
            info = self.infos[spelling.base]
            try:
                size = int(info.size(env))
                align = int(info.align(env))
            except ExprError as exc:
                raise InputError(f"type {spelling.base}: {exc}", file=str(self.path)) from None
            signed = info.signed
            pointer = info.pointer
            fields = info.fields
            struct = None
        elif spelling.base.startswith("struct "):
            struct = spelling.base[7:]
            size, align = struct_size(struct)
            signed = pointer = False
            fields = ()
        else:
            raise InputError(f"unknown type {spelling.base!r}")
        return CType(spelling, size * spelling.count, align, size, signed, pointer, fields, struct)


@cache
def load_types(path: Path) -> TypeTable:
    from mmbits.yamlio import load_file  # here, so the BTF reader can build CTypes without YAML

    doc = load_file(path)
    infos: dict[str, TypeInfo] = {}
    aliases: dict[str, str] = {}
    for name, spec in doc.items():
        line = doc.line_of(name)
        if not isinstance(spec, dict) or "size" not in spec or "align" not in spec:
            raise InputError(f"type {name}: needs size and align", file=str(path), line=line)
        try:
            # parse(): one Expr per text, its tree from the tree store (expression.treestore):
            # tokenizing and parsing these again was ~2% of a one-report decode
            size, align = parse(str(spec["size"])), parse(str(spec["align"]))
        except ExprError as exc:
            raise InputError(f"type {name}: {exc}", file=str(path), line=line) from None
        fields = tuple((str(k), str(v)) for k, v in (spec.get("fields") or {}).items())
        infos[str(name)] = TypeInfo(str(name), size, align, bool(spec.get("signed")), bool(spec.get("pointer")), fields)
        for aka in spec.get("aka") or []:
            aliases[str(aka)] = str(name)
    return TypeTable(path, infos, aliases)
