"""A soundness suite that can fail (issue 14, item 7): SAFE is never wrong.

Mutations: hypothesis moves a live flag onto the proposal's bit, adds an alias of
it for the asked kind, widens a packed field into the gap, or adds a list_head
union arm over the word, and the analysis must then block (never SAFE), whatever
name the proposal gives itself.

Differential: for sampled configs and each word role, a brute force writes the
proposed value into the descriptor's bytes through the resolved layout, reads the
struct page words those bytes are (page->flags, page_type, compound_head), and
says what it hits there. The prover must call UNSAFE whatever the brute force
finds occupied. The brute force shares the data (who uses which bit) with the
prover, not its logic (no Site, no anchor arithmetic, no rules).
"""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from mmbits.flags.data import AliasSpec, load_flag_data
from mmbits.flags.packing import FlagBit, FlagsWord, PackedField, compute
from mmbits.layout.registry import layouts
from mmbits.proposal import Proposal
from mmbits.prover import check, rules
from mmbits.prover.hits import Ask
from mmbits.prover.site import Other, resolve_site
from mmbits.strategies import configs


def _changed(word: FlagsWord, **changes: Any) -> FlagsWord:
    """A copy of `word` with `changes`, made through its constructor (its cached flag lookup
    not carried over)."""
    return FlagsWord(**{**{k: v for k, v in vars(word).items() if k != "_by_name"}, **changes})


HEAD_KINDS = ["pgtable", "kernel-pgtable", "anon", "file", "slab", "zsmalloc", "reserved", "buddy"]
FLAG_WORDS = [("ptdesc", "pt_flags"), ("page", "flags"), ("slab", "flags")]


def _names(word) -> list[str | None]:  # type: ignore[no-untyped-def]
    return [None, *(f.name for f in word.flags[:8]), *(a.name for f in word.flags for a in f.aliases)]


def _blocks(word, site, bit, kind, as_name, config) -> bool:  # type: ignore[no-untyped-def]
    ask = Ask(site.label, (kind,), True, frozenset(), as_name=as_name)
    hits = rules.analyse_flags(word, word, site, 1 << bit, ask, config) + rules.analyse_arms(site, 1 << bit, ask)
    return any(h.severity == "error" for h in hits)


@given(configs(), st.sampled_from(FLAG_WORDS), st.sampled_from(HEAD_KINDS), st.data())
def test_a_live_flag_moved_onto_the_bit_blocks(config, where, kind, data) -> None:  # type: ignore[no-untyped-def]
    word = compute(config)
    assume(not word.errors)
    site = resolve_site(layouts(), *where, config)
    assume(site.exists and site.role == "flags" and site.anchor_shift == 0 and site.bit_offset == 0)
    bit = data.draw(st.integers(0, word.nr_pageflags - 1), label="bit")
    as_name = data.draw(st.sampled_from(_names(word)), label="as_name")
    old = word.flags[bit]
    how = data.draw(st.sampled_from(["flag", "alias", "any"]), label="mutation")
    if how == "alias":
        alias = AliasSpec("PG_mutant", old.name, (kind,), "head", None, "pageflags", "")
        new = FlagBit(old.name, old.bit, old.policy, old.kinds, old.tails, (*old.aliases, alias))
    else:
        new = FlagBit("PG_mutant", bit, "PF_ANY", ("any",) if how == "any" else (kind,), True, ())
    flags = list(word.flags)
    flags[bit] = new
    mutated = _changed(word, flags=flags, _masks=dict(word.masks))  # masks read flag names
    assert _blocks(mutated, site, bit, kind, as_name, config), (how, bit, kind, as_name)


@given(configs(), st.sampled_from(FLAG_WORDS), st.sampled_from(HEAD_KINDS), st.data())
def test_a_packed_field_widened_into_the_gap_blocks(config, where, kind, data) -> None:  # type: ignore[no-untyped-def]
    word = compute(config)
    assume(not word.errors and word.gap is not None)
    site = resolve_site(layouts(), *where, config)
    assume(site.exists and site.role == "flags" and site.anchor_shift == 0 and site.bit_offset == 0)
    lo, hi = word.gap
    bit = data.draw(st.integers(lo, hi), label="bit")
    static = [f for f in word.fields if not f.runtime]
    assume(static)
    lowest = min(static, key=lambda f: f.lsb)
    grown = PackedField(lowest.name, bit, lowest.msb - bit + 1, lowest.runtime)
    fields = [grown if f is lowest else f for f in word.fields]
    mutated = _changed(word, fields=fields, gap=(lo, bit - 1) if bit > lo else None, _masks=dict(word.masks))
    assert _blocks(mutated, site, bit, kind, data.draw(st.sampled_from(_names(word))), config)


@given(configs(), st.sampled_from([*FLAG_WORDS, ("ptdesc", "__page_type"), ("folio", "_flags_1")]),
       st.integers(0, 31))
def test_a_list_arm_over_the_word_blocks(config, where, bit) -> None:  # type: ignore[no-untyped-def]
    site = resolve_site(layouts(), *where, config)
    assume(site.exists and bit < site.bits)
    armed = site._replace(others=(*site.others, Other("mutant", "struct list_head", True, True)))
    ask = Ask(site.label, ("pgtable",), True, frozenset())
    assert any(h.severity == "error" for h in rules.analyse_arms(armed, 1 << bit, ask))


# -- differential: the prover against a byte-level brute force ---------------------------

DIFF_WORDS = [("ptdesc", "pt_flags"), ("ptdesc", "__page_type"), ("folio", "_flags_1"), ("page", "flags"),
              ("ptdesc", "pt_list"), ("slab", "flags"), ("page", "page_type")]


