"""Per-config analyses of a proposed value in a word, one per word role.

Each takes the resolved Site, the value stored into the word and the Ask, and
returns Hits. The facts come from the data: the page->flags packing and page
flags with their kinds and aliases (FlagsWord), page types and their owner
bits (pagetype.yaml), pointer alignments and tag bits (words.yaml), the
memdesc type tables (memdesc_types.yaml) and the resolved layouts.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from mmbits.flags.data import FlagData, load_flag_data
from mmbits.flags.packing import FIELD_LABEL, FlagsWord
from mmbits.prover.facts import MemdescFacts, WordFacts
from mmbits.prover.hits import Ask, Hit, bit_text, bits_of, ranges
from mmbits.prover.site import Site
from mmbits.yamlio import load_file

if TYPE_CHECKING:
    from mmbits.layout.model import Layout


def _span(lo: int, hi: int) -> str:
    return f"bit {lo}" if lo == hi else f"bits {lo}-{hi}"


def position(site: Site, ask: Ask) -> str:
    """head | second | tail: which struct page of a compound page the bit lives in."""
    if site.page_index == 1:
        return "second"
    if site.page_index >= 2:
        return "tail"
    return _kinds_position(ask.kinds)


@cache
def _kinds_position(kinds: tuple[str, ...]) -> str:
    """The position the page kinds give a bit of the head page's words (once per kinds: a
    new question asks it of every class it analyses)."""
    data = load_flag_data()
    pos = {data.kinds[k].position for k in kinds if k in data.kinds}
    if pos == {"second"}:
        return "second"
    if pos == {"tail"}:
        return "tail"
    return "head"


# -- page->flags and its overlays ----------------------------------------------

def analyse_flags(word: FlagsWord, base: FlagsWord, site: Site, value: int, ask: Ask,
                  env: Mapping[str, Any], page_sizes: tuple[int, int] | None = None) -> list[Hit]:
    data = load_flag_data()
    hits: list[Hit] = []
    pos = position(site, ask)
    label = ask.label
    where = f"{label} {{}}"
    field_bits: dict[str, list[tuple[int, int]]] = {}
    gap_bits: list[tuple[int, int]] = []
    flag_bits: list[tuple[int, int]] = []
    for b in bits_of(value):
        ab = site.anchor_bit(b)
        if ab is None:
            continue
        if ab < word.nr_pageflags:
            flag_bits.append((b, ab))
            continue
        owner = next((f for f in word.fields if f.lsb <= ab <= f.msb), None)
        if owner is not None:
            field_bits.setdefault(owner.name, []).append((b, ab))
        else:
            gap_bits.append((b, ab))

    for name, pairs in field_bits.items():
        f = word.field(name)
        assert f is not None
        wbits = [b for b, _ in pairs]
        rel = ranges([ab - f.lsb for _, ab in pairs])
        flabel = FIELD_LABEL.get(name, name.upper())
        what = f"page.flags {_span(f.lsb, f.msb)} = {flabel}"
        if f.runtime:
            msg = (f"{label} {bit_text(wbits)} {'is' if len(wbits) == 1 else 'are'} claimed at run time by compressed "
                   f"allocation tags ({what}): booted with sysctl.vm.mem_profiling=1,compressed the kernel keeps "
                   f"alloc tag references in the whole gap above the page flags "
                   f"(alloc_tag_ref_offs = LRU_REFS_PGOFF - NR_UNUSED_PAGEFLAG_BITS)")
        else:
            msg = f"{label} {bit_text(wbits)} {'is' if len(wbits) == 1 else 'are'} {flabel} bit {rel}: {what}"
        hits.append(Hit("collision", f"field:{name}", msg, where.format(bit_text(wbits)), "error", what,
                        (("field", flabel), ("lsb", f.lsb), ("width", f.width), ("runtime", f.runtime))))

    if gap_bits:
        masks = word.masks  # read here and by _flag_bit: a packed field's bits need none of them
        wbits = [b for b, _ in gap_bits]
        mask = 0
        for _, ab in gap_bits:
            mask |= 1 << ab
        consequences = []
        if not mask & masks.get("PAGE_FLAGS_CHECK_AT_PREP", 0):
            consequences.append("the allocator neither clears it at free nor checks it at allocation "
                                "(outside PAGEFLAGS_MASK / PAGE_FLAGS_CHECK_AT_PREP), so it survives into the "
                                "next owner of the page")
        if not mask & masks.get("THP_SPLIT_COPY", 0):
            consequences.append("THP split does not copy it")
        consequences.append("%pGp does not print it")
        gap = f"gap {_span(*word.gap)}" if word.gap else "no gap"
        if env.get("MEM_ALLOC_PROFILING") and not env.get("MEM_PROFILING_COMPRESSED"):
            consequences.append("booting this kernel with sysctl.vm.mem_profiling=1,compressed would hand the "
                                "whole gap to allocation tags")
        what = f"page.flags {gap} (above NR_PAGEFLAGS = {word.nr_pageflags})"
        msg = (f"{label} {bit_text(wbits)} {'is' if len(wbits) == 1 else 'are'} not an allocated page flag: "
               f"{what}; " + "; ".join(consequences))
        hits.append(Hit("unallocated-bit", "gap", msg, where.format(bit_text(wbits)), "error", what,
                        (("nr_pageflags", word.nr_pageflags), ("gap", list(word.gap) if word.gap else None))))
        if word.nr_unused_kernel != word.true_gap_bits:
            hits.append(_miscount(word, label))
        if word.alloc_tag_note and (env.get("MEM_PROFILING_COMPRESSED") and word.field("alloc_tag") is None):
            hits.append(Hit("undefined-shift", "alloc-tag-shift", word.alloc_tag_note, f"{label}", "warning",
                            "compressed allocation tags"))

    for b, ab in flag_bits:
        fl = word.flags[ab]
        hits += _flag_bit(fl, b, ab, pos, ask, word, data, label, env)

    hits += _new_flags(base, word, label, page_sizes)
    return hits


# the masks analyse_flags reads (prover.analyse's class keys hold their values)
FLAG_MASKS_READ = ("PAGE_FLAGS_SECOND", "PAGE_FLAGS_CHECK_AT_FREE", "PAGE_FLAGS_CHECK_AT_PREP", "THP_SPLIT_COPY")


def flag_bits_inputs(word: FlagsWord, base: FlagsWord, site: Site, value: int,
                     env: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Everything analyse_flags reads of the packing and the config when no flag is added,
    bit by bit: on an existing page flag its FlagBit and that bit of PAGE_FLAGS_SECOND and
    PAGE_FLAGS_CHECK_AT_FREE (and whether free-time checks run); on a packed field the
    field; in the gap that bit of PAGE_FLAGS_CHECK_AT_PREP and THP_SPLIT_COPY, with the
    gap, NR_PAGEFLAGS, the kernel's count and the allocation-tag mode the messages name.
    Thousands of packings (node, zone, section widths) agree on that, so the analysis is
    shared between them. None when flags are added (the answer reads both packings)."""
    if base is not word:
        return None
    out: list[Any] = []
    gap = False
    for b in bits_of(value):
        ab = site.anchor_bit(b)
        if ab is None:
            continue
        read = bit_input(word, ab)
        gap = gap or read[0] == "gap"
        out.append((b, *read))
    return (tuple(out), bool(env.get("CHECK_PAGES")), gap_inputs(word, env) if gap else ())


