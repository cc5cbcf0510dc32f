"""On-disk index of a domain part's groups, so a new question over a big domain does not
enumerate the part's valid combinations and rebuild every group's config again.

A part's groups for a set of varied symbols are a pure function of the data files
(kconfig.yaml, domains.yaml: the ranges, the rules, the derived symbols) and of the
code that enumerates them. The entry name is a BLAKE2b-256 of the code stamp, the
data stamp (the content of every file under the layouts root in use, so an edited
layout or $MMBITS_LAYOUTS pointing elsewhere misses), the part (name, arch, ranges,
`set:` expressions) and what is asked (the varied symbols grouped on, or the size).

An entry holds the base config (primary and full symbol maps) and, per group, its
count and the values of the symbols that differ from the base: rebuilding a config is
two dict copies and two updates, no expression is evaluated. Entries are JSON bound to
their key (never pickles), read and written only through `cachedir` (own regular files,
O_NOFOLLOW, mkstemp 0600, private directories); an entry that does not parse or does not
have the expected shape is ignored and recomputed. MMBITS_CACHE=off turns it off.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from mmbits.cachedir import code_stamp, data_stamp, digest, load_json, private_dir, store_json

MAGIC = "mmbits-domain-index 1"
MAX_ENTRY_BYTES = 256 * 1024 * 1024  # the largest shipped part grouped on everything: ~20 MB
_SCALAR = frozenset({int, bool, float, str, type(None)})


def key_of(part_identity: Sequence[Any], question: Iterable[str] | str) -> str | None:
    """The entry name for a part and a question, or None when the cache is off."""
    if private_dir("domain") is None:
        return None
    what = question if isinstance(question, str) else sorted(question)
    text = json.dumps({"part": part_identity, "q": what}, sort_keys=True, default=repr)
    return digest(code_stamp() + data_stamp() + text.encode()).hex()


def load(key: str | None) -> dict[str, Any] | None:
    return load_json("domain", key, MAGIC, "body", MAX_ENTRY_BYTES)


def store(key: str | None, body: Mapping[str, Any]) -> None:
    store_json("domain", key, MAGIC, "body", body)


def valid_groups(body: Mapping[str, Any]) -> bool:
    """The shape `DomainPart` writes: anything else (a truncated or foreign entry) is ignored.
    Checked with C-level passes (map/set), not per value in Python: an index is 1M values."""
    try:
        names, env_names, rows = body["names"], body["env_names"], body["rows"]
        bp, be = body["base_primary"], body["base_env"]
        if not (isinstance(bp, dict) and isinstance(be, dict) and isinstance(rows, list)
                and isinstance(names, list) and isinstance(env_names, list)):
            return False
        if not all(isinstance(n, str) and n in bp for n in names) or not all(isinstance(n, str) for n in env_names):
            return False
        if not set(map(type, (*bp.values(), *be.values()))) <= _SCALAR:
            return False
        if not rows:
            return True
        if set(map(type, rows)) != {list} or set(map(len, rows)) != {1 + len(names) + len(env_names)}:
            return False
        counts = list(map(itemgetter(0), rows))
        return set(map(type, counts)) == {int} and min(counts) > 0 and \
            set(map(type, chain.from_iterable(rows))) <= _SCALAR
    except (KeyError, TypeError):
        return False
