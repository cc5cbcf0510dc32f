"""Get the raw BTF bytes out of whatever the user points at.

Accepted: /sys/kernel/btf/vmlinux (raw BTF), a raw .btf blob, an ELF vmlinux
(or module) with a .BTF section, and .xz/.gz compressed copies of a blob (how
test data and bug reports carry them). The ELF reader is ours: a section
header table walk is about forty lines, and pyelftools would cost start-up
time on every `mmbits btf` run for one lookup.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import mmap

from mmbits.errors import InputError

MAX_BTF_BYTES = 256 * 1024 * 1024  # a vmlinux BTF is ~5 MB; allyesconfig ~30 MB
ELF_MAGIC = b"\x7fELF"
XZ_MAGIC = b"\xfd7zXZ\x00"
GZ_MAGIC = b"\x1f\x8b"
SHT_NOBITS = 8
SHF_COMPRESSED = 0x800
ELFCOMPRESS_ZLIB = 1


def read_btf_bytes(path: str | Path) -> bytes:
    """The BTF blob of `path` (header first), or InputError naming the file."""
    name = str(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if head.startswith(ELF_MAGIC):
                return _elf_btf(fh, name)
            if not head.startswith((b"\x9f\xeb", b"\xeb\x9f", XZ_MAGIC, GZ_MAGIC)):
                what = "empty file" if not head else f"bad magic {head[:2].hex()}"
                raise InputError(f"not BTF, ELF or a compressed BTF blob: {what}", file=name)
            st = os.fstat(fh.fileno())
            if st.st_size > MAX_BTF_BYTES:
                raise InputError(f"larger than {MAX_BTF_BYTES >> 20} MB: not a kernel BTF blob", file=name)
            fh.seek(0)
            data = fh.read(MAX_BTF_BYTES + 1)
    except IsADirectoryError:
        raise InputError("is a directory, not a BTF file", file=name) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=name) from None
    if data.startswith(XZ_MAGIC) or data.startswith(GZ_MAGIC):
        data = _decompress(data, name)
    if len(data) > MAX_BTF_BYTES:
        raise InputError(f"larger than {MAX_BTF_BYTES >> 20} MB: not a kernel BTF blob", file=name)
    return data


def _decompress(data: bytes, name: str) -> bytes:
    try:
        if data.startswith(GZ_MAGIC):
            import zlib

            dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out = dec.decompress(data, MAX_BTF_BYTES + 1)
        else:
            import lzma

            out = lzma.LZMADecompressor().decompress(data, MAX_BTF_BYTES + 1)
    except Exception as exc:  # lzma.LZMAError, zlib.error, EOFError
        raise InputError(f"bad compressed data: {exc}", file=name) from None
    if len(out) > MAX_BTF_BYTES:
        raise InputError(f"decompresses to more than {MAX_BTF_BYTES >> 20} MB", file=name)
    return out


def _elf_btf(fh: BinaryIO, name: str) -> bytes:
    import mmap

    size = os.fstat(fh.fileno()).st_size
    if size < 64:
        raise InputError("truncated ELF header", file=name)
    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        return _elf_section(mm, size, name, ".BTF")


def _elf_section(mm: bytes | mmap.mmap, size: int, name: str, wanted: str) -> bytes:
    """The contents of section `wanted` of an ELF image (32/64-bit, either byte order)."""
    cls, data_enc = mm[4], mm[5]
    if cls not in (1, 2) or data_enc not in (1, 2):
        raise InputError(f"bad ELF ident (class {cls}, data {data_enc})", file=name)
    order = "<" if data_enc == 1 else ">"
    if cls == 2:
        shoff, = struct.unpack_from(order + "Q", mm, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", mm, 0x3A)
        sh_fmt, sh_min = order + "IIQQQQIIQQ", 64
    else:
        shoff, = struct.unpack_from(order + "I", mm, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", mm, 0x2E)
        sh_fmt, sh_min = order + "IIIIIIIIII", 40
    if shoff == 0:
        raise InputError("ELF file has no section headers (stripped?): no .BTF section", file=name)
    if shentsize < sh_min:
        raise InputError(f"bad ELF section header size {shentsize}", file=name)

    def section(i: int) -> tuple[int, ...]:
        at = shoff + i * shentsize
        if at + sh_min > size:
            raise InputError(f"ELF section header {i} lies past the end of the file: truncated?", file=name)
        return struct.unpack_from(sh_fmt, mm, at)

    if shnum == 0 or shstrndx == 0xFFFF:  # extended numbering lives in section 0
        first = section(0)
        shnum = shnum or first[5]
        shstrndx = first[6] if shstrndx == 0xFFFF else shstrndx
    if shnum > (size - shoff) // shentsize + 1 or shstrndx >= shnum:
        raise InputError(f"bad ELF section count {shnum} / string table index {shstrndx}", file=name)
    names = section(shstrndx)
    names_off, names_size = names[4], names[5]
    if names_off + names_size > size:
        raise InputError("ELF section name table lies past the end of the file", file=name)
    want = wanted.encode() + b"\0"
    for i in range(shnum):
        sh = section(i)
        noff = names_off + sh[0]
        if sh[0] >= names_size or mm[noff : noff + len(want)] != want:
            continue
        sh_type, sh_flags, offset, length = sh[1], sh[2], sh[4], sh[5]
        if sh_type == SHT_NOBITS:
            raise InputError(f"ELF section {wanted} has no data (NOBITS)", file=name)
        if offset + length > size:
            raise InputError(f"ELF section {wanted} runs past the end of the file: truncated?", file=name)
        if length > MAX_BTF_BYTES:
            raise InputError(f"ELF section {wanted} is larger than {MAX_BTF_BYTES >> 20} MB", file=name)
        raw = bytes(mm[offset : offset + length])
        if sh_flags & SHF_COMPRESSED:
            raw = _elf_decompress(raw, order, cls, name)
        return raw
    raise InputError(f"ELF file has no {wanted} section (kernel built without CONFIG_DEBUG_INFO_BTF?)", file=name)


def _elf_decompress(raw: bytes, order: str, cls: int, name: str) -> bytes:
    import zlib

    fmt = order + ("IIQQ" if cls == 2 else "III")
    hdr = struct.calcsize(fmt)
    if len(raw) < hdr:
        raise InputError("truncated compressed .BTF section", file=name)
    ch_type = struct.unpack_from(fmt, raw)[0]
    if ch_type != ELFCOMPRESS_ZLIB:
        raise InputError(f"compressed .BTF section of type {ch_type} (only zlib is supported)", file=name)
    try:
        dec = zlib.decompressobj()
        out = dec.decompress(raw[hdr:], MAX_BTF_BYTES + 1)
    except zlib.error as exc:
        raise InputError(f"bad zlib data in .BTF section: {exc}", file=name) from None
    if len(out) > MAX_BTF_BYTES:
        raise InputError(f".BTF section decompresses to more than {MAX_BTF_BYTES >> 20} MB", file=name)
    return out