def bit_input(word: FlagsWord, ab: int) -> tuple[Any, ...]:
    """What analyse_flags reads of the packing for bit `ab` of page->flags (one item of
    `flag_bits_inputs`, without the word's bit number): ("gap", ...) for a gap bit; what
    `bit_inputs` gives for that one bit, without its pass over the range (a new question
    reads a bit or two of each of hundreds of packings; tests/prover check they agree).
    The prover's class table (prover.bittable) keeps these per class, by value, so a new
    question compares them instead of recomputing each class's packing."""
    if ab < word.nr_pageflags:
        masks = word.masks
        return (word.flags[ab], masks.get("PAGE_FLAGS_SECOND", 0) >> ab & 1,
                masks.get("PAGE_FLAGS_CHECK_AT_FREE", 0) >> ab & 1)
    for f in word.fields:  # the first field over the bit, as bit_inputs finds it
        if f.lsb <= ab <= f.lsb + f.width - 1:
            return ("field", f.name, word.field(f.name))
    masks = word.masks
    return ("gap", ab, masks.get("PAGE_FLAGS_CHECK_AT_PREP", 0) >> ab & 1, masks.get("THP_SPLIT_COPY", 0) >> ab & 1)


def bit_inputs(word: FlagsWord, lo: int, hi: int) -> list[tuple[Any, ...]]:
    """`bit_input` for each bit in [lo, hi), in one pass over the fields."""
    masks = word.masks
    nr = word.nr_pageflags
    out: list[tuple[Any, ...]] = []
    if lo < nr:
        second, at_free = masks.get("PAGE_FLAGS_SECOND", 0), masks.get("PAGE_FLAGS_CHECK_AT_FREE", 0)
        flags = word.flags
        out += [(flags[ab], second >> ab & 1, at_free >> ab & 1) for ab in range(lo, min(nr, hi))]
    start = max(lo, nr)
    if hi > start:
        owner: list[tuple[Any, ...] | None] = [None] * (hi - start)
        for f in word.fields:  # a bit belongs to the first field over it
            span = range(max(f.lsb, start), min(f.msb, hi - 1) + 1)
            if not span:
                continue
            read = ("field", f.name, word.field(f.name))
            for ab in span:
                if owner[ab - start] is None:
                    owner[ab - start] = read
        prep, thp = masks.get("PAGE_FLAGS_CHECK_AT_PREP", 0), masks.get("THP_SPLIT_COPY", 0)
        out += [r if r is not None else ("gap", ab, prep >> ab & 1, thp >> ab & 1)
                for ab, r in zip(range(start, hi), owner, strict=True)]
    return out


