"""Text output of a decode: dump_page-like lines first, then every field.

The first lines look like the kernel's own (so they can be read side by side
with the report), followed by the page kind, every word of struct page with
all its union names and what the value means, the overlay valid for the kind,
the folio head, the checks against the kernel's lines and the findings.
"""

from __future__ import annotations

from mmbits.decode.decoder import Check, Decoded, Slot
from mmbits.decode.kernelfmt import folio_order, has_folio_order, pointer_text
from mmbits.decode.words import _label
from mmbits.dumpfmt import kernel_lines

# (slot, bits) -> its lines; the decoder shares slot objects between reports with the same word
_SLOT_TEXT: dict[tuple[int, int], tuple[Slot, list[str]]] = {}
# (slot list, bits) -> the table's lines: the copies of a shared decode share their views' slot lists
_TABLES: dict[tuple[int, int], tuple[list[Slot], list[str]]] = {}


def _slot_lines(slots: list[Slot], bits: int) -> list[str]:
    table = _TABLES.get((id(slots), bits))
    if table is not None and table[0] is slots:
        return table[1]
    indent = "  "
    out = [f"{indent}{'off':>4} {'size':>4}  {'value':<{bits // 4}}  names (every union arm) / meaning"]
    for s in slots:
        key = (id(s), bits)
        hit = _SLOT_TEXT.get(key)
        if hit is None or hit[0] is not s:
            if len(_SLOT_TEXT) >= 1 << 13:
                _SLOT_TEXT.clear()
            hit = _SLOT_TEXT[key] = (s, _one_slot(s, bits, indent))
        out.extend(hit[1])
    if len(_TABLES) >= 1 << 9:
        _TABLES.clear()
    _TABLES[(id(slots), bits)] = (slots, out)
    return out


