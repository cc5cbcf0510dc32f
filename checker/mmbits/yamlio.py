"""Safe YAML loading that remembers line numbers.

Layout files and proposal files come from people and mailing lists: they are
loaded with a safe loader only, and every error must point at FILE:LINE. The
loader returns plain dict/list subclasses that carry the line of each node.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mmbits.errors import InputError


class LDict(dict):
    """A mapping with the 1-based line of itself and of each key."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LList(list):
    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LDict:
    loader.flatten_mapping(node)
    out = LDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "unhashable key", key_node.start_mark
            ) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LList:
    out = LList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)

MAX_YAML_BYTES = 4 * 1024 * 1024


def load_text(text: str, name: str) -> Any:
    """Parse YAML text; raise InputError naming `name` and the line on any problem."""
    if len(text) > MAX_YAML_BYTES:
        raise InputError(f"file too large for a layout/proposal ({len(text)} bytes)", file=name)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise InputError(f"YAML error: {problem}", file=name, line=line) from None
    except yaml.reader.ReaderError as exc:
        # a NUL or other unprintable character: str(exc) is two lines ('in "<unicode string>"')
        line = text.count("\n", 0, exc.position) + 1
        raise InputError(f"YAML error: {str(exc).splitlines()[0]}", file=name, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {' '.join(str(exc).split())}", file=name) from None
    except RecursionError:
        raise InputError("YAML nesting too deep", file=name) from None


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
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from None
    return load_text(text, str(path))


def line_of(node: Any, key: Any = None) -> int | None:
    if isinstance(node, LDict):
        return node.line_of(key) if key is not None else node.line
    if isinstance(node, LList):
        return node.line_of(key) if isinstance(key, int) else node.line
    return None
