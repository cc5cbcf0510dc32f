"""What dump_page() prints and which values mean something (layouts/<version>/dump_page.yaml).

The decoder must reproduce the kernel's own decode line to check it, so the
%pGp name order, the packed-field names and the page_type names are data, as
are the poison values it names. Nothing here knows a bit number.
"""

from __future__ import annotations

import re
from functools import cache, cached_property

from mmbits.byvalue import ByValue
from mmbits.errors import InputError
from mmbits.paths import DEFAULT_KERNEL, version_dir
from mmbits.yamlio import load_file


class FlagField(ByValue):
    field: str  # packing field name (zone, last_cpupid ...)
    name: str  # what %pGp prints (zone, lastcpupid ...)
    hex: bool

    _SHOWN = ("field", "name", "hex")

    def __init__(self, field: str, name: str, hex: bool) -> None:
        self.field = field
        self.name = name
        self.hex = hex

    def _fields(self) -> tuple[object, ...]:
        return (self.field, self.name, self.hex)


class Poison(ByValue):
    name: str
    offset: int
    doc: str

    _SHOWN = ("name", "offset", "doc")

    def __init__(self, name: str, offset: int, doc: str) -> None:
        self.name = name
        self.offset = offset
        self.doc = doc

    def _fields(self) -> tuple[object, ...]:
        return (self.name, self.offset, self.doc)


class Pattern(ByValue):
    name: str
    byte: int
    doc: str

    _SHOWN = ("name", "byte", "doc")

    def __init__(self, name: str, byte: int, doc: str) -> None:
        self.name = name
        self.byte = byte
        self.doc = doc

    def _fields(self) -> tuple[object, ...]:
        return (self.name, self.byte, self.doc)


class DumpData(ByValue):
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
    model_arch_names: dict[str, str]
    typed_mapcount_zero_since: tuple[int, int] | None = None
    old_page_types: OldPageTypes | None = None
    pointer_types: tuple[str, ...] = ()
    pointer_words: frozenset[str] = frozenset()  # dump_page.yaml decode_words + words.yaml pointers
    counters: frozenset[str] = frozenset()
    list_heads: tuple[str, ...] = ()

    _SHOWN = ("pageflag_names", "flag_fields", "page_type_print", "page_type_default", "pointer_poison",
              "patterns", "magic32", "mapping_mask", "mapping_tags", "memcg_mask", "memcg_bits",
              "pp_low_bits", "entirely_mapped", "memdesc_tables", "address_hints", "arch_hints",
              "arch_families", "big_endian_archs", "model_arch_names", "typed_mapcount_zero_since",
              "old_page_types", "pointer_types", "pointer_words", "counters", "list_heads")

    def __init__(self, pageflag_names: tuple[str, ...], flag_fields: tuple[FlagField, ...],
                 page_type_print: dict[int, str], page_type_default: str, pointer_poison: tuple[Poison, ...],
                 patterns: tuple[Pattern, ...], magic32: tuple[tuple[str, int, str], ...], mapping_mask: int,
                 mapping_tags: dict[int, str], memcg_mask: int, memcg_bits: dict[int, str], pp_low_bits: int,
                 entirely_mapped: int, memdesc_tables: dict[str, dict[int, str]],
                 address_hints: dict[str, frozenset[int]], arch_hints: tuple[ArchHint, ...] = (),
                 arch_families: dict[str, dict[int, str]] | None = None,
                 big_endian_archs: frozenset[str] = frozenset(),
                 model_arch_names: dict[str, str] | None = None,
                 typed_mapcount_zero_since: tuple[int, int] | None = None,
                 old_page_types: OldPageTypes | None = None, pointer_types: tuple[str, ...] = (),
                 pointer_words: frozenset[str] = frozenset(), counters: frozenset[str] = frozenset(),
                 list_heads: tuple[str, ...] = ()) -> None:
        self.pageflag_names = pageflag_names
        self.flag_fields = flag_fields
        self.page_type_print = page_type_print
        self.page_type_default = page_type_default
        self.pointer_poison = pointer_poison
        self.patterns = patterns
        self.magic32 = magic32
        self.mapping_mask = mapping_mask
        self.mapping_tags = mapping_tags
        self.memcg_mask = memcg_mask
        self.memcg_bits = memcg_bits
        self.pp_low_bits = pp_low_bits
        self.entirely_mapped = entirely_mapped
        self.memdesc_tables = memdesc_tables
        self.address_hints = address_hints
        self.arch_hints = arch_hints
        self.arch_families = arch_families
        self.big_endian_archs = big_endian_archs
        self.model_arch_names = {} if model_arch_names is None else model_arch_names
        self.typed_mapcount_zero_since = typed_mapcount_zero_since
        self.old_page_types = old_page_types
        self.pointer_types = pointer_types
        self.pointer_words = pointer_words
        self.counters = counters
        self.list_heads = list_heads

    def _fields(self) -> tuple[object, ...]:
        return (self.pageflag_names, self.flag_fields, self.page_type_print, self.page_type_default,
                self.pointer_poison, self.patterns, self.magic32, self.mapping_mask, self.mapping_tags,
                self.memcg_mask, self.memcg_bits, self.pp_low_bits, self.entirely_mapped, self.memdesc_tables,
                self.address_hints, self.arch_hints, self.arch_families, self.big_endian_archs,
                self.model_arch_names, self.typed_mapcount_zero_since, self.old_page_types,
                self.pointer_types, self.pointer_words, self.counters, self.list_heads)


class OldPageTypes(ByValue):
    """The pre-v6.12 page_type encoding: a cleared bit under `base` names the type."""

    until: tuple[int, int]
    base: int
    bits: dict[int, str]

    _SHOWN = ("until", "base", "bits")

    def __init__(self, until: tuple[int, int], base: int, bits: dict[int, str]) -> None:
        self.until = until
        self.base = base
        self.bits = bits

    def _fields(self) -> tuple[object, ...]:
        return (self.until, self.base, self.bits)

    def names(self, page_type: int) -> list[str]:
        """The types a page_type word holds in this encoding ([] for none)."""
        if page_type & self.base != self.base:
            return []
        return [name for bit, name in sorted(self.bits.items()) if not page_type & bit]


class ArchHint(ByValue):
    """A log line that names the architecture (or its family, sized by the words): the
    regular expression `text`, compiled when first used (`pattern`): a decode given its
    release and arch reads no hint, and compiling dump_page.yaml's 15 was ~2% of its
    one-report run."""

    text: str
    arch: str | None
    family: str | None

    _SHOWN = ("pattern", "arch", "family")

    def __init__(self, text: str, arch: str | None, family: str | None) -> None:
        self.text = text
        self.arch = arch
        self.family = family

    def _fields(self) -> tuple[object, ...]:
        return (self.text, self.arch, self.family)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.text)


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
        arch_hints=tuple(ArchHint(str(h["line"]), h.get("arch"), h.get("family"))
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
