"""Names for values: pointer poisons, fill patterns and 32-bit magics, and which
words can hold a pointer at all (a poison is never read into a counter or a flags word).
"""

from __future__ import annotations

from mmbits.decode.data import DumpData, load_dump_data
from mmbits.decode.model import Slot
from mmbits.kconfig.config import Config
from mmbits.layout.model import Layout


def is_pointer_slot(layout: Layout, names: list[str]) -> bool:
    """Whether a union arm declares these bytes as a pointer (or a pointer-holding word)."""
    data = load_dump_data()
    for n in names:
        top = n.split(".")[0].split("[")[0]
        m = layout.by_name.get(top)
        if m is not None and any(t in m.type for t in data.pointer_types):
            return True
        if top in data.pointer_words:
            return True
    return False


# (layout, slot place, config) -> whether the slot can hold a poison; the layout and config
# are kept alive in the value, so their ids stay theirs while the entry lives (a Config in
# the key would be hashed, and compared with an equal one, on every lookup)
_POISON_ABLE: dict[tuple[int, int, int, int | None, int, int], tuple[Layout, Config, bool]] = {}


def slot_poison(slot: Slot, layout: Layout, config: Config, data: DumpData) -> tuple[str, str] | None:
    """A poison name for a slot: never for counters and flag words; on 32-bit (no poison
    delta, so poisons are small numbers) only where an arm declares a pointer."""
    # a slot's names follow from where it sits in the layout (and how many of its arms a view kept)
    key = (id(layout), slot.offset, slot.size, slot.bit_offset, len(slot.names), id(config))
    hit = _POISON_ABLE.get(key)
    if hit is None or hit[0] is not layout or hit[1] is not config:
        pointer = is_pointer_slot(layout, slot.names)
        counter = any(n.split(".")[0] in data.counters for n in slot.names)
        delta = int(config.get("POISON_POINTER_DELTA", 0) or 0)
        if len(_POISON_ABLE) >= 1 << 13:
            _POISON_ABLE.clear()
        hit = _POISON_ABLE[key] = (layout, config, not (counter and not pointer) and (bool(delta) or pointer))
    if not hit[2]:
        return None
    return poison_name(slot.value, slot.size, config, data)


# (config, word size) -> every poison value of that size and its (name, doc): the config and
# data are kept alive beside their ids
_POISONS: dict[tuple[int, int, int], tuple[Config, DumpData, dict[int, tuple[str, str]]]] = {}


def poison_name(value: int, size: int, config: Config, data: DumpData) -> tuple[str, str] | None:
    """(name, doc) of a pointer poison or fill pattern equal to `value`, if any: one lookup
    in the table of every poison of that config and size, made once."""
    return poison_table(size, config, data).get(value)


def poison_table(size: int, config: Config, data: DumpData) -> dict[int, tuple[str, str]]:
    """Every value poison_name names for this size and config, made once (a caller that
    asks for many values keeps the table)."""
    key = (id(config), size, id(data))
    hit = _POISONS.get(key)
    if hit is None or hit[0] is not config or hit[1] is not data:
        if len(_POISONS) >= 1 << 8:
            _POISONS.clear()
        hit = _POISONS[key] = (config, data, _poisons(size, config, data))
    return hit[2]


def _poisons(size: int, config: Config, data: DumpData) -> dict[int, tuple[str, str]]:
    """Every value poison_name names for this size and config, the first rule's name kept
    where two rules give one value (pointer poisons, then fill patterns, then 32-bit magics)."""
    out: dict[int, tuple[str, str]] = {}
    delta = int(config.get("POISON_POINTER_DELTA", 0) or 0)
    mask = (1 << (8 * size)) - 1
    if size >= config.bits // 8:
        for p in data.pointer_poison:
            out.setdefault((delta + p.offset) & mask, (p.name, p.doc))
    for pat in data.patterns:
        # an all-ones word is -1 (page_type "no type", a -1 counter); 0xff fill is
        # only recognised on the whole flags word (see _findings)
        if size == config.bits // 8 and pat.byte != 0xFF:
            out.setdefault(int.from_bytes(bytes([pat.byte]) * size, "little"), (f"{pat.name} fill", pat.doc))
    if size == 4:
        for name, v, doc in data.magic32:
            out.setdefault(v, (name, doc))
    return out


def _list_alias(names: list[str], poison: str) -> str | None:
    """The list_head member whose list_del() writes `poison` into this slot."""
    want = ".next" if poison == "LIST_POISON1" else ".prev" if poison.startswith("LIST_POISON2") else None
    if want is None:
        return None
    heads = load_dump_data().list_heads
    listy = [n for n in names if n.endswith(want) and n.split(".")[0] in heads]
    if listy:
        return listy[0]
    return next((n for n in names if n.endswith(want)), None)
