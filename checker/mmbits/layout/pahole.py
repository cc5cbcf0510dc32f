"""Print a Layout the way `pahole -C` does.

Kernel developers read pahole output every day, so the text format follows
pahole 1.24's (dwarves_fprintf.c: __class__fprintf, union__fprintf,
class_member__fprintf, class__find_holes): type padded to 26 columns at the
first level (8 less per nesting level), the `/* offset size */` comment at
column 56 (54 in a top-level union), `/* offset: bit size */` for bitfields,
cacheline markers (also inside nested blocks, "was N bytes ago" when a member
starts past the boundary), byte and bit holes after the member that precedes
them, and the size/sum/padding summary.
Both the YAML layouts and the BTF reader print through this one function; the
BTF reader passes `decl` (pahole's exact type text for a member) and
`padding` (tail padding of a member's struct type), which YAML layouts do not
know.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmbits.layout.model import Layout, Member

if TYPE_CHECKING:  # not at run time: typing would compile the string annotations on every start
    from collections.abc import Callable

    # decl(member, type_spacing, flexible_array_ok, name) -> "type name" text, or None for the default
    DeclHook = Callable[[Member, int, bool, str], str | None]
    PaddingHook = Callable[[Member], int]
    # aligned(member) -> (the member's __aligned__, its inline type's __aligned__ (0 for none),
    # whether its inline type is __packed__); called for a block before its members
    AlignedHook = Callable[[Member], tuple[int, int, bool]]

CACHELINE = 64
COMMENT_COL = 56
TYPE_WIDTH = 26
NAME_WIDTH = 23
UNION_NAME_WIDTH = 21  # pahole's name_spacing for a union printed at the top level

PACKED = " __attribute__((__packed__))"


def _attr(align: int) -> str:
    return f" __attribute__((__aligned__({align})))" if align else ""


def _cols(text: str) -> int:
    col = 0
    for ch in text:
        col = (col // 8 + 1) * 8 if ch == "\t" else col + 1
    return col


def _hex(value: int) -> str:
    """C's %#x: no 0x prefix for zero."""
    return f"{value:#x}" if value else "0"


def _comment(offset: int, size: int, hex_: bool, bit: tuple[int, int] | None = None) -> str:
    if hex_:
        off = _hex(offset)
        sz = _hex(size)
        if bit is not None:
            return f"/* {off:>5}:{_hex(bit[0]):>2} {sz:>2} */"
        return f"/* {off:>5} {sz:>5} */"
    if bit is not None:
        return f"/* {offset:5d}:{bit[0]:2d} {size:2d} */"
    return f"/* {offset:5d} {size:5d} */"


def _line(prefix: str, comment: str) -> str:
    """Kept for callers that align a comment by columns (tabs count to the next stop)."""
    pad = max(COMMENT_COL - _cols(prefix), 0)
    return f"{prefix}{' ' * pad} {comment}"


def _pad_type(type_text: str, spacing: int) -> str:
    """pahole's "%-*s" of a type at this nesting level (struct/union/enum keyword printed first)."""
    for kw in ("struct ", "union ", "enum "):
        if type_text.startswith(kw) and "*" not in type_text and "(" not in type_text:
            rest = type_text[len(kw):]
            return kw + f"{rest:<{abs(spacing - len(kw))}}"
    return f"{type_text:<{abs(spacing)}}"


def _decl(m: Member, depth: int) -> str:
    """The default member text (YAML layouts): canonical type padded, then the name and dims."""
    ct = m.ctype
    type_text = m.type
    dims = ""
    if ct is not None and ct.spelling.dims:
        type_text = ct.spelling.base + (" " + "*" * ct.spelling.pointers if ct.spelling.pointers else "")
        dims = "".join(f"[{d}]" for d in ct.spelling.dims)
    elif "[" in type_text and "(" not in type_text:
        type_text, _, rest = type_text.partition("[")
        dims = "[" + rest
        type_text = type_text.rstrip()
    spacing = TYPE_WIDTH - 8 * (depth - 1)
    if "(*)" in type_text:  # a function pointer: `void (*name)(args)`
        ret, _, args = type_text.partition("(*)")
        return f"{ret.rstrip():<{abs(spacing)}} (*{m.name}){args}{dims}"
    return f"{_pad_type(type_text, spacing)} {m.name}{dims}"


