"""Safe YAML loading that remembers line numbers and refuses alias bombs.

Layout files and proposal files come from people and mailing lists: they are
loaded with a safe loader only (libyaml's CSafeLoader when PyYAML has it, for
speed; its nodes carry the same line marks), and every error must point at
FILE:LINE. The loader returns plain dict/list subclasses that carry the line of
each node. The parser (`yamlparse`, PyYAML) is imported only when a document is
parsed: the data files of the layouts in use are parsed once and kept, lines
included, as JSON (`yamlcache`), which reads back several times faster.

Anchors and aliases let 500 bytes describe 9**9 nodes: PyYAML builds each
shared node once, but everything that walks the result (the layout resolver, a
str() of it) pays for the expansion. So before anything is constructed, the
document's size *as if every alias were expanded* is counted over the node
graph (linear in its distinct nodes, merge keys included) and a document whose
expansion exceeds MAX_EXPANDED_NODES, or that refers to itself, is refused.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from mmbits.errors import InputError


class LDict(dict[Any, Any]):
    """A mapping with the 1-based line of itself and of each key."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LList(list[Any]):
    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


MAX_EXPANDED_NODES = 50_000  # the largest shipped data file expands to under 1,000 nodes
MAX_YAML_BYTES = 4 * 1024 * 1024


def load_text(text: str, name: str) -> Any:
    """Parse YAML text; raise InputError naming `name` and the line on any problem."""
    if len(text) > MAX_YAML_BYTES:
        raise InputError(f"larger than {MAX_YAML_BYTES >> 20} MB, the limit for a layout/proposal YAML",
                         file=name)
    from mmbits.yamlparse import parse

    return parse(text, name)


def expanded_size(root: Any, budget: int = MAX_EXPANDED_NODES) -> int:
    """How many nodes a composed YAML node stands for once aliases are expanded
    (`yamlparse.expanded_size`)."""
    from mmbits.yamlparse import expanded_size as count

    return count(root, budget)


_CACHE: dict[tuple[str, int, int], Any] = {}


def load_file(path: str | Path) -> Any:
    """Load a YAML file; the shipped data files are read once per process."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        st = None
    key = (str(path), st.st_mtime_ns, st.st_size) if st is not None else None
    if key is not None and key in _CACHE:
        return _CACHE[key]
    doc = _load_file(path)
    if key is not None and len(_CACHE) < 256:
        _CACHE[key] = doc
    return doc


def _load_file(path: Path) -> Any:
    from mmbits.inputs import display_name, read_text

    text = read_text(str(path), MAX_YAML_BYTES, "a layout/proposal YAML")
    if not _is_data(path):
        return load_text(text, display_name(str(path)))
    # a data file of the layouts in use: parsed once, kept as JSON (yamlcache)
    from mmbits import yamlcache

    key = yamlcache.key_of(text)
    doc = yamlcache.load(key)
    if doc is yamlcache.MISS:
        doc = load_text(text, display_name(str(path)))
        yamlcache.store(key, doc)
    return doc


def _is_data(path: Path) -> bool:
    from mmbits.paths import layouts_root

    try:
        return path.resolve().is_relative_to(_resolved_root(str(layouts_root())))
    except (OSError, RuntimeError):
        return False


@cache
def _resolved_root(root: str) -> Path:
    """The layouts root with its symlinks resolved, once per root (an lstat per part of the
    path, for every data file loaded)."""
    return Path(root).resolve()


def line_of(node: Any, key: Any = None) -> int | None:
    if isinstance(node, LDict):
        return node.line_of(key) if key is not None else node.line
    if isinstance(node, LList):
        return node.line_of(key) if isinstance(key, int) else node.line
    return None