def gap_inputs(word: FlagsWord, env: Mapping[str, Any]) -> tuple[Any, ...]:
    """What analyse_flags reads besides the bits when a bit falls in the gap."""
    return (word.gap, word.nr_pageflags, word.nr_unused_kernel, word.alloc_tag_note,
            word.field("alloc_tag") is None, bool(env.get("MEM_ALLOC_PROFILING")),
            bool(env.get("MEM_PROFILING_COMPRESSED")))


def _miscount(word: FlagsWord, label: str) -> Hit:
    gap = f"bits {word.gap[0]}-{word.gap[1]}" if word.gap else "none"
    return Hit("miscount", "miscount",
               f"the kernel's NR_UNUSED_PAGEFLAG_BITS is {word.nr_unused_kernel} but the true gap is {gap} "
               f"({word.true_gap_bits} bits): NR_NON_PAGEFLAG_BITS counts LAST_CPUPID_SHIFT, not its width",
               label, "note", "NR_UNUSED_PAGEFLAG_BITS",
               (("kernel", word.nr_unused_kernel), ("true_gap_bits", word.true_gap_bits)))


def _kinds_using(kinds: tuple[str, ...], users: tuple[str, ...]) -> list[str]:
    if "any" in users:
        return list(kinds)
    return [k for k in kinds if k in users]


def existing_kinds(fl: Any, ask: Ask, pos: str) -> tuple[str, ...]:
    """The asked page kinds on which `--as NAME` is already this bit's own definition in
    the kernel checked: NAME is the flag or one of its aliases present in this config,
    valid at this position for that kind. Empty when NAME is new (or names another bit)."""
    name = ask.as_name
    if not name:
        return ()
    out: list[str] = []
    if name == fl.name and pos == "head":
        out += _kinds_using(ask.kinds, fl.kinds)
    for a in fl.aliases:
        if a.name != name:
            continue
        if (pos == "head" and a.page in ("head", "any")) or (pos != "head" and a.page in (pos, "any")):
            out += [k for k in ask.kinds if k in a.kinds or "any" in a.kinds or pos != "head"]
    return tuple(dict.fromkeys(out))


def _existing_note(fl: Any, ask: Ask, kinds: tuple[str, ...], b: int, ab: int, where: str) -> Hit:
    base = "" if ask.as_name == fl.name else f" (= {fl.name})"
    from mmbits.flags.data import load_flag_data

    version = load_flag_data().version
    return Hit("existing-definition", f"existing:{ask.as_name}",
               f"{ask.as_name}{base} is already page.flags bit {ab} for {', '.join(kinds)} pages in {version}: "
               f"existing definition, checked for consistency (every other use of the bit still counts)",
               where, "note", str(ask.as_name),
               (("name", ask.as_name), ("bit", ab), ("kinds", list(kinds)), ("existing", True)))