class Holes:
    """class__find_holes() for one struct block: holes are charged to the member before them."""

    __slots__ = ("pre_hole", "pre_bit_hole", "hole", "bit_hole", "nr_holes", "nr_bit_holes", "padding", "bit_padding")

    def __init__(self) -> None:
        self.pre_hole = self.pre_bit_hole = 0
        self.hole: dict[int, int] = {}  # child index -> bytes
        self.bit_hole: dict[int, int] = {}
        self.nr_holes = self.nr_bit_holes = 0
        self.padding = self.bit_padding = 0


def find_holes(node: Member) -> Holes:
    out = Holes()
    size = node.size
    cur_bitfield_end, cur_bitfield_size = size * 8, 0
    last_seen_bit = 0
    in_bitfield = False
    last = -1
    for i, pos in enumerate(node.children):
        byte_offset = pos.offset - node.offset
        bitfield = pos.bit_size is not None
        bit_start = byte_offset * 8 + (pos.bit_offset or 0 if bitfield else 0)
        bit_end = bit_start + (pos.bit_size if bitfield and pos.bit_size is not None else pos.size * 8)
        bit_holes = byte_holes = 0
        if in_bitfield:
            bitfield_end = min(bit_start, cur_bitfield_end)
            bit_holes = bitfield_end - last_seen_bit
            last_seen_bit = bitfield_end
        if bitfield:
            aligned_start = byte_offset * 8
            if last_seen_bit < aligned_start <= bit_start:
                byte_holes = byte_offset - last_seen_bit // 8
                last_seen_bit = aligned_start
            bit_holes += bit_start - last_seen_bit
        else:
            byte_holes = bit_start // 8 - last_seen_bit // 8
        last_seen_bit = bit_end
        if bitfield:
            in_bitfield = True
            unit_bits = pos.size * 8
            if bit_end > cur_bitfield_end or unit_bits > cur_bitfield_size:
                cur_bitfield_size = unit_bits
                cur_bitfield_end = byte_offset * 8 + cur_bitfield_size
                if bit_end > cur_bitfield_end:
                    cur_bitfield_end += cur_bitfield_size
        else:
            in_bitfield = False
            cur_bitfield_size = 0
            cur_bitfield_end = bit_end
        if last >= 0:
            out.hole[last] = byte_holes
            out.bit_hole[last] = bit_holes
        else:
            out.pre_hole, out.pre_bit_hole = byte_holes, bit_holes
        if bit_holes:
            out.nr_bit_holes += 1
        if byte_holes > 0:
            out.nr_holes += 1
        last = i
    if in_bitfield:
        bitfield_end = min(size * 8, cur_bitfield_end)
        out.bit_padding = bitfield_end - last_seen_bit
        last_seen_bit = bitfield_end
    out.padding = size - last_seen_bit // 8
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


