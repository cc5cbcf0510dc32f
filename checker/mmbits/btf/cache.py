"""On-disk cache of a BTF blob's type index, keyed by the blob's BLAKE2b-256 hash.

Walking the type section of a vmlinux BTF is the one per-file cost that does
not depend on what is printed; the walk's result (three arrays of 32-bit
words, ~0.7 MB) is saved so the next run only hashes the blob and reads it.

`mmbits btf show` also keeps what it printed, keyed by the blob's hash, the
query, the options and a stamp of the code that renders it (every .py file of
mmbits.btf and mmbits.layout, by size and mtime), so asking a kernel the
same question again costs a hash and a read, as in ccache. Set
MMBITS_OUTPUT_CACHE=off to keep only the index cache.

Where: $MMBITS_CACHE_DIR, else $XDG_CACHE_HOME/mmbits, else
~/.cache/mmbits; entries live in its `btf/` directory and the whole
directory is safe to delete. MMBITS_CACHE=off disables it. An entry that
is truncated, corrupted or inconsistent with the blob is ignored (and
rewritten); a cache that cannot be written is silently skipped, never an
error.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

try:  # the built-in BLAKE2 spares start-up the OpenSSL initialisation hashlib does
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - every CPython build has it, but be safe
    from hashlib import blake2b as _blake2b

MAGIC = b"mmbits-btf-index 2\n"
TEXT_MAGIC = b"mmbits-btf-show 1\n"
DIGEST = 32


def cache_dir() -> Path | None:
    """The cache directory for BTF indexes, or None when caching is off."""
    if os.environ.get("MMBITS_CACHE", "").lower() in ("0", "off", "no", "false"):
        return None
    root = os.environ.get("MMBITS_CACHE_DIR")
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg) / "mmbits" if xdg else Path.home() / ".cache" / "mmbits"
    return base / "btf"


def _digest(data: bytes) -> bytes:
    return _blake2b(data, digest_size=DIGEST).digest()


def blob_key(blob: bytes) -> str:
    """The blob's BLAKE2b-256, hex: the cache entry's name."""
    return _digest(blob).hex()


def load(key: str) -> bytes | None:
    """The cached index for `key`, or None (missing, unreadable or corrupt)."""
    return _read(f"{key}.idx", MAGIC)


def _read(name: str, magic: bytes) -> bytes | None:
    """An entry's payload when its magic and checksum hold, else None."""
    d = cache_dir()
    if d is None:
        return None
    try:
        raw = (d / name).read_bytes()
    except OSError:
        return None
    head = len(magic) + DIGEST
    if not raw.startswith(magic) or len(raw) < head or _digest(raw[head:]) != raw[len(magic) : head]:
        return None
    return raw[head:]


def store(key: str, payload: bytes) -> None:
    """Save an index; any failure (read-only home, full disk) just means no cache."""
    _write(f"{key}.idx", MAGIC + _digest(payload) + payload)


def _write(name: str, data: bytes) -> None:
    """Atomic write of one entry; any failure just means no cache."""
    d = cache_dir()
    if d is None:
        return
    tmp = d / f".{name}.{os.getpid()}.tmp"
    try:
        d.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, d / name)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


# -- printed output ---------------------------------------------------------------------------

def output_cache_on() -> bool:
    return os.environ.get("MMBITS_OUTPUT_CACHE", "").lower() not in ("0", "off", "no", "false")


def code_stamp() -> str:
    """What `btf show` output depends on besides the blob and the query: this code."""
    here = os.path.dirname(os.path.abspath(__file__))
    parts = []
    for d in (here, os.path.join(os.path.dirname(here), "layout")):
        try:
            with os.scandir(d) as entries:
                for e in entries:
                    if e.name.endswith(".py"):
                        st = e.stat()
                        parts.append(f"{d}/{e.name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{d}:unreadable")
    return "\n".join(sorted(parts))


def output_key(blob_hex: str, query: str, options: str) -> str:
    return _digest("\0".join((blob_hex, query, options, code_stamp())).encode()).hex()


def load_text(key: str) -> str | None:
    """A cached `btf show` output, or None (missing, unreadable or corrupt)."""
    payload = _read(f"{key}.out", TEXT_MAGIC)
    if payload is None:
        return None
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def store_text(key: str, text: str) -> None:
    payload = text.encode("utf-8")
    _write(f"{key}.out", TEXT_MAGIC + _digest(payload) + payload)
