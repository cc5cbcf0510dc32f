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
groups; with the shipped layouts it is kept on disk too ($MMBITS_CACHE_DIR/classes, plain
data in marshal's format with its digest (`cachedir.store_data`: read back three times
faster than the JSON it was) bound to a key of the code, the data, the domain's parts, the grouping and the word,
through `cachedir`), so a new process reads it instead of computing every group's
packing. With it goes the class table (prover.bittable), which lets a new question
analyse one class per distinct answer instead of every class. Class keys hold object
ids: they are only made with a group-list memo, which keeps those objects alive for as
long as the partition is kept.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any, overload

from mmbits import intarrays
from mmbits.kconfig.config import Config
from mmbits.kconfig.domain import Group
from mmbits.prover import bittable, packclasses
from mmbits.prover.classfacts import Facts
from mmbits.prover.grouplist import GroupList

if TYPE_CHECKING:
    from mmbits.prover.analyse import Prover


class Unit:
    """One class of groups: its first group (the representative, whose config a
    counterexample names), the configs and groups it stands for, and its configs per release.
    The representative's config is built when first asked for (`config`): a new question
    answered from the class table (`answer_keys`) analyses only a few classes. (A plain
    class: thousands are made per question, and a dataclass costs start-up to make.)"""

    __slots__ = ("source", "first", "count", "groups", "by_release")

    def __init__(self, source: Sequence[Group], first: int, count: int = 0, groups: int = 0,
                 by_release: dict[int, int] | None = None):
        self.source = source
        self.first = first  # index of its first group in the group list
        self.count = count
        self.groups = groups
        self.by_release = {} if by_release is None else by_release  # read only: a kept partition shares them

    def __repr__(self) -> str:
        return f"Unit(first={self.first}, count={self.count}, groups={self.groups})"

    @property
    def config(self) -> Config:
        return self.source[self.first].config


class Classes(Sequence[Unit]):
    """The classes in order as columns: per class its first group (`firsts`), its configs
    (`counts`) and groups (`sizes`), and the number of its configs-per-release map
    (`which`, into `release_sets`, shared and read only), with the class table when the
    partition made one (`table`). A `Unit` is made when one is asked for: a new question
    sums its classes from the columns (prover.engine) and asks for the few it analyses."""

    __slots__ = ("source", "firsts", "counts", "sizes", "which", "release_sets", "table")

    def __init__(self, source: Sequence[Group], firsts: Sequence[int], counts: Sequence[int], sizes: Sequence[int],
                 which: Sequence[int], release_sets: list[dict[int, int]], table: bittable.BitTable | None = None):
        self.source, self.table = source, table
        self.firsts, self.counts, self.sizes, self.which, self.release_sets = firsts, counts, sizes, which, release_sets

    @classmethod
    def of_units(cls, source: Sequence[Group], made: Sequence[Unit],
                 table: bittable.BitTable | None = None) -> Classes:
        """The columns of classes made one by one (a partition computed in process)."""
        which, release_sets = _numbered(made)
        firsts, counts, sizes = (list(map(attrgetter(a), made)) for a in ("first", "count", "groups"))
        return cls(source, firsts, counts, sizes, which, release_sets, table)

    def __len__(self) -> int:
        return len(self.firsts)

    @overload
    def __getitem__(self, i: int) -> Unit: ...

    @overload
    def __getitem__(self, i: slice) -> list[Unit]: ...

    def __getitem__(self, i: int | slice) -> Unit | list[Unit]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return Unit(self.source, self.firsts[i], self.counts[i], self.sizes[i], self.release_sets[self.which[i]])


def columns(units: Sequence[Unit]) -> tuple[Sequence[int], Sequence[int], Sequence[int], list[dict[int, int]]]:
    """Per class its configs, its groups and the number of its configs-per-release map, with
    those maps: the columns of a `Classes`, or made from any other sequence of units."""
    if isinstance(units, Classes):
        return units.counts, units.sizes, units.which, units.release_sets
    which, release_sets = _numbered(units)
    return [u.count for u in units], [u.groups for u in units], which, release_sets


def _numbered(units: Sequence[Unit]) -> tuple[list[int], list[dict[int, int]]]:
    """Each unit's configs-per-release map numbered by value, and the distinct maps."""
    sets: dict[tuple[tuple[int, int], ...], int] = {}
    release_sets: list[dict[int, int]] = []
    which = []
    for per in map(attrgetter("by_release"), units):
        flat = tuple(sorted(per.items()))
        i = sets.setdefault(flat, len(sets))
        if i == len(release_sets):
            release_sets.append(per)
        which.append(i)
    return which, release_sets


def units(prover: Prover, groups: Sequence[Group], memo: dict[tuple[Any, ...], Any] | None,
          origin: tuple[Any, Iterable[str]] | None = None) -> Classes:
    """The classes of `groups` in the order of their first group (so the first class with
    a finding holds the first group with it, as a pass over the groups would find it).
    `origin`: the domain and the symbols the groups are grouped on, when the layouts are
    the shipped ones: the partition is then kept on disk too (see `_disk_key`)."""
    if memo is None:
        return Classes.of_units(groups, [_single(groups, i, g) for i, g in enumerate(groups)])
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
            out = _from_packings(prover, groups, memo, origin) if origin is not None else None
            if out is None:
                out = _partition(prover, groups)
        finally:
            prover.config_memo = saved
        _store(disk, groups, out)
    memo[key] = (prover.lset, groups, out)
    return out