def _flag_bit(fl: Any, b: int, ab: int, pos: str, ask: Ask, word: FlagsWord, data: FlagData,
              label: str, env: Mapping[str, Any] | None = None) -> list[Hit]:
    """Everything already in the bit counts against the proposal, the flag its expression
    names included; only an existing definition (`--as` an alias of this bit for these
    kinds) is exempt, and then only its own use."""
    hits: list[Hit] = []
    masks = word.masks
    where = f"{label} bit {b}"
    bit = 1 << ab
    mine = fl.name in ask.self_names  # the proposal's own new enum entry
    existing = existing_kinds(fl, ask, pos) if not mine else ()
    notes: list[Hit] = [_existing_note(fl, ask, existing, b, ab, where)] if existing else []
    if pos in ("second", "tail"):
        page = "page[1]" if pos == "second" else "a tail page"
        if pos == "second":
            for name, lo, hi, doc in data.second_page_reserved:
                if lo <= ab <= hi:
                    what = f"page[1].flags {_span(lo, hi)} = {name}"
                    hits.append(Hit("collision", f"second:{name}",
                                    f"{label} bit {b} is in the {name} of a large folio: {what} ({doc})",
                                    where, "error", what))
                    return hits
        if fl.policy == "PF_ANY" and fl.tails and not mine:
            what = f"{fl.name} (PF_ANY: set per page, on tail pages too)"
            rule = " (page-flags.h: second-page flags cannot use a PF_ANY flag)" if pos == "second" else ""
            hits.append(Hit("collision", f"pf-any:{fl.name}",
                            f"{label} bit {b} is {fl.name}, a PF_ANY flag that is set per page, on tail pages too, "
                            f"so {page} may carry it{rule}", where, "error", what))
        for a in fl.aliases:
            if a.name == ask.as_name and existing:
                continue
            if a.page == "any":
                what = f"{a.name} (= {fl.name}; per page, on tail pages too)"
                hits.append(Hit("collision", f"per-page:{a.name}",
                                f"{label} bit {b} is {a.name} (= {fl.name}, bit {ab}), a per-page flag of "
                                f"{', '.join(a.kinds)} pages that is set on tail pages too, so {page} may carry it",
                                where, "error", what, (("flag", a.name), ("used_by", list(a.kinds)))))
            elif a.page == pos:
                hits.append(Hit("collision", f"{pos}:{a.name}",
                                f"{label} bit {b} is already the {'second' if pos == 'second' else 'tail'}-page "
                                f"flag {a.name} (= {fl.name}, bit {ab})", where, "error", a.name))
        if hits or pos == "tail":
            return hits + notes
        second = masks.get("PAGE_FLAGS_SECOND", 0)
        if existing:
            if not bit & second:
                notes.append(Hit("obligation", "second-page",
                                 f"{ask.as_name} (page[1] bit {ab}) is not in PAGE_FLAGS_SECOND: free_pages_prepare() "
                                 f"does not clear it on page[1]", where, "warning", str(ask.as_name)))
            return notes
        if not bit & second:
            hits.append(Hit("obligation", "second-page",
                            f"nothing uses {label} bit {b} (page.flags bit {ab}, {fl.name}'s bit) on page[1]; add "
                            f"it to PAGE_FLAGS_SECOND so free_pages_prepare() clears it, and clear or move it on THP "
                            f"split", where, "note", fl.name))
            if bit & masks.get("PAGE_FLAGS_CHECK_AT_FREE", 0):
                hits.append(_bad_page(fl, label, b, where, env, second_page=True))
        return hits
    # head (or order-0) page. An existing definition (PT_reserved = PG_reserved on page
    # tables) is the base flag's own use on the definition's kinds.
    excused = set(existing)
    if not mine:
        users = [k for k in _kinds_using(ask.kinds, fl.kinds) if k not in excused]
        if users:
            by = "every page kind" if "any" in fl.kinds else ", ".join(users) + " pages"
            why = _compound_reason(fl.name, users)
            hits.append(Hit("collision", f"flag:{fl.name}",
                            f"{label} bit {b} is {fl.name} (page.flags bit {ab}), in use on {by}{why}", where, "error",
                            fl.name, (("flag", fl.name), ("used_by", list(fl.kinds)))))
    for a in fl.aliases:
        if (a.name == ask.as_name and existing) or a.page not in ("head", "any"):
            continue
        users = [k for k in ask.kinds if k in a.kinds]
        if users:
            hits.append(Hit("collision", f"flag:{a.name}",
                            f"{label} bit {b} is {a.name} (= {fl.name}, bit {ab}), in use on {', '.join(users)} "
                            f"pages{_alias_reason(a)}", where, "error", a.name,
                            (("flag", a.name), ("used_by", list(a.kinds)))))
    if hits:
        return hits + notes
    if bit & masks.get("PAGE_FLAGS_CHECK_AT_FREE", 0):
        if existing:
            notes.append(Hit("bad-page-at-free", f"check-at-free:{fl.name}",
                             f"{fl.name} is in PAGE_FLAGS_CHECK_AT_FREE: the kernel's own {ask.as_name} users must "
                             f"clear it before the page reaches __free_pages() (an existing definition: its free path "
                             f"is the kernel's, not this proposal's)", where, "note", fl.name, (("existing", True),)))
        else:
            hits.append(_bad_page(fl, label, b, where, env))
    return hits + notes


