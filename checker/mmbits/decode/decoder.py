"""Decode one dump_page() report: raw words -> struct page fields, kind, overlay, findings.

The words are turned into the bytes the kernel had (each word in the
config's byte order) and read back through the resolved layouts, so every
union arm is decoded from the same bytes. The page kind comes from what the
bytes say (page_type, the compound_head tail bit, PG_head, mapping tags,
pp_magic); the overlay valid for that kind is the descriptor kinds.yaml names
for it. Then we print what the kernel's own lines should have said and
compare them with what it did say.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from mmbits.decode.classify import Printed, _flag_set, descriptor_of, page_kind, printed_of
from mmbits.decode.compare import _compare, _expected
from mmbits.decode.context import KernelContext
from mmbits.decode.data import DumpData, load_dump_data
from mmbits.decode.infer import ConfigChoice, choose_config, page_size, with_endian
from mmbits.decode.kernelfmt import (
    folio_order,
    has_folio_order,
    page_type_has_type,
    pgp_inner,
    pointer_text,
    s32,
    tail_head_text,
)
from mmbits.decode.model import Check, Decoded, PageView, ReleaseAlternatives, Slot
from mmbits.decode.naming import _list_alias, poison_name, poison_table, slot_poison
from mmbits.decode.output import to_json
from mmbits.decode.parse import DumpRecord, WordLine
from mmbits.decode.reasons import PageFacts, judge
from mmbits.decode.releases import release_alternatives
from mmbits.decode.words import (
    _folio_view,
    _label,
    _resolve,
    _word_of,
    _word_plan,
    read_struct,
    view_words,
    words_to_bytes,
)
from mmbits.errors import InputError
from mmbits.findings import Finding
from mmbits.flags.data import load_flag_data
from mmbits.kconfig.config import Config
from mmbits.layout.model import Layout
from mmbits.layout.registry import LayoutSet, layouts

__all__ = ["Check", "Decoded", "PageView", "Printed", "Slot", "decode_record", "page_kind", "poison_name",
           "read_struct", "to_json", "words_to_bytes"]


def infer_big_endian(record: DumpRecord, bits: int, arch: str | None) -> tuple[bool | None, str]:
    """The byte order, from the architecture or else from the words: on 64-bit,
    _mapcount and _refcount share raw word 6 and the kernel printed the refcount, so
    the half that holds it says which end is first."""
    data = load_dump_data()
    if arch in data.big_endian_archs:
        return True, f"{arch} is big-endian"
    word6 = _word_at(record.head, 6) if record.head else _word_at(record.raw, 6)
    if bits == 64 and record.page is not None and word6 is not None and "refcount" in record.page:
        ref = int(record.page["refcount"]) & 0xFFFFFFFF  # type: ignore[call-overload]
        hi, lo = word6 >> 32, word6 & 0xFFFFFFFF
        if hi != lo and ref in (hi, lo):
            return ref == lo, (f"the printed refcount:{record.page['refcount']} is the "
                               f"{'low' if ref == lo else 'high'} half of raw word 6 "
                               f"(line {(record.head or record.raw)[0].line}+)")
    if arch in ("x86_64", "i386", "riscv64", "riscv32", "um", "loongarch64", "arm64", "arm32"):
        return False, f"{arch} kernels run little-endian (the usual build)"
    return None, ""


def _word_at(lines: list[WordLine], at: int) -> int | None:
    """Word `at` of the words these lines print (head_words()/raw_words()[at]), without
    building the list; None when they print fewer."""
    for wl in lines:
        if at < len(wl.words):
            return wl.words[at]
        at -= len(wl.words)
    return None


def decode_record(record: DumpRecord, number: int, *, config: Config | None, bits: int | None,
                  big: bool | None, kind: str | None = None, struct: str = "page",
                  lset: LayoutSet | None = None, file: str = "<stdin>",
                  context: KernelContext | None = None) -> list[Decoded]:
    """Decode one report (a bare block of words may hold several pages)."""
    context = context or KernelContext()
    lset = lset or layouts()
    data = load_dump_data()
    width = record.width
    if width is not None:
        wbits = 64 if width == 16 else 32
        if bits is not None and bits != wbits:
            raise InputError(f"--bits {bits} but the words here have {width} hex digits ({wbits}-bit)",
                             file=file, line=_first_line(record))
        bits = wbits
    if config is not None:
        if bits is not None and config.bits != bits:
            raise InputError(f"{config.label()} is {config.bits}-bit but the dump's words are {bits}-bit",
                             file=file, line=_first_line(record))
        bits = config.bits
        if big is not None:
            config = with_endian(config, big)
    bits = bits or 64
    endian_why = "given" if big is not None else ""
    if big is None and config is None:
        big, endian_why = infer_big_endian(record, bits, context.arch)
    big_endian = bool(big) if big is not None else (bool(config.big_endian) if config is not None else False)
    wb = bits // 8
    words = record.raw_words()
    size = len(words) * wb if words and not record.bare else None
    bare_size = None
    if config is not None:
        choice = _given(config)
    else:
        bare_size = len(words) * wb if record.bare and len(words) * wb <= 96 else None
        try:
            choice = choose_config(record.flags_value, record.flags_text, bits, big_endian, size or bare_size,
                                   # the words are read for an arch hint only when no arch is known
                                   None if context.arch else words + record.head_words(), context.arch,
                                   context.version)
        except InputError as exc:
            if exc.file is None:  # what the words imply (no config fits them) is a problem of this file
                exc.file, exc.line = file, _first_line(record)
            raise
    cfg = choice.config
    psize = _plan(lset, struct, cfg, wb, data)[2]
    if words and not record.bare and len(words) * wb != psize:
        raise InputError(f"raw: lines {record.raw[0].line}-{record.raw[-1].line} hold {len(words)} words "
                         f"({len(words) * wb} bytes) but struct {struct} is {psize} bytes for {_label(cfg)}",
                         file=file, line=record.raw[0].line)
    chunks: list[list[int]] = [words]
    if record.bare:
        per = psize // wb
        if len(words) % per:
            raise InputError(f"{len(words)} raw words are not a whole number of struct {struct}s "
                             f"({per} words each for {_label(cfg)})", file=file, line=record.start)
        chunks = [words[i:i + per] for i in range(0, len(words), per)]
    out = []
    # no line names the release and no config was given: the model's newest is a guess
    unknown = context.version is None and choice.how != "given" and (record.page is not None
                                                                      or record.flags_value is not None)
    for i, chunk in enumerate(chunks):
        dec = _decode_shared(record, number + i, chunk, choice, bits, not big_endian, kind, struct, lset, data,
                             context)
        dec.endian_why = endian_why
        if unknown and dec.page is not None:
            # the fit and the readings do not read the index word's value (no meaning, no poison, and
            # the index check says the same for every release): one answer per index-free shape
            at = _plain_index(record, chunk, choice, bits, struct, lset, data)
            key = dec.shape if at is None else _index_free_key(record, tuple(chunk), at, choice, bits,
                                                               not big_endian, kind, struct, lset, context)
            dec.releases = _releases_of(key, dec, partial(_decode_as, record, dec.number, dec.words, bits,
                                                          big_endian, size or bare_size, kind, struct, lset, data,
                                                          context))
        out.append(dec)
    return out


def _first_line(record: DumpRecord) -> int:
    """The line an error about the whole report points at: its first line of words."""
    lines = record.raw or record.head
    return lines[0].line if lines else record.start


# what the page's decode read (index word aside) -> the releases that fit it
_RELEASES: dict[object, ReleaseAlternatives | None] = {}


def _releases_of(key: object, dec: Decoded, decode_as: Callable[[KernelContext], Decoded]
                 ) -> ReleaseAlternatives | None:
    """decode/releases.py's answer for this page, once per key."""
    from mmbits.kconfig.model import load_model

    if key in _RELEASES:
        return _RELEASES[key]
    if len(_RELEASES) >= 1 << 10:
        _RELEASES.clear()
    chosen = int(dec.config.get("VERSION", 0) or 0)
    hit = _RELEASES[key] = release_alternatives(load_model().releases, chosen, decode_as)
    return hit