def answer_keys(prover: Prover, classes: Sequence[Unit]) -> bittable.AnswerKeys | None:
    """Per class, a key such that classes with equal keys get the same analysis, or None
    (see `bittable.answer_keys`). None when making them fails: every class is then analysed
    itself, and the analyses meet the failure again and report it (fail closed)."""
    from mmbits.errors import InputError

    try:
        return bittable.answer_keys(prover, classes, getattr(classes, "table", None))
    except InputError:
        raise
    except Exception:  # noqa: BLE001 - the per-class analyses report it
        return None


# -- on disk ---------------------------------------------------------------------------

MAGIC = f"mmbits-check-classes 9 {intarrays.FORMAT}"
MAX_ENTRY_BYTES = 64 * 1024 * 1024


def _disk_key(question: tuple[Any, ...], origin: tuple[Any, Iterable[str]]) -> str | None:
    """A partition is a function of the group list (the domain's parts and the symbols
    grouped on, as the domain index keys it), of the word, the number of new flags and the
    kind of names (`question`), of the layouts data and of the code: a BLAKE2b-256 of all
    of them, so edited code or data, another domain or another grouping misses. A domain
    with fixed configs (presets) is not kept."""
    return packclasses.grouping_key("classes", origin, list(question))


def _load(key: str | None, groups: Sequence[Group]) -> Classes | None:
    """The stored partition, or None: absent, foreign, or not a partition of these groups
    (every group in one class, the counts and releases adding up to the groups'), or with a
    class table that does not fit it."""
    from mmbits.cachedir import load_data

    if key is None:
        return None
    body = load_data("classes", key, MAGIC, "body", MAX_ENTRY_BYTES)
    if body is None:
        return None
    try:
        cols: Any = body["units"]
        firsts, counts, sizes, which = (intarrays.unpack(cols[c]) for c in ("first", "count", "groups", "releases"))
        n = len(firsts)
        if body["groups"] != len(groups) or not len(counts) == len(sizes) == len(which) == n or n == 0 \
                or firsts[0] != 0 or firsts[-1] >= len(groups) or not all(map(operator.lt, firsts, firsts[1:])) \
                or min(counts) < 1 or min(sizes) < 1 or sum(sizes) != len(groups):
            return None
        # the distinct configs-per-release maps ([VERSION, configs, ...]), shared by the classes
        # that have them (read only); each class's adds up to its configs
        sets = []
        for flat in cols["release_sets"]:
            if not bittable.ints(flat):
                return None
            per = dict(zip(flat[::2], flat[1::2], strict=True))
            if len(per) * 2 != len(flat):
                return None
            sets.append(per)
        totals = [sum(per.values()) for per in sets]
        if min(which) < 0 or max(which) >= len(sets) or \
                not all(map(operator.eq, map(totals.__getitem__, which), counts)):
            return None
        table = body.get("table")
        out = Classes(groups, firsts, counts, sizes, which, sets,
                      None if table is None else bittable.from_data(table, n))
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    total = groups.total() if isinstance(groups, GroupList) else sum(g.count for g in groups)
    if sum(counts) != total:
        return None
    return out


def _store(key: str | None, groups: Sequence[Group], units: Classes) -> None:
    from mmbits.cachedir import store_data

    if key is None:
        return
    body: dict[str, Any] = {
        "groups": len(groups),
        "units": {"first": intarrays.pack(units.firsts), "count": intarrays.pack(units.counts),
                  "groups": intarrays.pack(units.sizes), "releases": intarrays.pack(units.which),
                  "release_sets": [[x for vc in sorted(per.items()) for x in vc] for per in units.release_sets]}}
    t = units.table
    if t is not None:
        body["table"] = t.to_data()
    store_data("classes", key, MAGIC, "body", body)


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
    out: list[Unit] = []
    class_key = prover.class_key
    builder = bittable.Builder(prover) if prover._facts_names() is not None and not prover.xp.new_flags else None
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
    return Classes.of_units(groups, out, builder.table if builder is not None else None)


# the roles whose class key is the packing's facts or its flag shape, and the site ("": absent)
_DERIVED_ROLES = ("flags", "page_type", "plain", "")


