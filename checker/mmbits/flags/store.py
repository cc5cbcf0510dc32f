"""On-disk store of the page->flags masks computed per mask shape, so a new process asking a
new question over a big domain does not evaluate the mask formulas again (1,819 mask sets on
the default domain: a sixth of a new question's whole process).

The masks (`FlagsWord.masks`) are a pure function of the mask key (`flags.packing._mask_key`:
the flag shape, the release, the LRU field masks, the field names), the flag data and the
code. Entries are sharded by the flag shape (which flags and aliases are present, and how
many are added): a domain reads the few shards its configs have. A shard's name is a
BLAKE2b-256 of the code stamp, the data stamp (every file under the layouts root in use) and
the shape, so edited code or data misses. Entries are plain data in marshal's format with
its digest (`cachedir.store_data`: a new question reads ~25 shards, as JSON 5 ms of it),
bound to their key, read and written only through `cachedir` (own regular files, O_NOFOLLOW, mkstemp 0600, private
directories); a shard that does not decode, or an entry that is not a name -> int map, is a
miss and is recomputed. New entries are written once, when the process exits.
MMBITS_CACHE=off turns it off. (The packings themselves are cheaper to compute than to read
back from JSON.)
"""

from __future__ import annotations

import os
from typing import Any

from mmbits.cachedir import (
    code_stamp,
    data_stamp,
    digest,
    load_data,
    private_dir,
    save_at_exit,
    store_data,
)

MAGIC = "mmbits-mask-store 2"
SUB = "masks"
MAX_SHARD_BYTES = 64 * 1024 * 1024
_SHARDS: dict[tuple[Any, ...], dict[str, Any]] = {}  # shape -> {repr(rest of the key): masks}
_NEW: dict[tuple[Any, ...], dict[str, dict[str, int]]] = {}  # what this process computed


_ENV = ("MMBITS_CACHE", "MMBITS_CACHE_DIR", "XDG_CACHE_HOME", "HOME", "MMBITS_LAYOUTS")
_NAMES: dict[tuple[Any, ...], str | None] = {}


def _name(shape: tuple[Any, ...]) -> str | None:
    """The shard's name, remembered per shape and the environment that places the cache and
    the layouts: a new question asks it once per mask set (1,800 on the default domain), and
    resolving the directory and the data stamp each time cost a quarter of a second."""
    key = (shape, *(os.environ.get(v) for v in _ENV))
    if key in _NAMES:
        return _NAMES[key]
    name = None if private_dir(SUB) is None else digest(code_stamp() + data_stamp() + repr(shape).encode()).hex()
    _NAMES[key] = name
    return name


def _shard(shape: tuple[Any, ...]) -> dict[str, Any]:
    found = _SHARDS.get(shape)
    if found is None:
        body = load_data(SUB, _name(shape), MAGIC, "body", MAX_SHARD_BYTES)
        found = _SHARDS[shape] = body if body is not None else {}
    return found


def masks(key: tuple[Any, ...]) -> dict[str, int] | None:
    """The stored masks for a mask key (its first item the flag shape), or None."""
    found = _shard(key[0]).get(repr(key[1:]))
    if not isinstance(found, dict) or not found or \
            not all(isinstance(k, str) and type(v) is int for k, v in found.items()):
        return None
    return found


def keep(key: tuple[Any, ...], value: dict[str, int]) -> None:
    """Remember masks this process computed, for its exit."""
    if _name(key[0]) is None:
        return
    _NEW.setdefault(key[0], {})[repr(key[1:])] = dict(value)
    save_at_exit(save)


def save() -> None:
    """Write what this process computed into its shards (merged with what they hold)."""
    for shape, new in list(_NEW.items()):
        name = _name(shape)
        if name is None:
            continue
        _SHARDS.pop(shape, None)
        body = {**_shard(shape), **new}
        store_data(SUB, name, MAGIC, "body", body)
        _SHARDS[shape] = body
    _NEW.clear()