def _bad_page(fl: Any, label: str, b: int, where: str, env: Mapping[str, Any] | None,
              second_page: bool = False) -> Hit:
    """A flag in PAGE_FLAGS_CHECK_AT_FREE set at free: caught only when free-time checks run."""
    checks = bool(env.get("CHECK_PAGES")) if env is not None else False
    catch = ("this config runs the free-time checks (CHECK_PAGES: DEBUG_VM), so the kernel reports 'Bad page state "
             "... PAGE_FLAGS_CHECK_AT_FREE flag(s) set' and leaks the page" if checks else
             "this config does not run the free-time checks (no DEBUG_VM or page debugging): free_pages_prepare() "
             "clears the bit silently, and a debug kernel reports 'Bad page state ... PAGE_FLAGS_CHECK_AT_FREE "
             "flag(s) set'")
    if second_page:
        msg = (f"{fl.name} is in PAGE_FLAGS_CHECK_AT_FREE: until the new flag is in PAGE_FLAGS_SECOND, freeing a "
               f"large folio with it set on the tail page trips the check; {catch}")
    else:
        msg = (f"{label} bit {b} ({fl.name}) is in PAGE_FLAGS_CHECK_AT_FREE: it must be clear when the page reaches "
               f"__free_pages(); {catch}")
    return Hit("bad-page-at-free", f"check-at-free:{fl.name}:{int(checks)}", msg, where, "warning", fl.name,
               (("caught", checks),))


def _compound_reason(flag: str, kinds: list[str]) -> str:
    """Why a flag of every page reaches this kind: compound pages of this kind (kinds data)."""
    from mmbits.prover.facts import load_word_facts

    if flag != load_word_facts().head_flag:
        return ""
    compound = load_word_facts().compound_kinds
    why = [compound[k] for k in kinds if k in compound]
    return f" ({why[0]})" if why else ""


def _alias_reason(a: Any) -> str:
    return f" ({' '.join(a.doc.split())})" if a.doc else ""


