"""The C names a bit expression may use, with their values for one config.

`BIT(NR_PAGEFLAGS)` means different bits on different configs; this is the
symbol table the prover and the emulator both evaluate expressions against:
enum pageflags and every alias (PG_*, PT_*, SL_*), NR_PAGEFLAGS, the page-flags
masks, the packing macros (*_PGOFF, *_WIDTH), zones, page types (PGTY_*) and
BITS_PER_LONG. Values come from the layouts data, never from a table here.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from mmbits.flags.data import load_flag_data
from mmbits.flags.packing import INPUT_SYMBOLS, compute

# macros that are unsigned long in the kernel (masks built from 1UL << x)
UNSIGNED_LONG = {"PAGEFLAGS_MASK", "LRU_GEN_MASK", "LRU_REFS_MASK", "PAGE_FLAGS_CHECK_AT_FREE",
                 "PAGE_FLAGS_CHECK_AT_PREP", "PAGE_FLAGS_SECOND", "PAGE_FLAGS_PRIVATE", "__PG_HWPOISON",
                 "__PG_MLOCKED", "THP_SPLIT_COPY"}


def c_names(config: Mapping[str, Any], extra_flags: int = 0) -> tuple[dict[str, int], dict[str, str]]:
    """(name -> value, name -> C type) for a config; enum constants are int."""
    key = tuple(config.get(s, 0) for s in INPUT_SYMBOLS)
    return _c_names(key, extra_flags)


@lru_cache(maxsize=8192)
def _c_names(key: tuple[Any, ...], extra_flags: int) -> tuple[dict[str, int], dict[str, str]]:
    env = dict(zip(INPUT_SYMBOLS, key, strict=True))
    word = compute(env, extra_flags=extra_flags)
    data = load_flag_data()
    names: dict[str, int] = dict(word.symbols())
    # every alias of a present flag is an enum constant, whatever its validity
    for a in data.aliases:
        base = word.flag(a.base)
        if base is not None:
            names.setdefault(a.name, base.bit)
    for t in data.page_types:
        names[t.name] = t.value
    names["PAGE_TYPE_SHIFT"] = data.page_type_shift
    names["UINT_MAX"] = 0xFFFFFFFF
    types = {n: "unsigned long" for n in UNSIGNED_LONG if n in names}
    types["UINT_MAX"] = "unsigned int"
    return names, types
