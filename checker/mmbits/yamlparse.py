"""The YAML parser behind `yamlio`: libyaml's CSafeLoader when PyYAML has it (its nodes
carry the same line marks), constructing `yamlio.LDict`/`LList` with the line of each
node, and the alias budget counted before anything is constructed (see `yamlio`).
Imported only when a document is really parsed: a process whose data files all come
from the parsed-YAML cache (`yamlcache`) does not import PyYAML.
"""

from __future__ import annotations

from typing import Any

import yaml

from mmbits.errors import InputError, clip
from mmbits.yamlio import MAX_EXPANDED_NODES, LDict, LList


def _base_loader() -> type:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_base_loader()):  # type: ignore[misc]
    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        expanded_size(node)
        return self.construct_document(node)


class AliasBombError(yaml.YAMLError):
    def __init__(self, message: str, mark: Any):
        super().__init__(message)
        self.message = message
        self.mark = mark


def expanded_size(root: yaml.Node, budget: int = MAX_EXPANDED_NODES) -> int:
    """How many nodes `root` stands for once aliases are expanded; AliasBombError past
    `budget` or on a node that contains itself. Each distinct node is visited once."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > budget:
                raise AliasBombError(f"aliases expand to more than {budget:,} nodes (an alias bomb?)",
                                     node.start_mark)
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise AliasBombError("an alias refers to a node that contains it", node.start_mark)
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise AliasBombError("an alias refers to a node that contains it", child.start_mark)
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


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


def parse(text: str, name: str) -> Any:
    """Parse YAML text; raise InputError naming `name` and the line on any problem."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except AliasBombError as exc:
        raise InputError(f"YAML error: {exc.message}", file=name, line=exc.mark.line + 1) from None
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
    except (ValueError, OverflowError) as exc:
        # a 5,000-digit number: int() refuses past 4,300 digits (CVE-2020-10735 limit)
        raise InputError(f"YAML error: a value cannot be read ({clip(exc, 80)})", file=name) from None
