"""Bit-exact encode/decode: the fast struct path and construct agree byte for
byte, and decode/encode round-trip for 64- and 32-bit layouts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbits.kconfig.presets import preset
from mmbits.layout.codec import construct_decode, construct_encode
from mmbits.layout.registry import resolve

PRESETS = ["x86_64-6.18", "i386-pae-sparsemem", "arm32-sparsemem", "arm64-max"]
STRUCTS = ["page", "folio", "ptdesc", "slab", "zpdesc", "ioptdesc", "memdesc", "page_memdesc", "page_sep"]


@st.composite
def layout_and_bytes(draw):
    layout = resolve(draw(st.sampled_from(STRUCTS)), preset(draw(st.sampled_from(PRESETS))))
    data = draw(st.binary(min_size=layout.size, max_size=layout.size))
    return layout, data


@given(layout_and_bytes())
def test_decode_agrees_with_construct(arg) -> None:
    layout, data = arg
    assert layout.decode(data) == construct_decode(layout, data)


@given(layout_and_bytes())
def test_round_trip(arg) -> None:
    layout, data = arg
    covered = bytes(b if c else 0 for b, c in zip(data, layout.covered, strict=True))
    values = layout.decode(data)
    assert layout.encode(values) == covered
    assert construct_encode(layout, values) == covered
    assert layout.decode(layout.encode(values)) == values


def test_bitfields_little_endian() -> None:
    slab = resolve("slab", preset("x86_64-6.18"))
    raw = slab.encode({"inuse": 0x1234, "objects": 0x55, "frozen": 1})
    assert int.from_bytes(raw[40:44], "little") == (1 << 31) | (0x55 << 16) | 0x1234
    assert slab.decode(raw)["counters"] == (1 << 31) | (0x55 << 16) | 0x1234


def test_aliasing_is_real() -> None:
    """Writing pt_list.next writes the word compound_head reads (TABLE_MATCH)."""
    cfg = preset("x86_64-6.18")
    pt = resolve("ptdesc", cfg)
    page = resolve("page", cfg)
    raw = pt.encode({"pt_list.next": 0xFFFF888000001001})
    assert page.decode(raw)["compound_head"] & 1 == 1  # would read as a tail page


def test_big_endian_words() -> None:
    from mmbits.kconfig.model import load_model

    be = load_model().make({"ARCH": "arm64", "CPU_BIG_ENDIAN": 1})
    page = resolve("page", be)
    assert not page.little
    raw = page.encode({"_refcount": 1})
    assert raw[52:56] == b"\x00\x00\x00\x01"
    slab = resolve("slab", be)
    assert construct_decode(slab, slab.encode({"inuse": 7, "frozen": 1})) == slab.decode(
        slab.encode({"inuse": 7, "frozen": 1}))


@pytest.mark.parametrize("struct", ["page", "ptdesc"])
def test_signed_words(struct: str) -> None:
    layout = resolve(struct, preset("x86_64-6.18"))
    name = "_refcount" if struct == "page" else "__page_refcount"
    assert layout.decode(layout.encode({name: -1}))[name] == -1