def _new_flags(base: FlagsWord, word: FlagsWord, label: str, page_sizes: tuple[int, int] | None) -> list[Hit]:
    if base is word:
        return []
    hits: list[Hit] = []
    added = word.nr_pageflags - base.nr_pageflags
    what = f"{added} new enum pageflags entr{'y' if added == 1 else 'ies'} (NR_PAGEFLAGS {base.nr_pageflags} -> " \
           f"{word.nr_pageflags})"
    for err in word.errors:
        if err not in base.errors:
            hits.append(Hit("cannot-build", f"error:{err}", f"with {what} the kernel does not build: {err}",
                            "page.flags", "error", err))
    if word.errors:
        return hits
    old, new = base.widths.get("lru_refs", 0), word.widths.get("lru_refs", 0)
    if new < old and word.last_cpupid_in_flags == base.last_cpupid_in_flags:
        hits.append(Hit("shrinks-field", "shrink:lru_refs",
                        f"with {what} LRU_REFS_WIDTH shrinks {old} -> {new} silently (elastic min() in "
                        f"page-flags-layout.h, no build error): MGLRU tracks fewer access tiers", "page.flags",
                        "warning", "LRU_REFS", (("from", old), ("to", new))))
    if base.last_cpupid_in_flags and not word.last_cpupid_in_flags:
        size = ""
        if page_sizes is not None:
            a, b = page_sizes
            hvo = "" if b & (b - 1) == 0 else "; HugeTLB vmemmap optimisation needs a power-of-two struct page and " \
                                              "is disabled"
            size = f": sizeof(struct page) {a} -> {b}{hvo}" if a != b else \
                f" (sizeof(struct page) stays {a} on this config: the int fits in the padding)"
        hits.append(Hit("field-out-of-word", "out:last_cpupid",
                        f"with {what} LAST_CPUPID ({word.shifts['last_cpupid']} bits) no longer fits: "
                        f"LAST_CPUPID_NOT_IN_PAGE_FLAGS, int _last_cpupid is appended to struct page{size}",
                        "page._last_cpupid", "warning", "LAST_CPUPID"))
    if base.node_in_flags and not word.node_in_flags:
        hits.append(Hit("field-out-of-word", "out:node",
                        f"with {what} NODE ({word.shifts['node']} bits) no longer fits: NODE_NOT_IN_PAGE_FLAGS, "
                        f"memdesc_nid() becomes a section lookup", "page.flags", "warning", "NODE"))
    if word.nr_unused_kernel != word.true_gap_bits and word.nr_unused_kernel < 0:
        hits.append(_miscount(word, "page.flags"))
    return hits


# -- page_type ---------------------------------------------------------------------

@cache
def _typed_range() -> tuple[int, int]:
    data = load_flag_data()
    doc = load_file(data.paths["pagetype"])
    lo, hi = doc.get("typed_range") or (0x80, 0xFE)
    return int(lo), int(hi)


def analyse_page_type(site: Site, value: int, ask: Ask, facts: WordFacts) -> list[Hit]:
    data = load_flag_data()
    shift = data.page_type_shift
    none = data.page_type_none
    label = ask.label
    hits: list[Hit] = []
    if ask.type_value:
        return _type_value(value, ask, data)
    abits = [(b, ab) for b in bits_of(value) if (ab := site.anchor_bit(b)) is not None]
    type_bits = [b for b, ab in abits if ab >= shift]
    low = [(b, ab) for b, ab in abits if ab < shift]
    if type_bits:
        what = f"PGTY type byte (page_type bits {shift}-{site.anchor_bits - 1})"
        table = next((t for t in data.page_types if t.kind in ask.kinds), None)
        example = f" ({table.name} << {shift} = {table.value << shift:#x})" if table else ""
        hits.append(Hit("type-byte", "type-byte",
                        f"{label} {bit_text(type_bits)} {'is' if len(type_bits) == 1 else 'are'} in the page type "
                        f"byte{example}: setting {'it' if len(type_bits) == 1 else 'them'} changes the page's type, or "
                        f"its mapcount on an untyped page", f"{label} {bit_text(type_bits)}", "error", what))
    if not low:
        return hits
    wbits = [b for b, _ in low]
    lowmask = 0
    for _, ab in low:
        lowmask |= 1 << ab
    where = f"{label} {bit_text(wbits)}"
    untyped_kinds = []
    for kind in ask.kinds:
        k = data.kinds.get(kind)
        ptype = next((t for t in data.page_types if k is not None and t.name == k.page_type), None)
        if ptype is None:
            untyped_kinds.append(kind)
        elif ptype.low_bits & lowmask:
            what = f"{ptype.name} owner bits (mask {ptype.low_bits:#x}: {ptype.low_use})"
            hits.append(Hit("collision", f"owner:{ptype.name}",
                            f"{label} {bit_text(wbits)} on {kind} pages: the low bits of a {ptype.name} page are "
                            f"{ptype.low_use}", where, "error", what))
    if untyped_kinds:
        what = "_mapcount (page_type of an untyped page)"
        hits.append(Hit("collision", "mapcount",
                        f"{', '.join(untyped_kinds)} pages have no page type: the word is _mapcount there (-1 when "
                        f"unmapped, the map count when mapped), so {label} {bit_text(wbits)} changes a count",
                        where, "error", what))
    if none & lowmask == lowmask:
        what = f"page_type = {none:#x} (UINT_MAX) on every untyped page"
        detail = "; ".join(x for x in (facts.type_setter, facts.type_clearer, facts.type_at_free) if x)
        hits.append(Hit("always-true", "untyped",
                        f"an untyped page reads page_type == {none:#x}: {label} {bit_text(wbits)} already "
                        f"{'reads' if len(wbits) == 1 else 'read'} 1 on every page without a type (before the "
                        f"constructor, after the destructor, on the free list), so testing it is always true there "
                        f"and OR-ing it in is a no-op; the bits mean something only while the page is typed ({detail})",
                        where, "error", what))
    if facts.owner_bits_disputed:
        lo, hi = facts.owner_bits_disputed
        disputed = [b for b, ab in low if lo <= ab <= hi]
        if disputed:
            hits.append(Hit("type-byte", "owner-bits",
                            f"{label} {bit_text(disputed)}: {facts.owner_bits_doc}", where, "warning",
                            f"page_type owner bits {lo}-{hi}"))
    return hits


