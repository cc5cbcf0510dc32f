"""Kernel BTF, read by our own code: raw blobs, /sys/kernel/btf/vmlinux, ELF .BTF.

`open_btf(path)` gives a `Btf` (reader.py) whose index comes from the cache
when the same blob was read before; `tolayout.build_layout` turns a struct
into the foundation's `Layout`; `render` prints structs, unions, enums and
typedefs the way pahole does; `verify` compares BTF with our declarative
layouts; `importer` writes layout YAML from BTF. Kept import-light: the CLI
imports this on every `mmbits btf` run.
"""

from __future__ import annotations

from pathlib import Path

from mmbits.btf.reader import Btf


def open_btf(path: str | Path, use_cache: bool = True, blob: bytes | None = None, key: str | None = None) -> Btf:
    """Read and index a BTF file (raw, sysfs, ELF .BTF, .xz/.gz); InputError on bad input.
    A caller that already read the blob (and hashed it) passes `blob` (and `key`)."""
    from mmbits.btf import cache
    from mmbits.btf.source import read_btf_bytes

    name = str(path)
    if blob is None:
        blob = read_btf_bytes(path)
    if not use_cache or cache.cache_dir() is None:
        return Btf(blob, name)
    key = key or cache.blob_key(blob)
    index = cache.load(key)
    if index is not None:
        try:
            return Btf(blob, name, index=index)
        except ValueError:
            pass  # an entry inconsistent with the blob: rebuild it below
    btf = Btf(blob, name)
    cache.store(key, btf.index_bytes())
    return btf
