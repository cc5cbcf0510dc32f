"""On-disk index of a domain part's groups, so a new question over a big domain does not
enumerate the part's valid combinations and rebuild every group's config again.

A part's groups for a set of varied symbols are a pure function of the data files
(kconfig.yaml, domains.yaml: the ranges, the rules, the derived symbols) and of the
code that enumerates them. The entry name is a BLAKE2b-256 of the code stamp, the
data stamp (the content of every file under the layouts root in use, so an edited
layout or $MMBITS_LAYOUTS pointing elsewhere misses), the part (name, arch, ranges,
`set:` expressions) and what is asked (the varied symbols grouped on, or the size).

An entry holds the base config (primary and full symbol maps) and the groups in product
form: per joint component (a factor) its projected assignments' counts and the values of
the symbols that follow it alone, and a `cross` table for the symbols that read several
components; the groups are the product of the factors (domain._expand, C-level
iterators), each row the values of the symbols that differ from the base: rebuilding a
config is two dict copies and two updates, no expression is evaluated. Entries are JSON bound to
their key (never pickles), read and written only through `cachedir` (own regular files,
O_NOFOLLOW, mkstemp 0600, private directories); an entry that does not parse or does not
have the expected shape is ignored and recomputed. MMBITS_CACHE=off turns it off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import Any

from mmbits.cachedir import entry_name, load_json, store_json

MAGIC = "mmbits-domain-index 2"  # 2: the groups in product form
MAX_ENTRY_BYTES = 256 * 1024 * 1024  # product form: the largest shipped part is ~1 MB
_SCALAR = frozenset({int, bool, float, str, type(None)})


def key_of(part_identity: Sequence[Any], question: Iterable[str] | str) -> str | None:
    """The entry name for a part and a question, or None when the cache is off."""
    what = question if isinstance(question, str) else sorted(question)
    return entry_name("domain", {"part": part_identity, "q": what})


def load(key: str | None) -> dict[str, Any] | None:
    return load_json("domain", key, MAGIC, "body", MAX_ENTRY_BYTES)


def store(key: str | None, body: Mapping[str, Any]) -> None:
    store_json("domain", key, MAGIC, "body", body)


def valid_groups(body: Mapping[str, Any]) -> bool:
    """The shape `DomainPart._group_rows` writes: anything else (a truncated or foreign
    entry) is ignored. The product form is small (the factors, not their product), but
    the checks stay C-level passes (map/set), not per value in Python."""
    try:
        columns, primary, env = body["columns"], body["primary"], body["env"]
        bp, be, multiplier = body["base_primary"], body["base_env"], body["multiplier"]
        factors, cross = body["factors"], body["cross"]
        if not (isinstance(bp, dict) and isinstance(be, dict) and isinstance(factors, list)
                and isinstance(columns, list) and isinstance(primary, list) and isinstance(env, list)
                and isinstance(cross, dict) and type(multiplier) is int and multiplier >= 0):
            return False
        if set(map(type, (*columns, *primary, *env))) - {str} or len(set(columns)) != len(columns):
            return False
        if not (set(primary) <= set(columns) and set(primary) <= set(bp) and set(env) <= set(columns)):
            return False
        if not set(map(type, (*bp.values(), *be.values()))) <= _SCALAR:
            return False
        tables = [(f["counts"], f["values"]) for f in factors]
        comps, extra = cross["comps"], cross["values"]
        if not (isinstance(comps, list) and isinstance(extra, list)):
            return False
        if set(map(type, comps)) - {int} or comps != sorted(set(comps)) or \
                any(not 0 <= c < len(factors) for c in comps):
            return False
        want = 1
        for c in comps:
            want *= len(tables[c][0])
        tables.append(([1] * len(extra), extra))
        if len(extra) != (want if comps else 0):
            return False
        width = 0
        for counts, values in tables:
            if not (isinstance(counts, list) and isinstance(values, list) and len(counts) == len(values)):
                return False
            if set(map(type, counts)) - {int} or (counts and min(counts) <= 0):
                return False
            if set(map(type, values)) - {list}:
                return False
            widths = set(map(len, values))
            if len(widths) > 1 or not set(map(type, chain.from_iterable(values))) <= _SCALAR:
                return False
            width += widths.pop() if widths else 0
        return width == len(columns) and all(tables[i][0] for i in range(len(factors)))
    except (KeyError, TypeError, AttributeError):
        return False
