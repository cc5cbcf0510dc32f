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

from dataclasses import dataclass, field
from typing import Any, Literal

from mmbits.decode.context import KernelContext
from mmbits.decode.data import DumpData, load_dump_data
from mmbits.decode.infer import ConfigChoice, choose_config, page_size, with_endian
from mmbits.decode.kernelfmt import (
    dump_mapcount,
    format_pgp,
    looks_hashed,
    page_type_has_type,
    page_type_text,
    pgp_inner,
    pgp_parts,
    pointer_text,
    s32,
)
from mmbits.decode.parse import DumpRecord
from mmbits.decode.reasons import PageFacts, judge
from mmbits.errors import InputError
from mmbits.findings import Finding
from mmbits.flags.data import load_flag_data
from mmbits.flags.packing import FlagsWord, compute
from mmbits.kconfig.config import Config
from mmbits.layout.model import Layout
from mmbits.layout.registry import LayoutSet, layouts

LIST_WORDS = ("lru", "buddy_list", "pcp_list", "pt_list", "slab_list", "iopt_freelist_elm", "_deferred_list")


@dataclass
class Slot:
    """One word of a struct page and every name the union arms give it."""

    offset: int
    size: int
    names: list[str]
    value: int
    meaning: str = ""
    bit_offset: int | None = None
    bit_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"offset": self.offset, "size": self.size, "names": self.names,
                               "value": f"{self.value:0{self.size * 2}x}" if self.bit_size is None else self.value}
        if self.bit_size is not None:
            out["bit_offset"] = self.bit_offset
            out["bit_size"] = self.bit_size
        if self.meaning:
            out["meaning"] = self.meaning
        return out


@dataclass
class PageView:
    """A struct page (or a descriptor over it) read from bytes."""

    layout: Layout
    values: dict[str, int]
    slots: list[Slot]

    def get(self, name: str, default: int | None = None) -> int | None:
        return self.values.get(name, default)


@dataclass
class Check:
    item: str
    ours: str | None
    printed: str | None
    status: str  # agrees | disagrees | unchecked
    why: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"item": self.item, "decoded": self.ours, "kernel": self.printed, "status": self.status}
        if self.why:
            out["why"] = self.why
        return out


@dataclass
class Decoded:
    number: int
    record: DumpRecord
    bits: int
    little: bool
    choice: ConfigChoice
    words: list[int]
    word: FlagsWord
    page: PageView | None
    head: PageView | None = None  # the folio head page (head: lines)
    folio: dict[str, int] = field(default_factory=dict)  # folio fields from the head: lines
    kind: str = "page"
    kind_why: str = ""
    descriptor: str = "page"
    overlay: PageView | None = None
    head_kind: str | None = None
    is_tail: bool = False
    expected: dict[str, Any] = field(default_factory=dict)  # what dump_page should print
    checks: list[Check] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    depends: list[str] = field(default_factory=list)
    struct: str = "page"
    context: KernelContext = field(default_factory=KernelContext)
    endian_why: str = ""

    @property
    def config(self) -> Config:
        return self.choice.config


# -- reading words ------------------------------------------------------------

_RESOLVED: dict[tuple[int, str, Config], Layout] = {}
_LABELS: dict[Config, str] = {}


def _resolve(lset: LayoutSet, struct: str, cfg: Config) -> Layout:
    """lset.resolve(), kept per (layout set, struct, config): a log of reports from one
    kernel resolves each struct once, and the layout's cached word table is reused."""
    key = (id(lset), struct, cfg)
    hit = _RESOLVED.get(key)
    if hit is None:
        hit = _RESOLVED[key] = lset.resolve(struct, cfg)
    return hit


_WORDS: dict[Config, FlagsWord] = {}


def _word_of(cfg: Config) -> FlagsWord:
    hit = _WORDS.get(cfg)
    if hit is None:
        hit = _WORDS[cfg] = compute(cfg)
    return hit


def _label(cfg: Config) -> str:
    hit = _LABELS.get(cfg)
    if hit is None:
        hit = _LABELS[cfg] = cfg.label()
    return hit


def words_to_bytes(words: list[int], word_bytes: int, little: bool) -> bytes:
    order: Literal["little", "big"] = "little" if little else "big"
    return b"".join((w & ((1 << (8 * word_bytes)) - 1)).to_bytes(word_bytes, order) for w in words)


_READ_PLANS: dict[int, tuple[Layout, list[tuple[str, Any]]]] = {}
_SLOT_PLANS: dict[int, tuple[Layout, list[tuple[tuple[int, int, int | None, int | None], list[str]]]]] = {}