def _from_packings(prover: Prover, groups: Sequence[Group], memo: dict[tuple[Any, ...], Any],
                   origin: tuple[Any, Iterable[str]]) -> Classes | None:
    """The partition and its class table derived from the word-independent packing
    classes (prover.packclasses), or None when this question is not one they serve (new
    flags, names the flag shape does not decide) or the word is a pointer or memdesc word
    on some group. A group's class key (`Prover.class_key`) is its packing class and its
    site (the flag shape and the site where the word is no page->flags word or absent);
    the site is a function of the group's values of the word's site symbols (and of
    the four its packing decides), read off the rows: one site resolved per distinct key,
    from that group's config (whose own key must be the one read: else the long way)."""
    from mmbits.layout.registry import PACKING_SYMBOLS

    if not isinstance(groups, GroupList) or prover.xp.new_flags or prover._facts_names() is None or not prover.word \
            or len(groups) == 0:
        return None
    try:  # a pointer or memdesc word (as on the first group) is not served: no packing classes made for it
        first = prover.site(groups[0].config)
    except Exception:  # noqa: BLE001 - the long way meets it again and reports it per group
        return None
    if first.exists and first.role not in _DERIVED_ROLES:
        return None
    base = packclasses.packing_classes(groups, memo, origin)
    names = prover._site_env_keys
    rows = groups.values(("VERSION", *names)) if base is not None else None
    if base is None or rows is None:
        return None
    at = {s: i for i, s in enumerate(PACKING_SYMBOLS)}
    from_packing = [(i, at[s]) for i, s in enumerate(names) if s in at] if prover._needs_env else []
    # C-level passes over the groups (zip, map, dict): a Python loop over 14k groups was most of it
    pairs = list(rows)
    counts: list[int] = list(map(operator.itemgetter(0), pairs))
    values: list[tuple[Any, ...]] = list(map(operator.itemgetter(1), pairs))
    of, packed = base.of, base.packed
    skeys: list[Any] = values
    if from_packing:
        distinct: dict[tuple[int, ...], int] = {}
        packed_id = [distinct.setdefault(tuple(p), len(distinct)) for p in packed]
        skeys = list(zip(map(packed_id.__getitem__, of), values, strict=True))
    known = base.table.facts
    table = bittable.BitTable(shapes=base.table.shapes, lows=base.table.lows, highs=base.table.highs,
                              gaps=base.table.gaps,
                              facts=Facts(known.shapes, known.lows, known.highs, known.tails, known.field_lists))
    # one site per distinct site key, resolved from its first group's config
    sid_of: dict[Any, int] = {}
    site_numbers: dict[Any, int] = {}
    in_table: list[int] = []  # per site: its row of table.sites (a page->flags site), or -1
    reach: list[int] = []
    for skey, i in bittable.firsts(skeys):
        key = list(values[i][1:])
        for k, j in from_packing:
            key[k] = packed[of[i]][j]
        try:
            cfg = groups[i].config
            if prover.site_key(cfg) != tuple(key):
                return None
            site = prover.site(cfg)
        except Exception:  # noqa: BLE001 - the long way meets it again and reports it per group
            return None
        role = site.role if site.exists else ""
        if role not in _DERIVED_ROLES:
            return None  # a pointer's or memdesc's class key reads more of the config
        sid = site_numbers.get(site)
        if sid is None:
            sid = site_numbers[site] = len(in_table)
            if role == "flags":
                in_table.append(len(table.sites))
                table.sites.append([-1 if (ab := site.anchor_bit(b)) is None else ab for b in range(site.bits)])
                table.facts.add_site(site)
                reach.append(max(table.sites[-1], default=-1))
            else:
                in_table.append(-1)
                reach.append(-1)
        sid_of[skey] = sid
    # a group's class: its packing class and its site, numbered in the order of first groups;
    # on a site of another role (or none) the word's flag shape and its site (Prover.class_key)
    sids = list(map(sid_of.__getitem__, skeys))
    shape_of = base.columns["shape"]
    ckeys = list(zip(of, sids, strict=True)) if min(in_table) >= 0 else \
        [(pc, sid) if in_table[sid] >= 0 else (-1 - shape_of[pc], sid) for pc, sid in zip(of, sids, strict=True)]
    out: list[Unit] = []
    number: dict[tuple[int, int], int] = {}
    cols = table.columns
    pcols = [base.columns[c] for c in packclasses.COLUMNS]
    ends = [bittable.run_end(runs) for runs in table.highs]
    for (pc, sid), i in bittable.firsts(ckeys):
        number[(pc, sid)] = len(out)
        out.append(Unit(groups, i))
        if pc < 0:
            row: tuple[int, ...] = (-1,) * len(bittable.COLUMNS)  # no profile: analysed itself
        elif reach[sid] >= ends[pcols[2][pc]]:
            return None  # a site past the packing's rows
        else:
            row = (pcols[0][pc], in_table[sid], pcols[1][pc], pcols[2][pc], pcols[3][pc], pcols[4][pc])
        for c, v in zip(bittable.COLUMNS, row, strict=True):
            cols[c].append(v)
    which = list(map(number.__getitem__, ckeys))
    for j, size in Counter(which).items():
        out[j].groups = size
    tally: dict[tuple[int, Any], int] = {}
    for jv, n_configs in zip(zip(which, map(operator.itemgetter(0), values), strict=True), counts, strict=True):
        tally[jv] = tally.get(jv, 0) + n_configs
    for (j, version), n_configs in tally.items():
        unit = out[j]
        unit.count += n_configs
        v = int(version or 0)
        unit.by_release[v] = unit.by_release.get(v, 0) + n_configs
    return Classes.of_units(groups, out, table)

