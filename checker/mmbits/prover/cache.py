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

import json
import os
import stat
from pathlib import Path
from typing import Any

from mmbits.cachedir import code_stamp as _code_stamp
from mmbits.cachedir import data_stamp as _data_stamp
from mmbits.cachedir import digest as _digest
from mmbits.cachedir import load_json, private_dir, store_json

MAGIC = "mmbits-check-result 1"


MAX_ENTRY_BYTES = 64 * 1024 * 1024  # a full-domain answer with schedules is ~100 KB
MAX_KEYED_FILE_BYTES = 32 * 1024 * 1024  # inputs.LIMIT_CONFIG: a larger input is refused anyway


def cache_dir() -> Path | None:
    return private_dir("check")


def _file_digest(path: str | None) -> str | None:
    if path is None:
        return None
    # only a regular file within the input limit is hashed: /dev/zero, a FIFO or stdin
    # is not cached (the run itself then reads it with its bounds and reports it)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_KEYED_FILE_BYTES:
            return None
        with open(path, "rb") as fh:
            return _digest(fh.read(MAX_KEYED_FILE_BYTES + 1)).hex()
    except OSError:
        return None


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
    return load_json("check", key, MAGIC, "result", MAX_ENTRY_BYTES)


def store(key: str | None, result: dict[str, Any]) -> None:
    store_json("check", key, MAGIC, "result", result)
