"""A struct page's bytes, the way a finding shows them: dump_page()'s raw:
lines and summary, plus every word decoded through the resolved layouts
(Layout.decode), for the page and, in v6.18, its ptdesc overlay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmbits.decode.data import load_dump_data
from mmbits.decode.kernelfmt import format_pgp, page_type_text

if TYPE_CHECKING:
    from mmbits.emu.machine import Machine


def raw_lines(data: bytes, ptr: int, little: bool) -> list[str]:
    """mm/debug.c: "raw: " then four words per line (print_hex_dump of longs)."""
    words = [int.from_bytes(data[i:i + ptr], "little" if little else "big") for i in range(0, len(data), ptr)]
    out = []
    for i in range(0, len(words), 4):
        out.append("raw: " + " ".join(f"{w:0{ptr * 2}x}" for w in words[i:i + 4]))
    return out


def summary(m: Machine, pfn: int, data: bytes) -> str:
    """dump_page()'s first lines, from the decoded words."""
    f = m.facts
    words = f.page.decode(data)
    ref = words.get("_refcount", 0)
    ptype = words.get("page_type", f.page_type_none)
    typed = ptype >> f.page_type_shift != 0xFF and ptype & 0x80000000
    mapcount = 0 if typed else words.get("_mapcount", -1) + 1
    index = words.get("__folio_index", 0)
    width = f.ptr_size * 2
    line = (f"page: refcount:{ref} mapcount:{mapcount} mapping:{words.get('mapping', 0):0{width}x} "
            f"index:{index:#x} pfn:{pfn:#x}")
    # mm/debug.c __dump_page() (v6.18): "flags: %pGp" (lib/vsprintf.c
    # format_page_flags(): names, then name=value fields, '|'-separated) and
    # "page_type: %x(%s)" -- the decoder's formatters, one text for both
    data_fmt = load_dump_data(f.version)
    line += "\nflags: " + format_pgp(words.get("flags", 0), f.flags_word, data_fmt)
    type_text = page_type_text(ptype, data_fmt) if typed else None
    if type_text is not None:
        line += f"\npage_type: {type_text}"
    return line


def kernel_text(m: Machine, pfn: int, data: bytes) -> str:
    """dump_page()'s first lines through the one printer decode also uses (mmbits.dumpfmt),
    where the emulated struct page is the kernel's own (not a memdesc sketch)."""
    f = m.facts
    if f.page.struct != "page":
        return summary(m, pfn, data)
    from mmbits.dumpfmt import format_dump

    words = [int.from_bytes(data[i:i + f.ptr_size], "little" if f.little else "big")
             for i in range(0, len(data), f.ptr_size)]
    text = format_dump(words, m.config, little=f.little, pfn=pfn)
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith(("raw:", "head:")))


def decode(m: Machine, pfn: int, data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    f = m.facts
    out: dict[str, Any] = {
        "pfn": hex(pfn),
        "dump": kernel_text(m, pfn, data).splitlines(),
        "raw": raw_lines(data, f.ptr_size, f.little),
        f.page.struct: {k: hex(v) if v >= 0 else str(v) for k, v in f.page.decode(data).items()},
    }
    if not f.separate_ptdesc and len(data) >= f.ptdesc.size:
        out[f.ptdesc.struct] = {k: hex(v) if v >= 0 else str(v) for k, v in f.ptdesc.decode(data).items()}
    return out