class _Printer:
    def __init__(self, hex_: bool, name_spacing: int, decl: DeclHook | None, padding: PaddingHook | None,
                 aligned: AlignedHook | None = None):
        self.hex = hex_
        self.ns = name_spacing
        self.decl_hook = decl
        self.padding_hook = padding
        self.aligned_hook = aligned
        self.out: list[str] = []
        self.cacheline = 0

    def w(self, text: str) -> None:
        self.out.append(text)

    def boundary(self, offset: int, indent: int) -> None:
        line = offset // CACHELINE
        if line > self.cacheline:
            pos = offset % CACHELINE
            if pos == 0:
                self.w(f"/* --- cacheline {line} boundary ({offset - pos} bytes) --- */\n")
            else:
                self.w(f"/* --- cacheline {line} boundary ({offset - pos} bytes) was {_plural(pos, 'byte')} ago --- */\n")
            self.w("\t" * indent)
            self.cacheline = line

    @staticmethod
    def is_block(m: Member) -> bool:
        return m.kind != "field"

    def member(self, m: Member, indent: int, ts: int, in_union: bool, flex_ok: bool) -> None:
        """class_member__fprintf: the line(s) of one member, without the final newline."""
        self.boundary(m.offset, indent)
        member_align, type_align, packed = self.aligned(m)
        if self.is_block(m):
            qualifier = "const " if m.type.startswith("const ") else ""
            self.block(m, indent, ts - 8 - len(qualifier), in_union, qualifier)
            name = f" {m.name}" if m.name else ""
            dims = m.type[m.type.index("}") + 1:].strip() if "}" in m.type else ""
            if dims.startswith("[0]") and flex_ok:
                dims = "[]" + dims[3:]
            if dims or qualifier:
                # an array of, or a qualified, inline type: pahole's generic path, where the
                # whole expansion counts towards the comment column (so one space)
                text = f"}}{PACKED if packed else ''}{name}{_attr(type_align)}{dims}{_attr(member_align)};"
                pad = 1
            else:
                text = f"}}{PACKED if packed else ''}{_attr(type_align)}{name}{_attr(member_align)};"
                # pahole counts sizeof("__attribute__((__packed__))"), NUL included
                slen = len(_attr(member_align)) + (len(m.name) if m.name else -1) + (len(PACKED) if packed else 0)
                pad = max(ts + self.ns - slen - 3, 1)
            self.w(f"{text}{' ' * pad}{_comment(m.offset, m.size, self.hex)}")
            return
        hooked = self.decl_hook(m, ts, flex_ok, str(m.name or "")) if self.decl_hook is not None else None
        text = hooked if hooked is not None else _decl(m, (TYPE_WIDTH - ts) // 8 + 1)
        if m.bit_size is not None:
            text += f":{m.bit_size}"
        text += _attr(member_align) + ";"
        # an inline enum body: the comment aligns after its closing line, as for a block
        pad = max(ts + self.ns - len(text.rsplit("\n", 1)[-1].lstrip("\t")), 1)
        bit = (m.bit_offset or 0, m.bit_size) if m.bit_size is not None else None
        self.w(f"{text}{' ' * pad}{_comment(m.offset, m.size, self.hex, bit)}")

    def aligned(self, m: Member) -> tuple[int, int, bool]:
        return self.aligned_hook(m) if self.aligned_hook is not None else (0, 0, False)

    def block(self, node: Member, indent: int, ts: int, in_union: bool, qualifier: str = "") -> None:
        """An inline (anonymous or named) struct/union body; the caller prints the closing line."""
        self.w(f"{qualifier}{node.kind} {{\n")
        if node.kind == "union":
            self.union_body(node, indent + 1, ts)
        else:
            self.struct_body(node, indent + 1, ts, stats=False, in_union=in_union)
        self.w("\t" * indent)

    def union_body(self, node: Member, indent: int, ts: int) -> None:
        start = self.cacheline
        for child in node.children:
            self.w("\t" * indent)
            self.member(child, indent, ts, True, False)
            self.w("\n")
            self.cacheline = start

    def struct_body(self, node: Member, indent: int, ts: int, stats: bool, in_union: bool = False) -> dict[str, int]:
        """Members of a struct; `in_union`: nested in a union, where pahole never prints `[]`."""
        tabs = "\t" * indent
        holes = find_holes(node)
        newline = 0  # comments since the last member line: the first one is set off by a blank line

        def comment(text: str) -> None:
            nonlocal newline
            if not newline:
                self.w("\n")
            newline += 1
            self.w(text)

        sums = {"bytes": 0, "bits": 0, "holes": 0, "bit_holes": 0, "nr_paddings": 0, "sum_paddings": 0,
                "forced": 0, "forced_holes": 0, "sum_forced_holes": 0}
        if holes.pre_bit_hole > 0:
            comment(f"{tabs}/* XXX {_plural(holes.pre_bit_hole, 'bit')} hole, try to pack */\n")
            sums["bit_holes"] += holes.pre_bit_hole
        if holes.pre_hole > 0:
            comment(f"{tabs}/* XXX {_plural(holes.pre_hole, 'byte')} hole, try to pack */\n")
            sums["holes"] += holes.pre_hole
        last: Member | None = None
        last_i = -1
        last_size = 0
        n = len(node.children)
        for i, pos in enumerate(node.children):
            pos_bf = pos.bit_size is not None
            if self.aligned(pos)[0]:
                forced_hole = holes.hole.get(last_i, 0) if last is not None else holes.pre_hole
                if forced_hole:
                    sums["forced_holes"] += 1
                    sums["sum_forced_holes"] += forced_hole
                sums["forced"] += 1
            if last is not None and last_size != 0:
                last_bit_hole = holes.bit_hole.get(last_i, 0)
                if last_bit_hole and pos_bf:
                    filler = last_bit_hole
                    if last.offset != pos.offset:
                        self.w(f"\n{tabs}/* Force alignment to the next boundary: */\n")
                        filler = 0
                    self.w(tabs + self.filler(pos, ts) + f":{filler};\n")
                last_bf = last.bit_size is not None
                if pos.offset < last.offset or (pos.offset == last.offset and not last_bf and pos_bf):
                    comment(f"{tabs}/* Bitfield combined with previous fields */\n")
                elif 0 < pos.offset - last.offset < last_size:
                    comment(f"{tabs}/* Bitfield combined with next fields */\n")
            if newline:
                self.w("\n")
                newline = 0
            self.w(tabs)
            self.member(pos, indent, ts, in_union, i == n - 1 and n > 1 and not in_union)
            if self.is_block(pos):  # an inline struct, not an array of one or a const one
                plain = pos.kind == "struct" and "]" not in pos.type and not pos.type.startswith("const ")
                pad = find_holes(pos).padding if plain else 0
            else:
                pad = self.padding_hook(pos) if self.padding_hook is not None else 0
            if pad > 0:
                sums["nr_paddings"] += 1
                sums["sum_paddings"] += pad
                comment(f"\n{tabs}/* XXX last struct has {_plural(pad, 'byte')} of padding */")
            bh = holes.bit_hole.get(i, 0)
            if bh:
                comment(f"\n{tabs}/* XXX {_plural(bh, 'bit')} hole, try to pack */")
                sums["bit_holes"] += bh
            h = holes.hole.get(i, 0)
            if h > 0:
                comment(f"\n{tabs}/* XXX {_plural(h, 'byte')} hole, try to pack */")
                sums["holes"] += h
            self.w("\n")
            if pos_bf:
                sums["bits"] += pos.bit_size or 0
            else:
                sums["bytes"] += pos.size
            if last is None or last_size == 0 or last.offset != pos.offset or (last.bit_size is None and pos_bf):
                last_size = pos.size
            last, last_i = pos, i
        if stats:
            self.stats(node, holes, sums, indent)
        return sums

    def filler(self, pos: Member, ts: int) -> str:
        """`u64                        ` of a `u64 :13;` bit-hole line (pahole prints the next member's type)."""
        if self.decl_hook is not None:
            text = self.decl_hook(pos, ts, False, "")
            if text is not None:
                return text
        return _pad_type(pos.type, ts) + " "

    def stats(self, node: Member, holes: Holes, sums: dict[str, int], indent: int) -> None:
        tabs = "\t" * indent
        size = node.size
        lines = (size + CACHELINE - 1) // CACHELINE
        self.w(f"\n{tabs}/* size: {size}, cachelines: {lines}, members: {len(node.children)} */\n")
        if sums["holes"] > 0 or sums["bit_holes"] > 0:
            if sums["bytes"] > 0:
                text = f"{tabs}/* sum members: {sums['bytes']}"
                if sums["holes"] > 0:
                    text += f", holes: {holes.nr_holes}, sum holes: {sums['holes']}"
                self.w(text + " */\n")
            if sums["bits"] > 0:
                text = f"{tabs}/* sum bitfield members: {sums['bits']} bits"
                if sums["bit_holes"] > 0:
                    text += f", bit holes: {holes.nr_bit_holes}, sum bit holes: {sums['bit_holes']} bits"
                else:
                    text += f" ({sums['bits'] // 8} bytes)"
                self.w(text + " */\n")
        if holes.padding > 0:
            self.w(f"{tabs}/* padding: {holes.padding} */\n")
        if sums["nr_paddings"] > 0:
            self.w(f"{tabs}/* paddings: {sums['nr_paddings']}, sum paddings: {sums['sum_paddings']} */\n")
        if holes.bit_padding > 0:
            self.w(f"{tabs}/* bit_padding: {holes.bit_padding} bits */\n")
        if sums["forced"]:
            text = f"{tabs}/* forced alignments: {sums['forced']}"
            if sums["forced_holes"]:
                text += f", forced holes: {sums['forced_holes']}, sum forced holes: {sums['sum_forced_holes']}"
            self.w(text + " */\n")
        if size % CACHELINE:
            self.w(f"{tabs}/* last cacheline: {size % CACHELINE} bytes */\n")


def format_layout(layout: Layout, hex_: bool = False, decl: DeclHook | None = None,
                  padding: PaddingHook | None = None, aligned: AlignedHook | None = None) -> str:
    root = layout.root
    is_union = root.kind == "union"
    p = _Printer(hex_, UNION_NAME_WIDTH if is_union else NAME_WIDTH, decl, padding, aligned)
    keyword = "union" if is_union else "struct"
    _m_align, root_align, root_packed = p.aligned(root)  # before the body: it may mark inner types packed
    p.w(f"{keyword} {layout.struct} {{\n" if layout.struct else f"{keyword} {{\n")
    if is_union:
        p.union_body(root, 1, TYPE_WIDTH)
    else:
        p.struct_body(root, 1, TYPE_WIDTH, stats=True)
    p.w("}" + ("" if is_union else (PACKED if root_packed else "") + _attr(root_align)) + ";")
    return "".join(p.out)
