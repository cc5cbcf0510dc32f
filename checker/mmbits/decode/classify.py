"""The page kind from what the bytes say (page_type, the compound_head tail bit, PG_head,
mapping tags, pp_magic) and, where the kernel named them, from its own flag and
page_type names; the overlay valid for the kind is the descriptor kinds.yaml names.
"""

from __future__ import annotations

from mmbits.byvalue import ByValue
from mmbits.decode.data import DumpData
from mmbits.decode.kernelfmt import (
    page_type_has_type,
    pointer_text,
    s32,
    tail_head_text,
)
from mmbits.decode.naming import poison_name
from mmbits.decode.parse import DumpRecord
from mmbits.flags.data import load_flag_data
from mmbits.flags.packing import FlagsWord
from mmbits.kconfig.config import Config


class Printed(ByValue):
    """What the kernel itself said about the flags word and page_type of the dumped folio:
    its own names, which hold for its own enum pageflags whatever version it was."""

    flags_value: int
    names: frozenset[str]
    page_type_name: str | None

    _SHOWN = ("flags_value", "names", "page_type_name")

    def __init__(self, flags_value: int, names: frozenset[str], page_type_name: str | None) -> None:
        self.flags_value = flags_value
        self.names = names
        self.page_type_name = page_type_name

    def _fields(self) -> tuple[object, ...]:
        return (self.flags_value, self.names, self.page_type_name)

    def flag(self, flags: int, name: str) -> bool | None:
        """Whether flag `name` (PG_ prefix optional) is set, if the kernel named this word's flags."""
        if flags != self.flags_value:
            return None
        return name.removeprefix("PG_") in self.names


def printed_of(record: DumpRecord) -> Printed | None:
    if record.flags_value is None or record.flags_text is None:
        return None
    names = frozenset(t.strip() for t in record.flags_text.split("|") if t and "=" not in t)
    return Printed(record.flags_value, names, record.page_type_name or None)


def page_kind(values: dict[str, int], word: FlagsWord, config: Config, data: DumpData,
              faithful: bool = True, printed: Printed | None = None,
              version: tuple[int, int] | None = None) -> tuple[str, str]:
    """(kind, why) from the bytes: type byte, tail bit, PG_head, mapping tag, pp_magic, flags.

    Where the kernel named the flags (and the page type) of these very bytes, its
    names win over the model's bit numbers: an older kernel's enum pageflags (PG_slab
    until v6.10, PG_head at another bit) and page_type encoding (0xffffff7f buddy
    until v6.12) are then read right whatever version the model is."""
    fd = load_flag_data()

    def has(name: str) -> bool:
        said = printed.flag(flags, name) if printed is not None else None
        if said is not None:
            return said
        f = word.flag(name)
        return f is not None and bool(flags >> f.bit & 1)

    bits = config.bits
    full = (1 << bits) - 1
    flags = values.get("flags", 0)
    if flags == full:
        return "poisoned", "flags word is all ones: PAGE_POISON_PATTERN, an uninitialised struct page"
    ch = values.get("compound_head", values.get("compound_info", 0))  # compound_info from 7.1
    if faithful is False and ch:
        return "tail", (f"dump_page said 'page does not match folio' and printed compound_head with bit 0 cleared: "
                        f"a tail page whose head struct page is at {pointer_text(ch, bits)}")
    if ch & 1:
        return "tail", f"compound_head bit 0 is set: a tail page of the folio at {tail_head_text(ch, bits)}"
    pt = values.get("page_type", 0xFFFFFFFF)
    if page_type_has_type(pt):
        byte = (pt >> 24) & 0xFF
        for t in fd.page_types:
            if t.value == byte and t.kind:
                kind = t.kind
                why = f"page_type {pt:08x}: {t.name}"
                if kind == "pgtable":
                    pk = word.flag("PT_kernel")
                    if pk is not None and flags >> pk.bit & 1:
                        return "kernel-pgtable", why + " with PT_kernel set in pt_flags"
                return kind, why
        return "page", f"page_type {pt:08x}: type byte {byte:#x} has no v6.18 page type"
    old_types = data.old_page_types
    if old_types is not None and version is not None and version < old_types.until:
        for name in old_types.names(pt):
            for t in fd.page_types:
                if t.kind and t.name.removeprefix("PGTY_") == name:
                    return t.kind, (f"page_type {pt:08x}: {name} in the encoding before v6.12 (a cleared bit under "
                                    f"{old_types.base:#x}; the kernel is {version[0]}.{version[1]})")
    if printed is not None and printed.page_type_name and printed.flags_value == flags:
        for t in fd.page_types:
            if t.kind and t.name.removeprefix("PGTY_") == printed.page_type_name:
                return t.kind, (f"the kernel printed page_type {pt:08x}({printed.page_type_name}) (the encoding "
                                f"of its version)")
    if printed is not None and printed.flag(flags, "slab"):
        return "slab", "the kernel named PG_slab in the flags (slab was a page flag until v6.10)"
    delta = int(config.get("POISON_POINTER_DELTA", 0) or 0)
    pp = values.get("pp_magic", 0)
    pp_sig = next((p.offset for p in data.pointer_poison if p.name == "PP_SIGNATURE"), None)
    if pp_sig is not None and pp:
        dma_mask = ((1 << 32) - 1) << 7 if bits == 64 and delta else 0
        if pp & ~(dma_mask | data.pp_low_bits) & full == (delta + pp_sig) & full:
            return "page_pool", f"pp_magic {pointer_text(pp, bits)} matches PP_SIGNATURE: a page_pool page"
    mapping = values.get("mapping", 0)
    tag = mapping & data.mapping_mask
    is_head = has("PG_head")
    where = " (head of a large folio)" if is_head else ""
    if tag in data.mapping_tags:
        name = data.mapping_tags[tag]
        return "anon", f"mapping tag {tag:#x} ({name}){where}"
    if mapping and poison_name(mapping, bits // 8, config, data) is None:
        return "file", f"mapping is an address_space pointer{where}"
    if has("PG_reserved"):
        return "reserved", "PG_reserved is set (boot-reserved memory, zero page, boot-time page table)"
    if has("PG_lru"):
        return "anon", f"PG_lru is set but mapping is empty{where}: an LRU folio that lost its mapping"
    if is_head:
        return "page", "PG_head is set, no mapping and no type: a compound kernel allocation"
    if s32(values.get("_refcount", 0)) == 0:
        return "page", "untyped, no mapping, refcount 0: free (per-cpu list) or being freed"
    return "page", ("untyped, no mapping, not on an LRU: a kernel allocation (a page-table page being built, "
                    "vmalloc, a driver page)")


def descriptor_of(kind: str) -> str:
    kinds = load_flag_data().kinds
    if kind in kinds:
        return kinds[kind].descriptor
    return "page"


def _flag_set(word: FlagsWord, flags: int, name: str) -> bool:
    f = word.flag(name)
    return f is not None and bool(flags >> f.bit & 1)