def _read_plan(layout: Layout) -> list[tuple[str, Any]]:
    """(name, field) of every word, once per resolved layout (the layout is kept alive
    beside its id, so the id stays its own)."""
    hit = _READ_PLANS.get(id(layout))
    if hit is None or hit[0] is not layout:
        hit = _READ_PLANS[id(layout)] = (layout, list(layout.words.items()))
    return hit[1]


def read_struct(layout: Layout, data: bytes, base: int = 0) -> dict[str, int]:
    """Every word of `layout` that lies inside `data` (a dump may hold only part of a folio)."""
    out = {}
    end = len(data)
    for name, f in _read_plan(layout):
        if base + f.offset + f.size <= end:
            out[name] = f.get(data, base) & f.mask  # unsigned; s32() where the kernel reads an int
    return out


def _slot_plan(layout: Layout) -> list[tuple[tuple[int, int, int | None, int | None], list[str]]]:
    """The layout's words grouped by the bytes they cover, sorted by offset: once per layout."""
    hit = _SLOT_PLANS.get(id(layout))
    if hit is not None and hit[0] is layout:
        return hit[1]
    groups: dict[tuple[int, int, int | None, int | None], list[str]] = {}
    fields = layout.words
    for name, f in fields.items():
        head, _, _rest = name.rpartition(".")
        if head and head in fields and fields[head].offset == f.offset and fields[head].size == f.size:
            continue  # the one-member struct wrapper (flags.f, pcp_llist.next): keep the outer name
        groups.setdefault((f.offset, f.size, f.bit_offset, f.bit_size), []).append(name)
    plan = sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[0][1], kv[0][2] or 0))
    _SLOT_PLANS[id(layout)] = (layout, plan)
    return plan


def _slots(layout: Layout, values: dict[str, int]) -> list[Slot]:
    out = []
    for (off, size, bo, bs), all_names in _slot_plan(layout):
        names = [n for n in all_names if n in values]
        if names:
            out.append(Slot(off, size, names, values[names[0]], bit_offset=bo, bit_size=bs))
    return out


# -- naming values ------------------------------------------------------------

POINTER_TYPES = ("*", "list_head", "llist_node", "callback_head", "rcu_head")
NOT_POINTERS = ("flags", "pt_flags", "__page_flags", "_flags_1", "_flags_2", "_flags_3", "page_type", "__page_type",
                "_mapcount", "_refcount", "__page_refcount", "counters", "first_obj_offset")


def is_pointer_slot(layout: Layout, names: list[str]) -> bool:
    """Whether a union arm declares these bytes as a pointer (or a pointer-holding word)."""
    for n in names:
        top = n.split(".")[0].split("[")[0]
        m = layout.by_name.get(top)
        if m is not None and any(t in m.type for t in POINTER_TYPES):
            return True
        if top in ("compound_head", "pp_magic", "memcg_data", "obj_exts", "pt_memcg_data", "_head_1", "_head_2",
                   "_head_3", "memdesc", "movable_ops", "__page_mapping"):
            return True
    return False


_POISON_ABLE: dict[tuple[int, tuple[str, ...], Config], bool] = {}


def slot_poison(slot: Slot, layout: Layout, config: Config, data: DumpData) -> tuple[str, str] | None:
    """A poison name for a slot: never for counters and flag words; on 32-bit (no poison
    delta, so poisons are small numbers) only where an arm declares a pointer."""
    key = (id(layout), tuple(slot.names), config)
    able = _POISON_ABLE.get(key)
    if able is None:
        pointer = is_pointer_slot(layout, slot.names)
        counter = any(n.split(".")[0] in NOT_POINTERS for n in slot.names)
        delta = int(config.get("POISON_POINTER_DELTA", 0) or 0)
        able = _POISON_ABLE[key] = not (counter and not pointer) and (bool(delta) or pointer)
        _LAYOUTS_SEEN.append(layout)  # keeps the id unique while the entry lives
    if not able:
        return None
    return poison_name(slot.value, slot.size, config, data)


_LAYOUTS_SEEN: list[Layout] = []


