"""What one config's analysis finds, before the domain aggregates it.

A Hit is a finding for one config; `key` is the colliding *thing*
independent of the config (LRU_REFS, PG_head, the type byte), so a domain
proof can say "collides with LRU_REFS on 3456 configs, e.g. <config>".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Hit:
    kind: str
    key: str
    message: str
    where: str
    severity: str = "error"
    what: str = ""  # the colliding thing, short ("page.flags bits 25-26 = LRU_REFS")
    data: tuple[tuple[str, Any], ...] = ()

    def data_dict(self) -> dict[str, Any]:
        return dict(self.data)


@dataclass(frozen=True)
class Ask:
    """What the proposal asks, independent of the config."""

    label: str  # STRUCT.FIELD as the user wrote it
    kinds: tuple[str, ...]  # page kinds the bit is used on
    kind_given: bool
    self_names: frozenset[str]  # names the proposal is (its own existing definition)
    type_value: bool = False  # the value is a page type (PGTY_x), not bits of the word
    extra: dict[str, Any] = field(default_factory=dict)


def bits_of(value: int) -> list[int]:
    out = []
    b = 0
    while value:
        if value & 1:
            out.append(b)
        value >>= 1
        b += 1
    return out


def ranges(bits: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    out = []
    start = prev = None
    for b in sorted(bits):
        if start is None:
            start = prev = b
        elif b == prev + 1:
            prev = b
        else:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = b
    if start is not None:
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(out)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def bit_text(bits: list[int]) -> str:
    return ("bit " if len(bits) == 1 else "bits ") + ranges(bits)