def _decode_as(record: DumpRecord, number: int, words: list[int], bits: int, big_endian: bool, size: int | None,
               kind: str | None, struct: str, lset: LayoutSet, data: DumpData, context: KernelContext,
               release: KernelContext) -> Decoded:
    """The page decoded as `release` with the config inferred for it (the log's arch kept)."""
    wb = bits // 8
    choice = choose_config(record.flags_value, record.flags_text, bits, big_endian, size,
                           words + record.head_words(), context.arch, release.version)
    if not record.bare and words and _resolve(lset, struct, choice.config).size != len(words) * wb:
        raise InputError(f"struct {struct} of {choice.config.label()} is not {len(words)} words")
    ctx = KernelContext(version=release.version, arch=context.arch)
    return _decode_one(record, number, words, choice, bits, not big_endian, kind, struct, lset, data, ctx)


# what a page's decode reads, line numbers and pfn aside -> that decode (its `shape` is the
# key) and, for a decode shared across page indices, where the index word sits in its views
_Patch = tuple[int, tuple[str, ...], tuple[int, ...], tuple[str, ...], tuple[int, ...], int]
_SHAPES: dict[tuple[object, ...], tuple[Decoded, _Patch | None] | None] = {}
_SHAPES_MAX = 1 << 9  # decodes of some 10 KB each; emptied when full (a log's memory stays near one report's)
_ABSENT = (None, None)  # not in _SHAPES (an entry is None or a decode with its patch)

# struct page's index word (include/linux/mm_types.h: pgoff_t __folio_index (index before
# v6.16), unsigned long share, page_pool's dma_addr; before v6.6 also the page-table arm's
# pt_mm / pt_frag_refcount / pt_share_count (those two a part of the word), before v6.3 the
# second page's _private_1 / deferred_list.prev): dump_page prints it as index:, and nothing
# in the decode reads it but that comparison, the word tables and the JSON (a poison in it
# is never shared: see _plain_index and _with_index)
INDEX_WORD = frozenset({"index", "__folio_index", "share", "dma_addr", "pt_mm", "pt_frag_refcount",
                        "pt_share_count", "_private_1", "deferred_list.prev"})


