"""dump_page() text round trip: print a page's words the way the kernel does
(mmbits.dumpfmt), read the text back with the decoder, and get the same
words, the same config and every printed field agreeing -- for pages built
the way the emulator and the kernel build them (a valid flags word for the
config's packing, any counters, typed or untyped, anon/file/NULL mapping)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mmbits.decode.api import decode_text
from mmbits.dumpfmt import format_dump, word_lines
from mmbits.flags.packing import compute
from mmbits.kconfig.presets import preset

CFG = preset("x86_64-6.18")
WORD = compute(CFG)


@st.composite
def pages(draw: st.DrawFn) -> list[int]:
    """8 words of an x86_64-6.18 struct page: flags within the kernel's own mask."""
    flags = draw(st.integers(0, (1 << 22) - 1)) & ~(1 << 6)  # no PG_head: no head: lines to print
    for name in ("node", "zone", "last_cpupid"):
        f = WORD.field(name)
        if f is not None and f.width:
            top = (1 << f.width) - 1 if name != "zone" else len(WORD.zones) - 1
            flags |= draw(st.integers(0, top)) << f.lsb
    ptr = st.integers(0xFFFF888000000000, 0xFFFF88FFFFFFFFF8).map(lambda p: p & ~7)
    mapping = draw(st.one_of(st.just(0), ptr, ptr.map(lambda p: p | 1)))
    mapcount = draw(st.one_of(st.just(0xFFFFFFFF), st.integers(0, 1000),
                              st.sampled_from([0xF0000000, 0xF1000000, 0xF2000000, 0xF4000000])))
    refcount = draw(st.integers(0, 1 << 16))
    index = draw(st.integers(0, (1 << 40)))
    lru = draw(ptr)
    return [flags, lru, lru + 8, mapping, index, 0, mapcount | (refcount << 32), draw(st.just(0))]


@settings(max_examples=40, deadline=None)
@given(pages(), st.integers(0, 1 << 30))
def test_printed_dump_reads_back_to_the_same_page(words, pfn):
    text = format_dump(words, CFG, pfn=pfn)
    (dec,) = decode_text(text, config=CFG)
    assert dec.words == words
    # a swap-cache folio's mapping is swap_address_space(), not in the words: unchecked
    assert all(c.status == "agrees" or (c.item == "mapping" and "swap-cache" in c.why) for c in dec.checks), \
        [c for c in dec.checks if c.status != "agrees"]
    assert f"pfn:{pfn:#x}" in text and "raw: " in text
    (inferred,) = decode_text(text)  # no config: solved from the printed flags line
    assert inferred.words == words
    assert {c.item: c.status for c in inferred.checks}["flags"] == "agrees"


def test_word_lines_are_four_longs_per_line():
    assert word_lines("raw", [1, 2, 3, 4, 5], 64) == [
        "raw: 0000000000000001 0000000000000002 0000000000000003 0000000000000004",
        "raw: 0000000000000005"]
    assert word_lines("head", [0xF2000000], 32) == ["head: f2000000"]


def test_page_type_prints_byte_and_name():
    words = [0, 0, 0, 0, 0, 0, 0xF2000000 | (1 << 32), 0]
    text = format_dump(words, CFG)
    assert "page_type: f2(table)" in text.splitlines()  # mm/debug.c v6.18: "page_type: %x(%s)"
    assert "|" not in text.split("flags: ")[1].split("\n")[0] or "=" in text  # %pGp: names|fields