def poison_name(value: int, size: int, config: Config, data: DumpData) -> tuple[str, str] | None:
    """(name, doc) of a pointer poison or fill pattern equal to `value`, if any."""
    delta = int(config.get("POISON_POINTER_DELTA", 0) or 0)
    mask = (1 << (8 * size)) - 1
    if size >= config.bits // 8:
        for p in data.pointer_poison:
            if value == (delta + p.offset) & mask:
                return p.name, p.doc
    for pat in data.patterns:
        # an all-ones word is -1 (page_type "no type", a -1 counter); 0xff fill is
        # only recognised on the whole flags word (see _findings)
        if size == config.bits // 8 and pat.byte != 0xFF and value == int.from_bytes(bytes([pat.byte]) * size,
                                                                                      "little"):
            return f"{pat.name} fill", pat.doc
    if size == 4:
        for name, v, doc in data.magic32:
            if value == v:
                return name, doc
    return None


def _list_alias(names: list[str], poison: str) -> str | None:
    """The list_head member whose list_del() writes `poison` into this slot."""
    want = ".next" if poison == "LIST_POISON1" else ".prev" if poison.startswith("LIST_POISON2") else None
    if want is None:
        return None
    listy = [n for n in names if n.endswith(want) and n.split(".")[0] in LIST_WORDS]
    if listy:
        return listy[0]
    return next((n for n in names if n.endswith(want)), None)


# -- the page kind ------------------------------------------------------------

@dataclass(frozen=True)
class Printed:
    """What the kernel itself said about the flags word and page_type of the dumped folio:
    its own names, which hold for its own enum pageflags whatever version it was."""

    flags_value: int
    names: frozenset[str]
    page_type_name: str | None

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
    ch = values.get("compound_head", 0)
    if faithful is False and ch:
        return "tail", (f"dump_page said 'page does not match folio' and printed compound_head with bit 0 cleared: "
                        f"a tail page whose head struct page is at {pointer_text(ch, bits)}")
    if ch & 1:
        return "tail", f"compound_head bit 0 is set: a tail page of the folio at {pointer_text(ch - 1, bits)}"
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


# -- the decode ---------------------------------------------------------------

def infer_big_endian(record: DumpRecord, bits: int, arch: str | None) -> tuple[bool | None, str]:
    """The byte order, from the architecture or else from the words: on 64-bit,
    _mapcount and _refcount share raw word 6 and the kernel printed the refcount, so
    the half that holds it says which end is first."""
    data = load_dump_data()
    if arch in data.big_endian_archs:
        return True, f"{arch} is big-endian"
    words = record.head_words() or record.raw_words()
    if bits == 64 and record.page is not None and len(words) > 6 and "refcount" in record.page:
        ref = int(record.page["refcount"]) & 0xFFFFFFFF  # type: ignore[call-overload]
        hi, lo = words[6] >> 32, words[6] & 0xFFFFFFFF
        if hi != lo and ref in (hi, lo):
            return ref == lo, (f"the printed refcount:{record.page['refcount']} is the "
                               f"{'low' if ref == lo else 'high'} half of raw word 6 "
                               f"(line {(record.head or record.raw)[0].line}+)")
    if arch in ("x86_64", "i386", "riscv64", "riscv32", "um", "loongarch64", "arm64", "arm32"):
        return False, f"{arch} kernels run little-endian (the usual build)"
    return None, ""


def decode_record(record: DumpRecord, number: int, *, config: Config | None, bits: int | None,
                  big: bool | None, kind: str | None = None, struct: str = "page",
                  lset: LayoutSet | None = None, file: str = "<stdin>",
                  context: KernelContext | None = None) -> list[Decoded]:
    """Decode one report (a bare block of words may hold several pages)."""
    context = context or KernelContext()
    lset = lset or layouts()
    data = load_dump_data()
    width = record.width
    first_line = (record.raw or record.head)[0].line if (record.raw or record.head) else record.start
    if width is not None:
        wbits = 64 if width == 16 else 32
        if bits is not None and bits != wbits:
            raise InputError(f"--bits {bits} but the words here have {width} hex digits ({wbits}-bit)",
                             file=file, line=first_line)
        bits = wbits
    if config is not None:
        if bits is not None and config.bits != bits:
            raise InputError(f"{config.label()} is {config.bits}-bit but the dump's words are {bits}-bit",
                             file=file, line=first_line)
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
    if config is not None:
        choice = ConfigChoice(config, "given", f"config given: {config.label()}")
    else:
        bare_size = len(words) * wb if record.bare and len(words) * wb <= 96 else None
        try:
            choice = choose_config(record.flags_value, record.flags_text, bits, big_endian, size or bare_size,
                                   words + record.head_words(), context.arch)
        except InputError as exc:
            if exc.file is None:  # what the words imply (no config fits them) is a problem of this file
                exc.file, exc.line = file, first_line
            raise
    cfg = choice.config
    psize = _resolve(lset, struct, cfg).size
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
    for i, chunk in enumerate(chunks):
        dec = _decode_one(record, number + i, chunk, choice, bits, not big_endian, kind, struct, lset, data,
                          context)
        dec.endian_why = endian_why
        out.append(dec)
    return out