def _one_slot(s: Slot, bits: int, indent: str) -> list[str]:
    if s.bit_size is not None:
        value = f"{s.value:#x}".ljust(bits // 4)
        off = f"{s.offset}:{s.bit_offset}"
        size = f"{s.bit_size}b"
    else:
        value = f"{s.value:0{s.size * 2}x}".ljust(bits // 4)
        off, size = str(s.offset), str(s.size)
    before, after = _slot_frame(off, size, s.names, indent)
    out = [before + value + after]
    if s.meaning:
        out.append(f"{indent}{'':>4} {'':>4}  {'':<{bits // 4}}    -> {s.meaning}")
    return out


def _slot_frame(off: str, size: str, names: list[str], indent: str) -> tuple[str, str]:
    """A slot line's text before and after its value."""
    return f"{indent}{off:>4} {size:>4}  ", "  " + " = ".join(names)


# (config choice, word size, byte order, context) -> the lines saying what the decode assumes;
# the choice and context are kept alive beside their ids (one object each for a log's reports
# of one kernel, with --kernel and --arch one context for all)
_ASSUMED: dict[tuple[int, int, bool, int], tuple[object, object, str]] = {}


def _assumed(dec: Decoded) -> str:
    """The lines (joined) saying what the decode assumes and what the log's lines said."""
    key = (id(dec.choice), dec.bits, dec.little, id(dec.context))
    hit = _ASSUMED.get(key)
    if hit is None or hit[0] is not dec.choice or hit[1] is not dec.context:
        lines = [_assuming(dec)]
        for ev in dec.context.evidence:
            lines.append(f"inferred {ev.describe()}")
        text = "\n".join(lines)
        if not dec.context.evidence or all(ev.line == 0 for ev in dec.context.evidence):
            # a context shared by reports (given, or naming nothing): kept for the next one;
            # a context read from the log is its report's own (its lines' numbers)
            if len(_ASSUMED) >= 1 << 9:
                _ASSUMED.clear()
            _ASSUMED[key] = (dec.choice, dec.context, text)
        return text
    return hit[2]


# (config choice, word size, byte order) -> the `assuming ...` line; the choice kept alive beside its id
_ASSUMING: dict[tuple[int, int, bool], tuple[object, str]] = {}


def _assuming(dec: Decoded) -> str:
    key = (id(dec.choice), dec.bits, dec.little)
    hit = _ASSUMING.get(key)
    if hit is None or hit[0] is not dec.choice:
        endian = "little" if dec.little else "big"
        if len(_ASSUMING) >= 1 << 9:
            _ASSUMING.clear()
        hit = _ASSUMING[key] = (dec.choice, f"assuming {dec.bits}-bit {endian}-endian, config {_label(dec.config)} "
                                            f"[{dec.choice.how}]: {dec.choice.note}")
    return hit[1]


def render(dec: Decoded, total: int | None = None) -> str:
    """One page's text; `total` (pages in the input) only when known before printing:
    decode prints each page as it is read, so it gives none."""
    if total is None and dec.shape is not None and "refcount" in dec.expected and dec.page is not None:
        return _render_copy(dec)
    rec = dec.record
    lines = [_head(dec, total)]
    if dec.page is None:
        if rec.poisoned_line:
            lines.append("the kernel found this struct page uninitialized and poisoned (all bytes 0xff, "
                         "PAGE_POISON_PATTERN) and printed no raw words")
        else:
            lines.append("no raw: words in this report: nothing to decode")
        return "\n".join(lines)
    exp = dec.expected
    if "refcount" in exp:
        lines.extend(kernel_lines(exp, int(str(rec.page["pfn"])) if rec.page and "pfn" in rec.page else None))
    else:
        lines.append(f"page: mapcount:{exp['mapcount']} (a tail page: refcount, mapping, index and flags are the "
                     f"folio head's, which is not in the dump)")
    if rec.reason:
        lines.append(f"page dumped because: {rec.reason}")
    return "\n".join(lines) + "\n" + _body(dec)


def _head(dec: Decoded, total: int | None) -> str:
    """A page's first lines (joined): its number and input lines, what was assumed and inferred."""
    rec = dec.record
    span = f"input lines {rec.start}-{rec.end}" if rec.start else "input"
    of = f" of {total}" if total is not None else ""
    text = f"=== page {dec.number}{of} ({span}) ===\n{_assumed(dec)}"
    if rec.flags_line and dec.choice.how in ("solved", "preset"):
        text += (f"\ninferred the page->flags packing from line {rec.flags_line}: flags: "
                 f"{rec.flags_value:#x}({rec.flags_text})")
    if dec.endian_why and dec.endian_why != "given":
        text += f"\ninferred {'little' if dec.little else 'big'}-endian: {dec.endian_why}"
    return text


# (shared decode's shape, copy with its own index word) -> (the shape, the kernel's page: line
# up to its index, the index, the lines after the page: line to the reason, the body: None for
# a copy with its own index word); the shape is kept alive beside its id
_PAGES: dict[tuple[int, bool], tuple[object, str, str, str, str | None]] = {}


def _render_copy(dec: Decoded) -> str:
    """render() of a page with a shared decode (decoder._decode_shared): the text every copy
    of that decode shares is made once; each page puts in its number, its lines, its pfn and
    (a copy with its own index word, decoder._with_index) its index."""
    rec = dec.record
    own_index = dec.index_base is not None
    key = (id(dec.shape), own_index)
    hit = _PAGES.get(key)
    if hit is None or hit[0] is not dec.shape:
        if len(_PAGES) >= 1 << 9:
            _PAGES.clear()
        hit = _PAGES[key] = (dec.shape, *_page_pieces(dec, own_index))
    _shape, line_head, index_text, after, body = hit
    if body is None:
        index = dec.expected["index"]
        index_text = f"{index if type(index) is int else int(str(index)):#x}"
        body = _body(dec)
    page = rec.page
    if page and "pfn" in page:
        pfn = page["pfn"]
        return (f"{_head(dec, None)}\n{line_head}{index_text} pfn:{pfn if type(pfn) is int else int(str(pfn)):#x}"
                f"{after}\n{body}")
    return f"{_head(dec, None)}\n{line_head}{index_text}{after}\n{body}"


def _page_pieces(dec: Decoded, own_index: bool) -> tuple[str, str, str, str | None]:
    """What render() prints from the kernel's page: line on that all copies of a shared
    decode print alike: (the page: line up to its index, the index, the rest to the reason
    line, the body; the body None when each copy has its own index word)."""
    rec = dec.record
    first, *rest = kernel_lines(dec.expected, None)
    index_text = f"{int(str(dec.expected['index'])):#x}"
    if not first.endswith(f" index:{index_text}"):
        raise AssertionError(f"the page: line {first!r} does not end in its index")
    if rec.reason:
        rest.append(f"page dumped because: {rec.reason}")
    after = "".join("\n" + line for line in rest)
    return first[:len(first) - len(index_text)], index_text, after, None if own_index else _body(dec)


# shape -> the parts of the text from the page kind on that only the shape decides; the
# shape is kept alive beside its id
_PARTS: dict[int, tuple[object, tuple[str, str, str, str]]] = {}


# an index word's line in a copy's text: (0 for a page slot, 1 for an overlay slot, 2 for the
# index check; the slot's place in its view; the text before the value, the value's format,
# its width, the text after it (the check: between its two values))
_Hole = tuple[int, int, str, str, int, str]
# shared decode -> (it, its copies' text: the fixed runs of text (joined, line ends included)
# between the index word's lines, and those lines (_Hole)); the shared decode is kept alive
# beside its id
_TEMPLATES: dict[int, tuple[object, list[str], list[_Hole]]] = {}


def _body(dec: Decoded) -> str:
    """The text from the page kind on. A copy of a shared decode that differs only in its
    index word (decoder._with_index) is the first such copy's text with the index word's
    table lines and its check line put in: nothing else in it reads the index."""
    if dec.index_base is None:
        return "\n".join(_body_lines(dec))
    base, patch = dec.index_base
    hit = _TEMPLATES.get(id(base))
    if hit is None or hit[0] is not base:
        if len(_TEMPLATES) >= 1 << 9:
            _TEMPLATES.clear()
        hit = _TEMPLATES[id(base)] = (base, *_compiled(dec, _template(_body_lines(dec), _holes(dec, patch))))
    _base, fixed, holes = hit
    value_text = hex(dec.words[patch[0]])
    out = [fixed[0]]
    for (where, k, before, fmt, width, after), text in zip(holes, fixed[1:], strict=True):
        if where == 2:
            out.append(f"{before}{value_text}{after}{value_text}")
        else:
            view = dec.page if where == 0 else dec.overlay
            assert view is not None
            out.append(before + format(view.slots[k].value, fmt).ljust(width) + after)
        out.append(text)
    return "".join(out)


def _compiled(dec: Decoded, parts: list[str | tuple[int, int]]) -> tuple[list[str], list[_Hole]]:
    """_template's parts as the texts between the holes (one more than the holes) and the
    holes, each with what its line prints around its value (_one_slot's and _check_line's
    forms: the same text as theirs for the copy's slot and check)."""
    fixed: list[str] = []
    holes: list[_Hole] = []
    text = ""
    for i, part in enumerate(parts):
        if i:
            text += "\n"
        if isinstance(part, str):
            text += part
            continue
        fixed.append(text)
        text = ""
        where, k = part
        if where == 2:
            before, between, after = _check_line(Check("index", "\0", "\0", "agrees")).split("\0")
            assert not after
            holes.append((2, 0, before, "", 0, between))
        else:
            view = dec.page if where == 0 else dec.overlay
            assert view is not None
            slot = view.slots[k]
            assert slot.bit_size is None and not slot.meaning
            before, after = _slot_frame(str(slot.offset), str(slot.size), slot.names, "  ")
            holes.append((where, k, before, f"0{slot.size * 2}x", dec.bits // 4, after))
    fixed.append(text)
    return fixed, holes


def _template(lines: list[str], holes: list[tuple[int, int, int]]) -> list[str | tuple[int, int]]:
    """The lines with each hole's line replaced by (where, slot) and the fixed lines between
    holes joined: the same text when joined again with the holes filled."""
    out: list[str | tuple[int, int]] = []
    at = 0
    for line, where, k in sorted(holes):
        if line > at:
            out.append("\n".join(lines[at:line]))
        out.append((where, k))
        at = line + 1
    if at < len(lines):
        out.append("\n".join(lines[at:]))
    return out


def _holes(dec: Decoded, patch: tuple[int, tuple[str, ...], tuple[int, ...], tuple[str, ...], tuple[int, ...], int]
           ) -> list[tuple[int, int, int]]:
    """Where _body_lines puts the index word's lines: its slots in the word tables (one line
    each: the shared decode gives them no meaning) and its check line."""
    assert dec.page is not None
    _at, _names, page_slots, _over_names, over_slots, check_at = patch
    out: list[tuple[int, int, int]] = []
    at = 2  # the kind, the table's heading
    for k, s in enumerate(dec.page.slots):
        if k in page_slots:
            out.append((at, 0, k))
        at += 1 + bool(s.meaning)
    at += 1  # the flags word
    if dec.overlay is not None:
        at += 2  # the overlay's heading, the table's heading
        for k, s in enumerate(dec.overlay.slots):
            if k in over_slots:
                out.append((at, 1, k))
            at += 1 + bool(s.meaning)
    if dec.head is not None:
        at += 1
    at += 2  # a blank line, "against the kernel's own lines:"
    out.append((at + check_at, 2, 0))
    return out


def _body_lines(dec: Decoded) -> list[str]:
    """The text from the page kind on, as lines (some holding several). Its fixed parts read
    only what the decode's shape holds (no line number, no pfn), so the copies of one
    shared decode (decoder._decode_shared) share them; the word tables and the checks
    against the kernel's lines are put in per page."""
    assert dec.page is not None
    shape = dec.shape
    if shape is None:
        parts = _fixed_parts(dec)
    else:
        hit = _PARTS.get(id(shape))
        if hit is None or hit[0] is not shape:
            if len(_PARTS) >= 1 << 9:
                _PARTS.clear()
            hit = _PARTS[id(shape)] = (shape, _fixed_parts(dec))
        parts = hit[1]
    kind, flags, head, tail = parts
    out = [kind, *_slot_lines(dec.page.slots, dec.bits), flags]
    if dec.overlay is not None:
        out.append(f"\nas struct {dec.overlay.layout.struct} (the overlay valid for kind {dec.kind}):")
        out.extend(_slot_lines(dec.overlay.slots, dec.bits))
    if head:
        out.append(head)
    out.extend(_check_lines(dec))
    if tail:
        out.append(tail)
    return out


def _check_lines(dec: Decoded) -> list[str]:
    lines: list[str] = []
    if dec.checks:
        lines.append("")
        lines.append("against the kernel's own lines:")
        for c in dec.checks:
            lines.append(_check_line(c))
    return lines


_MARKS = {"agrees": "ok ", "disagrees": "DIFF", "unchecked": "--  "}


def _check_line(c: Check) -> str:
    why = f"  ({c.why})" if c.why else ""
    return f"  {_MARKS[c.status]:<4} {c.item:<14} kernel {c.printed}   decoded {c.ours}{why}"


def _fixed_parts(dec: Decoded) -> tuple[str, str, str, str]:
    """(kind and struct heading, the flags word, the folio head, the findings and what the
    decode depends on): the text around the word tables and the checks."""
    assert dec.page is not None
    rec = dec.record
    lines: list[str] = [""]
    lines.append(f"kind: {dec.kind} -- {dec.kind_why}")
    if dec.descriptor != "page":
        lines.append(f"      overlay valid for this kind: struct {dec.descriptor}")
    lines.append("")
    lines.append(f"struct {dec.struct} ({dec.page.layout.size} bytes, {len(dec.words)} words):")
    kind = "\n".join(lines)
    lines = []
    flags = dec.page.values.get("flags", 0)
    lines.append("")
    lines.append(f"page->flags {flags:#x}:")
    for f in dec.word.fields:
        v = (flags >> f.lsb) & ((1 << f.width) - 1)
        extra = ""
        if f.name == "zone":
            extra = f"  {dec.word.zones[v] if v < len(dec.word.zones) else '(no such zone)'}"
        lines.append(f"  bits {f.msb:>2}-{f.lsb:<2} {f.name.upper():<12} {v:#x}{extra}")
    if dec.word.gap:
        lo, hi = dec.word.gap
        g = (flags >> lo) & ((1 << (hi - lo + 1)) - 1)
        lines.append(f"  bits {hi:>2}-{lo:<2} {'free gap':<12} {g:#x}")
    set_flags = [f for f in dec.word.flags if flags >> f.bit & 1]
    if set_flags:
        for fb in set_flags:
            aliases = [a.name for a in fb.aliases
                       if (dec.kind in a.kinds or "any" in a.kinds)
                       and a.page in (("any",) if dec.is_tail else ("head", "any"))]
            alias = f"  (for {dec.kind}: {', '.join(aliases)})" if aliases else ""
            lines.append(f"  bit {fb.bit:>2}     {fb.name}{alias}")
    else:
        lines.append("  no page flags set")
    flag_text = "\n".join(lines)
    lines = []
    if dec.head is not None:
        lines.append("")
        order = folio_order(dec.folio)
        order_text = str(order) if has_folio_order(dec.folio) else "? (the folio's page 1 is not in the dump)"
        lines.append(f"folio head (head: lines, {len(rec.head_words())} words): kind {dec.head_kind}, order {order_text}")
        hv = dec.head.values
        lines.append(f"  flags {pointer_text(hv.get('flags', 0), dec.bits)}  "
                     f"mapping {pointer_text(hv.get('mapping', 0), dec.bits)}  index {hv.get('__folio_index', hv.get('index', 0)):#x}"
                     f"  refcount {hv.get('_refcount', 0) - (1 << 32) if hv.get('_refcount', 0) >> 31 else hv.get('_refcount', 0)}")
        for name in ("_flags_1", "_head_1", "_large_mapcount", "_nr_pages_mapped", "_entire_mapcount", "_pincount",
                     "_mm_ids", "_mapcount_1", "_refcount_1", "_nr_pages"):
            if name in dec.folio:
                v = dec.folio[name]
                lines.append(f"  {name:<18} {v:#x}")
    head_text = "\n".join(lines)
    lines = []
    if dec.releases is not None:
        lines.append("")
        lines.extend(dec.releases.lines())
    if dec.findings:
        lines.append("")
        for finding in dec.findings:
            lines.append(finding.line())
    if dec.depends:
        lines.append("")
        lines.append("depends on the config (none given):")
        for d in dec.depends:
            lines.append(f"  - {d}")
        alts = dec.choice.alternatives
        if alts:
            lines.append("  other packings that print the same flags fields (alternatives):")
            for a in alts:
                lines.append(f"    {a['packing']}")
    return kind, flag_text, head_text, "\n".join(lines)
