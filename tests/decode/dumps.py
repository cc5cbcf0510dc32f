"""Helpers for decoder tests: the stored real reports, and dump_page-style
raw: lines made from bytes that the layouts encoded."""

from __future__ import annotations

from pathlib import Path

DUMPS = Path(__file__).parent.parent / "data" / "dumps"


def dump(name: str) -> str:
    return (DUMPS / name).read_text()


def raw_lines(data: bytes, bits: int = 64, little: bool = True, prefix: str = "raw: ") -> str:
    """print_hex_dump(..., 32, sizeof(long), ...): native-endian words, 32 bytes a line."""
    wb = bits // 8
    order = "little" if little else "big"
    words = [int.from_bytes(data[i:i + wb], order) for i in range(0, len(data), wb)]
    per = 32 // wb
    return "\n".join(prefix + " ".join(f"{w:0{bits // 4}x}" for w in words[i:i + per])
                     for i in range(0, len(words), per))
