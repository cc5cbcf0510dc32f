"""The reader on real and synthetic BTF: header, index, names, both byte orders, ELF and compressed input."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

import pytest

from btf.btfgen import BtfBuilder, elf_with_section, sample, swap_endianness
from mmbits.btf import open_btf, wire
from mmbits.btf.reader import Btf
from mmbits.btf.render import lookup, to_json
from mmbits.errors import InputError

# bpftool btf dump file linux-6.18-x86_64.btf: ids and the type count
REF_IDS = {"page": 190, "folio": 713, "ptdesc": 9356, "slab": 15994, "zpdesc": 17072, "ioptdesc": 34016}
REF_COUNT = 126_689


def test_reference_index_matches_bpftool(ref_btf: Path) -> None:
    b = open_btf(ref_btf)
    assert b.count == REF_COUNT
    for name, tid in REF_IDS.items():
        assert b.find(name, (wire.STRUCT,)) == [tid]
    assert b.kind_name(b.find("pageflags", (wire.ENUM,))[0]) == "ENUM"
    assert b.pointer_size() == 8


def test_all_kinds_are_walked(ref_btf: Path) -> None:
    """The reference BTF has every kind the issue names (DECL_TAG, TYPE_TAG, ENUM64, FLOAT)."""
    b = open_btf(ref_btf)
    seen = {(b.w[p + 1] >> 24) & 31 for p in b.offs}
    assert {wire.DECL_TAG, wire.TYPE_TAG, wire.ENUM64, wire.FLOAT, wire.DATASEC, wire.VAR} <= seen
    enum64 = b.find("perf_callchain_context", (wire.ENUM64,))
    values = dict(b.enum_values(enum64[0]))
    assert values["PERF_CONTEXT_MAX"] == 2**64 - 4095  # (u64)-4095, in include/uapi/linux/perf_event.h
    double = b.find("double", (wire.FLOAT,))
    assert b.size(double[0]) == 8


def test_kind_flag_bitfields(ref_btf: Path) -> None:
    """slab's counters struct: kind_flag=1 member offsets (bitfield size << 24 | bit offset)."""
    b = open_btf(ref_btf)
    members = {m["name"]: m for m in to_json(b, lookup(b, "slab"))["members"]}
    assert [(members[n]["offset"], members[n]["bit_offset"], members[n]["bit_size"]) for n in
            ("inuse", "objects", "frozen")] == [(40, 0, 16), (40, 16, 15), (40, 31, 1)]


def test_legacy_int_encoded_bitfields() -> None:
    """kind_flag=0: the bitfield width lives in the INT's encoding (BTF_INT_BITS/OFFSET)."""
    g = BtfBuilder()
    u3 = g.int_("unsigned int", 4, bits=3)
    plain = g.int_("unsigned int", 4)
    g.struct("old", 4, [("x", u3, 0, 0), ("y", plain, 0, 0)], union=True, kflag=0)
    b = Btf(g.blob(), "legacy")
    members = to_json(b, lookup(b, "old"))["members"]
    assert members[0] == {"name": "x", "offset": 0, "size": 4, "bit_offset": 0, "bit_size": 3, "type": "unsigned int"}
    assert "bit_size" not in members[1]


def test_big_endian_blob_reads_the_same(ref_blob: bytes) -> None:
    le = Btf(ref_blob, "le")
    be = Btf(swap_endianness(ref_blob), "be")
    assert not be.little and le.little
    for name in REF_IDS:
        assert to_json(be, lookup(be, name)) == to_json(le, lookup(le, name))
    assert be.enum_values(be.find("pageflags")[0]) == le.enum_values(le.find("pageflags")[0])


@pytest.mark.parametrize("bits,little", [(64, True), (32, False)])
def test_elf_btf_section(tmp_path: Path, bits: int, little: bool) -> None:
    blob = sample().blob() if little else swap_endianness(sample().blob())
    path = tmp_path / "vmlinux"
    path.write_bytes(elf_with_section(blob, bits=bits, little=little))
    b = open_btf(path)
    assert to_json(b, lookup(b, "demo"))["size"] == 24


def test_elf_without_btf_section(tmp_path: Path) -> None:
    path = tmp_path / "vmlinux"
    path.write_bytes(elf_with_section(b"whatever", name=".text"))
    with pytest.raises(InputError, match="no .BTF section"):
        open_btf(path)


def test_compressed_blobs(tmp_path: Path) -> None:
    blob = sample().blob()
    (tmp_path / "a.btf.xz").write_bytes(lzma.compress(blob))
    (tmp_path / "a.btf.gz").write_bytes(gzip.compress(blob))
    for name in ("a.btf.xz", "a.btf.gz"):
        assert open_btf(tmp_path / name).count == sample().count


def test_names_and_kinds() -> None:
    b = Btf(sample().blob(), "sample")
    assert lookup(b, "demo").kind == wire.STRUCT
    assert lookup(b, "enum colour").kind == wire.ENUM
    assert lookup(b, "demo_t").kind == wire.TYPEDEF
    assert b.find("nosuch") == []
    with pytest.raises(InputError, match="no struct, union, enum or typedef named 'demo_x'.*did you mean demo"):
        lookup(b, "demo_x")
