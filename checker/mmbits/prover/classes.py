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
groups; with the shipped layouts it is kept on disk too ($MMBITS_CACHE_DIR/classes, JSON
bound to a key of the code, the data, the domain's parts, the grouping and the word,
through `cachedir`), so a new process reads it instead of computing every group's packing. Class keys hold object ids: they are only made with a group-list memo, which
keeps those objects alive for as long as the partition is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mmbits.kconfig.config import Config
from mmbits.kconfig.domain import Group
from mmbits.prover.grouplist import GroupList

if TYPE_CHECKING:
    from mmbits.prover.analyse import Prover


@dataclass
class Unit:
    """One class of groups: its first group (the representative, whose config a
    counterexample names), the configs and groups it stands for, and its configs per release.
    The representative's config is built when first asked for (`config`): a new question
    answered from the class table (`answer_keys`) analyses only a few classes."""

    source: Sequence[Group] = field(repr=False)
    first: int  # index of its first group in the group list
    count: int = 0
    groups: int = 0
    by_release: dict[int, int] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        return self.source[self.first].config


class Classes(list[Unit]):
    """The classes in order, with the class table when the partition made one (`table`)."""

    table: BitTable | None = None


@dataclass
class BitTable:
    """What each class's page->flags analysis reads, as small integers, for a question whose
    names the word's flag shape decides (`Prover._facts_names`) and that adds no flag; one
    profile per class, None for a class of another role or kind of key:
    (shape, site, row, tail, CHECK_PAGES). `shape` numbers the (BITS_PER_LONG, flag shape)
    pairs the expression's value depends on; `sites[site]` is the site's anchor bit for each
    bit of the word (-1: outside the anchor); `rows[row][ab]` numbers what
    `rules.bit_input` reads of anchor bit `ab` (equal numbers: equal inputs), `gaps` those
    numbers that are gap bits, and `tail` numbers `rules.gap_inputs`. Two classes whose
    profiles give the same expression value, the same site and the same numbers at the
    value's bits have equal `rules.flag_bits_inputs`, so the same analysis key: the same hits."""

    profiles: list[tuple[int, int, int, int, int] | None]
    sites: list[list[int]]
    rows: list[list[int]]
    gaps: set[int]


def units(prover: Prover, groups: Sequence[Group], memo: dict[tuple[Any, ...], Any] | None,
          origin: tuple[Any, Iterable[str]] | None = None) -> Classes:
    """The classes of `groups` in the order of their first group (so the first class with
    a finding holds the first group with it, as a pass over the groups would find it).
    `origin`: the domain and the symbols the groups are grouped on, when the layouts are
    the shipped ones: the partition is then kept on disk too (see `_disk_key`)."""
    if memo is None:
        return Classes(_single(groups, i, g) for i, g in enumerate(groups))
    # the keys depend on the word, the number of new flags and, through the packing's
    # share (Prover._word_part), on whether the word's flag shape decides the expression's names
    key = ("classes", len(prover.xp.new_flags), id(prover.lset), prover.struct, prover.word,
           prover._facts_names() is None)
    hit = memo.get(key)
    if hit is not None and hit[0] is prover.lset and hit[1] is groups:
        return hit[2]  # type: ignore[no-any-return]
    disk = _disk_key(key[1:2] + key[3:], origin) if origin is not None else None
    out = _load(disk, groups)
    if out is None:
        saved, prover.config_memo = prover.config_memo, memo
        try:
            out = _partition(prover, groups)
        finally:
            prover.config_memo = saved
        _store(disk, groups, out)
    memo[key] = (prover.lset, groups, out)
    return out


def answer_keys(prover: Prover, classes: Sequence[Unit]) -> list[Any] | None:
    """Per class, a key such that classes with equal keys get the same analysis (hits,
    expression value and site), or None for a class that must be analysed itself; None
    when the classes have no table (`BitTable`) or the question is not one it serves. The
    expression is evaluated once per flag shape, on the first class of that shape; the rest
    is a few lookups per class, so a new question over 28k classes analyses only one class
    per distinct key."""
    table = getattr(classes, "table", None)
    if table is None or prover.xp.new_flags or prover._facts_names() is None \
            or len(table.profiles) != len(classes):
        return None
    from mmbits.prover.hits import bits_of

    values: dict[int, Any] = {}  # shape -> the expression's Value
    at: dict[tuple[int, int], tuple[int, tuple[int, ...] | None]] = {}  # (shape, site) -> (id(Value), anchor bits)
    occupants: dict[tuple[int, tuple[int, ...]], tuple[tuple[int, ...], bool]] = {}
    keys: list[Any] = []
    rows, sites, gaps = table.rows, table.sites, table.gaps
    for unit, profile in zip(classes, table.profiles, strict=True):
        if profile is None:
            keys.append(None)
            continue
        shape, si, row, tail, cp = profile
        found = at.get((shape, si))
        if found is None:
            ev = values.get(shape)
            if ev is None:
                cfg = unit.config
                ev = values[shape] = prover.xp.evaluate(cfg, prover.flags_word(cfg, 0))
            amap = sites[si]
            if ev.value is None:
                found = (id(ev), None)
            else:
                found = (id(ev), tuple(amap[b] for b in bits_of(ev.value & ((1 << len(amap)) - 1)) if amap[b] >= 0))
            at[(shape, si)] = found
        evid, abits = found
        if abits is None:
            keys.append((evid, si))
            continue
        occ = occupants.get((row, abits))
        if occ is None:
            read = tuple(rows[row][ab] for ab in abits)
            occ = occupants[(row, abits)] = (read, any(r in gaps for r in read))
        keys.append((evid, si, cp, occ[0], tail if occ[1] else -1))
    return keys  # the Values whose ids the keys hold are kept by the plan's own cache


