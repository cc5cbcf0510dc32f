"""Print what the kernel's dump_page() would print for given words and config.

The decoder checks the kernel's own lines against the raw words; to compare
it needs the kernel's formatting exactly: %pGp (lib/vsprintf.c
format_page_flags), the mapcount rule of __dump_folio() (typed pages print
0), folio_mapping() (tagged and slab mappings print as NULL), %p widths, and
the page_type line. The rules are code; the names and orders are data
(dump_page.yaml, pageflags.yaml, pagetype.yaml).
"""

from __future__ import annotations

from pagebits.decode.data import DumpData
from pagebits.flags.packing import FlagsWord


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


def pgp_parts(value: int, word: FlagsWord, data: DumpData) -> tuple[list[str], list[tuple[str, int, str]]]:
    """(flag names %pGp prints, [(field name, value, formatted)]) for a flags word."""
    main = value & ((1 << word.nr_pageflags) - 1)
    names: list[str] = []
    for full in data.pageflag_names:
        f = word.flag(full)
        if f is None or f.name != full:
            continue
        bit = 1 << f.bit
        if main & bit:
            names.append(full.removeprefix("PG_"))
            main &= ~bit
    if main:
        names.append(f"{main:#x}")
    fields = []
    for ff in data.flag_fields:
        pf = word.field(ff.field)
        if pf is None or pf.runtime or pf.width == 0:
            continue
        v = (value >> pf.lsb) & ((1 << pf.width) - 1)
        fields.append((ff.name, v, f"{v:#x}" if ff.hex else str(v)))
    return names, fields


def format_pgp(value: int, word: FlagsWord, data: DumpData) -> str:
    """`%pGp` of a flags word: `0x...(name|name|node=N|zone=N|lastcpupid=0x...)`."""
    names, fields = pgp_parts(value, word, data)
    return f"{value:#x}(" + "|".join(names + [f"{n}={t}" for n, _v, t in fields]) + ")"


def pgp_inner(value: int, word: FlagsWord, data: DumpData) -> str:
    text = format_pgp(value, word, data)
    return text[text.index("(") + 1 : -1]


def page_type_text(page_type: int, data: DumpData) -> str | None:
    """The kernel's `page_type:` line body, or None where it prints no such line."""
    if not page_type_has_type(page_type):
        return None
    byte = (page_type >> 24) & 0xFF
    return f"{byte:x}({data.page_type_print.get(byte, data.page_type_default)})"


def pointer_text(value: int, bits: int) -> str:
    """%p of a pointer without hashing (no_hash_pointers / %px): zero-padded hex."""
    return f"{value:0{bits // 4}x}"


def looks_hashed(printed: str, value: int, bits: int) -> bool:
    """%p prints a 32-bit hash, zero-extended on 64-bit, unless hashing is off."""
    if printed in ("(null)", "(____ptrval____)"):
        return True
    try:
        v = int(printed, 16)
    except ValueError:
        return False
    return bits == 64 and v >> 32 == 0 and v != value
