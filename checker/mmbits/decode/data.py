"""What dump_page() prints and which values mean something (layouts/<version>/dump_page.yaml).

The decoder must reproduce the kernel's own decode line to check it, so the
%pGp name order, the packed-field names and the page_type names are data, as
are the poison values it names. Nothing here knows a bit number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from mmbits.errors import InputError
from mmbits.paths import DEFAULT_KERNEL, version_dir
from mmbits.yamlio import load_file


@dataclass(frozen=True)
class FlagField:
    field: str  # packing field name (zone, last_cpupid ...)
    name: str  # what %pGp prints (zone, lastcpupid ...)
    hex: bool


@dataclass(frozen=True)
class Poison:
    name: str
    offset: int
    doc: str


@dataclass(frozen=True)
class Pattern:
    name: str
    byte: int
    doc: str


@dataclass(frozen=True)
class DumpData:
    pageflag_names: tuple[str, ...]
    flag_fields: tuple[FlagField, ...]
    page_type_print: dict[int, str]
    page_type_default: str
    pointer_poison: tuple[Poison, ...]
    patterns: tuple[Pattern, ...]
    magic32: tuple[tuple[str, int, str], ...]
    mapping_mask: int
    mapping_tags: dict[int, str]
    memcg_mask: int
    memcg_bits: dict[int, str]
    pp_low_bits: int
    entirely_mapped: int
    memdesc_tables: dict[str, dict[int, str]]
    address_hints: dict[str, frozenset[int]]
    arch_hints: tuple[ArchHint, ...] = ()
    arch_families: dict[str, dict[int, str]] | None = None
    big_endian_archs: frozenset[str] = frozenset()
    model_arch_names: dict[str, str] = field(default_factory=dict)
    typed_mapcount_zero_since: tuple[int, int] | None = None
    old_page_types: OldPageTypes | None = None
    pointer_types: tuple[str, ...] = ()
    pointer_words: frozenset[str] = frozenset()  # dump_page.yaml decode_words + words.yaml pointers
    counters: frozenset[str] = frozenset()
    list_heads: tuple[str, ...] = ()


@dataclass(frozen=True)
class OldPageTypes:
    """The pre-v6.12 page_type encoding: a cleared bit under `base` names the type."""

    until: tuple[int, int]
    base: int
    bits: dict[int, str]

    def names(self, page_type: int) -> list[str]:
        """The types a page_type word holds in this encoding ([] for none)."""
        if page_type & self.base != self.base:
            return []
        return [name for bit, name in sorted(self.bits.items()) if not page_type & bit]


@dataclass(frozen=True)
class ArchHint:
    """A log line that names the architecture (or its family, sized by the words)."""

    pattern: re.Pattern[str]
    arch: str | None
    family: str | None


def _int(value: object, path: str, line: int) -> int:
    try:
        return int(value, 0) if isinstance(value, str) else int(str(value))
    except (TypeError, ValueError):
        raise InputError(f"expected an integer, got {value!r}", file=path, line=line) from None


@cache
def load_dump_data(version: str = DEFAULT_KERNEL) -> DumpData:
    path = version_dir(version) / "dump_page.yaml"
    doc = load_file(path)
    p = str(path)
    fields = tuple(
        FlagField(str(f["field"]), str(f["name"]), str(f.get("format", "dec")) == "hex")
        for f in doc.get("flag_fields") or []
    )
    ptp = {_int(k, p, doc.line_of("page_type_print")): str(v) for k, v in (doc.get("page_type_print") or {}).items()}
    poisons = tuple(
        Poison(str(x["name"]), _int(x["offset"], p, doc.line_of("pointer_poison")), str(x.get("doc", "")))
        for x in doc.get("pointer_poison") or []
    )
    patterns = tuple(
        Pattern(str(x["name"]), _int(x["byte"], p, doc.line_of("pattern_poison")), str(x.get("doc", "")))
        for x in doc.get("pattern_poison") or []
    )
    magic = tuple((str(x["name"]), _int(x["value"], p, doc.line_of("magic32")), str(x.get("doc", "")))
                  for x in doc.get("magic32") or [])
    mt = doc.get("mapping_tags") or {}
    words = doc.get("decode_words") or {}
    mc = doc.get("memcg_tags") or {}
    return DumpData(
        pageflag_names=tuple(str(n) for n in doc.get("pageflag_names") or []),
        flag_fields=fields,
        page_type_print=ptp,
        page_type_default=str(doc.get("page_type_print_default", "unknown")),
        pointer_poison=poisons,
        patterns=patterns,
        magic32=magic,
        mapping_mask=_int(mt.get("mask", 3), p, doc.line_of("mapping_tags")),
        mapping_tags={_int(k, p, 0): str(v) for k, v in (mt.get("values") or {}).items()},
        memcg_mask=_int(mc.get("mask", 7), p, doc.line_of("memcg_tags")),
        memcg_bits={_int(k, p, 0): str(v) for k, v in (mc.get("bits") or {}).items()},
        pp_low_bits=_int(doc.get("pp_magic_low_bits", 3), p, doc.line_of("pp_magic_low_bits")),
        entirely_mapped=_int(doc.get("entirely_mapped", 0x800000), p, doc.line_of("entirely_mapped")),
        memdesc_tables=_memdesc_tables(),
        address_hints={str(arch): frozenset(_int(v, p, doc.line_of("address_hints")) for v in values or [])
                       for arch, values in (doc.get("address_hints") or {}).items()},
        arch_hints=tuple(ArchHint(re.compile(str(h["line"])), h.get("arch"), h.get("family"))
                         for h in doc.get("arch_hints") or []),
        arch_families={str(f): {int(b): str(a) for b, a in m.items()}
                       for f, m in (doc.get("arch_families") or {}).items()},
        big_endian_archs=frozenset(str(a) for a in doc.get("big_endian_archs") or []),
        model_arch_names={str(k): str(v) for k, v in (doc.get("model_arch_names") or {}).items()},
        typed_mapcount_zero_since=_release(doc.get("typed_mapcount_zero_since")),
        old_page_types=_old_page_types(doc.get("old_page_types"), p),
        pointer_types=tuple(str(t) for t in words.get("pointer_types") or []),
        pointer_words=frozenset(str(w) for w in words.get("pointer_words") or []) | _words_yaml_pointers(version),
        counters=frozenset(str(w) for w in words.get("counters") or []),
        list_heads=tuple(str(w) for w in words.get("list_heads") or []),
    )


def _old_page_types(doc: object, path: str) -> OldPageTypes | None:
    if not isinstance(doc, dict):
        return None
    until = _release(doc.get("until"))
    if until is None:
        return None
    return OldPageTypes(until, _int(doc.get("base", 0xF0000000), path, 0),
                        {_int(k, path, 0): str(v) for k, v in (doc.get("bits") or {}).items()})


def _words_yaml_pointers(version: str) -> frozenset[str]:
    """The pointer words words.yaml describes (compound_head, mapping, memcg_data in v6.18)."""
    path = version_dir(version) / "words.yaml"
    if not path.is_file():
        return frozenset()
    return frozenset(str(k) for k in (load_file(path).get("pointers") or {}))


def _release(value: object) -> tuple[int, int] | None:
    """'6.9' -> (6, 9)."""
    if value is None:
        return None
    major, _, minor = str(value).partition(".")
    return int(major), int(minor or 0)


def _memdesc_tables() -> dict[str, dict[int, str]]:
    """The memdesc type tables of the public plan (layouts/memdesc/memdesc_types.yaml)."""
    from mmbits.paths import layouts_root

    path = layouts_root() / "memdesc" / "memdesc_types.yaml"
    if not path.is_file():
        return {}
    doc = load_file(path)
    out: dict[str, dict[int, str]] = {}
    for name, table in (doc.get("tables") or {}).items():
        types = table.get("types") or {}
        out[str(name)] = {int(k): str(v) for k, v in types.items()}
    return out
