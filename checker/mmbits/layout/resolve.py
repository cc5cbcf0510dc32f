"""resolve(spec, config) -> Layout: C layout rules, computed by us.

Struct members are placed at the next offset aligned for their type; unions
put every arm at the same offset; sizes round up to the alignment; bitfields
follow the SysV rule (a bitfield never straddles a storage unit of its type).
`if:` conditions drop members for configs without them; `at:` asserts an
offset and rejects overlap outside a union.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import count
from typing import Any

from mmbits.cexpr import ExprError
from mmbits.errors import InputError
from mmbits.layout.ctypes import CType, TypeTable
from mmbits.layout.model import Layout, Member
from mmbits.layout.spec import LayoutSpec, SpecNode


def _align_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align if align > 1 else value


def _field(node: SpecNode, ct: CType, offset: int, arms: tuple[tuple[int, int], ...],
           bit_offset: int | None = None, bit_size: int | None = None) -> Member:
    """A resolved field of type `ct` at `offset` (a bitfield: `bit_size` bits from `bit_offset`)."""
    return Member(name=node.name, kind="field", type=ct.text, offset=offset, size=ct.size, align=ct.align,
                  bit_offset=bit_offset, bit_size=bit_size, note=node.note, arm=node.arm, line=node.line,
                  arms=arms, ctype=ct)


class _Resolver:
    def __init__(
        self,
        spec: LayoutSpec,
        env: Mapping[str, Any],
        types: TypeTable,
        struct_layout: Callable[[str], Layout],
    ):
        self.spec = spec
        self.env = env
        self.types = types
        self.struct_layout = struct_layout
        self.nested: dict[str, Layout] = {}
        self.union_ids = count(1)

    def struct_size(self, name: str) -> tuple[int, int]:
        inner = self.struct_layout(name)
        return inner.size, inner.align

    def fail(self, message: str, line: int) -> InputError:
        return InputError(message, file=str(self.spec.path), line=line)

    def value(self, expr: Any, line: int, what: str) -> int:
        try:
            return int(expr(self.env))
        except ExprError as exc:
            raise self.fail(f"cannot evaluate {what} {expr.text!r}: {exc}", line) from None

    def active(self, node: SpecNode) -> bool:
        if node.cond is None:
            return True
        try:
            return node.cond.truth(self.env)
        except ExprError as exc:
            raise self.fail(f"cannot evaluate condition {node.cond.text!r}: {exc}", node.line) from None

    def block(
        self, node: SpecNode, base: int, arms: tuple[tuple[int, int], ...], arm_label: str = ""
    ) -> Member:
        """Lay out a struct or union block whose first byte is at absolute `base`."""
        children = [c for c in node.children if self.active(c)]
        out: list[Member] = []
        align = 1
        if node.kind == "union":
            uid = next(self.union_ids)
            size = 0
            for i, child in enumerate(children):
                m = self.place(child, base, arms + ((uid, i),))
                out.append(m)
                size = max(size, m.size)
                align = max(align, m.align)
        else:
            pos = 0  # bit position relative to base
            for child in children:
                m, pos = self.place_in_struct(child, base, pos, arms)
                out.append(m)
                align = max(align, m.align)
            size = (pos + 7) // 8
        if node.align is not None:
            align = max(align, self.value(node.align, node.line, "alignment"))
        size = _align_up(size, align)
        return Member(
            name=node.name,
            kind=node.kind,
            type="",
            offset=base,
            size=size,
            align=align,
            children=tuple(out),
            note=node.note,
            arm=arm_label or node.arm,
            line=node.line,
            arms=arms,
        )

    def place(self, node: SpecNode, base: int, arms: tuple[tuple[int, int], ...]) -> Member:
        """A member at the start of a union arm."""
        if node.kind != "field":
            return self.block(node, base, arms)
        m, _ = self.place_in_struct(node, base, 0, arms)
        return m

    def place_in_struct(
        self, node: SpecNode, base: int, pos: int, arms: tuple[tuple[int, int], ...]
    ) -> tuple[Member, int]:
        if node.at is not None:
            # `at:` is relative to the enclosing block (absolute at top level)
            at = self.value(node.at, node.line, "offset")
            if at * 8 < pos:
                raise self.fail(
                    f"member {node.name or node.kind} at offset {at} overlaps the previous "
                    f"member (which ends at {(pos + 7) // 8}) outside a union",
                    node.line,
                )
            pos = at * 8
        if node.kind != "field":
            probe = self.block(node, 0, arms)  # size/alignment first
            offset = _align_up((pos + 7) // 8, probe.align)
            m = self.block(node, base + offset, arms)
            return m, (offset + m.size) * 8
        assert node.type is not None
        try:
            ct = self.types.resolve(node.type, self.env, self.struct_size)
        except InputError as exc:
            raise self.fail(f"member {node.name}: {exc.message}", node.line) from None
        if node.bits is not None:
            width = self.value(node.bits, node.line, "bitfield width")
            unit = ct.size * 8
            if width < 0 or width > unit:
                raise self.fail(f"bitfield {node.name}: width {width} does not fit its {ct.size}-byte type", node.line)
            if width == 0:
                return Member(node.name, "field", ct.text, base, 0, ct.align, 0, 0, line=node.line, arms=arms,
                              ctype=ct), _align_up(pos, ct.align * 8)
            if pos // unit != (pos + width - 1) // unit:
                pos = _align_up(pos, unit)
            unit_off = pos // unit * ct.size
            return _field(node, ct, base + unit_off, arms, pos - unit_off * 8, width), pos + width
        offset = _align_up((pos + 7) // 8, ct.align)
        if ct.struct is not None and not ct.spelling.dims:
            self.nested[str(node.name)] = self.struct_layout(ct.struct)
        return _field(node, ct, base + offset, arms), (offset + ct.size) * 8

    def resolve(self) -> Member:
        root = self.block(self.spec.root, 0, ())
        seen: dict[str, int] = {}
        for leaf in root.leaves():
            if leaf.name in seen:
                raise self.fail(f"duplicate member {leaf.name!r} for this config (also at line {seen[leaf.name]})",
                                leaf.line)
            seen[str(leaf.name)] = leaf.line
        return root


def resolve_spec(
    spec: LayoutSpec,
    env: Mapping[str, Any],
    types: TypeTable,
    struct_layout: Callable[[str], Layout],
    config: Any = None,
) -> Layout:
    r = _Resolver(spec, env, types, struct_layout)
    root = r.resolve()
    if spec.expect_size is not None:
        want = r.value(spec.expect_size, spec.root.line, "size assert")
        if root.size != want:
            raise InputError(
                f"size assert violated: sizeof(struct {spec.name}) is {root.size}, expected {want}",
                file=str(spec.path),
                line=spec.root.line,
            )
    little = not bool(env.get("CPU_BIG_ENDIAN", 0))
    return Layout(
        struct=spec.name,
        size=root.size,
        align=root.align,
        root=root,
        config=config,
        little=little,
        source=str(spec.path),
        env=env,
        doc=spec.doc,
        nested=dict(r.nested),
    )
