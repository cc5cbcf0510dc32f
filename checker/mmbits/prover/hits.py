"""What one config's analysis finds, before the domain aggregates it.

A Hit is a finding for one config; `key` is the colliding *thing*
independent of the config (LRU_REFS, PG_head, the type byte), so a domain
proof can say "collides with LRU_REFS on 3456 configs, e.g. <config>".
"""

from __future__ import annotations

from typing import Any, NamedTuple

# Hit and Ask are NamedTuples, not dataclasses: every process that proves anything imports
# them, and a frozen dataclass compiles its methods at import (~1 ms each class)


class Hit(NamedTuple):
    kind: str
    key: str
    message: str
    where: str
    severity: str = "error"
    what: str = ""  # the colliding thing, short ("page.flags bits 25-26 = LRU_REFS")
    data: tuple[tuple[str, Any], ...] = ()

    def data_dict(self) -> dict[str, Any]:
        return dict(self.data)


class Ask(NamedTuple):
    """What the proposal asks, independent of the config."""

    label: str  # STRUCT.FIELD as the user wrote it
    kinds: tuple[str, ...]  # page kinds the bit is used on
    kind_given: bool
    # names the proposal itself creates (its new enum pageflags entries, PG_new<i> in the
    # packing): the bit they get is theirs, not an existing use
    self_names: frozenset[str]
    type_value: bool = False  # the value is a page type (PGTY_x), not bits of the word
    # the name the proposal gives the bit (`--as NAME`, the patch's #define or enum entry).
    # It exempts nothing by itself: only when the kernel checked already defines NAME as
    # this bit for these page kinds is it that existing definition, checked for consistency
    as_name: str | None = None


def bits_of(value: int) -> list[int]:
    """The set bits of a non-negative value, lowest first: one step per set bit, not per
    bit (a new question asks this of ~1,500 values, most a single high bit)."""
    out = []
    while value:
        low = value & -value
        out.append(low.bit_length() - 1)
        value ^= low
    return out


def ranges(bits: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    if len(bits) == 1:  # most proposals are one bit
        return str(bits[0])
    runs: list[list[int]] = []
    for b in sorted(bits):
        if runs and b == runs[-1][1] + 1:
            runs[-1][1] = b
        else:
            runs.append([b, b])
    return ", ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in runs)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def bit_text(bits: list[int]) -> str:
    return ("bit " if len(bits) == 1 else "bits ") + ranges(bits)
