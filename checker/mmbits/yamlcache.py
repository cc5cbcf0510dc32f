"""Parsed YAML of the layouts' data files kept on disk, lines included, as plain data.

Every command loads a dozen or more of the shipped data files (24 for `check`): parsing
them with libyaml, counting aliases and constructing the line-carrying `LDict`/`LList`
was a fifth of a new question's whole process, and importing PyYAML a little more. A
file's parse is a function of its text and of the code, so an entry is named by a
BLAKE2b-256 of the code stamp and the text (`cachedir`), and holds the document with
each mapping as {"\\u0000m": line, "k": keys, "n": key lines, "v": values} and each
sequence as {"\\u0000s": line, "n": item lines, "v": items}, rebuilt by one walk. Entries
are marshal data behind its digest (`cachedir.store_data`, read back faster than the JSON
they were), bound to their key, read and written only through `cachedir` (own regular
files, O_NOFOLLOW, mkstemp 0600, private directories), never a pickle; an entry that does
not decode to such a document (a scalar other than None, a bool, an int, a str or a finite
float included) is a miss, and the file is parsed again. A document holding what JSON
cannot say exactly (a date, bytes, a set, a non-finite float) is not kept.
MMBITS_CACHE=off turns it off.
"""

from __future__ import annotations

import math
from typing import Any

from mmbits.cachedir import code_stamp, digest, load_data, private_dir, store_data
from mmbits.yamlio import LDict, LList

MAGIC = "mmbits-yaml 2"
SUB = "yaml"
MAX_ENTRY_BYTES = 32 * 1024 * 1024
MISS = object()
_MAP, _SEQ = "\0m", "\0s"


def key_of(text: str) -> str | None:
    if private_dir(SUB) is None:
        return None
    return digest(code_stamp() + text.encode("utf-8", "surrogatepass")).hex()


def load(key: str | None) -> Any:
    """The document kept under `key`, or MISS."""
    if key is None:
        return MISS
    body = load_data(SUB, key, MAGIC, "body", MAX_ENTRY_BYTES)
    if body is None or "doc" not in body:
        return MISS
    try:
        return _decode(body["doc"])
    except (ValueError, TypeError, KeyError):
        return MISS


def store(key: str | None, doc: Any) -> None:
    if key is None:
        return
    try:
        encoded = _encode(doc)
    except ValueError:
        return
    store_data(SUB, key, MAGIC, "body", {"doc": encoded})


def _encode(node: Any) -> Any:
    if isinstance(node, LDict):
        keys = list(node)
        for k in keys:
            _scalar(k)
        return {_MAP: node.line, "k": keys, "n": [node.line_of(k) for k in keys], "v": [_encode(v) for v in node.values()]}
    if isinstance(node, LList):
        return {_SEQ: node.line, "n": [node.line_of(i) for i in range(len(node))], "v": [_encode(v) for v in node]}
    return _scalar(node)


def _scalar(value: Any) -> Any:
    if value is None or type(value) in (bool, int, str) or (type(value) is float and math.isfinite(value)):
        return value
    raise ValueError(f"cannot keep {type(value).__name__} as JSON")


_PLAIN = frozenset({type(None), bool, int, str, float})


def _decode(node: Any) -> Any:
    """A kept mapping or sequence back to LDict/LList, all the way down; a scalar as it is.
    Anything else, or a malformed one, raises ValueError (a miss)."""
    kind = type(node)
    if kind in _PLAIN:
        if kind is float and not math.isfinite(node):
            raise ValueError("not a kept scalar")
        return node
    if kind is not dict:
        raise ValueError("not a kept document")
    plain = _PLAIN
    if _MAP in node:
        keys, lines, values = node["k"], node["n"], node["v"]
        if not (type(node[_MAP]) is int and type(keys) is list and type(lines) is list and type(values) is list
                and len(keys) == len(lines) == len(values) and all(type(n) is int for n in lines)
                and all(type(k) in plain and type(k) is not float for k in keys)):
            raise ValueError("not a kept mapping")
        out = LDict(zip(keys, [v if type(v) in plain and type(v) is not float else _decode(v) for v in values],
                        strict=True))
        if len(out) != len(keys):
            raise ValueError("duplicate key")
        out.line = node[_MAP]
        out.key_lines = dict(zip(keys, lines, strict=True))
        return out
    if _SEQ in node:
        lines, values = node["n"], node["v"]
        if not (type(node[_SEQ]) is int and type(lines) is list and type(values) is list
                and len(lines) == len(values) and all(type(n) is int for n in lines)):
            raise ValueError("not a kept sequence")
        seq = LList([v if type(v) in plain and type(v) is not float else _decode(v) for v in values])
        seq.line = node[_SEQ]
        seq.item_lines = lines
        return seq
    raise ValueError("not a kept document")
