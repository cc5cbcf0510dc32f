"""Solve the page->flags packing from what the kernel printed, instead of searching configs.

`flags: 0x57ffffc0000004(referenced|node=1|zone=2|lastcpupid=0x1fffff)` says
more than it seems: %pGp (lib/vsprintf.c format_page_flags, v5.2 .. v7.1)
prints each packed field whose width is not zero, and the fields sit at the
top of the word in a fixed order (include/linux/page-flags-layout.h, v6.1 ..
v7.1: SECTIONS, NODES, ZONES, LAST_CPUPID, KASAN_TAG, then LRU_GEN/LRU_REFS
below them, pageflags at the bottom). So each printed value, read back from
the word at every candidate width, rules widths out: `lastcpupid=0x1fffff`
is 21 bits (NR_CPUS_BITS 13 + LAST__PID_SHIFT 8), `node=1|zone=2` with the
top byte 0x00 0x57 pins NODES_SHIFT 10 and ZONES_SHIFT 3. The widths that
remain are turned into Kconfig values (NR_CPUS, NUMA/NODES_SHIFT, the zone
options, KASAN tags, classic SPARSEMEM) and checked by the model itself:
flags.packing.compute() of the config must print the same fields.
"""

from __future__ import annotations

from functools import cache

from mmbits.byvalue import ByValue

# (printed name, smallest width, largest width) in the order of page-flags-layout.h,
# top of the word first
_FIELDS = (("section", 1, 24), ("node", 1, 10), ("zone", 1, 3), ("lastcpupid", 8, 8 + 13), ("kasantag", 4, 8))
LAST_PID_SHIFT = 8  # include/linux/page-flags-layout.h LAST__PID_SHIFT
MIN_PAGEFLAGS = 20  # no v6.x enum pageflags is shorter: the fields never reach below this bit


class Packing(ByValue):
    """Widths of the packed fields (0: not in page->flags), top of the word first."""

    bits: int
    section: int
    node: int
    zone: int
    lastcpupid: int
    kasantag: int

    _SHOWN = ("bits", "section", "node", "zone", "lastcpupid", "kasantag")

    def __init__(self, bits: int, section: int, node: int, zone: int, lastcpupid: int, kasantag: int) -> None:
        self.bits = bits
        self.section = section
        self.node = node
        self.zone = zone
        self.lastcpupid = lastcpupid
        self.kasantag = kasantag

    def _fields(self) -> tuple[object, ...]:
        return (self.bits, self.section, self.node, self.zone, self.lastcpupid, self.kasantag)

    @property
    def nr_cpus_bits(self) -> int | None:
        return self.lastcpupid - LAST_PID_SHIFT if self.lastcpupid else None

    def describe(self) -> str:
        parts = []
        if self.section:
            parts.append(f"SECTIONS_WIDTH {self.section}")
        parts.append(f"NODES_SHIFT {self.node}" if self.node else "no node field (NUMA off or not in the word)")
        parts.append(f"ZONES_SHIFT {self.zone}")
        if self.lastcpupid:
            parts.append(f"LAST_CPUPID {self.lastcpupid} bits (NR_CPUS_BITS {self.nr_cpus_bits})")
        else:
            parts.append("no lastcpupid (NUMA_BALANCING off, or _last_cpupid outside page->flags)")
        if self.kasantag:
            parts.append(f"KASAN tag {self.kasantag} bits")
        return ", ".join(parts)


def printed_fields(flags_text: str) -> dict[str, int]:
    """NAME=VALUE fields of a %pGp body (decimal or 0x hex, as the kernel printed them)."""
    out: dict[str, int] = {}
    for token in flags_text.replace(" ", "").split("|"):
        name, eq, value = token.partition("=")
        if not eq:
            continue
        try:
            out[name] = int(value, 0)
        except ValueError:
            continue
    return out


@cache
def solve(bits: int, value: int, fields: tuple[tuple[str, int], ...]) -> tuple[Packing, ...]:
    """Every packing whose fields read from `value` give exactly the printed values."""
    printed = dict(fields)
    names = [n for n, _lo, _hi in _FIELDS]
    if any(n not in names for n in printed):
        return ()
    ranges = [(range(lo, hi + 1) if n in printed else range(0, 1)) for n, lo, hi in _FIELDS]
    out: list[Packing] = []

    def walk(i: int, top: int, widths: list[int]) -> None:
        if i == len(_FIELDS):
            if top >= MIN_PAGEFLAGS:
                out.append(Packing(bits, *widths))
            return
        name = names[i]
        for width in ranges[i]:
            lsb = top - width
            if lsb < MIN_PAGEFLAGS:
                break
            if width and (value >> lsb) & ((1 << width) - 1) != printed[name]:
                continue
            walk(i + 1, lsb, widths + [width])

    walk(0, bits, [])
    return tuple(out)
