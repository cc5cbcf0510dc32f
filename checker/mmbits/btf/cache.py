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
directory is safe to delete. MMBITS_CACHE=off disables it.

The cache must not lie and must not be turned against its user (issue #16):
- each entry holds its own key next to the payload, both under the checksum,
  and is used only when that key is the one asked for (a swapped or copied
  entry is a miss, never another blob's answer);
- only regular files owned by the user, opened without following symlinks,
  within a size limit, are read (a symlink to /dev/zero or a FIFO is a miss);
- entries are written through mkstemp (0600) in the cache directory and
  renamed into place; directories are created 0700;
- a cache directory that is not the user's own, or that others can write to
  (umask 000, a shared XDG_CACHE_HOME), is refused with one warning on stderr
  and the run goes on without a cache.
A corrupt or mismatched entry is ignored (and rewritten); a cache that cannot
be written is silently skipped, never an error.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

try:  # the built-in BLAKE2 spares start-up the OpenSSL initialisation hashlib does
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - every CPython build has it, but be safe
    from hashlib import blake2b as _blake2b

MAGIC = b"mmbits-btf-index 3\n"
TEXT_MAGIC = b"mmbits-btf-show 2\n"
DIGEST = 32
KEY_BYTES = 2 * DIGEST  # a key is a hex BLAKE2b-256
MAX_INDEX_BYTES = 256 * 1024 * 1024  # an allyesconfig index is ~5 MB
MAX_TEXT_BYTES = 64 * 1024 * 1024

_checked: dict[Path, bool] = {}


def configured_dir() -> Path | None:
    """Where the cache is meant to live, or None when MMBITS_CACHE turns it off."""
    if os.environ.get("MMBITS_CACHE", "").lower() in ("0", "off", "no", "false"):
        return None
    root = os.environ.get("MMBITS_CACHE_DIR")
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg) / "mmbits" if xdg else Path.home() / ".cache" / "mmbits"
    return base / "btf"


def cache_dir() -> Path | None:
    """The cache directory for BTF entries, or None: off, not creatable, or refused as
    unsafe (with one warning per process)."""
    d = configured_dir()
    if d is None:
        return None
    ok = _checked.get(d)
    if ok is None:
        ok = _checked[d] = _safe_dir(d)
    return d if ok else None


def _safe_dir(d: Path) -> bool:
    try:
        # every directory we create is 0700, the parents included (pathlib gives those 0777 & ~umask)
        missing = [p for p in (d, *d.parents) if not os.path.lexists(p)]
        for p in reversed(missing):
            with contextlib.suppress(FileExistsError):
                os.mkdir(p, 0o700)
        st = os.lstat(d)
        parent = os.lstat(d.parent)
    except OSError:
        return False  # read-only home, no permission: no cache, quietly
    me = os.geteuid()
    problem = None
    if not stat.S_ISDIR(st.st_mode):
        problem = "is not a directory (a symlink?)"
    elif st.st_uid != me:
        problem = f"is owned by uid {st.st_uid}, not by you"
    elif st.st_mode & 0o022:
        problem = "is writable by other users"
    elif parent.st_uid not in (me, 0) or (parent.st_mode & 0o022 and not parent.st_mode & stat.S_ISVTX):
        problem = "lies in a directory other users can rename it in"
    if problem is None:
        return True
    sys.stderr.write(f"mmbits: warning: cache directory {d} {problem}; running without a cache "
                     "(set MMBITS_CACHE_DIR to a private directory, or MMBITS_CACHE=off)\n")
    return False


def _digest(data: bytes) -> bytes:
    return _blake2b(data, digest_size=DIGEST).digest()


def blob_key(blob: bytes) -> str:
    """The blob's BLAKE2b-256, hex: the cache entry's name."""
    return _digest(blob).hex()


def load(key: str) -> bytes | None:
    """The cached index for `key`, or None (missing, unreadable, corrupt or another key's)."""
    return _read(key, ".idx", MAGIC, MAX_INDEX_BYTES)


def _read(key: str, suffix: str, magic: bytes, limit: int) -> bytes | None:
    """An entry's payload when it is a regular file of ours within `limit` whose magic,
    stored key and checksum hold for `key`, else None."""
    d = cache_dir()
    if d is None:
        return None
    raw = _read_regular(d / f"{key}{suffix}", limit)
    if raw is None:
        return None
    head = len(magic) + KEY_BYTES + DIGEST
    if len(raw) < head or not raw.startswith(magic):
        return None
    stored_key = raw[len(magic) : len(magic) + KEY_BYTES]
    checksum = raw[len(magic) + KEY_BYTES : head]
    payload = raw[head:]
    if stored_key != key.encode() or _digest(stored_key + payload) != checksum:
        return None
    return payload


def _read_regular(path: Path, limit: int) -> bytes | None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_size > limit:
            return None
        parts = []
        total = 0
        while total <= st.st_size:
            chunk = os.read(fd, min(1 << 20, st.st_size + 1 - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
        return b"".join(parts) if total == st.st_size else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _entry(key: str, magic: bytes, payload: bytes) -> bytes:
    stored_key = key.encode()
    return magic + stored_key + _digest(stored_key + payload) + payload


def store(key: str, payload: bytes) -> None:
    """Save an index; any failure (read-only home, full disk) just means no cache."""
    _write(f"{key}.idx", _entry(key, MAGIC, payload))


def _write(name: str, data: bytes) -> None:
    """Atomic write of one entry through a private temp file; any failure means no cache."""
    d = cache_dir()
    if d is None:
        return
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=d)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, d / name)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


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
    payload = _read(key, ".out", TEXT_MAGIC, MAX_TEXT_BYTES)
    if payload is None:
        return None
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def store_text(key: str, text: str) -> None:
    _write(f"{key}.out", _entry(key, TEXT_MAGIC, text.encode("utf-8")))