def _view(lset: LayoutSet, struct: str, cfg: Config, blob: bytes, base: int = 0) -> PageView:
    layout = _resolve(lset, struct, cfg)
    values = read_struct(layout, blob, base)
    return PageView(layout, values, _slots(layout, values))


def _decode_one(record: DumpRecord, number: int, words: list[int], choice: ConfigChoice, bits: int, little: bool,
                kind: str | None, struct: str, lset: LayoutSet, data: DumpData,
                context: KernelContext | None = None) -> Decoded:
    cfg = choice.config
    word = _word_of(cfg)
    wb = bits // 8
    dec = Decoded(number, record, bits, little, choice, words, word, None, struct=struct,
                  context=context or KernelContext())
    if words:
        blob = words_to_bytes(words, wb, little)
        dec.page = _view(lset, struct, cfg, blob)
    head_words = record.head_words()
    if head_words:
        hblob = words_to_bytes(head_words, wb, little)
        dec.head = _view(lset, "page", cfg, hblob)
        folio_layout = _resolve(lset, "folio", cfg)
        dec.folio = read_struct(folio_layout, hblob)
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
                dec.overlay = _view(lset, dec.descriptor, cfg, words_to_bytes(words, wb, little))
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


def _folio_view(lset: LayoutSet, cfg: Config, blob: bytes, first: int = 0) -> PageView:
    """struct folio fields read from `blob`; with `first`, only those of the page starting there."""
    layout = _resolve(lset, "folio", cfg)
    values = read_struct(layout, blob)
    fields = layout.words
    values = {k: v for k, v in values.items() if not k.startswith(("page.", "__page_"))
              and (not first or first <= fields[k].offset < 2 * first)}
    return PageView(layout, values, _slots(layout, values))


def _flag_set(word: FlagsWord, flags: int, name: str) -> bool:
    f = word.flag(name)
    return f is not None and bool(flags >> f.bit & 1)


def _meanings(dec: Decoded, data: DumpData) -> None:
    _cfg, _word, _bits = dec.config, dec.word, dec.bits
    views = [v for v in (dec.page, dec.overlay) if v is not None]
    for view in views:
        for slot in view.slots:
            slot.meaning = _meaning(slot, dec, view is dec.page)


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
    if any(n in ("compound_head", "_head_1", "_head_2", "_head_3") for n in names) and slot.bit_size is None:
        if v & 1:
            parts.append(f"bit 0 set: tail page, head at {pointer_text(v - 1, bits)}")
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
        elif alias and (not valid or any(n.split('.')[0] in LIST_WORDS for n in valid)):
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
            if h1 is not None and h1 != vals.get("compound_head"):
                out.append(Finding("inconsistent",
                                   f"a tail page whose head does not match: its compound_head is "
                                   f"{pointer_text(vals.get('compound_head', 0), bits)}, the folio's page 1 points "
                                   f"to {pointer_text(h1, bits)}", label, "page.compound_head", "error"))
    head_flags = dec.head.values.get("flags", 0) if dec.head is not None else 0
    if dec.head is not None and not dec.is_tail and _flag_set(word, head_flags, "PG_head") \
            and (dec.folio.get("_flags_1", 0) & 0xFF) == 0:
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
        arm = {"tail": ("compound_head",), "buddy": ("buddy_list", "private"), "page_pool": ("pp",)}.get(dec.kind)
        if arm:
            return [n for n in slot.names if n.split(".")[0] in arm or n.startswith(arm)]
        return []
    out = []
    for s in ov.slots:
        if s.offset <= slot.offset < s.offset + s.size:
            out.extend(s.names)
    return out


# -- what the kernel should have printed, and what it did print -------------