# -- on disk ---------------------------------------------------------------------------

MAGIC = "mmbits-check-classes 2"
MAX_ENTRY_BYTES = 64 * 1024 * 1024


def _disk_key(question: tuple[Any, ...], origin: tuple[Any, Iterable[str]]) -> str | None:
    """A partition is a function of the group list (the domain's parts and the symbols
    grouped on, as the domain index keys it), of the word, the number of new flags and the
    kind of names (`question`), of the layouts data and of the code: a BLAKE2b-256 of all
    of them, so edited code or data, another domain or another grouping misses. A domain
    with fixed configs (presets) is not kept."""
    from mmbits.cachedir import code_stamp, data_stamp, digest, private_dir

    domain, relevant = origin
    if private_dir("classes") is None or getattr(domain, "fixed", None):
        return None
    try:
        parts = [p.identity() for p in domain.parts]
    except AttributeError:
        return None
    text = json.dumps({"parts": parts, "relevant": sorted(relevant), "question": list(question)},
                      sort_keys=True, default=repr)
    return digest(code_stamp() + data_stamp() + text.encode()).hex()


def _load(key: str | None, groups: Sequence[Group]) -> Classes | None:
    """The stored partition, or None: absent, foreign, or not a partition of these groups
    (every group in one class, the counts and releases adding up to the groups'), or with a
    class table that does not fit it."""
    from mmbits.cachedir import load_json

    if key is None:
        return None
    body = load_json("classes", key, MAGIC, "body", MAX_ENTRY_BYTES)
    if body is None:
        return None
    try:
        rows = body["units"]
        if body["groups"] != len(groups) or not isinstance(rows, list):
            return None
        out = Classes()
        last = -1
        ngroups = 0
        for first, count, n, releases in rows:
            if type(first) is not int or not last < first < len(groups) or type(n) is not int or n < 1:
                return None
            by_release = {int(v): int(c) for v, c in releases}
            if type(count) is not int or count < 1 or sum(by_release.values()) != count:
                return None
            out.append(Unit(groups, first, count, n, by_release))
            last = first
            ngroups += n
        table = body.get("table")
        out.table = None if table is None else _table_from_json(table, len(out))
    except (KeyError, TypeError, ValueError):
        return None
    total = groups.total() if isinstance(groups, GroupList) else sum(g.count for g in groups)
    if ngroups != len(groups) or sum(u.count for u in out) != total or \
            (out and out[0].first != 0):
        return None
    return out


def _table_from_json(doc: Any, nunits: int) -> BitTable:
    """A stored class table, checked to be one (every item an int, every index in range):
    ValueError if not."""
    sites, rows, gaps, profiles = doc["sites"], doc["rows"], doc["gaps"], doc["profiles"]
    if len(profiles) != nunits or not _ints(gaps) or not all(_ints(x) for x in (*sites, *rows)):
        raise ValueError("not a class table of these classes")
    reach = [max(amap, default=-1) for amap in sites]  # the highest anchor bit each site reads
    if any(min(amap, default=-1) < -1 for amap in sites):
        raise ValueError("class table index out of range")
    widths = [len(row) for row in rows]
    out: list[tuple[int, int, int, int, int] | None] = []
    for p in profiles:
        if p is None:
            out.append(None)
            continue
        if len(p) != 5 or not _ints(p):
            raise ValueError("not a class profile")
        shape, si, row, tail, cp = p
        if not (0 <= si < len(sites) and 0 <= row < len(rows)) or reach[si] >= widths[row]:
            raise ValueError("class table index out of range")
        out.append((shape, si, row, tail, cp))
    return BitTable(out, sites, rows, set(gaps))


def _ints(items: Any) -> bool:
    return isinstance(items, list) and set(map(type, items)) <= {int}


def _store(key: str | None, groups: Sequence[Group], units: Classes) -> None:
    from mmbits.cachedir import store_json

    if key is None:
        return
    body: dict[str, Any] = {
        "groups": len(groups),
        "units": [[u.first, u.count, u.groups, sorted(u.by_release.items())] for u in units]}
    t = units.table
    if t is not None:
        body["table"] = {"profiles": t.profiles, "sites": t.sites, "rows": t.rows, "gaps": sorted(t.gaps)}
    store_json("classes", key, MAGIC, "body", body)


