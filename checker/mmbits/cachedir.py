"""Where mmbits keeps its caches, and the only way any cache reads or writes an entry.

$MMBITS_CACHE_DIR, else $XDG_CACHE_HOME/mmbits, else ~/.cache/mmbits;
MMBITS_CACHE=off turns every cache off. Import-light on purpose: a cache hit
must not pay for the modules it saves running.

Every cache (BTF index, `btf show` output, `check` answers, domain group indexes,
page->flags masks, class partitions and tables, a grouping's packing classes, a word's sites
and site symbols, parsed data YAML, data expression trees) goes through
`private_dir`, `read_entry` and `write_entry`, so none can be turned against its
user (issue #16): a directory that is not the user's own or that others can
write is refused with one warning; only regular files of ours, opened without
following symlinks and within a size limit, are read; entries are written
through a private temp file (0600, O_EXCL|O_NOFOLLOW, as mkstemp makes it) and renamed
into place, directories are created 0700.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import stat
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

try:  # the built-in BLAKE2 spares start-up the OpenSSL initialisation hashlib does
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover
    from hashlib import blake2b as _blake2b

_checked: dict[Path, bool] = {}
# the stores' writers of what this process computed (save_at_exit), run once when it exits
_exit_saves: list[Callable[[], None]] = []


def save_at_exit(save: Callable[[], None]) -> None:
    """Have `save` run when the process exits. The stores that gather new answers during a
    run (flag masks, expression trees, a word's sites, decode's inferred configs) write them
    once, at the end, merged with what their entries hold; each asks here when it first has
    something to write, and asking again is free. A forked child that leaves by os._exit
    (decode/parallel.py) runs no atexit handler: it calls `save_now()`."""
    if save in _exit_saves:
        return
    if not _exit_saves:
        atexit.register(save_now)
    _exit_saves.append(save)


def save_now() -> None:
    """Write what every store has gathered so far (each writer keeps nothing it wrote)."""
    for save in list(_exit_saves):
        save()


def cache_root() -> Path | None:
    if os.environ.get("MMBITS_CACHE", "").lower() in ("0", "off", "no", "false"):
        return None
    root = os.environ.get("MMBITS_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "mmbits" if xdg else Path.home() / ".cache" / "mmbits"


def configured_dir(sub: str) -> Path | None:
    """Where the `sub` cache is meant to live, or None when MMBITS_CACHE turns it off."""
    root = cache_root()
    return None if root is None else root / sub


def private_dir(sub: str) -> Path | None:
    """The `sub` cache directory, or None: off, not creatable, or refused as unsafe (with
    one warning per directory and process)."""
    d = configured_dir(sub)
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


def read_entry(path: Path, limit: int) -> bytes | None:
    """A regular file of ours within `limit` bytes, read whole, else None (a symlink, a
    FIFO, /dev/zero, someone else's file, a file that changed size while read)."""
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


def write_entry(d: Path, name: str, data: bytes) -> None:
    """Atomic write of one entry through a private temp file; any failure means no cache."""
    tmp = None
    try:
        fd, tmp = _private_temp(d, name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, d / name)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


_TEMP_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _private_temp(d: Path, name: str) -> tuple[int, Path]:
    """A new file of ours in `d`, 0600, created exclusively and never through a symlink:
    what tempfile.mkstemp makes, without importing tempfile (with shutil, bz2, lzma and
    random: ~5 ms of every process that writes an entry, a new question's included)."""
    for _ in range(100):
        path = d / f".{name}.{os.urandom(8).hex()}.tmp"
        try:
            return os.open(path, _TEMP_FLAGS, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no unused temporary name in {d}")


def digest(data: bytes) -> bytes:
    """BLAKE2b-256: the one hash every cache key is made of."""
    return _blake2b(data, digest_size=32).digest()


def entry_name(sub: str, what: object) -> str | None:
    """The name of the `sub` cache's entry for `what` (any JSON-able key; other values by
    repr), bound to the code and the layouts data in use; None when that cache is off.
    One scheme for every store keyed this way, so a key is spelled the same everywhere."""
    if private_dir(sub) is None:
        return None
    return digest(code_stamp() + data_stamp() + _key_text(what).encode()).hex()


def _key_text(what: object) -> str:
    """json.dumps(what, sort_keys=True, default=repr); None and a plain printable ASCII
    string spelled here, as json spells them, without importing json (a decode's two keys
    are such: importing json was ~2% of a one-report decode)."""
    if what is None:
        return "null"
    if type(what) is str and what.isascii() and what.isprintable() and '"' not in what and "\\" not in what:
        return f'"{what}"'
    import json

    return json.dumps(what, sort_keys=True, default=repr)


@cache
def code_stamp() -> bytes:
    """Every .py file of the package by path, size and mtime: a code change misses. (One
    scandir per directory and paths made by joining names: os.walk with os.path.relpath per
    file was ~1.5% of a new question's instructions.)"""
    parts: list[str] = []
    _stamp_dir(str(Path(__file__).resolve().parent), "", parts)
    return digest("\n".join(parts).encode())


def _stamp_dir(path: str, rel: str, parts: list[str]) -> None:
    """`path`'s .py files (as os.stat sees them) by their path below the package, then its
    subdirectories (not symlinks, not __pycache__ or the layouts), in name order."""
    with os.scandir(path) as it:
        entries = sorted(it, key=lambda e: e.name)
    subdirs = []
    for e in entries:
        if e.is_dir():
            if not e.is_symlink() and e.name not in ("__pycache__", "layouts"):
                subdirs.append(e)
        elif e.name.endswith(".py"):
            st = e.stat()
            parts.append(f"{rel}{e.name}:{st.st_size}:{st.st_mtime_ns}")
    for e in subdirs:
        _stamp_dir(e.path, f"{rel}{e.name}/", parts)


def data_stamp() -> bytes:
    """The content of every data file under the layouts root in use ($MMBITS_LAYOUTS or
    the shipped one): an edited layout misses. Memoised per root."""
    from mmbits.paths import layouts_root

    return _data_stamp(_resolved(str(layouts_root())))


@cache
def _resolved(root: str) -> str:
    """`root` with its symlinks resolved, once per root: every cache key asks for the data
    stamp (~40 times in a new question), and each resolve() was an lstat per path part."""
    return str(Path(root).resolve())


@cache
def _data_stamp(root: str) -> bytes:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                out.append(os.path.relpath(path, root).encode() + b"\0" + digest(fh.read()))
    return digest(b"\n".join(out))


def load_json(sub: str, key: str | None, magic: str, field: str, limit: int) -> dict[str, object] | None:
    """The JSON object stored under `field` of the `sub` cache's entry `key`, or None: an
    entry is JSON written by `store_json` and bound to its key and kind (never a pickle), so
    a swapped, foreign, truncated or corrupt entry reads as a miss."""
    import json

    def decode(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            return None

    return _load_entry(sub, key, "json", limit, decode, magic, field)


def _load_entry(sub: str, key: str | None, suffix: str, limit: int, decode: Callable[[bytes], Any], magic: str,
                field: str) -> dict[str, Any] | None:
    """The dict under `field` of the `sub` cache's entry `key`.`suffix`, decoded, if it is an
    envelope of this kind (`magic`) bound to this key; else None."""
    base = private_dir(sub)
    if key is None or base is None:
        return None
    raw = read_entry(base / f"{key}.{suffix}", limit)
    doc = decode(raw) if raw is not None else None
    if not isinstance(doc, dict) or doc.get("magic") != magic or doc.get("key") != key:
        return None
    body = doc.get(field)
    return body if isinstance(body, dict) else None


def store_json(sub: str, key: str | None, magic: str, field: str, body: object) -> None:
    import json

    _store_entry(sub, key, "json", lambda doc: json.dumps(doc, separators=(",", ":")).encode(), magic, field, body)


def _store_entry(sub: str, key: str | None, suffix: str, encode: Callable[[dict[str, Any]], bytes], magic: str,
                 field: str, body: object) -> None:
    """`body` under `field` of an envelope of this kind bound to `key`, written as the `sub`
    cache's entry `key`.`suffix` (`_load_entry` reads it back); nothing when that cache is off."""
    base = private_dir(sub)
    if key is None or base is None:
        return
    write_entry(base, f"{key}.{suffix}", encode({"magic": magic, "key": key, field: body}))


# -- entries as marshal data: what the prover's big tables are kept as ---------------------

_DATA_HEAD = b"mmbits-data 1\n"


def encode_entry(doc: dict[str, Any]) -> bytes:
    """An entry as `load_data` reads it: a header, a BLAKE2b-256 of the payload, and the
    payload, `doc` in marshal's format (plain data only: the stores put in lists, dicts,
    ints and strings, never code). marshal reads such data back several times faster than
    json does (the default domain's class partition and table: 11 ms as JSON, 3.5 ms so)."""
    import marshal

    payload = marshal.dumps(doc, 4)
    return _DATA_HEAD + digest(payload) + payload


def decode_entry(raw: bytes) -> Any:
    """What `encode_entry` made, or None: another header, a payload whose digest is not the
    one written with it (truncated, damaged, not ours), or one marshal cannot read. Only
    bytes an encode_entry made are given to marshal."""
    import marshal

    n = len(_DATA_HEAD)
    if raw[:n] != _DATA_HEAD or len(raw) < n + 32:
        return None
    payload = raw[n + 32:]
    if digest(payload) != raw[n:n + 32]:
        return None
    try:
        return marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None


def load_data(sub: str, key: str | None, magic: str, field: str, limit: int) -> dict[str, Any] | None:
    """`load_json` for an entry written by `store_data`: the dict under `field`, or None
    (absent, foreign, another kind, damaged); the caller still checks what it holds."""
    return _load_entry(sub, key, "data", limit, decode_entry, magic, field)


def store_data(sub: str, key: str | None, magic: str, field: str, body: object) -> None:
    _store_entry(sub, key, "data", encode_entry, magic, field, body)
