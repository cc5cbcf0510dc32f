"""The BTF wire format: header, kinds, and how long each type record is.

Source: the kernel's include/uapi/linux/btf.h and Documentation/bpf/btf.rst.
A type record is three 32-bit words (name_off, info, size|type) followed by
kind-specific data whose length depends only on the kind and vlen, so the
whole type section can be walked knowing nothing but this table. `info`
packs vlen (bits 0-15), kind (bits 24-28) and kind_flag (bit 31).
"""

from __future__ import annotations

import struct
from collections import namedtuple

from mmbits.errors import InputError

MAGIC = 0xEB9F
HEADER_MIN = 24  # magic/version/flags + hdr_len + 4 section fields
MAX_NAME = 4096  # longer "names" are garbage, not identifiers

UNKN, INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT = range(12)
FUNC, FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64 = range(12, 20)
MAX_KIND = ENUM64

KIND_NAMES = (
    "UNKN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE", "CONST",
    "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64",
)

# words after the 3-word common header: fixed part, and per vlen entry
EXTRA_WORDS = (0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0)
VLEN_WORDS = (0, 0, 0, 0, 3, 3, 2, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 3)

# record length in words, indexed by kind (0..31); 0 marks an invalid kind
STEP = tuple(3 + EXTRA_WORDS[k] if 1 <= k <= MAX_KIND else 0 for k in range(32))
PER = tuple(VLEN_WORDS[k] if k <= MAX_KIND else 0 for k in range(32))

# INT encoding bits (the extra word): encoding << 24 | offset << 16 | nr_bits
INT_SIGNED, INT_CHAR, INT_BOOL = 1, 2, 4

# kinds that are plain modifiers on the way to a real type
MODIFIERS = frozenset({VOLATILE, CONST, RESTRICT, TYPE_TAG})

# the classes of kinds the reader and both printers (cnames, decl) dispatch on, named once
COMPOSITES = frozenset({STRUCT, UNION})
ENUMS = frozenset({ENUM, ENUM64})
INTEGRAL = frozenset({INT}) | ENUMS  # the kinds a bitfield can have
KEYWORDED = COMPOSITES | ENUMS | {FWD}  # spelled with their keyword: `struct X`, `union X`, `enum X`
SELF_NAMED = frozenset({INT, FLOAT, TYPEDEF, FUNC})  # spelled by their own name alone
TAGS = frozenset({TYPE_TAG, DECL_TAG})  # annotations, transparent to C spelling
QUALIFIERS = {CONST: "const", VOLATILE: "volatile", RESTRICT: "restrict"}
# the kinds a name can be looked up for (the reader's name index)
NAMED_KINDS = KEYWORDED | (SELF_NAMED - {FUNC})


# the validated header; type_off and str_off are absolute (from the start of the blob)
Header = namedtuple("Header", "little version flags hdr_len type_off type_len str_off str_len")


def parse_header(blob: bytes, name: str) -> Header:
    """Validate the header and that both sections lie inside the blob."""
    if len(blob) < HEADER_MIN:
        raise InputError(f"not BTF: {len(blob)} bytes is shorter than a BTF header", file=name)
    if blob[0:2] == b"\x9f\xeb":
        order = "<"
    elif blob[0:2] == b"\xeb\x9f":
        order = ">"
    else:
        raise InputError(f"not BTF: bad magic {blob[0:2].hex()} (want eb9f)", file=name)
    _magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        order + "HBBIIIII", blob)
    if version != 1:
        raise InputError(f"unsupported BTF version {version} (only version 1 exists)", file=name)
    if hdr_len < HEADER_MIN or hdr_len > len(blob):
        raise InputError(f"bad BTF header length {hdr_len} (file is {len(blob)} bytes)", file=name)
    for what, off, length in (("type", type_off, type_len), ("string", str_off, str_len)):
        if hdr_len + off + length > len(blob):
            raise InputError(f"BTF {what} section (offset {off}, {length} bytes) runs past the end of the "
                             f"{len(blob)}-byte file: truncated?", file=name)
    if type_off % 4 or type_len % 4:
        raise InputError(f"BTF type section offset/length ({type_off}/{type_len}) not 4-byte aligned", file=name)
    if type_off < str_off + str_len and str_off < type_off + type_len:
        raise InputError("BTF type and string sections overlap", file=name)
    if str_len == 0 or blob[hdr_len + str_off + str_len - 1] != 0:
        raise InputError("BTF string section is empty or not NUL-terminated", file=name)
    return Header(order == "<", version, flags, hdr_len, hdr_len + type_off, type_len, hdr_len + str_off, str_len)
