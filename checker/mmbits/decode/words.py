"""Raw words -> bytes -> named fields, through the resolved layouts.

The words are turned into the bytes the kernel had (each word in the config's
byte order) and read back through the layouts, so every union arm is decoded from
the same bytes. Resolved layouts, their read plans and slot groupings are kept per
(layout set, struct, config): a log of reports from one kernel builds them once.
"""

from __future__ import annotations

from typing import Any, Literal

from mmbits.decode.model import PageView, Slot
from mmbits.flags.packing import FlagsWord, compute
from mmbits.kconfig.config import Config
from mmbits.layout.model import Layout
from mmbits.layout.registry import LayoutSet

# the memos below key on the config's id (a Config in a key is hashed, and compared with an
# equal one, on every lookup) and keep the config alive in the value, so the id stays its own
_RESOLVED: dict[tuple[int, str, int], tuple[Config, Layout]] = {}
_CONFIG_MEMO_MAX = 1 << 12  # each emptied when full: the configs they keep alive stay bounded


def _resolve(lset: LayoutSet, struct: str, cfg: Config) -> Layout:
    """lset.resolve(), kept per (layout set, struct, config): a log of reports from one
    kernel resolves each struct once, and the layout's cached word table is reused."""
    key = (id(lset), struct, id(cfg))
    hit = _RESOLVED.get(key)
    if hit is None or hit[0] is not cfg:
        if len(_RESOLVED) >= _CONFIG_MEMO_MAX:
            _RESOLVED.clear()
        hit = _RESOLVED[key] = (cfg, lset.resolve(struct, cfg))
    return hit[1]


_WORDS: dict[int, tuple[Config, FlagsWord]] = {}


def _word_of(cfg: Config) -> FlagsWord:
    hit = _WORDS.get(id(cfg))
    if hit is None or hit[0] is not cfg:
        if len(_WORDS) >= _CONFIG_MEMO_MAX:
            _WORDS.clear()
        hit = _WORDS[id(cfg)] = (cfg, compute(cfg))
    return hit[1]


_LABELS: dict[int, tuple[Config, str]] = {}


def _label(cfg: Config) -> str:
    hit = _LABELS.get(id(cfg))
    if hit is None or hit[0] is not cfg:
        if len(_LABELS) >= _CONFIG_MEMO_MAX:
            _LABELS.clear()
        hit = _LABELS[id(cfg)] = (cfg, cfg.label())
    return hit[1]


def words_to_bytes(words: list[int], word_bytes: int, little: bool) -> bytes:
    order: Literal["little", "big"] = "little" if little else "big"
    return b"".join((w & ((1 << (8 * word_bytes)) - 1)).to_bytes(word_bytes, order) for w in words)


_READ_PLANS: dict[int, tuple[Layout, list[tuple[str, Any]]]] = {}


_SLOT_PLANS: dict[int, tuple[Layout, list[tuple[tuple[int, int, int | None, int | None], list[str]]]]] = {}


def _read_plan(layout: Layout) -> list[tuple[str, Any]]:
    """(name, field) of every word, once per resolved layout (the layout is kept alive
    beside its id, so the id stays its own)."""
    hit = _READ_PLANS.get(id(layout))
    if hit is None or hit[0] is not layout:
        hit = _READ_PLANS[id(layout)] = (layout, list(layout.words.items()))
    return hit[1]


def read_struct(layout: Layout, data: bytes, base: int = 0) -> dict[str, int]:
    """Every word of `layout` that lies inside `data` (a dump may hold only part of a folio)."""
    out = {}
    end = len(data)
    for name, f in _read_plan(layout):
        if base + f.offset + f.size <= end:
            out[name] = f.get(data, base) & f.mask  # unsigned; s32() where the kernel reads an int
    return out


def _slot_plan(layout: Layout) -> list[tuple[tuple[int, int, int | None, int | None], list[str]]]:
    """The layout's words grouped by the bytes they cover, sorted by offset: once per layout."""
    hit = _SLOT_PLANS.get(id(layout))
    if hit is not None and hit[0] is layout:
        return hit[1]
    groups: dict[tuple[int, int, int | None, int | None], list[str]] = {}
    fields = layout.words
    for name, f in fields.items():
        head, _, _rest = name.rpartition(".")
        if head and head in fields and fields[head].offset == f.offset and fields[head].size == f.size:
            continue  # the one-member struct wrapper (flags.f, pcp_llist.next): keep the outer name
        groups.setdefault((f.offset, f.size, f.bit_offset, f.bit_size), []).append(name)
    plan = sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[0][1], kv[0][2] or 0))
    _SLOT_PLANS[id(layout)] = (layout, plan)
    return plan


