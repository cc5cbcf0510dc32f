"""Print a Layout the way `pahole -C` does.

Kernel developers read pahole output every day, so the text format follows
pahole 1.24's: type padded to 26 columns at the first level, the
`/* offset size */` comment at column 56, `/* offset: bit size */` for
bitfields, cacheline markers, holes, and the size/members/padding summary.
Both the YAML layouts and the BTF reader print through this one function.
"""

from __future__ import annotations

from pagebits.layout.model import Layout, Member

CACHELINE = 64
COMMENT_COL = 56
TYPE_WIDTH = 26


def _cols(text: str) -> int:
    col = 0
    for ch in text:
        col = (col // 8 + 1) * 8 if ch == "\t" else col + 1
    return col


def _comment(offset: int, size: int, hex_: bool, bit: tuple[int, int] | None = None) -> str:
    if hex_:
        off = f"{offset:#x}"
        sz = f"{size:#x}"
        if bit is not None:
            return f"/* {off:>5}:{bit[0]:#x} {sz:>4} */"
        return f"/* {off:>5} {sz:>5} */"
    if bit is not None:
        return f"/* {offset:5d}:{bit[0]:2d} {size:2d} */"
    return f"/* {offset:5d} {size:5d} */"


def _line(prefix: str, comment: str) -> str:
    pad = max(COMMENT_COL - _cols(prefix), 0)
    return f"{prefix}{' ' * pad} {comment}"


def _decl(m: Member, depth: int) -> str:
    ct = m.ctype
    type_text = m.type
    dims = ""
    if ct is not None and ct.spelling.dims:
        type_text = ct.spelling.base + (" " + "*" * ct.spelling.pointers if ct.spelling.pointers else "")
        dims = "".join(f"[{d}]" for d in ct.spelling.dims)
    elif "[" in type_text:
        type_text, _, rest = type_text.partition("[")
        dims = "[" + rest
        type_text = type_text.rstrip()
    # pahole: "%-*s" with type_spacing = 26 - 8 per nesting level; a negative
    # width left-justifies to its absolute value (C printf); for struct/union/
    # enum types the keyword is printed first and the width shrinks by it.
    spacing = TYPE_WIDTH - 8 * (depth - 1)
    for kw in ("struct ", "union ", "enum "):
        if type_text.startswith(kw) and "*" not in type_text:
            rest = type_text[len(kw):]
            type_text = kw + f"{rest:<{abs(spacing - len(kw))}}"
            break
    else:
        type_text = f"{type_text:<{abs(spacing)}}"
    bits = f":{m.bit_size}" if m.bit_size is not None else ""
    return f"{type_text} {m.name}{dims}{bits};"


def _members(node: Member, depth: int, hex_: bool, out: list[str], top: bool, state: dict) -> None:
    tabs = "\t" * depth
    prev_end = node.offset
    is_union = node.kind == "union"
    for child in node.children:
        if top:
            line_no = child.offset // CACHELINE
            if line_no > state["cacheline"] and child.offset % CACHELINE == 0 or line_no > state["cacheline"] + 1:
                state["cacheline"] = line_no
                out.append(f"{tabs}/* --- cacheline {line_no} boundary ({line_no * CACHELINE} bytes) --- */")
            elif line_no > state["cacheline"]:
                state["cacheline"] = line_no
        if not is_union and child.offset > prev_end and child.bit_size is None:
            hole = child.offset - prev_end
            out.append(f"\n{tabs}/* XXX {hole} byte{'s' if hole != 1 else ''} hole, try to pack */\n")
            if top:
                state["holes"] += 1
                state["hole_bytes"] += hole
        if child.kind == "field" or child.name and not child.children:
            bit = (child.bit_offset or 0, child.bit_size) if child.bit_size is not None else None
            out.append(_line(tabs + _decl(child, depth), _comment(child.offset, child.size, hex_, bit)))
        else:
            out.append(f"{tabs}{child.kind} {{")
            _members(child, depth + 1, hex_, out, False, state)
            name = f" {child.name}" if child.name else ""
            out.append(_line(f"{tabs}}}{name};", _comment(child.offset, child.size, hex_)))
        end = child.end if child.bit_size is None else child.offset + child.size
        if not is_union:
            prev_end = max(prev_end, end) if child.bit_size is None else max(prev_end, end)
        if top:
            state["sum"] += child.size if child.bit_size is None else 0
    state["last_end"] = prev_end


def format_layout(layout: Layout, hex_: bool = False) -> str:
    out = [f"struct {layout.struct} {{"]
    state = {"cacheline": 0, "holes": 0, "hole_bytes": 0, "sum": 0, "last_end": 0}
    _members(layout.root, 1, hex_, out, True, state)
    members = len(layout.root.children)
    lines = (layout.size + CACHELINE - 1) // CACHELINE
    size = f"{layout.size:#x}" if hex_ else str(layout.size)
    out.append("")
    summary = f"\t/* size: {size}, cachelines: {lines}, members: {members} */"
    out.append(summary)
    if state["holes"]:
        out.append(f"\t/* sum members: {layout.size - state['hole_bytes'] - (layout.size - layout.root.size)}, "
                   f"holes: {state['holes']}, sum holes: {state['hole_bytes']} */")
    used_end = max((c.end for c in layout.root.children), default=0)
    if layout.size > used_end:
        out.append(f"\t/* padding: {layout.size - used_end} */")
    if layout.size % CACHELINE:
        out.append(f"\t/* last cacheline: {layout.size % CACHELINE} bytes */")
    out.append("};")
    return "\n".join(out)