def _expected(dec: Decoded, data: DumpData) -> None:
    page = dec.page
    if page is None:
        return
    bits, word = dec.bits, dec.word
    # dump_page prints the folio's values; after "page does not match folio" it
    # treats the page itself as an order-0 folio
    folio = dec.head if dec.head is not None else (page if not dec.is_tail or dec.record.not_faithful else None)
    exp: dict[str, Any] = {"mapcount": dump_mapcount(page.values.get("_mapcount", 0xFFFFFFFF))}
    since, version = data.typed_mapcount_zero_since, dec.context.version
    if dec.record.page_type_full is not None and dec.record.page_type_name and since and version \
            and version >= since:
        exp["mapcount"] = 0  # the old type encoding, printed by a kernel whose page_mapcount() gives 0
    if folio is not None:
        fv = folio.values
        flags = fv.get("flags", 0)
        exp["refcount"] = s32(fv.get("_refcount", 0))
        mapping = fv.get("mapping", 0)
        typed_slab = (fv.get("page_type", 0xFFFFFFFF) >> 24) == next(
            (t.value for t in load_flag_data().page_types if t.name == "PGTY_slab"), -1) and page_type_has_type(
            fv.get("page_type", 0xFFFFFFFF))
        if typed_slab:
            exp["mapping"] = pointer_text(0, bits)
        elif _flag_set(word, flags, "PG_swapcache") and _flag_set(word, flags, "PG_swapbacked"):
            exp["mapping"] = None  # swap_address_space(folio->swap): not in the dump
        elif mapping & data.mapping_mask:
            exp["mapping"] = pointer_text(0, bits)
        else:
            exp["mapping"] = pointer_text(mapping, bits)
        exp["index"] = fv.get("__folio_index", 0)
        exp["flags"] = format_pgp(flags, word, data)
        tag = mapping & data.mapping_mask
        exp["flags_prefix"] = "ksm" if tag == 0x3 else "anon" if tag & 0x1 else ""
        exp["page_type"] = page_type_text(fv.get("page_type", 0xFFFFFFFF), data)
        old_types, version = data.old_page_types, dec.context.version
        if old_types is not None and version is not None and version < old_types.until:
            pt = fv.get("page_type", 0xFFFFFFFF)
            if old_types.names(pt):
                exp["page_type"] = f"{pt:#x}({'|'.join(old_types.names(pt))})"  # %pGt, the whole word
        memcg = fv.get("memcg_data")
        exp["memcg"] = memcg if memcg else None
        if dec.folio and (dec.head is not None) and _flag_set(word, flags, "PG_head"):
            order = dec.folio.get("_flags_1", 0) & 0xFF
            info = {"order": order}
            if "_large_mapcount" in dec.folio:
                info["mapcount"] = s32(dec.folio["_large_mapcount"]) + 1
            if "_entire_mapcount" in dec.folio:
                info["entire_mapcount"] = s32(dec.folio["_entire_mapcount"]) + 1
            if "_nr_pages_mapped" in dec.folio:
                info["nr_pages_mapped"] = dec.folio["_nr_pages_mapped"] & (data.entirely_mapped - 1)
            if "_pincount" in dec.folio and (bits == 64 or order > 1):
                info["pincount"] = s32(dec.folio["_pincount"])
            exp["head"] = info
    dec.expected = exp


