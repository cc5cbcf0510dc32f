"""Which YAML files of the layout directories are struct layouts, kept on disk per content.

A layout set is read from the struct files of its directories, which also hold the other
data files (kconfig, domains, match, emulator, presets ...); telling the two apart meant
loading every file, and a one-report `mmbits decode` loaded four it never used otherwise
(~5% of its instructions). Which files are structs is a function of their texts and of the
code, so the answer is kept under a BLAKE2b-256 of the code stamp and of every file's path
and bytes, in `cachedir.store_data`'s format: bound to its key, a damaged, foreign or
malformed entry reads as a miss, and then every file is loaded as before. A file that
cannot be read makes no key (the loader reports it, as before), and an answer is kept only
once every file loaded, so a hit never skips a file whose load would fail.
MMBITS_CACHE=off turns it off.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mmbits.cachedir import code_stamp, digest, load_data, private_dir, store_data

MAGIC = "mmbits-struct-files 1"
SUB = "layouts"
MAX_ENTRY_BYTES = 1 << 20


def key_of(paths: Sequence[Path]) -> str | None:
    """The entry's name for these files as they are now; None when the cache is off or a
    file cannot be read (within the YAML limit)."""
    if private_dir(SUB) is None:
        return None
    from mmbits.errors import InputError
    from mmbits.inputs import read_bytes
    from mmbits.yamlio import MAX_YAML_BYTES

    parts = [code_stamp()]
    try:
        for path in paths:
            data = read_bytes(str(path), MAX_YAML_BYTES, "a layout/proposal YAML")
            parts.append(b"%d:%s\0%d:" % (len(str(path)), str(path).encode("utf-8", "surrogateescape"), len(data)))
            parts.append(data)
    except InputError:
        return None
    return digest(b"".join(parts)).hex()


def load(key: str | None, count: int) -> list[int] | None:
    """The positions (in the key's file list of `count` files) of the struct files, or None."""
    body = load_data(SUB, key, MAGIC, "body", MAX_ENTRY_BYTES)
    found = body.get("structs") if body is not None else None
    if type(found) is not list or not all(type(i) is int and 0 <= i < count for i in found) \
            or found != sorted(set(found)):
        return None
    return found


def store(key: str | None, positions: list[int]) -> None:
    store_data(SUB, key, MAGIC, "body", {"structs": positions})
