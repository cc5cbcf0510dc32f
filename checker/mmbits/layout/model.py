"""The one resolved-layout type everything uses.

Loaders (the YAML resolver, the BTF reader) produce a `Layout`; analyses
(overlay, prover, emulator, decoder) read it; printers print it. A Layout is
flat and bit-exact for one config: every member has an absolute byte offset,
a size, and for bitfields a bit offset/width inside its storage unit. Union
arms are recorded so an analysis can tell "two views of the same bytes" from
"two things that must not overlap".
"""

from __future__ import annotations

import struct as _struct
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from mmbits.byvalue import ByValue, Shown
from mmbits.errors import InputError

if TYPE_CHECKING:
    from mmbits.kconfig.config import Config
    from mmbits.layout.ctypes import CType


class Member(Shown):
    """A node of a resolved layout: a field, or an (anonymous) union/struct."""

    name: str | None
    kind: str  # field | union | struct
    type: str  # canonical C spelling for fields; "" for anonymous blocks
    offset: int  # absolute byte offset in the top-level struct
    size: int
    align: int
    bit_offset: int | None = None  # bit inside the storage unit at `offset`
    bit_size: int | None = None
    children: tuple[Member, ...] = ()
    note: str = ""
    arm: str = ""  # what this union arm is for (when a child of a union)
    line: int = 0
    arms: tuple[tuple[int, int], ...] = ()  # (union id, arm index) from the root down
    ctype: CType | None

    _SHOWN = ("name", "kind", "type", "offset", "size", "align", "bit_offset", "bit_size", "children", "note",
              "arm", "line", "arms")

    def __init__(self, name: str | None, kind: str, type: str, offset: int, size: int, align: int,
                 bit_offset: int | None = None, bit_size: int | None = None,
                 children: tuple[Member, ...] = (), note: str = "", arm: str = "", line: int = 0,
                 arms: tuple[tuple[int, int], ...] = (), ctype: CType | None = None) -> None:
        self.name = name
        self.kind = kind
        self.type = type
        self.offset = offset
        self.size = size
        self.align = align
        self.bit_offset = bit_offset
        self.bit_size = bit_size
        self.children = children
        self.note = note
        self.arm = arm
        self.line = line
        self.arms = arms
        self.ctype = ctype

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def is_bitfield(self) -> bool:
        return self.bit_size is not None

    def walk(self) -> Iterator[Member]:
        yield self
        for child in self.children:
            yield from child.walk()

    def leaves(self) -> Iterator[Member]:
        """Named members reached through anonymous blocks (pahole's leaf lines)."""
        for child in self.children:
            if child.kind == "field" or child.name:
                yield child
            else:
                yield from child.leaves()

    def bit_range(self) -> tuple[int, int]:
        """[first bit, last bit] of the member in the byte stream, counting bits of bytes LSB-first."""
        if self.bit_size is None:
            return self.offset * 8, self.end * 8 - 1
        start = self.offset * 8 + (self.bit_offset or 0)
        return start, start + self.bit_size - 1

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "offset": self.offset, "size": self.size}
        if self.bit_size is not None:
            out["bit_offset"] = self.bit_offset
            out["bit_size"] = self.bit_size
        out["type"] = self.type
        return out


def exclusive(a: Member, b: Member) -> bool:
    """True when a and b sit in different arms of one union (alternative views)."""
    for (ua, ia), (ub, ib) in zip(a.arms, b.arms, strict=False):
        if ua != ub:
            return False
        if ia != ib:
            return True
    return False