def _compare(dec: Decoded, data: DumpData) -> None:
    rec, exp, bits = dec.record, dec.expected, dec.bits
    checks = dec.checks
    label = _label(dec.config)
    if dec.page is None:
        return
    no_folio = "a tail page without head: lines: the kernel printed the folio head's value, not in the dump"
    if rec.page is not None:
        p = rec.page
        for item in ("refcount", "mapcount"):
            if item not in p:
                continue
            if item not in exp:
                checks.append(Check(item, None, str(p[item]), "unchecked", no_folio))
            else:
                checks.append(Check(item, str(exp[item]), str(p[item]),
                                    "agrees" if exp[item] == p[item] else "disagrees"))
        if "mapping" in p:
            printed = str(p["mapping"])
            if "mapping" not in exp:
                checks.append(Check("mapping", None, printed, "unchecked", no_folio))
            elif exp["mapping"] is None:
                checks.append(Check("mapping", None, printed, "unchecked",
                                    "a swap-cache folio: the kernel prints swap_address_space(folio->swap)"))
            elif printed == exp["mapping"] or (printed == "(null)" and int(exp["mapping"], 16) == 0):
                checks.append(Check("mapping", exp["mapping"], printed, "agrees"))
            elif looks_hashed(printed, int(exp["mapping"], 16), bits):
                checks.append(Check("mapping", exp["mapping"], printed, "unchecked",
                                    "%p printed a hashed pointer (boot with no_hash_pointers to compare)"))
            else:
                checks.append(Check("mapping", exp["mapping"], printed, "disagrees"))
        if "index" in p:
            printed_i = int(str(p["index"]))
            if "index" not in exp:
                checks.append(Check("index", None, hex(printed_i), "unchecked", no_folio))
            elif dec.is_tail and not rec.not_faithful:
                idx = printed_i - exp["index"]
                nr = 1 << (exp.get("head", {}).get("order", 0))
                ok = 0 < idx < nr or "head" not in exp
                checks.append(Check("index", hex(exp["index"]) + f" + page {idx}", hex(printed_i),
                                    "agrees" if ok else "disagrees",
                                    f"a tail page: folio index {exp['index']:#x} + its page number {idx}"))
            else:
                checks.append(Check("index", hex(exp["index"]), hex(printed_i),
                                    "agrees" if exp["index"] == printed_i else "disagrees"))
    if rec.flags_value is not None:
        printed = f"{rec.flags_value:#x}({rec.flags_text})"
        if "flags" not in exp:
            checks.append(Check("flags", None, printed, "unchecked", no_folio))
        else:
            ours = exp["flags"]
            same = ours.replace(" ", "") == printed.replace(" ", "")
            checks.append(Check("flags", ours, printed, "agrees" if same else "disagrees"))
            if not same:
                _flag_skew(dec, rec.flags_value, rec.flags_text or "", data)
            if rec.flags_prefix != exp.get("flags_prefix", ""):
                checks.append(Check("flags prefix", exp.get("flags_prefix") or "(none)", rec.flags_prefix or "(none)",
                                    "disagrees"))
    if "page_type" in exp:
        printed_pt = None
        if rec.page_type_byte is not None:
            printed_pt = f"{rec.page_type_byte:x}({rec.page_type_name})"
        ours = exp["page_type"]
        if rec.page_type_full is not None:
            # older kernels (before 6.12) printed the whole word: "page_type: 0xffffffff(...)"
            head = dec.head or dec.page
            full = head.values.get("page_type", 0xFFFFFFFF)
            checks.append(Check("page_type", f"{full:#x}", f"{rec.page_type_full:#x}({rec.page_type_name})",
                                "agrees" if full == rec.page_type_full else "disagrees",
                                "older dump_page format: the whole word"))
        elif rec.page is not None:
            if ours == printed_pt:
                checks.append(Check("page_type", ours, printed_pt, "agrees"))
            elif ours and printed_pt and ours.split("(")[0] == printed_pt.split("(")[0]:
                checks.append(Check("page_type", ours, printed_pt, "agrees",
                                    "same type byte; the name table differs between kernel versions"))
            else:
                checks.append(Check("page_type", ours, printed_pt, "disagrees",
                                    "" if printed_pt else "the kernel printed no page_type: line"))
    if rec.page is not None and "memcg" in exp and dec.config.on("MEMCG"):
        ours_m = f"{exp['memcg']:x}" if exp["memcg"] else None
        printed_m = f"{rec.memcg:x}" if rec.memcg is not None else None
        checks.append(Check("memcg", ours_m, printed_m, "agrees" if ours_m == printed_m else "disagrees"))
    if rec.head_info is not None and "head" in exp:
        for key, value in rec.head_info.items():
            if key in exp["head"]:
                checks.append(Check(f"head {key}", str(exp["head"][key]), str(value),
                                    "agrees" if exp["head"][key] == value else "disagrees"))
    # dump_page() prints from the same snapshot its raw: lines show (a memcpy of the
    # page, mm/debug.c since v5.19), so where our reading of the words differs from
    # its lines, our model of that kernel (version, config) is what is wrong: a note
    for c in checks:
        if c.status == "disagrees" and c.item != "flags":
            dec.findings.append(Finding("version-skew",
                                        f"the kernel printed {c.item} {c.printed}; mmbits' model ({label}) reads "
                                        f"{c.ours} from the raw words" + (f" ({c.why})" if c.why else "")
                                        + ": the model does not match that kernel here", label,
                                        f"dump_page.{c.item}", "note"))