def _shape_key(record: DumpRecord, words: tuple[int | None, ...], choice: ConfigChoice, bits: int, little: bool,
               kind: str | None, struct: str, lset: LayoutSet, context: KernelContext,
               skip: tuple[str, ...] = ("pfn",), equal: bool | None = None) -> tuple[object, ...]:
    """Everything _decode_one reads: the words, the kernel's own lines (not their line
    numbers, not the pfn, which only the text and JSON print), the config choice (one object
    per inference, kept alive by the entry's value), the release and the options. `equal`:
    None, or (an index-free key) whether the page's index word is its printed index."""
    page = record.page
    head = record.head
    return (equal, id(choice), id(lset), struct, kind, bits, little, words,
            tuple([w for wl in head for w in wl.words]) if head else (),
            None if page is None else tuple([(k, v) for k, v in page.items() if k not in skip]),
            None if record.head_info is None else tuple(record.head_info.items()), record.memcg,
            record.flags_prefix, record.flags_value, record.flags_text, record.cma, record.page_type_byte,
            record.page_type_name, record.page_type_full, record.reason, record.poisoned_line is not None,
            record.not_faithful, tuple(record.notes) if record.notes else (), record.bare, context.version)


_INDEX_AT: dict[tuple[int, int], tuple[Layout, int | None]] = {}


def _index_word(layout: Layout, wb: int) -> int | None:
    """Which word of this struct page layout is the index word (every field over its bytes
    one of INDEX_WORD and inside the word, the index the whole word), if one is."""
    hit = _INDEX_AT.get((id(layout), wb))
    if hit is None or hit[0] is not layout:
        found = None
        for i, (fields, _groups) in enumerate(_word_plan(layout, wb) or []):
            names = {n for n, _f in fields}
            if names and names <= INDEX_WORD and names & {"index", "__folio_index"} \
                    and all(f.offset >= i * wb and f.offset + f.size <= (i + 1) * wb and f.bit_size is None
                            and (n not in ("index", "__folio_index") or f.size == wb) for n, f in fields):
                found = i
        hit = _INDEX_AT[(id(layout), wb)] = (layout, found)
    return hit[1]


# (layout set, struct, config, word size, dump data) -> (the config, the struct's size, its
# index word (_index_word, struct page only), the poisons of a word: naming.poison_table); the
# config and data kept alive beside their ids. Each report asks these: one lookup, not three
_Plan = tuple[Config, DumpData, int, int | None, dict[int, tuple[str, str]]]
_PLANS: dict[tuple[int, str, int, int, int], _Plan] = {}


def _plan(lset: LayoutSet, struct: str, cfg: Config, wb: int, data: DumpData) -> _Plan:
    key = (id(lset), struct, id(cfg), wb, id(data))
    hit = _PLANS.get(key)
    if hit is None or hit[0] is not cfg or hit[1] is not data:
        layout = _resolve(lset, struct, cfg)
        if len(_PLANS) >= 1 << 12:
            _PLANS.clear()
        hit = _PLANS[key] = (cfg, data, layout.size, _index_word(layout, wb) if struct == "page" else None,
                             poison_table(wb, cfg, data))
    return hit