class Field(ByValue):
    """Fast accessor for one integer word of a layout (the emulator's hot path)."""

    name: str
    offset: int
    size: int
    signed: bool
    little: bool
    bit_offset: int | None = None
    bit_size: int | None = None

    _SHOWN = ("name", "offset", "size", "signed", "little", "bit_offset", "bit_size")

    def __init__(self, name: str, offset: int, size: int, signed: bool, little: bool,
                 bit_offset: int | None = None, bit_size: int | None = None) -> None:
        self.name = name
        self.offset = offset
        self.size = size
        self.signed = signed
        self.little = little
        self.bit_offset = bit_offset
        self.bit_size = bit_size

    def _fields(self) -> tuple[object, ...]:
        return (self.name, self.offset, self.size, self.signed, self.little, self.bit_offset, self.bit_size)

    def moved(self, name: str, offset: int) -> Field:
        """This word under another name at another offset (a word of an embedded struct,
        seen from its container; a list_head's words at offset 0)."""
        return Field(name, offset, self.size, self.signed, self.little, self.bit_offset, self.bit_size)

    @cached_property
    def _fmt(self) -> _struct.Struct | None:
        code = {1: "b", 2: "h", 4: "i", 8: "q"}.get(self.size)
        if code is None:
            return None
        if not self.signed:
            code = code.upper()
        return _struct.Struct(("<" if self.little else ">") + code)

    def get(self, buf: bytes | bytearray | memoryview, base: int = 0) -> int:
        fmt = self._fmt
        if self.bit_size is None:
            if fmt is not None:
                value: int = fmt.unpack_from(buf, base + self.offset)[0]
                return value
            start = base + self.offset
            return int.from_bytes(buf[start : start + self.size], "little" if self.little else "big", signed=self.signed)
        start = base + self.offset
        unit = int.from_bytes(buf[start : start + self.size], "little" if self.little else "big")
        return (unit >> self._shift) & ((1 << self.bit_size) - 1)

    @cached_property
    def _shift(self) -> int:
        assert self.bit_size is not None and self.bit_offset is not None
        if self.little:
            return self.bit_offset
        return self.size * 8 - self.bit_offset - self.bit_size

    @cached_property
    def mask(self) -> int:
        bits = self.bit_size if self.bit_size is not None else self.size * 8
        return (1 << bits) - 1

    def set(self, buf: bytearray | memoryview, value: int, base: int = 0) -> None:
        if self.bit_size is None:
            fmt = self._fmt
            if fmt is not None:
                if self.signed:
                    half = 1 << (self.size * 8 - 1)
                    value = ((value + half) & self.mask) - half
                else:
                    value &= self.mask
                fmt.pack_into(buf, base + self.offset, value)
                return
            start = base + self.offset
            buf[start : start + self.size] = (value & self.mask).to_bytes(self.size, "little" if self.little else "big")
            return
        start = base + self.offset
        order: Literal["little", "big"] = "little" if self.little else "big"
        unit = int.from_bytes(buf[start : start + self.size], order)
        mask = self.mask << self._shift
        unit = (unit & ~mask) | ((value << self._shift) & mask)
        buf[start : start + self.size] = unit.to_bytes(self.size, order)


