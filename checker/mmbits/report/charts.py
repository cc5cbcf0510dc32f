"""The pictures of a report: the flags word bit map, the struct page byte map
with every overlay side by side, the free-bits chart of a domain and the
timeline of a schedule. Each returns one SVG document (a string)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from mmbits.flags.packing import FlagsWord
from mmbits.report.svg import FIELD_COLOURS, PALETTE, Svg, wrap

FIELD_LABEL = {"section": "SECTION", "node": "NODE", "zone": "ZONE", "last_cpupid": "LAST_CPUPID",
               "kasan_tag": "KASAN_TAG", "lru_gen": "LRU_GEN", "lru_refs": "LRU_REFS", "alloc_tag": "ALLOC_TAG"}
SHORT_LABEL = {"LAST_CPUPID": "CPUPID", "KASAN_TAG": "KASAN", "LRU_GEN": "GEN", "LRU_REFS": "REFS",
               "SECTION": "SECT", "ALLOC_TAG": "TAGS", "page flags": "flags"}


def _owner(word: FlagsWord, bit: int) -> tuple[str, str]:
    """(role, label) of one bit of the flags word."""
    for f in word.fields:
        if f.lsb <= bit <= f.msb and not f.runtime:
            return f.name, FIELD_LABEL.get(f.name, f.name)
    for flag in word.flags:
        if flag.bit == bit:
            return "flag", flag.name.removeprefix("PG_")
    for f in word.fields:
        if f.lsb <= bit <= f.msb and f.runtime:
            return "alloc_tag", "alloc tag (boot option)"
    if word.gap and word.gap[0] <= bit <= word.gap[1]:
        return "gap", "free"
    return "none", ""


def flags_map(word: FlagsWord, title: str, highlight: Iterable[int] = (), subtitle: str = "") -> str:
    """page->flags, MSB on the left: packed fields, page flags (named), the free gap, highlighted bits."""
    hits = set(highlight)
    per_row = 32
    rows = max(1, word.bits // per_row)
    cell_w, cell_h = 30, 96
    left, top = 16, 58
    row_gap = 74
    width = left * 2 + per_row * cell_w
    height = top + rows * (cell_h + row_gap) + 36
    svg = Svg(width, height, title, "flagsmap")
    svg.text(left, 20, title, 15, weight="600")
    if subtitle:
        svg.text(left, 38, subtitle, 11.5, fill=PALETTE["muted"])
    for r in range(rows):
        hi_bit = word.bits - 1 - r * per_row
        y = top + r * (cell_h + row_gap) + 22
        spans: list[tuple[str, str, int, int]] = []  # role, label, first x index, last x index
        for i in range(per_row):
            bit = hi_bit - i
            role, label = _owner(word, bit)
            x = left + i * cell_w
            fill = PALETTE.get(role, PALETTE["none"])
            if role == "gap":
                fill = "url(#hatch)"
            tip = f"bit {bit}: " + (label if role == "flag" else f"{label}" if label else "unused")
            if bit in hits:
                tip += " (the bit in question)"
            svg.rect(x + 1, y, cell_w - 2, cell_h, fill, title=tip, css=f"bit role-{role}")
            if role == "flag":
                svg.text(x + cell_w / 2 + 4, y + cell_h - 6, label[:15], 10.5, rotate=-90, css="flagname")
            svg.text(x + cell_w / 2, y + cell_h + 13, str(bit), 9.5, "middle", PALETTE["muted"])
            if bit in hits:
                svg.rect(x - 1, y - 3, cell_w + 2, cell_h + 6, "none", PALETTE["hit"], 3)
            key = (role, label if role != "flag" else "flags")
            if spans and (spans[-1][0], spans[-1][1]) == key:
                spans[-1] = (role, key[1], spans[-1][2], i)
            else:
                spans.append((role, key[1], i, i))
        for role, label, a, b in spans:
            if role in ("none",):
                continue
            x0 = left + a * cell_w + 1
            x1 = left + (b + 1) * cell_w - 1
            svg.line(x0, y - 6, x1, y - 6, PALETTE["border"], 1.5)
            svg.line(x0, y - 10, x0, y - 2, PALETTE["border"], 1.5)
            svg.line(x1, y - 10, x1, y - 2, PALETTE["border"], 1.5)
            hib, lob = hi_bit - a, hi_bit - b
            rng = f"{hib}" if hib == lob else f"{hib}-{lob}"
            name = {"flag": "page flags", "gap": "free"}.get(role, label)
            room = (b - a + 1) * cell_w - 4
            for text in (f"{name} {rng}", name, SHORT_LABEL.get(name, ""), ""):
                if len(text) * 7.2 <= room:
                    break
            if text:
                svg.text((x0 + x1) / 2, y - 13, text, 11, "middle", weight="600", css="span")
    present = [role for role in dict.fromkeys(_owner(word, b)[0] for b in range(word.bits - 1, -1, -1))]
    _legend(svg, left, height - 14, present + (["hit"] if hits else []))
    return svg.render()


LEGEND_LABEL = {"flag": "page flags", "gap": "free", "none": "unused", "hit": "bit in question",
                "alloc_tag": "alloc tag (boot option)"}


def _legend(svg: Svg, x0: float, y: float, roles: Sequence[str]) -> None:
    """One swatch per colour the picture uses (wrapping onto more lines, the picture
    grows to fit), so every colour is explained."""
    x = x0
    for role in roles:
        label = LEGEND_LABEL.get(role) or FIELD_LABEL.get(role, role)
        need = 34 + len(label) * 6.8
        if x > x0 and x + need > svg.width - x0:
            x, y = x0, y + 18
            svg.height += 18
        if role == "hit":
            svg.rect(x, y - 10, 14, 12, "none", PALETTE["hit"], 2.5)
        else:
            svg.rect(x, y - 10, 14, 12, "url(#hatch)" if role == "gap" else PALETTE.get(role, PALETTE["none"]),
                     PALETTE["border"] if role == "none" else "none", 1 if role == "none" else 0)
        svg.text(x + 19, y, label, 11)
        x += need


def _row_colour(cells: dict[str, list[str]]) -> str:
    page = cells.get("page") or []
    for name in page:
        base = name.split(".")[0].split(":")[0]
        if base in FIELD_COLOURS:
            return FIELD_COLOURS[base]
    return PALETTE["none"]


def byte_map(rows: Sequence[Any], columns: Sequence[str], title: str, headers: dict[str, str] | None = None,
             broken: Iterable[str] = ()) -> str:
    """Rows of bytes (overlay.byte_map) x columns (descriptors): every name over each byte range."""
    headers = headers or {}
    bad = set(broken)
    off_w, col_w = 60, 116
    line_h = 12.5
    chars = 17
    top = 64
    layout_rows = []
    y: float = top
    for row in rows:
        lines = 1
        for col in columns:
            lines = max(lines, len(row.cells.get(col) or [""]))
        h = max(22.0, 8 + lines * line_h) + (4 if row.end - row.start >= 8 else 0)
        layout_rows.append((row, y, h))
        y += h
    width = off_w + len(columns) * col_w + 16
    height = y + 24
    svg = Svg(width, height, title, "bytemap")
    svg.text(8, 20, title, 15, weight="600")
    for i, col in enumerate(columns):
        x = off_w + i * col_w
        head = headers.get(col, col).split("\n")
        for k, ln in enumerate(head[:2]):
            svg.text(x + col_w / 2, 54 + (k - len(head[:2]) + 1) * 13, ln, 11.5, "middle", weight="600",
                     css="colhead")
    svg.text(8, 54, "bytes", 11.5, weight="600")
    for row, ry, h in layout_rows:
        colour = _row_colour(row.cells)
        rng = f"{row.start}" if row.end - 1 == row.start else f"{row.start}-{row.end - 1}"
        svg.text(8, ry + 15, rng, 11, fill=PALETTE["muted"], family="ui-monospace, monospace")
        for i, col in enumerate(columns):
            x = off_w + i * col_w
            cell = row.cells.get(col)
            if cell is None:
                continue
            names = cell or []
            fill = colour if names else "#fafafa"
            broken_cell = any(f"{col.split('[')[0]}.{n.split('.')[0].split(':')[0]}" in bad for n in names)
            svg.rect(x + 1, ry + 1, col_w - 2, h - 2, fill, PALETTE["hit"] if broken_cell else "#ffffff",
                     2.5 if broken_cell else 1, title=f"{col} bytes {rng}: {' | '.join(names) or 'nothing'}",
                     css="cell")
            for k, name in enumerate(names or ["-"]):
                shown = name if len(name) <= chars else name[: chars - 1] + "\u2026"
                svg.text(x + 6, ry + 14 + k * line_h, shown, 10.5, fill=PALETTE["text"] if names else PALETTE["muted"],
                         css="fieldname")
    # word boundaries
    return svg.render()


def free_bits_chart(hist: dict[str, Counter[int]], title: str, subtitle: str = "") -> str:
    """Configs per number of free page->flags bits, one colour per arch (stacked)."""
    archs = sorted(hist)
    colours = ["#2171b5", "#fd8d3c", "#31a354", "#756bb1", "#e7298a", "#66a61e"]
    maxbits = max((b for c in hist.values() for b in c), default=0)
    totals = Counter[int]()
    for c in hist.values():
        totals.update(c)
    rest = [v for b, v in totals.items() if b]
    ymax = max(rest, default=0) * 1.25 or max(totals.values(), default=1)
    left, top, plot_h = 70, 66, 260
    bar_w = max(8.0, min(22.0, 880 / (maxbits + 1)))
    width = left + (maxbits + 1) * bar_w + 40
    height = top + plot_h + 70
    svg = Svg(width, height, title, "freebits")
    svg.text(12, 20, title, 15, weight="600")
    if subtitle:
        svg.text(12, 38, subtitle, 11.5, fill=PALETTE["muted"])
    # axes and grid
    for k in range(5):
        v = ymax * k / 4
        y = top + plot_h - plot_h * k / 4
        svg.line(left, y, width - 30, y, "#e0e0e0")
        svg.text(left - 6, y + 4, f"{int(v):,}", 10, "end", PALETTE["muted"])
    svg.line(left, top + plot_h, width - 30, top + plot_h, PALETTE["border"])
    for b in range(maxbits + 1):
        x = left + b * bar_w
        base: float = top + plot_h
        for i, arch in enumerate(archs):
            n = hist[arch].get(b, 0)
            if not n:
                continue
            h = min(plot_h * n / ymax, base - top)
            fill = PALETTE["hit"] if b == 0 else colours[i % len(colours)]
            svg.rect(x + 1, base - h, bar_w - 2, h, fill, title=f"{arch}: {n:,} configs with {b} free bits",
                     css="bar")
            base -= h
        if totals.get(b, 0) > ymax:
            # clipped: a break mark and the real count
            svg.rect(x, top + 14, bar_w, 5, "#ffffff")
            svg.text(x + bar_w + 4, top + 10, f"{totals[b]:,} configs (clipped)", 10.5, fill=PALETTE["hit"],
                     weight="600")
        if b % 4 == 0 or bar_w >= 16:
            svg.text(x + bar_w / 2, top + plot_h + 14, str(b), 10, "middle", PALETTE["muted"])
    svg.text(left + (maxbits + 1) * bar_w / 2, top + plot_h + 32, "free bits in page->flags", 11.5, "middle")
    svg.text(16, top + plot_h / 2, "configs", 11.5, "middle", rotate=-90)
    x = left
    for i, arch in enumerate(archs):
        svg.rect(x, height - 22, 14, 12, colours[i % len(colours)])
        svg.text(x + 19, height - 12, f"{arch} ({sum(hist[arch].values()):,})", 11)
        x += 40 + len(arch) * 7 + 50
    svg.rect(x, height - 22, 14, 12, PALETTE["hit"])
    svg.text(x + 19, height - 12, "no free bit", 11)
    return svg.render()


def timeline(steps: Sequence[dict[str, Any]], title: str, bad_step: int | None = None) -> str:
    """One lane per actor (CPU, worker, IOMMU ...), one box per step numbered from 1 (as the
    text output numbers them), the failing step (a 0-based index) in red."""
    lanes: list[str] = []
    for s in steps:
        if s["actor"] not in lanes:
            lanes.append(s["actor"])
    lane_h, left, top = 66, 110, 50
    step_w = 170
    # wide enough for the title too (about 0.6 em per character at 15 px)
    width = max(left + max(1, len(steps)) * step_w + 20, 20 + round(len(title) * 15 * 0.6))
    height = top + len(lanes) * lane_h + 30
    svg = Svg(width, height, title, "timeline")
    svg.text(10, 22, title, 15, weight="600")
    for i, lane in enumerate(lanes):
        y = top + i * lane_h
        svg.rect(0, y, width, lane_h, "#f7f7f7" if i % 2 == 0 else "#ffffff")
        svg.text(10, y + lane_h / 2 + 4, lane, 12, weight="600", css="lane")
    for k, s in enumerate(steps):
        x = left + k * step_w
        y = top + lanes.index(s["actor"]) * lane_h
        is_bad = bad_step is not None and k == bad_step
        svg.rect(x + 4, y + 7, step_w - 8, lane_h - 14, "#fee0d2" if is_bad else "#deebf7",
                 PALETTE["hit"] if is_bad else "#6baed6", 2.5 if is_bad else 1, title=s["full"], css="step", rx=5)
        for j, ln in enumerate(clip_lines(s["label"], 25, 3)):
            svg.text(x + 10, y + 22 + j * 13, ln, 10.5, css="steplabel")
        svg.text(x + step_w / 2, top - 8, f"{k + 1}", 10, "middle", PALETTE["muted"])
        if k:
            svg.line(x, top - 4, x, height - 26, "#e0e0e0", 1, "3 3")
    svg.text(left, height - 10, "step", 10.5, fill=PALETTE["muted"])
    return svg.render()


def clip_lines(text: str, width: int, lines: int) -> list[str]:
    """`text` wrapped to `lines` lines of at most `width` characters: words longer than a
    line are cut, and an ellipsis marks text left out."""
    out: list[str] = []
    for ln in wrap(text, width):
        while len(ln) > width:
            out.append(ln[:width])
            ln = ln[width:]
        out.append(ln)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][:width - 1] + "\u2026"
    return out


def flags_strips(rows: Sequence[tuple[str, FlagsWord]], title: str, subtitle: str = "") -> str:
    """The flags word of many configs, one strip each, bit 63 (or 31) on the left: compare at a glance."""
    label_w, cell_w, row_h = 190, 13.5, 30
    maxbits = max((w.bits for _l, w in rows), default=64)
    top = 56
    width = label_w + maxbits * cell_w + 20
    height = top + len(rows) * row_h + 44
    svg = Svg(width, height, title, "flagstrips")
    svg.text(10, 20, title, 15, weight="600")
    if subtitle:
        svg.text(10, 38, subtitle, 11.5, fill=PALETTE["muted"])
    for b in range(maxbits - 1, -1, -8):
        x = label_w + (maxbits - 1 - b) * cell_w
        svg.text(x + cell_w / 2, top - 4, str(b), 9.5, "middle", PALETTE["muted"])
    for r, (label, word) in enumerate(rows):
        y = top + r * row_h
        svg.text(10, y + row_h / 2 + 4, label, 11.5, css="rowlabel")
        x0 = label_w + (maxbits - word.bits) * cell_w
        spans: list[tuple[str, str, int, int]] = []
        for i in range(word.bits):
            bit = word.bits - 1 - i
            role, name = _owner(word, bit)
            key = (role, "flags" if role == "flag" else name)
            if spans and (spans[-1][0], spans[-1][1]) == key:
                spans[-1] = (role, key[1], spans[-1][2], i)
            else:
                spans.append((role, key[1], i, i))
        for role, name, a, b in spans:
            fill = "url(#hatch)" if role == "gap" else PALETTE.get(role, PALETTE["none"])
            x = x0 + a * cell_w
            w = (b - a + 1) * cell_w
            hib, lob = word.bits - 1 - a, word.bits - 1 - b
            n = b - a + 1
            text = {"flag": f"{n} flags", "gap": f"{n} free"}.get(role, name)
            svg.rect(x + 0.5, y + 3, w - 1, row_h - 6, fill, "#ffffff", 1,
                     title=f"{label}: bits {hib}-{lob} {text}", css=f"span role-{role}")
            if len(text) * 6.2 < w - 4:
                dark = role in ("node", "section", "zone", "kasan_tag")
                svg.text(x + w / 2, y + row_h / 2 + 4, text, 10.5, "middle", "#ffffff" if dark else PALETTE["text"],
                         css="spanlabel")
    used = dict.fromkeys(_owner(w, b)[0] for _label, w in rows for b in range(w.bits - 1, -1, -1))
    _legend(svg, 10, height - 14, list(used))
    return svg.render()


def word_map(bits: int, spans: Sequence[tuple[str, int, int, str]], rows: Sequence[tuple[str, int]], title: str,
             highlight: Iterable[int] = (), subtitle: str = "") -> str:
    """A `bits`-wide word, MSB on the left: named spans (label, msb, lsb, colour) on top,
    then one row of 0/1 cells per (label, value), the highlighted bits outlined in red."""
    hits = set(highlight)
    cell_w, cell_h, label_w, left = 28, 26, 190, 16
    top = 76
    width = left + label_w + bits * cell_w + 16
    height = top + len(rows) * (cell_h + 8) + 58
    svg = Svg(width, height, title, "wordmap")
    svg.text(left, 20, title, 15, weight="600")
    if subtitle:
        svg.text(left, 38, subtitle, 11.5, fill=PALETTE["muted"])
    x0 = left + label_w

    def x_of(bit: int) -> float:
        return x0 + (bits - 1 - bit) * cell_w

    for label, msb, lsb, colour in spans:
        xa, xb = x_of(msb) + 1, x_of(lsb) + cell_w - 1
        svg.rect(xa, top - 24, xb - xa, 16, colour, title=f"bits {msb}-{lsb}: {label}", css="span")
        room = xb - xa - 6
        text = f"{label} {msb}-{lsb}"
        shown = next((t for t in (text, label, "") if len(t) * 6.4 <= room), "")
        if shown:
            svg.text((xa + xb) / 2, top - 12, shown, 10.5, "middle", weight="600", css="spanlabel")
    for r, (label, value) in enumerate(rows):
        y = top + r * (cell_h + 8)
        svg.text(left, y + cell_h / 2 + 4, label, 11.5, css="rowlabel")
        for bit in range(bits - 1, -1, -1):
            on = value >> bit & 1
            x = x_of(bit)
            svg.rect(x + 1, y, cell_w - 2, cell_h, "#6baed6" if on else "#f0f0f0",
                     title=f"{label}: bit {bit} = {on}", css="bit")
            svg.text(x + cell_w / 2, y + cell_h / 2 + 4, str(on), 11, "middle", "#ffffff" if on else PALETTE["muted"])
            if bit in hits:
                svg.rect(x - 1, y - 2, cell_w + 2, cell_h + 4, "none", PALETTE["hit"], 2.5)
    ylab = top + len(rows) * (cell_h + 8) + 10
    for bit in range(bits - 1, -1, -1):
        if bit % 4 == 3 or bit == 0 or bit in hits:
            svg.text(x_of(bit) + cell_w / 2, ylab, str(bit), 9.5, "middle", PALETTE["muted"])
    ly = height - 14
    svg.rect(left, ly - 10, 14, 12, "#6baed6")
    svg.text(left + 19, ly, "bit set", 11)
    svg.rect(left + 80, ly - 10, 14, 12, "none", PALETTE["hit"], 2.5)
    svg.text(left + 99, ly, "bit in question", 11)
    return svg.render()
