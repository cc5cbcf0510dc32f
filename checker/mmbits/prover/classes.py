"""The groups of a domain proof partitioned by what the analysis reads of their configs.

A domain's groups are its distinct assignments of every symbol a question *can* read;
most of them differ only in symbols that do not reach the answer of this word on this
config (a NODES_SHIFT that leaves page->flags' packing as it was, a release whose
packing is the same). `Prover.class_key(config)` names what `Prover.analyse(config)`
reads of the config: the packing (the FlagsWord objects, or, for an expression the
word's flag count and flag bits decide, the facts the rules read of it), the Site, and
the few config symbols a role reads beside them.
Groups with equal keys get the same hits, the same expression value and the same site,
so the proof analyses one representative per class and adds the classes' counts.

The partition depends on the expression only through the kinds of names it reads: it
is made once per (group list, word, number of new flags, whether the word's flag shape
decides the names) and kept in the group list's memo, so the next question on
the same word (a patch asks dozens) costs one analysis per class, not a pass over the
groups. Class keys hold object ids: they are only made with a group-list memo, which
keeps those objects alive for as long as the partition is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mmbits.kconfig.config import Config
from mmbits.kconfig.domain import Group

if TYPE_CHECKING:
    from mmbits.prover.analyse import Prover


@dataclass
class Unit:
    """One class of groups: its first group's config (the representative, the config a
    counterexample names), the configs and groups it stands for, and its configs per release."""

    config: Config
    first: int  # index of its first group in the group list
    count: int = 0
    groups: int = 0
    by_release: dict[int, int] = field(default_factory=dict)


def units(prover: Prover, groups: Sequence[Group], memo: dict[tuple[Any, ...], Any] | None) -> list[Unit]:
    """The classes of `groups` in the order of their first group (so the first class with
    a finding holds the first group with it, as a pass over the groups would find it)."""
    if memo is None:
        return [_single(i, g) for i, g in enumerate(groups)]
    # the keys depend on the word, the number of new flags and, through the packing's
    # share (Prover._word_part), on whether the word's flag shape decides the expression's names
    key = ("classes", len(prover.xp.new_flags), id(prover.lset), prover.struct, prover.word,
           prover._facts_names() is None)
    hit = memo.get(key)
    if hit is not None and hit[0] is prover.lset and hit[1] is groups:
        return hit[2]  # type: ignore[no-any-return]
    saved, prover.config_memo = prover.config_memo, memo
    try:
        out = _partition(prover, groups)
    finally:
        prover.config_memo = saved
    memo[key] = (prover.lset, groups, out)
    return out


def members(prover: Prover, groups: Sequence[Group], unit: Unit) -> list[tuple[int, Group]]:
    """The groups of one class with their indices, in order (for a message naming several)."""
    want = prover.class_key(unit.config) if prover.config_memo is not None else None
    if want is None:
        return [(unit.first, groups[unit.first])]
    return [(i, g) for i, g in enumerate(groups) if i >= unit.first and prover.class_key(g.config) == want]


def _single(i: int, g: Group) -> Unit:
    return Unit(g.config, i, g.count, 1, {int(g.config.get("VERSION") or 0): g.count})


def _partition(prover: Prover, groups: Sequence[Group]) -> list[Unit]:
    by_key: dict[tuple[Any, ...], Unit] = {}
    out: list[Unit] = []
    class_key = prover.class_key
    for i, g in enumerate(groups):
        cfg = g.config
        k = class_key(cfg)
        unit = by_key.get(k) if k is not None else None
        if unit is None:
            unit = Unit(cfg, i)
            out.append(unit)
            if k is not None:
                by_key[k] = unit
        unit.count += g.count
        unit.groups += 1
        v = int(cfg.get("VERSION") or 0)
        unit.by_release[v] = unit.by_release.get(v, 0) + g.count
    return out