def _brute(config, struct, word, value, kind) -> list[str]:  # type: ignore[no-untyped-def]
    """What the value hits, found by writing it into the descriptor's bytes and reading
    the struct page words back (folio words past the first page read page[n])."""
    lset = layouts()
    layout = lset.resolve(struct, config)
    page = lset.resolve("page", config)
    buf = bytearray(max(layout.size, page.size) + page.size * 4)
    layout.words[word].set(buf, value)
    data = load_flag_data()
    flags_word = compute(config)
    out: list[str] = []
    index = layout.words[word].offset // page.size if struct == "folio" else 0
    base = index * page.size
    pflags = page.words["flags"].get(buf, base)
    for b in range(flags_word.bits):
        if not pflags >> b & 1:
            continue
        if b >= flags_word.nr_pageflags:
            out.append(f"flags bit {b}: not a page flag (field or gap)")
            continue
        fl = flags_word.flags[b]
        if index == 1:
            if b < 8 or (fl.policy == "PF_ANY" and fl.tails) or any(a.page in ("second", "any") for a in fl.aliases):
                out.append(f"page[1] flags bit {b}")
            continue
        if "any" in fl.kinds or kind in fl.kinds or any(kind in a.kinds for a in fl.aliases if a.page != "second"):
            out.append(f"flags bit {b}: {fl.name}")
    if "page_type" in page.words and index == 0:
        pt = page.words["page_type"].get(buf, base)
        if pt >> data.page_type_shift:
            out.append("page_type type byte")
        elif pt:
            out.append("page_type low bits (owner bits or _mapcount)")
    if "compound_head" in page.words and page.words["compound_head"].get(buf, base) & 1:
        out.append("compound_head bit 0: tail marker")
    return out


@given(configs(), st.sampled_from(DIFF_WORDS), st.sampled_from(["pgtable", "kernel-pgtable"]), st.booleans(),
       st.data())
def test_prover_blocks_whatever_the_brute_force_hits(config, where, kind, by_name, data) -> None:  # type: ignore[no-untyped-def]
    struct, word = where
    layout = layouts().resolve(struct, config)
    field = layout.words.get(word)
    assume(field is not None)
    width = field.bit_size if field.bit_size is not None else field.size * 8
    flags_word = compute(config)
    # half the draws aim at a flag some page of this kind carries, where the bugs live
    used = [f.bit for f in flags_word.flags if "any" in f.kinds or kind in f.kinds
            or any(kind in a.kinds for a in f.aliases)]
    bit = data.draw(st.one_of(st.sampled_from(used), st.integers(0, width - 1)), label="bit")
    assume(bit < width)
    hit = _brute(config, struct, word, 1 << bit, kind)
    # spell the bit as the flag that lives there (`PG_head`) too: naming a flag is no exemption
    expr = flags_word.flags[bit].name if by_name and bit < flags_word.nr_pageflags and "flags" in word else \
        f"BIT_ULL({bit})"
    r = check(Proposal(expr, f"{struct}.{word}", kind), config=config, lifecycle=False)
    if hit:
        assert r.verdict == "unsafe", (expr, hit, [f.message for f in r.findings])
    assert r.verdict in ("safe", "unsafe")


# -- the memdesc word: the prover against the bytes of the resolved layouts ------------------

MEMDESC_WORDS = [("page_memdesc", "memdesc"), ("memdesc", "memdesc")]


def _memdesc_brute(config, struct, value) -> list[str]:  # type: ignore[no-untyped-def]
    """What a memdesc value collides with, found in bytes: store it through the resolved
    layout, read the type bits back, look the type up in the data's first table for the
    struct, and write every pointer the overlapping list member can hold (multiples of its
    alignment, up to the type bits' span) to see which types a free page reads there."""
    from mmbits.prover.facts import load_memdesc_facts

    md = load_memdesc_facts()
    layout = layouts().resolve(struct, config)
    word = layout.words["memdesc"]
    buf = bytearray(layout.size)
    word.set(buf, value)
    stored = word.get(buf)
    mask = (1 << md.type_bits) - 1
    out: list[str] = []
    if stored & ~mask:
        out.append("bits above the type: the descriptor pointer")
    tables = [t for t in md.tables.values() if t.layout == struct] or \
        [t for t in md.tables.values() if t.layout is None]
    first = tables[0]
    if stored & mask in first.types:
        out.append(f"type {stored & mask} = {first.types[stored & mask]}")
    for table in tables:
        if table.overlapping_pointer is None:
            continue
        head = table.overlapping_pointer.split(".", 1)[0]
        align = layout.by_name[head].align
        pointer = layout.words[table.overlapping_pointer]
        seen = set()
        for k in range(1, 4 << md.type_bits):
            other = bytearray(layout.size)
            pointer.set(other, k * align)
            seen.add(word.get(other) & mask)
        if stored & mask in seen:
            out.append(f"type {stored & mask}: what a free page's {table.overlapping_pointer} reads as")
    return out


@given(configs(), st.sampled_from(MEMDESC_WORDS), st.integers(0, 63))
def test_memdesc_prover_agrees_with_the_bytes(config, where, value) -> None:  # type: ignore[no-untyped-def]
    struct, word = where
    assume(layouts().exists(struct, config))
    hit = _memdesc_brute(config, struct, value)
    r = check(Proposal(str(value), f"{struct}.{word}"), config=config, lifecycle=False)
    blocking = [f.message for f in r.findings if f.severity == "error"]
    assert (r.verdict == "unsafe") == bool(hit), (value, hit, blocking)