class Layout(Shown):
    """A struct resolved for one config: flat, bit-exact, with union arms."""

    struct: str
    size: int
    align: int
    root: Member
    config: Config | None
    little: bool = True
    source: str = ""  # file or BTF it came from
    env: Mapping[str, Any]
    doc: str = ""
    nested: Mapping[str, Layout]  # struct-typed members

    _SHOWN = ("struct", "size", "align", "root", "config", "little", "source", "doc")

    def __init__(self, struct: str, size: int, align: int, root: Member, config: Config | None,
                 little: bool = True, source: str = "", env: Mapping[str, Any] | None = None, doc: str = "",
                 nested: Mapping[str, Layout] | None = None) -> None:
        self.struct = struct
        self.size = size
        self.align = align
        self.root = root
        self.config = config
        self.little = little
        self.source = source
        self.env = {} if env is None else env
        self.doc = doc
        self.nested = {} if nested is None else nested

    def with_config(self, config: Config) -> Layout:
        """The same layout for another config that resolves to it (a resolve served from the
        cache): a new object, its memoised members and words worked out anew."""
        return Layout(self.struct, self.size, self.align, self.root, config, self.little, self.source, self.env,
                      self.doc, self.nested)

    @cached_property
    def members(self) -> tuple[Member, ...]:
        """pahole leaf lines in declaration order (the JSON `members`)."""
        return tuple(self.root.leaves())

    @cached_property
    def by_name(self) -> dict[str, Member]:
        return {m.name: m for m in self.members if m.name}

    def member(self, name: str) -> Member:
        head = name.split(".", 1)[0]
        try:
            return self.by_name[head]
        except KeyError:
            from mmbits.cexpr import suggest

            raise InputError(f"struct {self.struct} has no member {head!r}{suggest(head, self.by_name)}") from None

    @cached_property
    def words(self) -> dict[str, Field]:
        """Every integer word addressable by name: scalar members and NAME.SUB of small structs."""
        out: dict[str, Field] = {}
        for m in self.members:
            ct = m.ctype
            if ct is None:
                continue
            if ct.struct is not None:
                inner = self.nested.get(str(m.name))
                if inner is not None:
                    for sub, f in inner.words.items():
                        out[f"{m.name}.{sub}"] = f.moved(f"{m.name}.{sub}", m.offset + f.offset)
                continue
            if ct.spelling.dims:
                elem = ct.elem_size
                for i in range(ct.spelling.count):
                    out[f"{m.name}[{i}]"] = Field(f"{m.name}[{i}]", m.offset + i * elem, elem, ct.signed, self.little)
                continue
            if ct.fields:
                word = ct.size // len(ct.fields) if len(ct.fields) > 0 else ct.size
                for i, (sub, _t) in enumerate(ct.fields):
                    out[f"{m.name}.{sub}"] = Field(f"{m.name}.{sub}", m.offset + i * word, word, False, self.little)
                if len(ct.fields) == 1:  # a one-word wrapper (atomic_t from BTF): its signedness is the word's
                    out[str(m.name)] = Field(str(m.name), m.offset, m.size, ct.signed, self.little)
                continue
            out[str(m.name)] = Field(str(m.name), m.offset, m.size, ct.signed, self.little, m.bit_offset, m.bit_size)
        return out

    def field(self, path: str) -> Field:
        try:
            return self.words[path]
        except KeyError:
            from mmbits.cexpr import suggest

            raise InputError(f"struct {self.struct} has no word {path!r}{suggest(path, self.words)}") from None

    # -- bit-exact encode / decode ---------------------------------------
    def decode(self, data: bytes | bytearray | memoryview) -> dict[str, int]:
        """Every word's value (all union arms: they are views of the same bytes)."""
        if len(data) < self.size:
            raise InputError(f"struct {self.struct} needs {self.size} bytes, got {len(data)}")
        return {name: f.get(data) for name, f in self.words.items()}

    def encode(self, values: Mapping[str, int], base: bytes | None = None) -> bytes:
        """Write the given words, in declaration order, over `base` (zeros by default)."""
        buf = bytearray(base if base is not None else bytes(self.size))
        if len(buf) != self.size:
            raise InputError(f"struct {self.struct}: base must be {self.size} bytes")
        for name, f in self.words.items():
            if name in values:
                f.set(buf, int(values[name]))
        unknown = set(values) - set(self.words)
        if unknown:
            raise InputError(f"struct {self.struct} has no word {sorted(unknown)[0]!r}")
        return bytes(buf)

    @cached_property
    def covered(self) -> bytes:
        """1 for each byte some member covers, 0 for holes and tail padding."""
        cov = bytearray(self.size)
        for m in self.root.walk():
            if m.kind != "field":
                continue
            inner = self.nested.get(str(m.name)) if m.ctype is not None and m.ctype.struct else None
            if inner is not None:
                for i, c in enumerate(inner.covered):
                    cov[m.offset + i] |= c
                continue
            for i in range(m.offset, min(m.end, self.size)):
                cov[i] = 1
        return bytes(cov)

    def construct(self) -> Any:
        from mmbits.layout.codec import build_construct

        return build_construct(self)

    def to_json(self) -> dict[str, Any]:
        return {"struct": self.struct, "size": self.size, "members": [m.to_json() for m in self.members]}

    def overlap(self, offset: int, size: int) -> list[Member]:
        """Fields covering any byte of [offset, offset + size)."""
        return [m for m in self.root.walk() if m.kind == "field" and m.offset < offset + size and offset < m.end]