def _flag_skew(dec: Decoded, value: int, printed_text: str, data: DumpData) -> None:
    """Say why our %pGp differs from the kernel's: flag names (enum) or fields (packing)."""
    label = _label(dec.config)
    ours_names, ours_fields = pgp_parts(value, dec.word, data)
    tokens = [t for t in printed_text.split("|") if t]
    printed_fields = {t.split("=", 1)[0]: t.split("=", 1)[1] for t in tokens if "=" in t}
    printed_names = [t for t in tokens if "=" not in t]
    msgs = []
    if printed_names != ours_names:
        main = value & ((1 << dec.word.nr_pageflags) - 1)
        bit_names = []
        for b in range(dec.word.nr_pageflags):
            if main >> b & 1:
                bit_names.append(f"bit {b} = {dec.word.owner(b).removeprefix('PG_')}")
        msgs.append(f"the kernel named the flags {'|'.join(printed_names) or '(none)'}, v6.18's enum pageflags for "
                    f"{label} gives {'|'.join(ours_names) or '(none)'} ({', '.join(bit_names) or 'no flag bits'})")
        dec.findings.append(Finding(
            "version-skew",
            msgs[-1] + ": the dump comes from a kernel whose enum pageflags differs from v6.18 (bit numbers after "
            "PG_dropbehind move with the config; older kernels had PG_error, PG_slab ...)",
            label, "page.flags", "note", {"kernel": printed_names, "decoded": ours_names}))
    ours_f = {n: t for n, _v, t in ours_fields}
    if ours_f != printed_fields:
        dec.findings.append(Finding(
            "config-mismatch",
            f"the kernel's flags fields are {'|'.join(f'{k}={v}' for k, v in printed_fields.items()) or '(none)'}, "
            f"the packing of {label} gives {'|'.join(f'{k}={v}' for k, v in ours_f.items()) or '(none)'}: the "
            f"config's page->flags packing is not the kernel's (give --config, or let mmbits infer it)",
            label, "page.flags", "note", {"kernel": printed_fields, "decoded": ours_f}))


def _depends(dec: Decoded) -> None:
    if dec.choice.how == "given":
        return
    word = dec.word
    dep = []
    if dec.choice.how != "preset":
        dep.append("the flags word: which bits are node/zone/last_cpupid/section/kasan tag/lru gen, and the bit "
                   "numbers of every flag after PG_dropbehind (mlocked, hwpoison, young, idle, arch_2, arch_3)")
    dep.append(f"the zone name (zone numbers follow the configured zones: {', '.join(word.zones)} here)")
    dep.append("which struct page words exist (memcg_data with MEMCG or SLAB_OBJ_EXT, virtual, _last_cpupid when "
               "it leaves page->flags, KMSAN shadow) and so how many raw words one page has")
    dep.append("the poison values (POISON_POINTER_DELTA: 0xdead000000000000 on x86_64/arm64, 0 on 32-bit)")
    dep.append("the byte order of sub-word fields (page_type/_mapcount vs _refcount share a 64-bit word)")
    dec.depends = dep


# -- JSON -----------------------------------------------------------------------

def to_json(dec: Decoded) -> dict[str, Any]:
    data = load_dump_data()
    rec = dec.record
    page = dec.page
    out: dict[str, Any] = {
        "input_lines": [rec.start, rec.end],
        "bits": dec.bits,
        "endian": "little" if dec.little else "big",
        "config": dec.choice.to_json(),
        "struct": dec.struct,
        "words": [f"{w:0{dec.bits // 4}x}" for w in dec.words],
    }
    if page is None:
        out.update({"kind": None, "refcount": None, "mapcount": None, "mapping": None, "index": None,
                    "page_type": None, "flags": None, "head": None, "findings": [f.to_json() for f in dec.findings],
                    "kernel": _printed_json(rec)})
        if rec.poisoned_line:
            out["poisoned"] = True
        return out
    exp = dec.expected
    vals = page.values
    flags = vals.get("flags", 0)
    names, fields = pgp_parts(flags, dec.word, data)
    fjson: dict[str, Any] = {n: v for n, v, _t in fields}
    for extra in ("lru_gen", "lru_refs"):
        pf = dec.word.field(extra)
        if pf is not None:
            fjson[extra] = (flags >> pf.lsb) & ((1 << pf.width) - 1)
    zone = dec.word.field("zone")
    if zone is not None:
        z = (flags >> zone.lsb) & ((1 << zone.width) - 1)
        fjson["zone_name"] = dec.word.zones[z] if z < len(dec.word.zones) else None
    out.update({
        "kind": dec.kind,
        "kind_reason": dec.kind_why,
        "descriptor": dec.descriptor,
        "refcount": exp.get("refcount", s32(vals.get("_refcount", 0))),
        "mapcount": exp.get("mapcount"),
        "mapping": exp.get("mapping", pointer_text(vals.get("mapping", 0), dec.bits)),
        "index": hex(exp.get("index", vals.get("__folio_index", 0))),
        "page_type": exp.get("page_type") if "page_type" in exp else page_type_text(vals.get("page_type", 0), data),
        "flags": {"hex": f"{flags:#x}", "names": names, "fields": fjson,
                  "aliases": _aliases(dec, flags), "text": format_pgp(flags, dec.word, data)},
        "fields": [s.to_json() for s in page.slots],
        "tagged_pointers": _tags_json(dec, data),
        "overlay": None if dec.overlay is None else {
            "struct": dec.overlay.layout.struct, "fields": [s.to_json() for s in dec.overlay.slots]},
        "head": _head_json(dec, data),
        "kernel": _printed_json(rec),
        "agreement": [c.to_json() for c in dec.checks],
        "findings": [f.to_json() for f in dec.findings],
    })
    if dec.depends:
        out["depends_on_config"] = dec.depends
    return out