def _plain_index(record: DumpRecord, words: list[int], choice: ConfigChoice, bits: int, struct: str,
                 lset: LayoutSet, data: DumpData) -> int | None:
    """The index word of a struct page report without head: lines, when it holds no poison."""
    if struct != "page" or record.bare or record.head or record.page is None:
        return None
    _cfg, _data, _size, at, poisons = _plan(lset, struct, choice.config, bits // 8, data)
    if at is None or at >= len(words) or words[at] in poisons:
        return None
    return at


def _index_free_key(record: DumpRecord, words: Sequence[int], at: int, choice: ConfigChoice, bits: int,
                    little: bool, kind: str | None, struct: str, lset: LayoutSet,
                    context: KernelContext) -> tuple[object, ...]:
    """_shape_key without the index word and the printed index, but whether they are equal."""
    equal = record.page is not None and record.page.get("index") == words[at]
    free: list[int | None] = list(words)
    free[at] = None
    return _shape_key(record, tuple(free), choice, bits, little, kind, struct, lset, context, ("pfn", "index"),
                      equal)


def _decode_shared(record: DumpRecord, number: int, words: list[int], choice: ConfigChoice, bits: int,
                   little: bool, kind: str | None, struct: str, lset: LayoutSet, data: DumpData,
                   context: KernelContext) -> Decoded:
    """_decode_one, once per shape: a log that repeats a page (the same words and lines at
    other line numbers, or another pfn) shares its decode, and so do pages that differ only
    in their index (the index word equal to the printed index:, no poison in it, not a tail,
    no head: lines), whose copies get their own index put in. Each report gets its own copy
    with its own number, lines and context; the text reuses what does not depend on them
    (render.py: keyed by the shared `shape`)."""
    at = _plain_index(record, words, choice, bits, struct, lset, data)
    if at is not None and record.page is not None and record.page.get("index") != words[at]:
        at = None
    if at is not None:
        key = _index_free_key(record, words, at, choice, bits, little, kind, struct, lset, context)
        entry = _SHAPES.get(key, _ABSENT)  # one lookup: the key is a long tuple, hashed each time
        if entry is not _ABSENT:
            if entry is not None and entry[1] is not None:
                copy = _with_index(entry[0], entry[1], number, record, context, words, data)
                if copy is not None:
                    return copy
            at = None  # this shape's decode reads its index (or a poison in a part of it): on its own
    if at is None:
        key = _shape_key(record, tuple(words), choice, bits, little, kind, struct, lset, context)
        entry = _SHAPES.get(key)
        if entry is not None:
            return _copy(entry[0], number, record, context)
    dec = _decode_one(record, number, words, choice, bits, little, kind, struct, lset, data, context)
    dec.shape = key
    patch = _index_patch(dec, at) if at is not None else None
    if len(_SHAPES) >= _SHAPES_MAX:
        _SHAPES.clear()
    _SHAPES[key] = None if at is not None and patch is None else (dec, patch)
    return dec


def _copy(dec: Decoded, number: int, record: DumpRecord, context: KernelContext) -> Decoded:
    out = object.__new__(Decoded)
    out.__dict__.update(dec.__dict__)
    out.number, out.record, out.context = number, record, context
    return out


def _index_patch(dec: Decoded, at: int) -> _Patch | None:
    """Where the index word sits in the decode's views, when nothing but the index
    comparison and the word tables read it: (word, page fields, page slots, overlay fields,
    overlay slots, the index check's place in the checks), the fields each inside the word (a part of it, like pt_frag_refcount, is
    read again from each copy's word); None when the decode reads more of it (a folio head, a
    word given a meaning, a name _meaning reads, a field across its edge). A tail page's index
    word is read by nothing else either (its folio fields are in words 0-3 and the head: lines)."""
    page = dec.page
    if page is None or dec.head is not None:
        return None
    wb = dec.bits // 8
    lo, hi = at * wb, (at + 1) * wb
    value = dec.words[at]
    views: list[tuple[str, ...] | tuple[int, ...]] = []
    for view in (page, dec.overlay):
        if view is None:
            views += [(), ()]
            continue
        fields = view.layout.words
        if any(f.offset < hi and f.offset + f.size > lo and (f.offset < lo or f.offset + f.size > hi
                                                             or f.bit_size is not None)
               for f in (fields[n] for n in view.values)):
            return None
        names = tuple(n for n in view.values if lo <= fields[n].offset < hi)
        slots = tuple(k for k, sl in enumerate(view.slots) if lo <= sl.offset < hi)
        if any(view.slots[k].meaning or view.slots[k].bit_size is not None or view.slots[k].names[0] not in names
               or MEANT_NAMES.intersection(view.slots[k].names) for k in slots):
            return None
        views += [names, slots]
    checks = [k for k, c in enumerate(dec.checks) if c.item == "index"]
    if dec.expected.get("index") != value or len(checks) != 1:
        return None
    check = dec.checks[checks[0]]
    if check.status != "agrees" or check.ours != hex(value) or check.why:
        return None
    return (at, *views, checks[0])  # type: ignore[return-value]


def _with_index(dec: Decoded, patch: _Patch, number: int, record: DumpRecord, context: KernelContext,
                words: list[int], data: DumpData) -> Decoded | None:
    """A copy of a shared decode holding this page's index word; None when a part of the
    word holds a poison here (the decode would name it: the page is decoded on its own)."""
    at, page_names, page_slots, over_names, over_slots, check_at = patch
    value = words[at]
    wb = dec.bits // 8
    buf = (value & ((1 << (8 * wb)) - 1)).to_bytes(wb, "little" if dec.little else "big")
    assert dec.page is not None
    page = _view_with(dec.page, page_names, page_slots, value, buf, -at * wb)
    if not _poisonless(page, page_slots, wb, dec.config, data):
        return None
    overlay = None
    if dec.overlay is not None:
        overlay = _view_with(dec.overlay, over_names, over_slots, value, buf, -at * wb)
        if not _poisonless(overlay, over_slots, wb, dec.config, data):
            return None
    out = _copy(dec, number, record, context)
    out.words = words
    out.page = page
    if overlay is not None:
        out.overlay = overlay
    out.expected = {**dec.expected, "index": value}
    checks = out.checks = dec.checks.copy()
    checks[check_at] = Check("index", hex(value), hex(value), "agrees")
    out.index_base = (dec, patch)
    return out


def _poisonless(view: PageView, slots: tuple[int, ...], wb: int, config: Config, data: DumpData) -> bool:
    """Whether no part of the index word (a slot smaller than the word) holds a poison."""
    for k in slots:
        slot = view.slots[k]
        if slot.size != wb and slot_poison(slot, view.layout, config, data) is not None:
            return False
    return True


def _view_with(view: PageView, names: tuple[str, ...], slots: tuple[int, ...], value: int, buf: bytes,
               base: int) -> PageView:
    """The view with the index word's fields read from `buf` (the word `value`'s bytes; `base`
    puts the word at its offset) and its slots holding them."""
    fields = view.layout.words
    values = view.values.copy()
    wb = len(buf)
    for n in names:
        f = fields[n]
        values[n] = value if f.size == wb else f.get(buf, base) & f.mask  # a whole-word field is the word
    new = view.slots.copy()
    for k in slots:
        sl = new[k]
        new[k] = Slot(sl.offset, sl.size, sl.names, values[sl.names[0]], "", sl.bit_offset, sl.bit_size)
    return PageView(view.layout, values, new)


_GIVEN: dict[int, ConfigChoice] = {}


def _given(config: Config) -> ConfigChoice:
    """The choice of a given config, one object per config (the decode memo keys on it)."""
    hit = _GIVEN.get(id(config))
    if hit is None or hit.config is not config:
        hit = _GIVEN[id(config)] = ConfigChoice(config, "given", f"config given: {config.label()}")
    return hit


def _decode_one(record: DumpRecord, number: int, words: list[int], choice: ConfigChoice, bits: int, little: bool,
                kind: str | None, struct: str, lset: LayoutSet, data: DumpData,
                context: KernelContext | None = None) -> Decoded:
    cfg = choice.config
    word = _word_of(cfg)
    wb = bits // 8
    dec = Decoded(number, record, bits, little, choice, words, word, None, struct=struct,
                  context=context or KernelContext())
    if words:
        dec.page = view_words(lset, struct, cfg, words, wb, little)
    head_words = record.head_words()
    if head_words:
        dec.head = view_words(lset, "page", cfg, head_words, wb, little)
        dec.folio = _folio_values(lset, cfg, head_words, wb, little)
    if dec.page is not None:
        printed = printed_of(record)
        k, why = page_kind(dec.page.values, word, cfg, data, not record.not_faithful, printed,
                           dec.context.version)
        dec.is_tail = k == "tail"
        if kind:
            if kind not in load_flag_data().kinds:
                known = ", ".join(load_flag_data().kinds)
                raise InputError(f"unknown page kind {kind!r}; known: {known}")
            why = f"--kind {kind} (the bytes alone say: {k}: {why})"
            k = kind
        second = (dec.is_tail and not kind and len(head_words) >= 2 * len(words)
                  and head_words[len(words):2 * len(words)] == words)
        if second:
            k, why = "second", why + "; it is the folio's page 1 (the second page of the head: lines)"
        dec.kind, dec.kind_why = k, why
        if dec.is_tail and dec.head is not None and len(head_words) == len(words) and _is_page_one(record, dec.head):
            # before v6.6 dump_page printed only the head page: when the dumped tail is the
            # folio's page 1 (its printed index is the head's plus one), its own words are
            # the folio's page-1 fields (order, mapcounts, pincount)
            dec.folio = _folio_values(lset, cfg, head_words + words, wb, little)
        dec.descriptor = descriptor_of(k) if struct == "page" else struct
        if dec.head is not None:
            hk, _hwhy = page_kind(dec.head.values, word, cfg, data, printed=printed, version=dec.context.version)
            dec.head_kind = hk
        if dec.descriptor not in ("page",) and struct == "page":
            if second:
                dec.overlay = _folio_view(lset, cfg, words_to_bytes(head_words, wb, little),
                                          first=len(words) * wb)
            elif dec.descriptor == "folio" and dec.head is not None and not dec.is_tail:
                dec.overlay = _folio_view(lset, cfg, words_to_bytes(head_words, wb, little))
            elif dec.descriptor == "folio":
                dec.overlay = _folio_view(lset, cfg, words_to_bytes(words, wb, little))
            else:
                dec.overlay = view_words(lset, dec.descriptor, cfg, words, wb, little)
        _meanings(dec, data)
        _findings(dec, data)
    _expected(dec, data)
    _compare(dec, data)
    _kernel_reason(dec, data)
    _depends(dec)
    return dec


def _kernel_reason(dec: Decoded, data: DumpData) -> None:
    """The kernel's `page dumped because:` verdict, re-checked on the words (decode/reasons.py)."""
    rec, page = dec.record, dec.page
    if page is None or not rec.reason:
        return
    vals, exp = page.values, dec.expected
    printed = printed_of(rec)
    tail_mapping = None
    tail = next((p.offset for p in data.pointer_poison if p.name == "TAIL_MAPPING"), None)
    if "mapping" in vals and tail is not None:
        delta = int(dec.config.get("POISON_POINTER_DELTA", 0) or 0)
        tail_mapping = vals["mapping"] == (delta + tail) & ((1 << dec.bits) - 1)
    facts = PageFacts(
        mapcount_raw=s32(vals["_mapcount"]) if "_mapcount" in vals else None,
        mapcount=exp.get("mapcount"), refcount=exp.get("refcount"), mapping=vals.get("mapping"),
        pincount=exp.get("head", {}).get("pincount"), is_tail=dec.is_tail, tail_mapping=tail_mapping,
        kind=dec.kind, flag_names=printed.names if printed is not None else frozenset(),
        pp_signature=dec.kind == "page_pool")
    verdict = judge(rec.reason, facts)
    label = _label(dec.config)
    where = f"page.{verdict.field}" if verdict is not None else "page"
    said = f"the kernel reported '{rec.reason}'"
    if verdict is None:
        return
    if verdict.confirmed:
        dec.findings.append(Finding(
            "bad-page-at-free" if verdict.bad_page else "inconsistent",
            f"{said} and the words show it: {verdict.detail}", label, where, "error",
            {"reason": rec.reason}))
    elif verdict.confirmed is None:
        dec.findings.append(Finding(
            "version-skew", f"{said}; the dumped words do not hold what it checked ({verdict.field}), so mmbits "
            f"cannot confirm it", label, where, "note", {"reason": rec.reason}))
    else:
        dec.findings.append(Finding(
            "version-skew", f"{said}, but mmbits' reading of the words with {label} does not show it"
            + (f" ({verdict.detail})" if verdict.detail else "") + ": the model may not match that kernel here",
            label, where, "note", {"reason": rec.reason}))


_FOLIO: dict[tuple[int, Config, tuple[int, ...], int, bool], dict[str, int]] = {}
# (slot, kind, tail, page-or-overlay) -> the slot with its meaning; the key's slot is kept alive in the value
_MEANT: dict[tuple[int, str, bool, bool], tuple[Slot, Slot]] = {}
_MEMO_MAX = 1 << 13  # each memo is emptied when full: a long log of distinct words stays in bounded memory


def _is_page_one(record: DumpRecord, head: PageView) -> bool:
    """The kernel's page: line says the dumped page is its folio's page 1 (index = head index + 1)."""
    index = record.page.get("index") if record.page is not None else None
    head_index = head.values.get("__folio_index", head.values.get("index"))
    return isinstance(index, int) and head_index is not None and index - head_index == 1


def _folio_values(lset: LayoutSet, cfg: Config, head_words: list[int], wb: int, little: bool) -> dict[str, int]:
    """struct folio's words read from the head: lines, memoised on them (a folio's head
    lines repeat across the reports of its pages)."""
    key = (id(lset), cfg, tuple(head_words), wb, little)
    hit = _FOLIO.get(key)
    if hit is None:
        if len(_FOLIO) >= _MEMO_MAX:
            _FOLIO.clear()
        hit = _FOLIO[key] = read_struct(_resolve(lset, "folio", cfg), words_to_bytes(head_words, wb, little))
    return hit


def _meanings(dec: Decoded, data: DumpData) -> None:
    """Each slot's meaning: it depends on the slot (layout, offset, value), the page's kind
    and whether it is a tail, so it is worked out once per such tuple. Slots from
    words.view_words are shared, so the view gets the meant copies."""
    kind, tail = dec.kind, dec.is_tail
    for view in (dec.page, dec.overlay):
        if view is None:
            continue
        is_page = view is dec.page
        out = []
        for slot in view.slots:
            key = (id(slot), kind, tail, is_page)
            hit = _MEANT.get(key)
            if hit is None or hit[0] is not slot:
                meant = Slot(slot.offset, slot.size, slot.names, slot.value, _meaning(slot, dec, is_page),
                             slot.bit_offset, slot.bit_size)
                if len(_MEANT) >= _MEMO_MAX:
                    _MEANT.clear()
                hit = _MEANT[key] = (slot, meant)
            out.append(hit[1])
        view.slots = out


# the names _meaning gives a meaning by (a word under one of them is not shared across values)
MEANT_NAMES = frozenset({"flags", "pt_flags", "__page_flags", "_flags_1", "compound_head", "compound_info", "_head_1",
                         "_head_2", "_head_3", "mapping", "memcg_data", "obj_exts", "pt_memcg_data", "page_type",
                         "__page_type", "_refcount", "__page_refcount", "_refcount_1", "private", "pp_magic",
                         "memdesc"})


def _meaning(slot: Slot, dec: Decoded, is_page: bool) -> str:
    cfg, word, bits = dec.config, dec.word, dec.bits
    data = load_dump_data()
    names = slot.names
    v = slot.value
    parts: list[str] = []
    if any(n in ("flags", "pt_flags", "__page_flags", "_flags_1") for n in names):
        if "_flags_1" in names or (dec.kind == "second" and is_page):
            second = [f.name for f in word.flags if v >> f.bit & 1 and f.bit >= 8
                      for a in f.aliases if a.page == "second"]
            return f"folio order {v & 0xff}" + (f"; {', '.join(dict.fromkeys(second))}" if second else "")
        return pgp_inner(v, word, data) or "no flags"
    layout = (dec.page if is_page else dec.overlay).layout  # type: ignore[union-attr]
    pn = slot_poison(slot, layout, cfg, data)
    if pn:
        parts.append(pn[0])
    if any(n in ("compound_head", "compound_info", "_head_1", "_head_2", "_head_3") for n in names) \
            and slot.bit_size is None:
        if v & 1:
            parts.append(f"bit 0 set: tail page, head at {tail_head_text(v, bits)}")
        elif not pn:
            parts.append("bit 0 clear: not a tail page")
    tail_words = dec.is_tail and is_page  # a tail page's slots belong to the folio's page-1..3 fields
    if "mapping" in names and not pn and not tail_words:
        tag = v & data.mapping_mask
        if tag:
            parts.append(f"{data.mapping_tags.get(tag, 'tag')} | {pointer_text(v & ~data.mapping_mask, bits)}")
        elif v == 0:
            parts.append("NULL")
        else:
            parts.append("address_space pointer")
    if any(n in ("memcg_data", "obj_exts", "pt_memcg_data") for n in names) and v and not pn and not tail_words:
        tags = [name for bit, name in sorted(data.memcg_bits.items()) if v >> bit & 1]
        parts.append(("|".join(tags) + " | " if tags else "") + pointer_text(v & ~data.memcg_mask, bits))
    if any(n in ("page_type", "__page_type") for n in names):
        if page_type_has_type(v):
            byte = (v >> 24) & 0xFF
            name = next((t.name for t in load_flag_data().page_types if t.value == byte), f"type {byte:#x}")
            low = v & 0xFFFFFF
            parts.append(f"{name}" + (f", owner bits {low:#x}" if low else ""))
        elif v == 0xFFFFFFFF:
            parts.append("no type (_mapcount -1: unmapped)")
        else:
            parts.append(f"_mapcount {s32(v)} (mapped {s32(v) + 1} times)")
    if any(n in ("_refcount", "__page_refcount", "_refcount_1") for n in names):
        parts.append(f"{s32(v)}")
    if "private" in names and dec.kind == "buddy" and is_page:
        parts.append(f"buddy order {v}")
    if "pp_magic" in names and dec.kind == "page_pool":
        parts.append("PP_SIGNATURE")
    if "memdesc" in names:
        parts.append(_memdesc_meaning(v, data))
    return "; ".join(p for p in parts if p)


def _memdesc_meaning(v: int, data: DumpData) -> str:
    t = v & 0xF
    tables = data.memdesc_tables
    names = ", ".join(f"{name}: {tab.get(t, '?')}" for name, tab in tables.items())
    return f"memdesc type {t} ({names}), pointer {v & ~0xF:#x}"


def _findings(dec: Decoded, data: DumpData) -> None:
    cfg, word, bits = dec.config, dec.word, dec.bits
    label = _label(cfg)
    page = dec.page
    assert page is not None
    vals = page.values
    out = dec.findings
    # poison in the slots
    for slot in page.slots:
        pn = slot_poison(slot, page.layout, cfg, data)
        if pn is None:
            continue
        name, doc = pn
        alias = _list_alias(_valid_names(dec, slot), name) or _list_alias(slot.names, name)
        if "memdesc" in slot.names:
            out.append(Finding(
                "memdesc-clobbered",
                f"page.memdesc holds {name} ({slot.value:#x}): {doc}; it shares its bytes with "
                f"{alias or ', '.join(n for n in slot.names if n != 'memdesc')}, so a list_del() of that list "
                f"head overwrote the memdesc pointer (the type bits now read {slot.value & 0xf})",
                label, f"{dec.struct}.memdesc", "error", {"offset": slot.offset, "value": hex(slot.value)}))
            continue
        valid = _valid_names(dec, slot)
        if name.endswith("fill"):
            out.append(Finding("poison", f"{' = '.join(slot.names[:3])} is a {name} ({doc})", label,
                               f"page.{slot.names[0]}", "warning", {"offset": slot.offset}))
        elif alias and (not valid or any(n.split('.')[0] in data.list_heads for n in valid)):
            out.append(Finding("poison", f"{alias} = {name} ({slot.value:#x}): {doc}; the page was unlinked from "
                               f"that list", label, f"page.{alias}", "note", {"offset": slot.offset}))
        else:
            where = ", ".join(valid) if valid else ", ".join(slot.names)
            out.append(Finding("inconsistent", f"{where} (offset {slot.offset}) holds {name} ({slot.value:#x}): "
                               f"{doc}" + (f"; only {alias} gets that value, through a list_del() over the same "
                                           f"bytes" if alias else ""),
                               label, f"{dec.descriptor}.{(valid or slot.names)[0]}", "warning",
                               {"offset": slot.offset}))
    flags = vals.get("flags", 0)
    # bits in the free gap of page->flags
    if word.gap is not None:
        lo, hi = word.gap
        gap_bits = [b for b in range(lo, hi + 1) if flags >> b & 1]
        if gap_bits and flags != (1 << bits) - 1:
            # the model's own gap: whether the kernel had a flag there is a question of
            # version and config, so a note; a bit the kernel itself could not name is
            # checked below from its own %pGp text
            out.append(Finding("version-skew", f"page->flags has bit(s) {', '.join(map(str, gap_bits))} set in the "
                               f"free gap {lo}-{hi} that no v6.18 flag or field owns for {label} (a different "
                               f"kernel or config, or a proposal's extra bit)", label, "page.flags", "note"))
    leftover = _unnamed_bits(dec.record.flags_text)
    if leftover:
        out.append(Finding("inconsistent", f"the kernel's own %pGp could not name flag bits {leftover}: "
                           f"page->flags has bits set that no enum pageflags entry of that kernel owns "
                           f"(lib/vsprintf.c format_flags() prints the unnamed rest in hex)", label, "page.flags",
                           "warning"))
    zone = word.field("zone")
    if zone is not None:
        z = (flags >> zone.lsb) & ((1 << zone.width) - 1)
        if z >= len(word.zones) and flags != (1 << bits) - 1:
            sure = dec.choice.how == "given"
            out.append(Finding("inconsistent" if sure else "version-skew",
                               f"zone {z} in page->flags but {label} has only {len(word.zones)} zones"
                               + ("" if sure else " (the config was inferred: the kernel had more zones)"),
                               label, "page.flags", "warning" if sure else "note"))
    ref = s32(vals.get("_refcount", 0))
    if ref < 0:
        out.append(Finding("inconsistent", f"_refcount is negative ({ref}): a put without a get", label,
                           "page._refcount", "warning"))
    if dec.is_tail:
        if page_type_has_type(vals.get("page_type", 0xFFFFFFFF)):
            out.append(Finding("inconsistent", "a tail page with a page type: tail pages keep page_type -1",
                               label, "page.page_type", "warning"))
        if ref != 0:
            out.append(Finding("inconsistent", f"a tail page with refcount {ref}: tail pages keep 0", label,
                               "page._refcount", "warning"))
        if dec.head is not None:
            hflags = dec.head.values.get("flags", 0)
            said = printed.flag(hflags, "head") if (printed := printed_of(dec.record)) is not None else None
            if not (said if said is not None else _flag_set(word, hflags, "PG_head")):
                out.append(Finding("inconsistent", "a tail page whose head page (head: lines) does not have PG_head",
                                   label, "page.compound_head", "error"))
            h1 = dec.folio.get("_head_1")
            tail_word = vals.get("compound_head", vals.get("compound_info"))  # compound_info from 7.1
            if h1 is not None and h1 != tail_word:
                out.append(Finding("inconsistent",
                                   f"a tail page whose head does not match: its compound_head is "
                                   f"{pointer_text(tail_word or 0, bits)}, the folio's page 1 points "
                                   f"to {pointer_text(h1, bits)}", label, "page.compound_head", "error"))
    head_flags = dec.head.values.get("flags", 0) if dec.head is not None else 0
    if dec.head is not None and not dec.is_tail and _flag_set(word, head_flags, "PG_head") \
            and has_folio_order(dec.folio) and folio_order(dec.folio) == 0:
        out.append(Finding("inconsistent", "PG_head is set but the folio order (page 1 flags & 0xff) is 0",
                               label, "folio._flags_1", "warning"))
    if dec.record.not_faithful:
        out.append(Finding("inconsistent", "the kernel said 'page does not match folio': it dumped this page as its "
                           "own folio with compound_head bit 0 cleared, so the raw tail bit is lost", label,
                           "page.compound_head", "note"))
    if flags == (1 << bits) - 1:
        out.append(Finding("poison", "the flags word is all ones: PAGE_POISON_PATTERN, the struct page was never "
                           "initialised (or was poisoned on hot-remove)", label, "page.flags", "warning"))


def _unnamed_bits(flags_text: str | None) -> str | None:
    """The hex rest %pGp printed after the flag names it knew (`0x...` among the names)."""
    if not flags_text:
        return None
    rest = [t for t in flags_text.split("|") if t.startswith("0x") and "=" not in t]
    return ", ".join(rest) or None


def _valid_names(dec: Decoded, slot: Slot) -> list[str]:
    """The names the overlay valid for this page's kind gives these bytes."""
    ov = dec.overlay
    if ov is None:
        arm = {"tail": ("compound_head", "compound_info"), "buddy": ("buddy_list", "private"), "page_pool": ("pp",)}.get(dec.kind)
        if arm:
            return [n for n in slot.names if n.split(".")[0] in arm or n.startswith(arm)]
        return []
    out = []
    for s in ov.slots:
        if s.offset <= slot.offset < s.offset + s.size:
            out.extend(s.names)
    return out


def _depends(dec: Decoded) -> None:
    if dec.choice.how == "given":
        return
    word = dec.word
    dep = []
    if dec.choice.how != "preset":
        dep.append("the flags word: which bits are node/zone/last_cpupid/section/kasan tag/lru gen, and the bit "
                   "numbers of every flag after PG_dropbehind (mlocked, hwpoison, young, idle, arch_2, arch_3)")
    if dec.context.version is None:
        dep.append("the kernel release: no line names it (no CPU: ... tainted / Linux version line) and no --kernel "
                   "was given, so the model's newest release is used; enum pageflags, page_type values and the "
                   "page[1] fields moved between releases (give --kernel to decode an older one exactly)")
    dep.append(f"the zone name (zone numbers follow the configured zones: {', '.join(word.zones)} here)")
    dep.append("which struct page words exist (memcg_data with MEMCG or SLAB_OBJ_EXT, virtual, _last_cpupid when "
               "it leaves page->flags, KMSAN shadow) and so how many raw words one page has")
    dep.append("the poison values (POISON_POINTER_DELTA: 0xdead000000000000 on x86_64/arm64, 0 on 32-bit)")
    dep.append("the byte order of sub-word fields (page_type/_mapcount vs _refcount share a 64-bit word)")
    dec.depends = dep


def page_bytes(config: Config) -> int:
    return page_size(config)
