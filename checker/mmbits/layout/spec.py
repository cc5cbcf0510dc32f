"""Parse and validate a declarative layout file into a LayoutSpec tree.

The file reads like the kernel header: one block per struct, nested
`union:`/`struct:` lists, one line per field (`- name: C type`) with optional
`if:` (Kconfig condition), `note:`, `bits:` (bitfield width), `at:` (asserted
byte offset), `arm:` (what a union arm is for). Every problem is an InputError
naming FILE:LINE. Nothing here depends on a config; `resolve` does that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mmbits.byvalue import EqualByValue
from mmbits.cexpr import Expr, data_expr
from mmbits.errors import InputError
from mmbits.layout.ctypes import TypeSpelling, TypeTable
from mmbits.yamlio import LDict, LList, load_file

MEMBER_KEYS = {"if", "since", "until", "note", "bits", "at", "arm"}
BLOCK_KEYS = {"union", "struct", "if", "since", "until", "note", "at", "arm", "name", "align"}
TOP_KEYS = {"struct", "kernel", "doc", "members", "align", "overlays", "expect_size", "source", "generated",
            "since", "until"}


class SpecNode(EqualByValue):
    kind: str  # field | union | struct
    name: str | None
    line: int
    type: TypeSpelling | None = None
    type_text: str = ""
    bits: Expr | None = None
    cond: Expr | None = None
    at: Expr | None = None
    note: str = ""
    arm: str = ""
    align: Expr | None = None
    children: list[SpecNode]

    _SHOWN = ("kind", "name", "line", "type", "type_text", "bits", "cond", "at", "note", "arm", "align",
              "children")

    def __init__(self, kind: str, name: str | None, line: int, type: TypeSpelling | None = None,
                 type_text: str = "", bits: Expr | None = None, cond: Expr | None = None,
                 at: Expr | None = None, note: str = "", arm: str = "", align: Expr | None = None,
                 children: list[SpecNode] | None = None) -> None:
        self.kind = kind
        self.name = name
        self.line = line
        self.type = type
        self.type_text = type_text
        self.bits = bits
        self.cond = cond
        self.at = at
        self.note = note
        self.arm = arm
        self.align = align
        self.children = [] if children is None else children

    def _fields(self) -> tuple[object, ...]:
        return (self.kind, self.name, self.line, self.type, self.type_text, self.bits, self.cond, self.at,
                self.note, self.arm, self.align, self.children)

    def walk(self) -> Iterable[SpecNode]:
        yield self
        for child in self.children:
            yield from child.walk()


class LayoutSpec(EqualByValue):
    name: str
    path: Path
    kernel: str
    doc: str
    root: SpecNode
    overlays: str | None
    expect_size: Expr | None
    generated: bool = False
    exists: Expr | None = None  # top-level since:/until: the releases that have the struct
    span_note: str = ""  # "since 6.6", for messages

    _SHOWN = ("name", "path", "kernel", "doc", "root", "overlays", "expect_size", "generated", "exists",
              "span_note")

    def __init__(self, name: str, path: Path, kernel: str, doc: str, root: SpecNode, overlays: str | None,
                 expect_size: Expr | None, generated: bool = False, exists: Expr | None = None,
                 span_note: str = "") -> None:
        self.name = name
        self.path = path
        self.kernel = kernel
        self.doc = doc
        self.root = root
        self.overlays = overlays
        self.expect_size = expect_size
        self.generated = generated
        self.exists = exists
        self.span_note = span_note

    def _fields(self) -> tuple[object, ...]:
        return (self.name, self.path, self.kernel, self.doc, self.root, self.overlays, self.expect_size,
                self.generated, self.exists, self.span_note)

    def exists_in(self, env: Mapping[str, object]) -> bool:
        return self.exists is None or self.exists.truth(env)  # type: ignore[arg-type]

    def symbols(self) -> frozenset[str]:
        """Config symbols the conditions and expressions of this file read."""
        out: set[str] = set()
        for node in self.root.walk():
            for expr in (node.cond, node.bits, node.at, node.align):
                if expr is not None:
                    out |= expr.symbols
        if self.expect_size is not None:
            out |= self.expect_size.symbols
        return frozenset(out)

    def struct_refs(self) -> set[str]:
        return {
            n.type.base[7:]
            for n in self.root.walk()
            if n.type is not None and not n.type.pointers and n.type.base.startswith("struct ")
        }


class _Parser:
    def __init__(self, path: Path, types: TypeTable, known_symbols: set[str], known_structs: set[str]):
        self.path = path
        self.types = types
        self.known_symbols = known_symbols
        self.known_structs = known_structs

    def fail(self, message: str, line: int | None) -> InputError:
        return InputError(message, file=str(self.path), line=line)

    def expr(self, text: object, line: int, what: str) -> Expr:
        return data_expr(text, self.known_symbols, self.path, line, what)

    def members(self, items: object, line: int, where: str) -> list[SpecNode]:
        if not isinstance(items, list) or not items:
            raise self.fail(f"{where}: expected a non-empty list of members", line)
        out = []
        names: dict[str, int] = {}
        for i, item in enumerate(items):
            item_line = items.line_of(i) if isinstance(items, LList) else line
            node = self.member(item, item_line)
            out.append(node)
            if node.name and node.cond is None:
                if node.name in names:
                    raise self.fail(f"duplicate member {node.name!r} (first at line {names[node.name]})", item_line)
                names[node.name] = item_line
        return out

    def member(self, item: object, line: int) -> SpecNode:
        if not isinstance(item, dict):
            raise self.fail(f"expected a member mapping like `- name: type`, got {item!r}", line)
        line = item.line if isinstance(item, LDict) and item.line else line
        if "union" in item or "struct" in item:
            kind = "union" if "union" in item else "struct"
            if "union" in item and "struct" in item:
                raise self.fail("a block is either `union:` or `struct:`, not both", line)
            extra = set(item) - BLOCK_KEYS
            if extra:
                raise self.fail(f"unknown key(s) in {kind} block: {', '.join(sorted(map(str, extra)))}", line)
            node = SpecNode(kind, str(item["name"]) if item.get("name") else None, line)
            node.children = self.members(item[kind], line, kind)
            self.common(node, item, line)
            if "align" in item:
                node.align = self.expr(item["align"], self.key_line(item, "align", line), "alignment")
            return node
        names = [k for k in item if k not in MEMBER_KEYS]
        if len(names) != 1:
            if not names:
                raise self.fail("member has no `name: type` entry", line)
            raise self.fail(f"member line names {len(names)} fields ({', '.join(map(str, names))}); one per line", line)
        name = names[0]
        if not isinstance(name, str) or not name.isidentifier():
            raise self.fail(f"bad member name {name!r}", line)
        type_text = item[name]
        if not isinstance(type_text, str):
            raise self.fail(f"member {name}: type must be a string, got {type_text!r}", line)
        try:
            spelling = self.types.parse(type_text)
        except ValueError as exc:
            raise self.fail(f"member {name}: {exc}", line) from None
        if not spelling.pointers and not self.types.known_base(spelling.base, dict.fromkeys(self.known_structs)):
            from mmbits.cexpr import suggest

            hint = suggest(spelling.base, list(self.types.infos) + [f"struct {s}" for s in self.known_structs])
            raise self.fail(f"member {name}: unknown type {spelling.base!r}{hint}", line)
        node = SpecNode("field", name, line, type=spelling, type_text=type_text)
        self.common(node, item, line)
        if "bits" in item:
            if spelling.pointers or spelling.dims:
                raise self.fail(f"member {name}: a bitfield must have an integer type", line)
            node.bits = self.expr(item["bits"], self.key_line(item, "bits", line), "bitfield width")
        return node

    @staticmethod
    def key_line(item: dict[str, Any], key: str, line: int) -> int:
        return item.line_of(key) if isinstance(item, LDict) else line

    def guard(self, item: dict[str, Any], line: int) -> str | None:
        from mmbits.kconfig.release import guard

        try:
            return guard(item)
        except InputError as exc:
            raise self.fail(exc.message, line) from None

    def common(self, node: SpecNode, item: dict[str, Any], line: int) -> None:
        cond = self.guard(item, line)
        if cond is not None:
            key = "if" if "if" in item else "since" if "since" in item else "until"
            node.cond = self.expr(cond, self.key_line(item, key, line), "condition")
        if "at" in item:
            node.at = self.expr(item["at"], self.key_line(item, "at", line), "offset")
        node.note = str(item.get("note", "") or "")
        node.arm = str(item.get("arm", "") or "")


def parse_layout(
    path: Path,
    types: TypeTable,
    known_symbols: set[str],
    known_structs: set[str],
    doc: LDict | None = None,
) -> LayoutSpec:
    if doc is None:
        doc = load_file(path)
    p = _Parser(path, types, known_symbols, known_structs)
    if not isinstance(doc, LDict):
        raise p.fail("expected a mapping with `struct:` and `members:`", 1)
    unknown = set(doc) - TOP_KEYS
    if unknown:
        key = sorted(map(str, unknown))[0]
        raise p.fail(f"unknown top-level key {key!r}", doc.line_of(key))
    name = doc.get("struct")
    if not isinstance(name, str) or not name.isidentifier():
        raise p.fail("`struct:` must name the struct", doc.line_of("struct"))
    if "members" not in doc:
        raise p.fail("`members:` is missing", doc.line)
    root = SpecNode("struct", name, doc.line_of("members"))
    root.children = p.members(doc["members"], doc.line_of("members"), f"struct {name}")
    if "align" in doc:
        root.align = p.expr(doc["align"], doc.line_of("align"), "alignment")
    expect = p.expr(doc["expect_size"], doc.line_of("expect_size"), "size assert") if "expect_size" in doc else None
    span = p.guard({"since": doc.get("since"), "until": doc.get("until")}, doc.line)
    exists = p.expr(span, doc.line, "since/until") if span is not None else None
    return LayoutSpec(
        name=name,
        path=path,
        kernel=str(doc.get("kernel", "")),
        doc=str(doc.get("doc", "") or ""),
        root=root,
        overlays=doc.get("overlays"),
        expect_size=expect,
        generated=bool(doc.get("generated", False)),
        exists=exists,
        span_note=" ".join(f"{k} {doc[k]}" for k in ("since", "until") if doc.get(k) is not None),
    )