def _type_value(value: int, ask: Ask, data: FlagData) -> list[Hit]:
    lo, hi = _typed_range()
    label = ask.label
    hits: list[Hit] = []
    if not 0 <= value <= 0xFF:
        return [Hit("type-byte", "not-a-byte", f"page type {value:#x} does not fit the 8-bit type byte", label,
                    "error", "PGTY type byte")]
    if not lo <= value <= hi:
        return [Hit("type-byte", "range",
                    f"page type {value:#x} is not a type: page_type_has_type() needs a top byte in "
                    f"{lo:#x}-{hi:#x} (below is a mapcount, {0xff:#x} the untyped/underflow range)", label,
                    "error", "PGTY type byte")]
    for t in data.page_types:
        if t.value == value and t.name != ask.as_name:
            hits.append(Hit("type-byte", f"type:{t.name}", f"page type {value:#x} is already {t.name}", label,
                            "error", t.name))
    return hits


# -- pointer words (compound_head, mapping, memcg_data) -----------------------------------

def analyse_pointer(site: Site, value: int, ask: Ask, facts: WordFacts, env: Mapping[str, Any]) -> list[Hit]:
    pw = facts.pointers.get(site.anchor or "")
    if pw is None:
        return []
    label = ask.label
    align = int(pw.target_align(env))
    free = max(align.bit_length() - 1, 0)
    tags = {t.bit: t for t in pw.tags if t.present(env)}
    hits: list[Hit] = []
    below: list[int] = []
    address: list[int] = []
    for b in bits_of(value):
        ab = site.anchor_bit(b)
        if ab is None:
            continue
        tag = tags.get(ab)
        if tag is not None:
            what = f"page.{site.anchor} bit {ab} = {tag.name}"
            doc = f" ({tag.doc})" if tag.doc else ""
            hits.append(Hit(tag.rule, f"tag:{tag.name}", f"{label} bit {b} is {tag.name}{doc}", f"{label} bit {b}",
                            tag.severity, what))
        elif ab < free:
            below.append(b)
        else:
            address.append(b)
    holds = f"page.{site.anchor} holds {pw.holds}"
    if below:
        hits.append(Hit("pointer-tag", f"align:{site.anchor}",
                        f"{label} {bit_text(below)} {'is' if len(below) == 1 else 'are'} clear only because what "
                        f"{holds.split(' holds ')[0]} points to is {align}-byte aligned on this ABI; nothing reserves "
                        f"{'it' if len(below) == 1 else 'them'} ({holds})", f"{label} {bit_text(below)}", "warning",
                        f"low bits of a {align}-byte-aligned pointer"))
    if address:
        what = f"address bits of the pointer in page.{site.anchor}"
        hits.append(Hit("pointer-tag", f"address:{site.anchor}",
                        f"{label} {bit_text(address)} {'is an address bit' if len(address) == 1 else 'are address bits'}"
                        f" of a pointer aligned to only {align} bytes ({holds})", f"{label} {bit_text(address)}",
                        "error", what, (("align", align),)))
    return hits


# -- any word: other members over the same bits ----------------------------------------------

