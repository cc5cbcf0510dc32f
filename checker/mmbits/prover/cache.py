"""On-disk cache of `mmbits check` answers, so asking the same question again costs
a few hashes and one small JSON read instead of the domain proof.

The key is a BLAKE2b-256 of everything an answer depends on: the question as the
user gave it (expression, word, kind, name, steps, --define/--new-flag, the
proposal file's bytes, the config selection: preset name, .config bytes, domain
name, --set), the content of every data file under layouts/, and a stamp of the
code (every .py file of the mmbits package, by path, size and mtime, as the BTF
show cache does). Change any of them and the entry is simply not found.

Where: $MMBITS_CACHE_DIR/check (else $XDG_CACHE_HOME/mmbits/check, else
~/.cache/mmbits/check); MMBITS_CACHE=off disables it. Entries are JSON, never
pickles: a cache directory someone else can write cannot run code. A truncated,
corrupt or foreign entry is ignored; a cache that cannot be written is skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from mmbits.cachedir import cache_root
from mmbits.paths import layouts_root

try:  # the built-in BLAKE2 spares start-up the OpenSSL initialisation hashlib does
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover
    from hashlib import blake2b as _blake2b

MAGIC = "mmbits-check-result 1"


def cache_dir() -> Path | None:
    base = cache_root()
    return None if base is None else base / "check"


def _digest(data: bytes) -> bytes:
    return _blake2b(data, digest_size=32).digest()


@cache
def _code_stamp() -> bytes:
    """Every .py file of the package by path, size and mtime: a code change misses."""
    root = Path(__file__).resolve().parent.parent
    parts: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", "layouts"))
        for name in sorted(filenames):
            if name.endswith(".py"):
                st = os.stat(os.path.join(dirpath, name))
                parts.append(f"{os.path.relpath(os.path.join(dirpath, name), root)}:{st.st_size}:{st.st_mtime_ns}")
    return _digest("\n".join(parts).encode())


@cache
def _data_stamp() -> bytes:
    """The content of every data file: an edited layout misses."""
    root = layouts_root().resolve()
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                out.append(os.path.relpath(path, root).encode() + b"\0" + _digest(fh.read()))
    return _digest(b"\n".join(out))


def _file_digest(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            return _digest(fh.read()).hex()
    except OSError:
        return None  # the run itself reports the unreadable file


def key_of(question: dict[str, Any], files: dict[str, str | None]) -> str | None:
    """The entry name for a question, or None when caching is off or a file cannot be read."""
    if cache_dir() is None:
        return None
    digests = {}
    for what, path in files.items():
        d = _file_digest(path)
        if path is not None and d is None:
            return None
        digests[what] = d
    text = json.dumps({"q": question, "files": digests, "env": os.environ.get("MMBITS_LAYOUTS", "")},
                      sort_keys=True, default=str)
    return _digest(_code_stamp() + _data_stamp() + text.encode()).hex()


def load(key: str | None) -> dict[str, Any] | None:
    base = cache_dir()
    if key is None or base is None:
        return None
    try:
        raw = (base / f"{key}.json").read_text()
        doc = json.loads(raw)
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("magic") != MAGIC or doc.get("key") != key:
        return None
    result = doc.get("result")
    return result if isinstance(result, dict) else None


def store(key: str | None, result: dict[str, Any]) -> None:
    base = cache_dir()
    if key is None or base is None:
        return
    with contextlib.suppress(OSError):
        base.mkdir(parents=True, exist_ok=True)
        tmp = base / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"magic": MAGIC, "key": key, "result": result}))
        os.replace(tmp, base / f"{key}.json")
