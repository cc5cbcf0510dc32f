"""Build small BTF blobs (and ELF wrappers) for tests: loops, absurd counts, big-endian.

Written from the format in include/uapi/linux/btf.h, independently of the
reader under test, so a shared misunderstanding cannot hide a bug.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

KINDS = {"int": 1, "ptr": 2, "array": 3, "struct": 4, "union": 5, "enum": 6, "fwd": 7, "typedef": 8,
         "volatile": 9, "const": 10, "restrict": 11, "func": 12, "func_proto": 13, "var": 14, "datasec": 15,
         "float": 16, "decl_tag": 17, "type_tag": 18, "enum64": 19}


@dataclass
class BtfBuilder:
    little: bool = True
    words: list[int] = field(default_factory=list)
    strings: bytearray = field(default_factory=lambda: bytearray(b"\0"))
    count: int = 0

    def s(self, text: str) -> int:
        if not text:
            return 0
        off = len(self.strings)
        self.strings += text.encode() + b"\0"
        return off

    def _add(self, name: str, kind: str, vlen: int, size_or_type: int, extra: list[int], kflag: int = 0) -> int:
        info = (kflag << 31) | (KINDS[kind] << 24) | (vlen & 0xFFFF)
        self.words += [self.s(name), info, size_or_type & 0xFFFFFFFF] + [x & 0xFFFFFFFF for x in extra]
        self.count += 1
        return self.count

    def int_(self, name: str, size: int, signed: bool = False, bits: int | None = None, offset: int = 0) -> int:
        enc = (1 if signed else 0) << 24 | offset << 16 | (bits if bits is not None else size * 8)
        return self._add(name, "int", 0, size, [enc])

    def ptr(self, target: int) -> int:
        return self._add("", "ptr", 0, target, [])

    def ref(self, kind: str, name: str, target: int) -> int:
        return self._add(name, kind, 0, target, [])

    def array(self, elem: int, index: int, n: int) -> int:
        return self._add("", "array", 0, 0, [elem, index, n])

    def struct(self, name: str, size: int, members: list[tuple[str, int, int, int]], union: bool = False,
               kflag: int = 1, vlen: int | None = None) -> int:
        """members: (name, type, bit offset, bitfield size)."""
        extra: list[int] = []
        for mname, mtype, bit_off, bf in members:
            extra += [self.s(mname), mtype, (bf << 24 | bit_off) if kflag else bit_off]
        return self._add(name, "union" if union else "struct", len(members) if vlen is None else vlen, size,
                         extra, kflag)

    def enum(self, name: str, values: list[tuple[str, int]], size: int = 4, signed: bool = False) -> int:
        extra: list[int] = []
        for n, v in values:
            extra += [self.s(n), v]
        return self._add(name, "enum", len(values), size, extra, int(signed))

    def enum64(self, name: str, values: list[tuple[str, int]]) -> int:
        extra: list[int] = []
        for n, v in values:
            extra += [self.s(n), v & 0xFFFFFFFF, (v >> 32) & 0xFFFFFFFF]
        return self._add(name, "enum64", len(values), 8, extra)

    def func_proto(self, ret: int, params: list[tuple[str, int]]) -> int:
        extra: list[int] = []
        for n, t in params:
            extra += [self.s(n), t]
        return self._add("", "func_proto", len(params), ret, extra)

    def raw(self, name: str, kind_no: int, vlen: int, size: int, extra: list[int]) -> int:
        """A record with any kind number (for invalid-kind tests)."""
        self.words += [self.s(name), (kind_no << 24) | vlen, size] + extra
        self.count += 1
        return self.count

    def blob(self) -> bytes:
        order = "<" if self.little else ">"
        types = struct.pack(f"{order}{len(self.words)}I", *self.words)
        strings = bytes(self.strings)
        header = struct.pack(f"{order}HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
        return header + types + strings


def swap_endianness(blob: bytes) -> bytes:
    """The same BTF in the other byte order: every header field and type word swapped."""
    little = blob[:2] == b"\x9f\xeb"
    src, dst = ("<", ">") if little else (">", "<")
    magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(f"{src}HBBIIIII", blob)
    header = struct.pack(f"{dst}HBBIIIII", magic, version, flags, hdr_len, type_off, type_len, str_off, str_len)
    header += blob[24:hdr_len]
    t0 = hdr_len + type_off
    n = type_len // 4
    words = struct.unpack_from(f"{src}{n}I", blob, t0)
    out = bytearray(blob)
    out[:hdr_len] = header
    struct.pack_into(f"{dst}{n}I", out, t0, *words)
    return bytes(out)


def elf_with_section(payload: bytes, name: str = ".BTF", bits: int = 64, little: bool = True) -> bytes:
    """A minimal ELF file: null section, the payload section, .shstrtab."""
    o = "<" if little else ">"
    shstr = b"\0" + name.encode() + b"\0.shstrtab\0"
    ehsize, shentsize = (64, 64) if bits == 64 else (52, 40)
    data_off = ehsize
    shstr_off = data_off + len(payload)
    shoff = (shstr_off + len(shstr) + 7) // 8 * 8
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1 if little else 2, 1]) + bytes(9)
    if bits == 64:
        eh = ident + struct.pack(f"{o}HHIQQQIHHHHHH", 2, 62, 1, 0, 0, shoff, 0, ehsize, 0, 0, shentsize, 3, 2)

        def sh(nm: int, typ: int, off: int, size: int) -> bytes:
            return struct.pack(f"{o}IIQQQQIIQQ", nm, typ, 0, 0, off, size, 0, 0, 1, 0)
    else:
        eh = ident + struct.pack(f"{o}HHIIIIIHHHHHH", 2, 3, 1, 0, 0, shoff, 0, ehsize, 0, 0, shentsize, 3, 2)

        def sh(nm: int, typ: int, off: int, size: int) -> bytes:
            return struct.pack(f"{o}IIIIIIIIII", nm, typ, 0, 0, off, size, 0, 0, 1, 0)
    body = eh + payload + shstr
    body += bytes(shoff - len(body))
    body += sh(0, 0, 0, 0) + sh(1, 1, data_off, len(payload)) + sh(len(name) + 2, 3, shstr_off, len(shstr))
    return body


def sample() -> BtfBuilder:
    """struct demo { int a; unsigned int bits:3; unsigned int more:5; struct demo *next;
    union { long unsigned int x; char c[8]; }; } plus an enum and a typedef."""
    b = BtfBuilder()
    i32 = b.int_("int", 4, signed=True)
    u32 = b.int_("unsigned int", 4)
    ulong = b.int_("long unsigned int", 8)
    char = b.int_("char", 1, signed=True)
    demo_fwd_ptr_target = b.count + 3  # the struct's id, see below
    p = b.ptr(demo_fwd_ptr_target)
    arr = b.array(char, i32, 8)
    demo = b.struct("demo", 24, [("a", i32, 0, 0), ("bits", u32, 32, 3), ("more", u32, 35, 5),
                                 ("next", p, 64, 0), ("", demo_fwd_ptr_target + 1, 128, 0)])
    assert demo == demo_fwd_ptr_target
    b.struct("", 8, [("x", ulong, 0, 0), ("c", arr, 0, 0)], union=True)
    b.enum("colour", [("RED", 0), ("GREEN", 1), ("BLUE", 7)])
    b.ref("typedef", "demo_t", demo)
    return b


# bytes after the 12-byte `struct btf_type` per kind (include/uapi/linux/btf.h): fixed, or per vlen entry
_EXTRA_FIXED = {1: 4, 3: 12, 14: 4, 17: 4}
_EXTRA_PER_VLEN = {4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12}


def rename_member(blob: bytes, struct_name: str, old: str, new: str) -> bytes:
    """A little-endian BTF blob with member OLD of struct STRUCT_NAME (or constant OLD of enum
    STRUCT_NAME) renamed to NEW (the new name appended to the string section, only that entry's
    name_off moved): a one-member kernel change."""
    magic, _ver, _flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<HBBIIIII", blob)
    assert magic == 0xEB9F and str_off == type_off + type_len and hdr_len + str_off + str_len == len(blob)
    types = hdr_len + type_off
    strings = hdr_len + str_off

    def name(off: int) -> str:
        end = blob.index(b"\0", strings + off)
        return blob[strings + off:end].decode()

    out = bytearray(blob)
    pos = types
    while pos < types + type_len:
        name_off, info, _size = struct.unpack_from("<III", blob, pos)
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        body = pos + 12
        if kind in (4, 6, 19) and name(name_off) == struct_name:
            for i in range(vlen):
                m = body + _EXTRA_PER_VLEN[kind] * i  # name_off first in members and enumerators
                if name(struct.unpack_from("<I", blob, m)[0]) == old:
                    struct.pack_into("<I", out, m, str_len)
                    out += new.encode() + b"\0"
                    struct.pack_into("<I", out, 20, str_len + len(new) + 1)
                    return bytes(out)
        pos = body + _EXTRA_FIXED.get(kind, 0) + _EXTRA_PER_VLEN.get(kind, 0) * vlen
    raise KeyError(f"{struct_name} has no top-level member or constant {old}")