def analyse_arms(site: Site, value: int, ask: Ask) -> list[Hit]:
    if not site.others or not value:
        return []
    hits = []
    wbits = bits_of(value)
    lists = [o for o in site.others if o.list_head]
    ptrs = [o for o in site.others if o.pointer and not o.list_head]
    if lists:
        names = ", ".join(f"{o.name} ({o.type})" for o in lists)
        hits.append(Hit("collision", f"arm:{lists[0].name}",
                        f"{ask.label} {bit_text(wbits)} share{'s' if len(wbits) == 1 else ''} bytes with {names} in "
                        f"another union arm of struct {site.struct}: list_add() writes a pointer there and list_del() "
                        f"writes LIST_POISON", f"{ask.label} {bit_text(wbits)}",
                        # a pointer word's own analysis covers its list view (compound_head is lru.next)
                        "warning" if site.role == "pointer" else "error", f"{site.struct}.{lists[0].name}"))
    if ptrs:
        names = ", ".join(f"{o.name} ({o.type})" for o in ptrs)
        hits.append(Hit("collision", f"arm:{ptrs[0].name}",
                        f"{ask.label} {bit_text(wbits)} share{'s' if len(wbits) == 1 else ''} bytes with {names} in "
                        f"another union arm of struct {site.struct}", f"{ask.label} {bit_text(wbits)}", "warning",
                        f"{site.struct}.{ptrs[0].name}"))
    return hits


# -- the memdesc type field ------------------------------------------------------------------

def produced_types(align: int, type_bits: int) -> list[int]:
    """Low `type_bits` values a pointer aligned to `align` bytes can have."""
    span = 1 << type_bits
    step = max(align, 1)
    return sorted({(k * step) % span for k in range(span)})


def analyse_memdesc(site: Site, value: int, ask: Ask, md: MemdescFacts, layout: Layout) -> list[Hit]:
    label = ask.label
    mask = (1 << md.type_bits) - 1
    stored = value << site.bit_offset
    t = stored & mask
    hits: list[Hit] = []
    if stored >> md.type_bits:
        high = [b for b in bits_of(stored) if b >= md.type_bits]
        hits.append(Hit("collision", "descriptor-pointer",
                        f"{label}: value {value:#x} sets memdesc {bit_text(high)}, the descriptor pointer: memdescs are "
                        f"{md.descriptor_align}-byte aligned, so only bits 0-{md.type_bits - 1} are the type", label,
                        "error", f"memdesc bits {md.type_bits}+ = descriptor address"))
    selfs = {ask.as_name.lower()} if ask.as_name else set()
    tables = md.table_for(site.struct)
    for i, table in enumerate(tables):
        if table.overlapping_pointer:
            head = table.overlapping_pointer.split(".", 1)[0]
            member = layout.by_name.get(head)
            if member is not None:
                align = member.align
                produced = produced_types(align, md.type_bits)
                claimed = table.claimed_alias
                cname = claimed[0] if claimed else "a list pointer"
                ptext = "/".join(map(str, produced))
                bits = layout.env.get("BITS_PER_LONG", 64)
                if t in produced:
                    what = f"{table.overlapping_pointer} over memdesc (types {ptext} = {cname})"
                    hits.append(Hit("collision", f"alias:{table.name}:{ptext}",
                                    f"{label}: type {t} is not distinguishable: a free page's "
                                    f"{table.overlapping_pointer} (a pointer to a {align}-byte-aligned "
                                    f"{member.type}) overlays memdesc, so its low {md.type_bits} bits read as type "
                                    f"{ptext} on {bits}-bit; type {t} looks like {cname}", label, "error", what,
                                    (("produced", produced), ("align", align))))
                note = f"{table.overlapping_pointer} is {align}-byte aligned on {bits}-bit: it decodes as type {ptext}"
                if claimed and sorted(claimed[1]) != produced:
                    note += f" (the plan lists {'/'.join(map(str, claimed[1]))} as {cname}: derived, "\
                            f"{'/'.join(str(v) for v in claimed[1] if v not in produced) or 'none'} cannot occur here)"
                hits.append(Hit("memdesc-alias", f"derived:{table.name}:{ptext}", note, label, "note",
                                f"types {ptext} = {cname}", (("produced", produced), ("align", align))))
        name = table.types.get(t)
        if name is not None and name.lower() not in selfs and not any(name.lower().startswith(s) for s in selfs if s):
            sev = "error" if i == 0 else "note"
            hits.append(Hit("collision", f"type:{table.name}:{t}",
                            f"{label}: type {t} is already {name} in the {table.name} table ({table.doc})", label, sev,
                            f"memdesc type {t} = {name}"))
    return hits