def members(prover: Prover, groups: Sequence[Group], unit: Unit) -> list[tuple[int, Group]]:
    """The groups of one class with their indices, in order (for a message naming several)."""
    want = prover.class_key(unit.config) if prover.config_memo is not None else None
    if want is None:
        return [(unit.first, groups[unit.first])]
    return [(i, g) for i, g in enumerate(groups) if i >= unit.first and prover.class_key(g.config) == want]


def _single(groups: Sequence[Group], i: int, g: Group) -> Unit:
    return Unit(groups, i, g.count, 1, {int(g.config.get("VERSION") or 0): g.count})


def _partition(prover: Prover, groups: Sequence[Group]) -> Classes:
    by_key: dict[tuple[Any, ...], Unit] = {}
    out = Classes()
    class_key = prover.class_key
    builder = _TableBuilder(prover) if prover._facts_names() is not None and not prover.xp.new_flags else None
    for i, g in enumerate(groups):
        cfg = g.config
        k = class_key(cfg)
        unit = by_key.get(k) if k is not None else None
        if unit is None:
            unit = Unit(groups, i)
            out.append(unit)
            if k is not None:
                by_key[k] = unit
            if builder is not None:
                builder.add(cfg, k)
        unit.count += g.count
        unit.groups += 1
        v = int(cfg.get("VERSION") or 0)
        unit.by_release[v] = unit.by_release.get(v, 0) + g.count
    if builder is not None:
        out.table = builder.table
    return out


class _TableBuilder:
    """The class table (`BitTable`), one profile per class as the partition finds it, from
    the class key (what it holds is what the analysis reads) and the representative."""

    def __init__(self, prover: Prover):
        self.prover = prover
        self.table = BitTable([], [], [], set())
        self._shapes: dict[tuple[Any, ...], int] = {}
        self._sites: dict[Any, int] = {}
        self._halves: dict[tuple[Any, ...], tuple[int, ...]] = {}
        self._widths: list[int] = []  # per site: the anchor bits it reads, 0 to its highest
        self._row_ids: dict[tuple[int, ...], int] = {}
        self._reads: dict[tuple[Any, ...], int] = {}
        self._tails: dict[tuple[Any, ...], int] = {}

    def add(self, cfg: Config, k: tuple[Any, ...] | None) -> None:
        from mmbits.prover import rules

        profile = None
        # a page->flags class whose key holds the facts the rules read (Prover.class_key)
        if k is not None and len(k) == 5 and k[0][0] == "facts":
            prover = self.prover
            facts = k[0][1]
            word = prover.flags_word(cfg, 0)
            site = prover.site(cfg)
            shape = self._shapes.setdefault((facts[0], facts[1]), len(self._shapes))
            si = self._sites.get(site)
            if si is None:
                si = self._sites[site] = len(self.table.sites)
                self.table.sites.append([-1 if (ab := site.anchor_bit(b)) is None else ab for b in range(site.bits)])
                self._widths.append(max(self.table.sites[si], default=-1) + 1)
            width = self._widths[si]
            row = self._row(word, facts, width)
            tail = self._tails.setdefault(rules.gap_inputs(word, cfg), len(self._tails))
            profile = (shape, si, row, tail, int(bool(cfg.get("CHECK_PAGES"))))
        self.table.profiles.append(profile)

    def _row(self, word: Any, facts: tuple[Any, ...], width: int) -> int:
        """The row of the class's packing: `rules.bit_input` for each anchor bit below
        `width`, numbered. Below NR_PAGEFLAGS it reads the flags (a function of the flag
        shape) and two masks; above, the fields, NR_PAGEFLAGS and two other masks: each
        half is made once per distinct value of what it reads (a few hundred over 28k classes)."""
        from mmbits.prover import rules

        masks = word.masks
        nr = min(word.nr_pageflags, width)
        low_key = (facts[1], nr, masks.get("PAGE_FLAGS_SECOND", 0), masks.get("PAGE_FLAGS_CHECK_AT_FREE", 0))
        low = self._halves.get(low_key)
        if low is None:
            low = self._halves[low_key] = self._reads_of(rules.bit_inputs(word, 0, nr))
        high_key = (tuple(word.fields), nr, width, masks.get("PAGE_FLAGS_CHECK_AT_PREP", 0),
                    masks.get("THP_SPLIT_COPY", 0))
        high = self._halves.get(high_key)
        if high is None:
            high = self._halves[high_key] = self._reads_of(rules.bit_inputs(word, nr, width))
        read = low + high
        row = self._row_ids.get(read)
        if row is None:
            row = self._row_ids[read] = len(self.table.rows)
            self.table.rows.append(list(read))
        return row

    def _reads_of(self, reads: list[tuple[Any, ...]]) -> tuple[int, ...]:
        out: list[int] = []
        last: Any = None
        n = -1
        for read in reads:
            if read is not last:  # a field's bits are one object: numbered once
                n, last = self._read(read), read
            out.append(n)
        return tuple(out)

    def _read(self, read: tuple[Any, ...]) -> int:
        n = self._reads.get(read)
        if n is None:
            n = self._reads[read] = len(self._reads)
            if read[0] == "gap":
                self.table.gaps.add(n)
        return n