def _tags_json(dec: Decoded, data: DumpData) -> dict[str, Any]:
    """The tagged words split: compound_head bit 0, mapping and memcg_data low bits."""
    assert dec.page is not None
    vals, bits = dec.page.values, dec.bits
    out: dict[str, Any] = {}
    if "compound_head" in vals:
        ch = vals["compound_head"]
        out["compound_head"] = {"tail": bool(ch & 1), "head": pointer_text(ch - 1, bits) if ch & 1 else None}
    if "mapping" in vals and not dec.is_tail:
        m = vals["mapping"]
        tag = m & data.mapping_mask
        out["mapping"] = {"tag": data.mapping_tags.get(tag) if tag else None,
                          "pointer": pointer_text(m & ~data.mapping_mask, bits)}
    if "memcg_data" in vals and not dec.is_tail:
        v = vals["memcg_data"]
        out["memcg_data"] = {"flags": [n for b, n in sorted(data.memcg_bits.items()) if v >> b & 1],
                             "pointer": pointer_text(v & ~data.memcg_mask, bits)}
    return out


def _aliases(dec: Decoded, flags: int) -> dict[str, list[str]]:
    """Set flags -> the alias names valid for this page's kind and position."""
    position = "second" if dec.kind == "second" else "any" if dec.is_tail else "head"
    out: dict[str, list[str]] = {}
    for f in dec.word.flags:
        if not flags >> f.bit & 1:
            continue
        valid = [a.name for a in f.aliases
                 if (dec.kind in a.kinds or "any" in a.kinds) and (a.page in (position, "any"))]
        out[f.name] = valid
    return out


def _head_json(dec: Decoded, data: DumpData) -> dict[str, Any] | None:
    if dec.head is None:
        return None
    hv = dec.head.values
    flags = hv.get("flags", 0)
    out: dict[str, Any] = {
        "words": [f"{w:0{dec.bits // 4}x}" for w in dec.record.head_words()],
        "kind": dec.head_kind,
        "refcount": s32(hv.get("_refcount", 0)),
        "mapcount": dump_mapcount(hv.get("_mapcount", 0xFFFFFFFF)),
        "mapping": pointer_text(hv.get("mapping", 0), dec.bits),
        "index": hex(hv.get("__folio_index", 0)),
        "page_type": page_type_text(hv.get("page_type", 0xFFFFFFFF), data),
        "flags": {"hex": f"{flags:#x}", "names": pgp_parts(flags, dec.word, data)[0],
                  "text": format_pgp(flags, dec.word, data)},
        "folio": {k: (s32(v) if k.startswith(("_large", "_entire", "_pincount", "_nr_pages_mapped")) else v)
                  for k, v in dec.folio.items()
                  if not k.startswith(("page.", "__page_")) and k in (
                      "_flags_1", "_head_1", "_large_mapcount", "_nr_pages_mapped", "_entire_mapcount", "_pincount",
                      "_mm_ids", "_mapcount_1", "_refcount_1", "_nr_pages")},
    }
    if "_flags_1" in dec.folio:
        out["order"] = dec.folio["_flags_1"] & 0xFF
    return out


def _printed_json(rec: DumpRecord) -> dict[str, Any] | None:
    if rec.page is None and rec.flags_value is None and rec.page_type_name is None:
        return None
    out: dict[str, Any] = {}
    if rec.page is not None:
        out["page"] = {k: (hex(v) if k in ("index", "pfn") and isinstance(v, int) else v) for k, v in rec.page.items()}
    if rec.flags_value is not None:
        out["flags"] = f"{rec.flags_prefix + ' ' if rec.flags_prefix else ''}{rec.flags_value:#x}({rec.flags_text})"
    if rec.page_type_name is not None:
        out["page_type"] = (f"{rec.page_type_byte:x}({rec.page_type_name})" if rec.page_type_byte is not None
                            else f"{rec.page_type_full:#x}({rec.page_type_name})")
    if rec.memcg is not None:
        out["memcg"] = f"{rec.memcg:x}"
    if rec.head_info is not None:
        out["head"] = rec.head_info
    if rec.reason:
        out["reason"] = rec.reason
    if rec.notes:
        out["notes"] = rec.notes
    return out


def page_bytes(config: Config) -> int:
    return page_size(config)
