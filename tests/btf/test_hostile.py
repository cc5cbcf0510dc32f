"""Hostile BTF: truncated, wrong magic, lengths past the end, loops, absurd counts, unknown kinds.
Each is one error line naming the file, exit 2, fast; mutated real blobs never crash the reader."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btf.btfgen import BtfBuilder, elf_with_section, sample
from mmbits.btf.reader import Btf
from mmbits.btf.render import lookup, to_json, to_text
from mmbits.errors import InputError

from util.clirun import assert_clean_error


def _show(cli, tmp_path: Path, blob: bytes, name: str = "demo"):
    path = tmp_path / "hostile.btf"
    path.write_bytes(blob)
    start = time.process_time()  # in process: CPU seconds, not the machine's load
    r = cli("btf", "show", name, "--btf", str(path))
    assert time.process_time() - start < 5
    return r


def _header(blob: bytes, **fields: int) -> bytes:
    names = ("magic", "version", "flags", "hdr_len", "type_off", "type_len", "str_off", "str_len")
    values = dict(zip(names, struct.unpack_from("<HBBIIIII", blob), strict=True)) | fields
    return struct.pack("<HBBIIIII", *(values[n] for n in names)) + blob[24:]


@pytest.mark.parametrize("mutate,message", [
    (lambda b: b[:10], "shorter than a BTF header"),
    (lambda b: b"\x7fXYZ" + b[4:], "bad magic"),
    (lambda b: b"", "empty file"),
    (lambda b: _header(b, version=2), "unsupported BTF version"),
    (lambda b: _header(b, type_len=1 << 30), "runs past the end"),
    (lambda b: _header(b, str_len=len(b)), "runs past the end"),
    (lambda b: _header(b, hdr_len=3), "bad BTF header length"),
    (lambda b: _header(b, type_len=struct.unpack_from("<I", b, 12)[0] - 4), "runs past the end of the type section"),
    (lambda b: b[:-7], "runs past the end"),
])
def test_broken_headers(cli, tmp_path: Path, mutate, message: str) -> None:
    r = _show(cli, tmp_path, mutate(sample().blob()))
    assert_clean_error(r)
    assert message in r.err and "hostile.btf" in r.err


def test_typedef_loop(cli, tmp_path: Path) -> None:
    g = BtfBuilder()
    g.ref("typedef", "a_t", 2)
    g.ref("typedef", "b_t", 1)
    g.struct("loopy", 8, [("x", 1, 0, 0)])
    r = _show(cli, tmp_path, g.blob(), "loopy")
    assert_clean_error(r)
    assert "type loop" in r.err


def test_struct_containing_itself_through_typedefs(cli, tmp_path: Path) -> None:
    g = BtfBuilder()
    g.struct("ouroboros", 16, [("", 3, 0, 0)])  # member: an anonymous struct ...
    g.ref("typedef", "o_t", 3)
    g.struct("", 16, [("again", 2, 0, 0), ("", 1, 0, 0)])  # ... holding the typedef and the struct
    r = _show(cli, tmp_path, g.blob(), "ouroboros")
    assert_clean_error(r)
    assert "contains itself" in r.err or "type loop" in r.err


def test_absurd_vlen_and_ids(cli, tmp_path: Path) -> None:
    g = sample()
    g.struct("huge", 8, [("x", 1, 0, 0)], vlen=0xFFFF)  # claims 65535 members, has one
    r = _show(cli, tmp_path, g.blob(), "huge")
    assert_clean_error(r)
    assert "runs past the end of the type section" in r.err
    g = sample()
    g.struct("dangling", 8, [("x", 4000, 0, 0)])
    r = _show(cli, tmp_path, g.blob(), "dangling")
    assert_clean_error(r)
    assert "type id 4000 out of range" in r.err


def test_unknown_kind_and_bad_strings(cli, tmp_path: Path) -> None:
    g = sample()
    g.raw("weird", 25, 0, 0, [])
    r = _show(cli, tmp_path, g.blob())
    assert_clean_error(r)
    assert "unknown BTF kind 25" in r.err
    g = sample()
    g.struct("badname", 4, [("x", 1, 0, 0)])
    blob = bytearray(g.blob())
    # point the last member's name past the string section
    struct.pack_into("<I", blob, 24 + (len(g.words) - 3) * 4, 0x7FFFFFFF)
    r = _show(cli, tmp_path, bytes(blob), "badname")
    assert_clean_error(r)
    assert "string offset" in r.err


def test_truncated_elf(cli, tmp_path: Path) -> None:
    elf = elf_with_section(sample().blob())
    for cut in (20, 70, len(elf) - 30):
        path = tmp_path / f"vmlinux{cut}"
        path.write_bytes(elf[:cut])
        assert_clean_error(cli("btf", "show", "demo", "--btf", str(path)))


def _exercise(blob: bytes, names: tuple[str, ...]) -> None:
    """Everything show does, on a possibly corrupt blob: InputError is the only way out."""
    try:
        b = Btf(blob, "fuzz")
        for name in names:
            found = lookup(b, name)
            to_text(b, found)
            to_json(b, found)
    except InputError:
        pass


@given(st.data())
def test_fuzz_mutated_synthetic(data: st.DataObject) -> None:
    blob = bytearray(sample().blob())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(blob)))
    _exercise(bytes(blob[:cut]) if data.draw(st.booleans()) else bytes(blob), ("demo", "enum colour", "demo_t"))


@given(st.data())
def test_fuzz_mutated_reference_blob(ref_blob: bytes, data: st.DataObject) -> None:
    """Words of the real 6.18 blob overwritten near struct page's records and in the header."""
    blob = bytearray(ref_blob)
    hdr_len, type_off = struct.unpack_from("<II", blob, 4)
    base = hdr_len + type_off
    for _ in range(data.draw(st.integers(1, 6))):
        where = data.draw(st.one_of(st.integers(0, 23), st.integers(base, base + 40_000)))
        word = data.draw(st.sampled_from([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x04000005, 0x13FFFFFF, 190, 0x08000000]))
        where -= where % 4
        struct.pack_into("<I", blob, where, word)
    start = time.process_time()
    _exercise(bytes(blob), ("page", "folio"))
    assert time.process_time() - start < 5


def test_exponential_inline_expansion_is_cut_short(cli, tmp_path: Path) -> None:
    """Anonymous structs nesting 1000 copies of each other would expand to 10^12 members."""
    g = BtfBuilder()
    i32 = g.int_("int", 4, signed=True)
    inner = g.struct("", 4, [("x", i32, 0, 0)])
    for _level in range(4):
        inner = g.struct("", 4, [("", inner, 0, 0)] * 1000, union=True)
    g.struct("bomb", 4, [("", inner, 0, 0)])
    start = time.process_time()
    r = _show(cli, tmp_path, g.blob(), "bomb")
    assert_clean_error(r)
    assert "members" in r.err and time.process_time() - start < 5
