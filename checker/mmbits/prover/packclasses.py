"""A domain's groups partitioned by what their page->flags packing gives the rules, for
every word at once: the part of a word's class partition that does not depend on the word.

The first question on a word used to compute every group's packing, site and class key,
and the class table's rows of every class (prover.classes, prover.bittable): about a
second over the default domain's 14,352 groups, nearly all of it the same for every word.
For a question whose names the flag shape decides (`Prover._facts_names`) and that adds
no flag, a page->flags class key is the packing's facts (`analyse.flag_facts`), the site
and three symbols (MEM_ALLOC_PROFILING, MEM_PROFILING_COMPRESSED, CHECK_PAGES): all but
the site are the word's business only through the site. So per group list (the domain's
parts and the symbols grouped on) this keeps each group's *packing class* (equal facts and
symbols) and, per packing class, its share of a class table row (flag shape, the rows of
what each bit holds up to the packing's full width, the gap inputs, CHECK_PAGES) and the
four PACKING_SYMBOLS values its packing decides (what a site key reads of it), with what
the table's numbers stand for (prover.classfacts), so a word's classes are analysed
without their configs.
`classes` derives a word's partition and table from it in one pass over the groups' rows
(`GroupList.values`: no config built), resolving one site per distinct site key.

Computed from the rows too (one packing per distinct input, no config built), and kept
on disk for the shipped layouts ($MMBITS_CACHE_DIR/packings, through `cachedir`: plain
data in marshal's format with the digest of it (`cachedir.store_data`: JSON read back
three times slower), bound to a BLAKE2b-256 of the code stamp, the data stamp, the domain's parts and the
grouping). An entry that does not fit these groups (lengths, classes not numbered in
order of their first group, an index out of range, a run list that is not one) is
computed again; a word's partition that cannot be derived (a site that is not a
page->flags one, a row that disagrees with its config) is made the long way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mmbits.prover import bittable, classfacts
from mmbits.prover.grouplist import GroupList

MAGIC = "mmbits-packing-classes 4"
SUB = "packings"
MAX_ENTRY_BYTES = 64 * 1024 * 1024
# what a page->flags class key reads of the config beside the packing and the site (Prover.class_key)
SYMBOLS = ("MEM_ALLOC_PROFILING", "MEM_PROFILING_COMPRESSED", "CHECK_PAGES")
COLUMNS = ("shape", "low", "high", "tail", "cp")


class PackingClasses:
    """`of[i]`: group i's packing class; per packing class `first` (its first group), the
    `COLUMNS` of its class table rows, `packed` (the PACKING_SYMBOLS values, in that order);
    `table` holds the shapes, rows and gap numbers those columns index (no sites)."""

    __slots__ = ("of", "first", "columns", "packed", "table")

    def __init__(self, of: list[int], first: list[int], columns: dict[str, list[int]], packed: list[list[int]],
                 table: bittable.BitTable):
        self.of = of
        self.first = first
        self.columns = columns
        self.packed = packed
        self.table = table


def grouping_key(sub: str, origin: tuple[Any, Iterable[str]], extra: Any) -> str | None:
    """An entry name for what a group list (the domain's parts, the symbols grouped on)
    and `extra` decide, bound to the code and the layouts data; None when the `sub` cache
    is off or the domain has fixed configs (presets) or parts that cannot say what they are."""
    from mmbits.cachedir import entry_name, private_dir

    domain, relevant = origin
    if private_dir(sub) is None or getattr(domain, "fixed", None):
        return None
    try:
        parts = [p.identity() for p in domain.parts]
    except AttributeError:
        return None
    return entry_name(sub, {"parts": parts, "relevant": sorted(relevant), "question": extra})


def packing_classes(groups: GroupList, memo: dict[tuple[Any, ...], Any],
                    origin: tuple[Any, Iterable[str]]) -> PackingClasses | None:
    """The packing classes of `groups`: from the group list's memo, from disk, or computed
    (and kept); None when they cannot be made (fixed configs, a packing without a flag shape)."""
    hit = memo.get(("packing-classes",))
    if hit is not None and hit[0] is groups:
        return hit[1]  # type: ignore[no-any-return]
    key = grouping_key(SUB, origin, "packing classes")
    out = _load(key, groups)
    if out is None:
        out = _compute(groups)
        if out is not None:
            _store(key, out)
    memo[("packing-classes",)] = (groups, out)
    return out


def _compute(groups: GroupList) -> PackingClasses | None:
    from mmbits.flags.packing import INPUT_SYMBOLS, compute_inputs
    from mmbits.layout.registry import PACKING_SYMBOLS, packing_values
    from mmbits.prover.analyse import flag_facts

    n = len(INPUT_SYMBOLS)
    # compute(config) reads get(s, 0) of each input; the class key bool(get(s)) of the others
    rows = groups.values((*INPUT_SYMBOLS, *SYMBOLS), 0)
    if rows is None:
        return None
    numbers = bittable.Numbering()
    of: list[int] = []
    first: list[int] = []
    columns: dict[str, list[int]] = {c: [] for c in COLUMNS}
    packed: list[list[int]] = []
    by_word: dict[int, int] = {}  # id(word) -> its facts' number (the words are kept in `keep`)
    by_facts: dict[tuple[Any, ...], int] = {}
    facts_of: list[tuple[Any, ...]] = []
    halves: dict[int, tuple[int, int]] = {}
    tails: dict[tuple[int, bool, bool], int] = {}
    by_key: dict[tuple[int, bool, bool, bool], int] = {}
    keep: list[Any] = []
    for i, (_, vals) in enumerate(rows):
        word = compute_inputs(vals[:n])
        fid = by_word.get(id(word))
        if fid is None:
            if word._shape is None:
                return None  # its class key holds the word itself: no word-independent partition
            keep.append(word)
            facts = flag_facts(word)
            fid = by_word[id(word)] = by_facts.setdefault(facts, len(by_facts))
            if fid == len(facts_of):
                facts_of.append(facts)
        alloc, compressed, check_pages = bool(vals[n]), bool(vals[n + 1]), bool(vals[n + 2])
        k = (fid, alloc, compressed, check_pages)
        c = by_key.get(k)
        if c is None:
            c = by_key[k] = len(first)
            first.append(i)
            facts = facts_of[fid]
            half = halves.get(fid)
            if half is None:
                half = halves[fid] = numbers.halves(word, facts, word.bits)
            tail = tails.get(k[:3])
            if tail is None:
                tail = tails[k[:3]] = numbers.tail(word, {SYMBOLS[0]: vals[n], SYMBOLS[1]: vals[n + 1]})
            for name, v in zip(COLUMNS, (numbers.shape(word, facts), *half, tail, int(check_pages)), strict=True):
                columns[name].append(v)
            pv = packing_values(word)
            packed.append([pv[s] for s in PACKING_SYMBOLS])
        of.append(c)
    if not first:
        return None
    return PackingClasses(of, first, columns, packed, numbers.table)


# -- on disk ---------------------------------------------------------------------------

def _store(key: str | None, pc: PackingClasses) -> None:
    from mmbits.cachedir import store_data

    t = pc.table
    store_data(SUB, key, MAGIC, "body", {
        "of": pc.of, "first": pc.first, "columns": pc.columns, "packed": [v for p in pc.packed for v in p],
        "table": {"shapes": t.shapes, "lows": t.lows, "highs": t.highs, "gaps": sorted(t.gaps),
                  "facts": t.facts.to_json()}})


def _load(key: str | None, groups: GroupList) -> PackingClasses | None:
    """The stored packing classes, or None: absent, foreign, or not fitting these groups."""
    from mmbits.cachedir import load_data

    if key is None:
        return None
    body = load_data(SUB, key, MAGIC, "body", MAX_ENTRY_BYTES)
    if body is None:
        return None
    try:
        got: Any = body
        of, first, columns, packed, doc = got["of"], got["first"], got["columns"], got["packed"], got["table"]
        shapes, lows, highs, gaps = doc["shapes"], doc["lows"], doc["highs"], doc["gaps"]
        n = len(first)
        if not isinstance(columns, dict) or sorted(columns) != sorted(COLUMNS) \
                or not bittable.all_ints((of, first, gaps, packed, *columns.values(), *shapes, *lows, *highs)) \
                or len(of) != len(groups) or n == 0 or len(packed) != 4 * n \
                or any(len(c) != n for c in columns.values()) \
                or any(len(s) != 2 for s in shapes) or not _numbered_in_order(of, first):
            return None
        bittable.check_runs(highs)
        facts = classfacts.from_json(doc["facts"], len(shapes), len(lows), len(highs), 0)
        bittable.check_halves(columns["shape"], columns["low"], columns["high"], len(shapes), lows, highs)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return PackingClasses(of, first, columns, [packed[i:i + 4] for i in range(0, len(packed), 4)],
                          bittable.BitTable(shapes=shapes, lows=lows, highs=highs, gaps=set(gaps), facts=facts))


def _numbered_in_order(of: list[int], first: list[int]) -> bool:
    """Whether the classes are 0, 1, ... in the order of their first group, `first` saying where."""
    seen = 0
    for i, c in enumerate(of):
        if c == seen:
            if first[c] != i:
                return False
            seen += 1
        elif not 0 <= c < seen:
            return False
    return seen == len(first)
