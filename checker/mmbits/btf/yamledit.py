"""Comment-preserving edits of a shipped layouts/ YAML file, every new text made by yaml.safe_dump.

`btf import` writes a release's differences into the hand-written data files,
whose comments cite the commits behind each change, so loading and re-dumping a
whole file (which drops every comment) is not an option. Instead the file is
composed once (nodes with their marks, nothing constructed) and three edits are
offered: add a key to an existing mapping (`until:`), insert list items after
or before an existing item, and replace a key's value. Every inserted text is one
`yaml.safe_dump` document, re-indented to the place it goes; nothing is built by
joining names into YAML. The caller checks the result by loading it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from mmbits.errors import InputError


def dump(data: Any, flow: bool | None = False, width: int = 4096) -> list[str]:
    """`data` as YAML lines (no trailing newlines), through the safe dumper only."""
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=flow, width=width, allow_unicode=False)
    return text.removesuffix("\n").removesuffix("...").rstrip("\n").split("\n")


@dataclass
class _Replace:
    start: tuple[int, int]  # (line, column), 0-based
    end: tuple[int, int]
    text: str


@dataclass
class YamlText:
    """One file's text, its composed nodes and the edits asked for so far."""

    text: str
    path: str
    lines: list[str] = field(init=False)
    root: yaml.Node = field(init=False)
    _maps: dict[int, yaml.MappingNode] = field(init=False, default_factory=dict)
    _inserts: dict[int, list[str]] = field(init=False, default_factory=dict)
    _replaces: list[_Replace] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        from mmbits.yamlio import expanded_size

        self.lines = self.text.split("\n")
        node = yaml.compose(self.text, Loader=yaml.SafeLoader)
        if not isinstance(node, yaml.MappingNode):
            raise InputError("expected a YAML mapping", file=self.path)
        expanded_size(node)  # a shipped file, but the same alias budget as every load
        self.root = node
        stack: list[yaml.Node] = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, yaml.MappingNode):
                line = n.start_mark.line + 1
                old = self._maps.get(line)
                if old is None or n.start_mark.column < old.start_mark.column:
                    self._maps[line] = n
                stack.extend(v for pair in n.value for v in pair)
            elif isinstance(n, yaml.SequenceNode):
                stack.extend(n.value)

    # -- where things are ------------------------------------------------------

    def mapping_at(self, line: int) -> yaml.MappingNode:
        """The mapping (a list item) that starts on 1-based `line`."""
        node = self._maps.get(line)
        if node is None:
            raise InputError(f"no mapping starts on line {line}", file=self.path, line=line)
        return node

    def _last_line(self, node: yaml.Node) -> int:
        """0-based line of the last character of `node`'s own text (not the comments after it)."""
        if node.flow_style if isinstance(node, yaml.CollectionNode) else False:
            end = node.end_mark
            return end.line if end.column > 0 else end.line - 1
        best = node.start_mark.line
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, yaml.ScalarNode) or (isinstance(n, yaml.CollectionNode) and n.flow_style):
                e = n.end_mark
                best = max(best, e.line if e.column > 0 else e.line - 1)
            elif isinstance(n, yaml.MappingNode):
                stack.extend(v for pair in n.value for v in pair)
            elif isinstance(n, yaml.SequenceNode):
                stack.extend(n.value)
        while best > node.start_mark.line:
            text = self.lines[best].strip()
            if text and not text.startswith("#"):
                break
            best -= 1
        return best

    def _dash_column(self, item: yaml.MappingNode) -> int:
        line = self.lines[item.start_mark.line]
        prefix = line[:item.start_mark.column].rstrip()
        if not prefix.endswith("-") or prefix[:-1].strip():
            raise InputError("a list item this editor cannot place (not `- key: ...` on its own line)",
                             file=self.path, line=item.start_mark.line + 1)
        return len(prefix) - 1

    # -- edits -------------------------------------------------------------------

    def add_key(self, line: int, key: str, value: Any, inner: bool = False) -> None:
        """Add `key: value` to the mapping starting on `line` (block: a new line; flow: rewritten).
        `inner`: to the mapping that is the value of its one key (`- PG_x: {policy: ...}`)."""
        node = self.mapping_at(line)
        if inner:
            if len(node.value) != 1 or not isinstance(node.value[0][1], yaml.MappingNode):
                raise InputError("expected `- NAME: {...}`", file=self.path, line=line)
            node = node.value[0][1]
        if any(isinstance(k, yaml.ScalarNode) and k.value == key for k, _v in node.value):
            raise InputError(f"already has `{key}:`", file=self.path, line=line)
        if node.flow_style:
            data = yaml.safe_load(self._span(node))
            data[key] = value
            (text,) = dump(data, flow=True)
            self._replaces.append(_Replace((node.start_mark.line, node.start_mark.column),
                                           (node.end_mark.line, node.end_mark.column), text))
            return
        pad = " " * node.start_mark.column
        self._insert(self._last_line(node) + 1, [pad + t for t in dump({key: value})])

    def insert_items(self, items: list[Any], *, after: int | None = None, before: int | None = None,
                     flow: bool | None = False) -> None:
        """New list items after the item starting on 1-based line `after` (or before `before`)."""
        anchor = self.mapping_at(after if after is not None else before)  # type: ignore[arg-type]
        col = self._dash_column(anchor)
        text = [" " * col + t for t in dump(items, flow=flow)]
        where = self._last_line(anchor) + 1 if after is not None else anchor.start_mark.line
        self._insert(where, text)

    def replace_value(self, key: str, value: Any) -> None:
        """Replace a top-level key's value (the `kernels:` list, written as a flow list)."""
        for k, v in self.root.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                lines = dump({key: value}, flow=None, width=100)
                end = (v.end_mark.line, v.end_mark.column)
                self._replaces.append(_Replace((k.start_mark.line, k.start_mark.column), end, "\n".join(lines)))
                return
        raise InputError(f"no top-level `{key}:`", file=self.path)

    def _insert(self, index: int, lines: list[str]) -> None:
        self._inserts.setdefault(index, []).extend(lines)

    def _span(self, node: yaml.Node) -> str:
        s, e = node.start_mark, node.end_mark
        if s.line == e.line:
            return self.lines[s.line][s.column:e.column]
        return "\n".join([self.lines[s.line][s.column:], *self.lines[s.line + 1:e.line], self.lines[e.line][:e.column]])

    @property
    def changed(self) -> bool:
        return bool(self._inserts or self._replaces)

    def result(self) -> str:
        """The edited text."""
        starts = {r.start[0]: r for r in self._replaces}
        out: list[str] = []
        i = 0
        while i < len(self.lines):
            out.extend(self._inserts.get(i, []))
            r = starts.get(i)
            if r is None:
                out.append(self.lines[i])
                i += 1
                continue
            out.append(self.lines[i][:r.start[1]] + r.text + self.lines[r.end[0]][r.end[1]:])
            i = r.end[0] + 1
        out.extend(self._inserts.get(len(self.lines), []))
        return "\n".join(out)