def _slots(layout: Layout, values: dict[str, int]) -> list[Slot]:
    out = []
    for (off, size, bo, bs), all_names in _slot_plan(layout):
        names = [n for n in all_names if n in values]
        if names:
            out.append(Slot(off, size, names, values[names[0]], bit_offset=bo, bit_size=bs))
    return out


def _view(lset: LayoutSet, struct: str, cfg: Config, blob: bytes, base: int = 0) -> PageView:
    layout = _resolve(lset, struct, cfg)
    values = read_struct(layout, blob, base)
    return PageView(layout, values, _slots(layout, values))


# per layout and word size: for each word, the (name, field)s and slot groups lying
# wholly inside it; None when some field straddles two words (then the whole-blob path)
_WordPlan = list[tuple[list[tuple[str, Any]], list[tuple[tuple[int, int, int | None, int | None], list[str]]]]]
_WORD_PLANS: dict[tuple[int, int], tuple[Layout, _WordPlan | None]] = {}
# (layout id, word size, word index, value, little) -> (that word's field values, its slots)
_WORD_MEMO: dict[tuple[int, int, int, int, bool], tuple[dict[str, int], list[Slot]]] = {}
_WORD_MEMO_MAX = 1 << 13  # entries (~1 KB each); emptied when full, so a long log of distinct words stays bounded


def _word_plan(layout: Layout, wb: int) -> _WordPlan | None:
    key = (id(layout), wb)
    hit = _WORD_PLANS.get(key)
    if hit is not None and hit[0] is layout:
        return hit[1]
    n = -(-layout.size // wb)
    plan: _WordPlan | None = [([], []) for _ in range(n)]
    for name, f in _read_plan(layout):
        i = f.offset // wb
        if (f.offset + f.size - 1) // wb != i:
            plan = None
            break
        plan[i][0].append((name, f))  # type: ignore[index]
    if plan is not None:
        for group in _slot_plan(layout):
            plan[group[0][0] // wb][1].append(group)
    _WORD_PLANS[key] = (layout, plan)
    return plan


def _one_word(layout: Layout, plan: _WordPlan, wb: int, i: int, w: int, little: bool
              ) -> tuple[dict[str, int], list[Slot]]:
    """The fields and slots of word i holding w: a struct page word's decode depends on
    nothing else, so reports that share a word share its decode."""
    key = (id(layout), wb, i, w, little)
    hit = _WORD_MEMO.get(key)
    if hit is not None:
        return hit
    fields, groups = plan[i]
    buf = (w & ((1 << (8 * wb)) - 1)).to_bytes(wb, "little" if little else "big")
    base = -i * wb
    values = {name: f.get(buf, base) & f.mask for name, f in fields}
    slots = [Slot(off, size, list(names), values[names[0]], bit_offset=bo, bit_size=bs)
             for (off, size, bo, bs), names in groups]
    if len(_WORD_MEMO) >= _WORD_MEMO_MAX:
        _WORD_MEMO.clear()
    _WORD_MEMO[key] = hit = (values, slots)
    return hit


def view_words(lset: LayoutSet, struct: str, cfg: Config, words: list[int], wb: int, little: bool) -> PageView:
    """_view() of the bytes `words` make, assembled from per-word decodes (memoised on
    (layout, word index, value, byte order)). The slots are shared between reports:
    callers copy a slot before giving it a meaning (decoder._meanings)."""
    layout = _resolve(lset, struct, cfg)
    plan = _word_plan(layout, wb)
    if plan is None or len(words) > len(plan):
        return _view(lset, struct, cfg, words_to_bytes(words, wb, little))
    values: dict[str, int] = {}
    slots: list[Slot] = []
    for i, w in enumerate(words):
        v, s = _one_word(layout, plan, wb, i, w, little)
        values.update(v)
        slots.extend(s)
    return PageView(layout, values, slots)


_FOLIO_VIEWS: dict[tuple[int, bytes, int], tuple[Layout, dict[str, int], list[Slot]]] = {}


def _folio_view(lset: LayoutSet, cfg: Config, blob: bytes, first: int = 0) -> PageView:
    """struct folio fields read from `blob`; with `first`, only those of the page starting there.
    Memoised on the bytes (the pages of one folio repeat its head: lines); the slots are
    shared like view_words'."""
    layout = _resolve(lset, "folio", cfg)
    key = (id(layout), blob, first)
    hit = _FOLIO_VIEWS.get(key)
    if hit is None or hit[0] is not layout:
        values = read_struct(layout, blob)
        fields = layout.words
        values = {k: v for k, v in values.items() if not k.startswith(("page.", "__page_"))
                  and (not first or first <= fields[k].offset < 2 * first)}
        if len(_FOLIO_VIEWS) >= 1 << 11:
            _FOLIO_VIEWS.clear()
        hit = _FOLIO_VIEWS[key] = (layout, values, _slots(layout, values))
    return PageView(layout, dict(hit[1]), hit[2])
