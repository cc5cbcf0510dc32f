"""Print what the kernel's dump_page() would print for given words and config.

The decoder checks the kernel's own lines against the raw words; to compare
it needs the kernel's formatting exactly: %pGp (lib/vsprintf.c
format_page_flags), the mapcount rule of __dump_folio() (typed pages print
0), folio_mapping() (tagged and slab mappings print as NULL), %p widths, and
the page_type line. The rules are code; the names and orders are data
(dump_page.yaml, pageflags.yaml, pagetype.yaml).
"""

from __future__ import annotations

from mmbits.decode.data import DumpData
from mmbits.flags.packing import FlagsWord


def s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def page_type_has_type(page_type: int) -> bool:
    """page-flags.h: (int)page_type < (int)(PGTY_mapcount_underflow << 24)."""
    return s32(page_type) < s32(0xFF << 24)


def dump_mapcount(mapcount_word: int) -> int:
    """__dump_folio(): atomic_read(&page->_mapcount) + 1, printed as 0 for typed pages."""
    raw = s32(mapcount_word)
    return 0 if page_type_has_type(raw) else raw + 1


# (nr_pageflags, ((bit, name) in %pGp order), ((field, lsb, width, hex) in pff order))
Renderer = tuple[int, tuple[tuple[int, str], ...], tuple[tuple[str, int, int, bool], ...]]
_RENDERERS: dict[int, tuple[FlagsWord, Renderer]] = {}


def renderer(word: FlagsWord, data: DumpData) -> Renderer:
    """What %pGp needs from a packing, as a hashable value (many configs share one)."""
    hit = _RENDERERS.get(id(word))
    if hit is not None and hit[0] is word:
        return hit[1]
    names = []
    for full in data.pageflag_names:
        f = word.flag(full)
        if f is not None and f.name == full:
            names.append((f.bit, full.removeprefix("PG_")))
    fields = []
    for ff in data.flag_fields:
        pf = word.field(ff.field)
        if pf is not None and not pf.runtime and pf.width:
            fields.append((ff.name, pf.lsb, pf.width, ff.hex))
    r: Renderer = (word.nr_pageflags, tuple(names), tuple(fields))
    _RENDERERS[id(word)] = (word, r)  # the word is kept alive, so its id stays unique
    return r


def render_parts(value: int, r: Renderer) -> tuple[list[str], list[tuple[str, int, str]]]:
    nr, table, pff = r
    main = value & ((1 << nr) - 1)
    names: list[str] = []
    for bit, name in table:
        if main >> bit & 1:
            names.append(name)
            main &= ~(1 << bit)
    if main:
        names.append(f"{main:#x}")
    fields = []
    for name, lsb, width, hexa in pff:
        v = (value >> lsb) & ((1 << width) - 1)
        fields.append((name, v, f"{v:#x}" if hexa else str(v)))
    return names, fields


def render_inner(value: int, r: Renderer) -> str:
    names, fields = render_parts(value, r)
    return "|".join(names + [f"{n}={t}" for n, _v, t in fields])


def pgp_parts(value: int, word: FlagsWord, data: DumpData) -> tuple[list[str], list[tuple[str, int, str]]]:
    """(flag names %pGp prints, [(field name, value, formatted)]) for a flags word."""
    return render_parts(value, renderer(word, data))


def format_pgp(value: int, word: FlagsWord, data: DumpData) -> str:
    """`%pGp` of a flags word: `0x...(name|name|node=N|zone=N|lastcpupid=0x...)`."""
    names, fields = pgp_parts(value, word, data)
    return f"{value:#x}(" + "|".join(names + [f"{n}={t}" for n, _v, t in fields]) + ")"


def pgp_inner(value: int, word: FlagsWord, data: DumpData) -> str:
    return render_inner(value, renderer(word, data))


def page_type_text(page_type: int, data: DumpData) -> str | None:
    """The kernel's `page_type:` line body, or None where it prints no such line."""
    if not page_type_has_type(page_type):
        return None
    byte = (page_type >> 24) & 0xFF
    return f"{byte:x}({data.page_type_print.get(byte, data.page_type_default)})"


def pointer_text(value: int, bits: int) -> str:
    """%p of a pointer without hashing (no_hash_pointers / %px): zero-padded hex."""
    return f"{value:0{bits // 4}x}"


def tail_head_text(value: int, bits: int) -> str:
    """Where a tail page's compound_head / compound_info word (bit 0 set) puts its head.

    Until 7.0 the word is head address | 1. From 7.1, with HUGETLB_PAGE_OPTIMIZE_VMEMMAP
    and a power-of-2 sizeof(struct page), every tail stores GENMASK(BITS_PER_LONG - 1,
    order + log2(sizeof(struct page))) | 1 instead, and the head is the tail's own
    address & mask (7.1.5 include/linux/page-flags.h set_compound_head(),
    _compound_head()). Such a mask (ones from the top bit down) is no struct page
    address, so it is named as a mask rather than printed as a head."""
    full = (1 << bits) - 1
    word = value & ~1 & full
    low = ~word & full
    if word and low & (low + 1) == 0:
        return f"the tail's own address & {pointer_text(word, bits)} (7.1 head-address mask)"
    return pointer_text(word, bits)


def looks_hashed(printed: str, value: int, bits: int) -> bool:
    """%p prints a 32-bit hash, zero-extended on 64-bit, unless hashing is off."""
    if printed in ("(null)", "(____ptrval____)"):
        return True
    try:
        v = int(printed, 16)
    except ValueError:
        return False
    return bits == 64 and v >> 32 == 0 and v != value


def folio_order(folio: dict[str, int]) -> int:
    """The folio's order from its page-1 words: `_folio_order` where the release has that
    byte (v6.3 .. v6.5, folio.yaml), else the low byte of `_flags_1` (v6.6+ folio_order())."""
    if "_folio_order" in folio:
        return folio["_folio_order"]
    return folio.get("_flags_1", 0) & 0xFF


def has_folio_order(folio: dict[str, int]) -> bool:
    """Whether the dumped words reach the folio's page 1, where its order is kept."""
    return "_folio_order" in folio or "_flags_1" in folio
