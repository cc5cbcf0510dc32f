"""The class table: what each class's page->flags analysis reads, as small integers, so a
new question finds which classes answer alike without computing their packings.

A new question over a kept class partition (prover.classes) used to analyse every class's
representative: its packing, its site, the expression and the rules, 5,634 times over the
default domain and 28,597 over every release and arch. For a question whose names the
word's flag shape decides (`Prover._facts_names`: NR_PAGEFLAGS, BITS_PER_LONG, constants,
flag names) and that adds no flag, the page->flags analysis of a class is a function of
the expression's value (a function of the flag shape), the site, CHECK_PAGES and, at the
value's bits, what `rules.bit_input` reads there (with `rules.gap_inputs` when one is a gap
bit): `rules.flag_bits_inputs`, the key the analysis itself is cached on. The table keeps
those per class, numbered when the partition is made:

- `shape`: the (BITS_PER_LONG, flag shape) pair; the expression is evaluated once per shape,
  or once per (BITS_PER_LONG, NR_PAGEFLAGS) (`shapes[shape]`) when it reads no flag name;
- `site`: `sites[site]` is the site's anchor bit for each bit of the word (-1: outside);
- `low`, `high`: what each anchor bit holds, below NR_PAGEFLAGS (`lows[low][ab]`, a number
  per distinct flag read) and from there up (`highs[high]`: NR_PAGEFLAGS, then runs
  `end, number` up to the highest bit a site reads: a packed field is one run, a gap bit
  numbered by its two mask bits alone, its position being the run's);
- `tail`: `rules.gap_inputs`, numbered; `cp`: CHECK_PAGES.

Equal numbers are equal inputs, so classes whose numbers agree at the value's bits get
the same analysis: `answer_keys` gives each class a key, and the proof analyses one class
per distinct key (670 of 5,634 classes for a new question on the default domain).
Classes of another role, or whose key is not made of those facts, get no profile and are
analysed themselves.
"""

from __future__ import annotations

import operator
from collections.abc import MutableSequence, Sequence
from itertools import chain, compress, islice, repeat
from typing import TYPE_CHECKING, Any

from mmbits import intarrays
from mmbits.kconfig.config import Config
from mmbits.prover import classfacts
from mmbits.prover.classfacts import Facts

if TYPE_CHECKING:
    from mmbits.prover.analyse import Prover

COLUMNS = ("shape", "site", "low", "high", "tail", "cp")


class BitTable:
    """Per class, in order: `columns[name][i]` for the names in COLUMNS (`site` -1: no
    profile, the class is analysed itself); `shapes`, `sites`, `lows`, `highs` as the
    module says; `gaps` the numbers of gap reads; `facts` what the numbers stand for, for an
    analysis without the class's config (prover.classfacts). (A plain class, not a
    dataclass: every check imports it, and a dataclass compiles its methods at import.)"""

    __slots__ = ("columns", "shapes", "sites", "lows", "highs", "gaps", "facts")

    def __init__(self, columns: dict[str, MutableSequence[int]] | None = None, shapes: list[list[int]] | None = None,
                 sites: list[list[int]] | None = None, lows: list[list[int]] | None = None,
                 highs: list[list[int]] | None = None, gaps: set[int] | None = None, facts: Facts | None = None):
        self.columns: dict[str, MutableSequence[int]] = {c: [] for c in COLUMNS} if columns is None else columns
        self.shapes: list[list[int]] = [] if shapes is None else shapes
        self.sites: list[list[int]] = [] if sites is None else sites
        self.lows: list[list[int]] = [] if lows is None else lows
        self.highs: list[list[int]] = [] if highs is None else highs
        self.gaps: set[int] = set() if gaps is None else gaps
        self.facts: Facts = Facts() if facts is None else facts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BitTable) and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it was

    def __repr__(self) -> str:
        return f"BitTable({len(self)} classes, {len(self.shapes)} shapes, {len(self.sites)} sites)"

    def __len__(self) -> int:
        return len(self.columns["site"])

    def read_at(self, low: int, high: int, ab: int) -> int:
        """The number of what anchor bit `ab` holds in a class with these halves."""
        lo = self.lows[low]
        if ab < len(lo):
            return lo[ab]
        runs = self.highs[high]
        for k in range(1, len(runs), 2):
            if ab < runs[k]:
                return runs[k + 1]
        raise IndexError(ab)  # _from_json refuses a table with a site past its rows

    def to_json(self) -> dict[str, Any]:
        return {"columns": {c: list(col) for c, col in self.columns.items()}, "shapes": self.shapes,
                "sites": self.sites, "lows": list(map(list, self.lows)), "highs": list(map(list, self.highs)),
                "gaps": sorted(self.gaps), "facts": self.facts.to_json()}

    def to_data(self) -> dict[str, Any]:
        """What a class partition's entry keeps (prover.classes): the columns and the rows
        as array bytes (mmbits.intarrays), the rest as `to_json`."""
        return {"columns": {c: intarrays.pack(col) for c, col in self.columns.items()}, "shapes": self.shapes,
                "sites": self.sites, "lows": intarrays.pack_rows(self.lows), "highs": intarrays.pack_rows(self.highs),
                "gaps": sorted(self.gaps), "facts": self.facts.to_json()}


def from_data(doc: Any, nclasses: int) -> BitTable:
    """A stored table (`to_data`), checked to be one for `nclasses` classes (every index
    in range, every site within the rows it is read with): ValueError if not."""
    if not isinstance(doc, dict) or not isinstance(doc["columns"], dict) or sorted(doc["columns"]) != sorted(COLUMNS):
        raise ValueError("not a class table")
    columns: dict[str, MutableSequence[int]] = {c: intarrays.unpack(col) for c, col in doc["columns"].items()}
    shapes, sites, gaps = doc["shapes"], doc["sites"], doc["gaps"]
    lows: list[Any] = intarrays.unpack_rows(doc["lows"])
    highs: list[Any] = intarrays.unpack_rows(doc["highs"])
    if not ints(gaps) or not all_ints((*shapes, *sites)) or any(len(x) != 2 for x in shapes) \
            or any(len(c) != nclasses for c in columns.values()):
        raise ValueError("not a class table of these classes")
    reach = [max(amap, default=-1) for amap in sites]  # the highest anchor bit each site reads
    if any(min(amap, default=-1) < -1 for amap in sites):
        raise ValueError("class table index out of range")
    check_runs(highs)
    facts = classfacts.from_json(doc["facts"], len(shapes), len(lows), len(highs), len(sites))
    # the profiled classes' rows (C-level passes: thousands of classes)
    site_col = columns["site"]
    rows: list[Sequence[int]] = [columns[c] for c in ("shape", "site", "low", "high")]
    if site_col.count(-1):
        rows = [list(compress(col, map((-1).__ne__, site_col))) for col in rows]
    if rows[0]:
        shape_rows, site_rows, low_rows, high_rows = rows
        if min(site_rows) < 0 or max(site_rows) >= len(sites):
            raise ValueError("class table index out of range")
        check_halves(shape_rows, low_rows, high_rows, len(shapes), lows, highs)
        # and each row's high half reaches past its site
        ends = list(map(run_end, highs))
        if not all(map(operator.lt, map(reach.__getitem__, site_rows), map(ends.__getitem__, high_rows))):
            raise ValueError("class table rows do not cover the site")
    return BitTable(columns, shapes, sites, lows, highs, set(gaps), facts)


def check_halves(shape_rows: Sequence[int], low_rows: Sequence[int], high_rows: Sequence[int], nshapes: int,
                 lows: Sequence[Sequence[int]], highs: Sequence[Sequence[int]]) -> None:
    """ValueError unless every row's shape, low and high numbers are in range and each row's
    high half starts where its low half ends (the rows of a class table or of a grouping's
    packing classes: C-level passes, thousands of rows)."""
    for col, size in ((shape_rows, nshapes), (low_rows, len(lows)), (high_rows, len(highs))):
        if col and (min(col) < 0 or max(col) >= size):
            raise ValueError("class table index out of range")
    starts = list(map(operator.itemgetter(0), highs))
    if not all(map(operator.eq, map(starts.__getitem__, high_rows), map(len, map(lows.__getitem__, low_rows)))):
        raise ValueError("class table halves do not meet")


def check_runs(highs: Sequence[Sequence[int]]) -> None:
    """ValueError unless each of `highs` is a start, then (end, number) pairs with rising ends
    (C-level passes over all the rows at once: thousands of rows)."""
    lengths = list(map(len, highs))
    if not lengths:
        return
    if set(map((2).__rmod__, lengths)) != {1}:
        raise ValueError("not a run list")
    pairs = list(map(operator.rshift, lengths, repeat(1)))
    # each row's ends (its start and every other item after it), and which neighbours are one row's
    ends_of = [b"\x01" + b"\x01\x00" * k for k in range(max(pairs) + 1)]
    within = [b"\x01" * k + b"\x00" for k in range(max(pairs) + 1)]
    ends = list(compress(chain.from_iterable(highs), b"".join(map(ends_of.__getitem__, pairs))))
    if not all(compress(map(operator.lt, ends, islice(ends, 1, None)), b"".join(map(within.__getitem__, pairs)))):
        raise ValueError("not a run list")


def run_end(runs: Sequence[int]) -> int:
    """The first anchor bit past a run list (`highs` row)."""
    return runs[-2] if len(runs) > 1 else runs[0]


def firsts(keys: list[Any]) -> list[tuple[Any, int]]:
    """Each distinct key with the index of its first occurrence, in that order (C-level:
    a dict built from the end keeps each key's smallest index)."""
    first = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
    return sorted(first.items(), key=operator.itemgetter(1))


def ints(items: Any) -> bool:
    """Whether `items` is a JSON list of ints (a stored column)."""
    return isinstance(items, list) and set(map(type, items)) <= {int}


def all_ints(lists: Sequence[Any]) -> bool:
    """Whether each of `lists` is a JSON list of ints (thousands of short rows: one C-level pass)."""
    return set(map(type, lists)) <= {list} and set(map(type, chain.from_iterable(lists))) <= {int}


# -- a new question ------------------------------------------------------------------------

class AnswerKeys(list[Any]):
    """`answer_keys`' keys, with what a class's analysis needs beside them when made from
    the table (`inputs`): the expression's value on the class, evaluated once per shape."""

    def __init__(self, keys: list[Any], table: BitTable, values: dict[Any, Any], plain: bool):
        super().__init__(keys)
        self.table = table
        self._values = values
        self._plain = plain

    def inputs(self, i: int) -> tuple[Any, dict[str, bool], Any, Any] | None:
        """Class i's packing facts, config symbols, site and expression value, for
        `Prover.analyse_facts` (prover.classfacts); None when the table has no profile of
        the class or its kept facts are not a packing's: the class is then analysed from
        its config."""
        table = self.table
        cols = table.columns
        si = cols["site"][i]
        if si < 0 or self[i] is None:
            return None
        shape, low, high, tail, cp = (cols[c][i] for c in ("shape", "low", "high", "tail", "cp"))
        try:
            if min(shape, low, high, tail) < 0:
                return None
            word, env, site = table.facts.inputs(shape, table.shapes[shape][0], low, high, tail, cp, si)
        except (ValueError, IndexError, TypeError, KeyError):
            return None
        return word, env, site, self._values[tuple(table.shapes[shape]) if self._plain else shape]


def answer_keys(prover: Prover, classes: Sequence[Any], table: BitTable | None) -> AnswerKeys | None:
    """Per class, a key such that classes with equal keys get the same analysis (hits,
    expression value and site), or None for a class that must be analysed itself; None
    when there is no table or the question is not one it serves. `classes` are the
    partition's (`classes.Unit`: `.config` builds the representative when first asked)."""
    if table is None or prover.xp.new_flags or prover._facts_names() is None or len(table) != len(classes):
        return None
    from mmbits.prover.hits import bits_of

    # an expression of NR_PAGEFLAGS, BITS_PER_LONG and constants alone has one value per
    # (BITS_PER_LONG, NR_PAGEFLAGS): the key its own cache has (ExprPlan.evaluate)
    plain = prover._facts_names() == ()
    values: dict[Any, Any] = {}  # shape, or (BITS_PER_LONG, NR_PAGEFLAGS) -> the expression's Value
    at: dict[tuple[int, int], tuple[int, tuple[int, ...] | None] | None] = {}  # (shape, site) -> (id(Value), anchor bits)
    occupants: dict[tuple[int, int, tuple[int, ...]], tuple[tuple[int, ...], bool]] = {}
    sites, gaps, cols = table.sites, table.gaps, table.columns
    # the value's anchor bits per (shape, site) pair, evaluated on the pair's first class
    pairs = list(zip(cols["shape"], cols["site"], strict=True))
    for (shape, si), i in firsts(pairs):
        if si == -1:
            at[(shape, si)] = None
            continue
        vkey = tuple(table.shapes[shape]) if plain else shape
        ev = values.get(vkey)
        if ev is None:
            cfg = classes[i].config
            ev = values[vkey] = prover.xp.evaluate(cfg, prover.flags_word(cfg, 0))
        amap = sites[si]
        if ev.value is None:
            at[(shape, si)] = (id(ev), None)
        else:
            at[(shape, si)] = (id(ev), tuple(amap[b] for b in bits_of(ev.value & ((1 << len(amap)) - 1))
                                             if amap[b] >= 0))
    keys: list[Any] = []
    append = keys.append
    read_at, lows = table.read_at, table.lows
    high_reads: dict[tuple[int, int], int] = {}
    one_bit: dict[int, tuple[tuple[int, ...], bool]] = {}
    for found, si, low, high, tail, cp in zip(map(at.__getitem__, pairs), cols["site"], cols["low"], cols["high"],
                                              cols["tail"], cols["cp"], strict=True):
        if found is None:
            append(None)
            continue
        evid, abits = found
        if abits is None:
            append((evid, si))
            continue
        if len(abits) == 1:
            # most questions are one bit: its number is the low row's below NR_PAGEFLAGS, else
            # the high row's alone (`read_at`), which thousands of classes share
            ab = abits[0]
            lo = lows[low]
            if ab < len(lo):
                r = lo[ab]
            else:
                r = high_reads.get((high, ab))
                if r is None:
                    r = high_reads[(high, ab)] = read_at(low, high, ab)
            occ = one_bit.get(r)
            if occ is None:
                occ = one_bit[r] = ((r,), r in gaps)
        else:
            okey = (low, high, abits)
            occ = occupants.get(okey)
            if occ is None:
                read = tuple([read_at(low, high, ab) for ab in abits])
                occ = occupants[okey] = (read, not gaps.isdisjoint(read))
        append((evid, si, cp, occ[0], tail if occ[1] else -1))
    return AnswerKeys(keys, table, values, plain)  # the Values whose ids the keys hold are kept by `values`


# -- made with the partition -----------------------------------------------------------------

class Numbering:
    """The table's numbering of what packings hold (flag shapes, the halves of a width, gap
    reads), by value: shared by the `Builder` of a word's table and the word-independent
    packing classes (prover.packclasses) a word's table is derived from."""

    def __init__(self) -> None:
        self.table = BitTable()
        self._shapes: dict[tuple[Any, ...], int] = {}
        self._lows: dict[tuple[Any, ...], int] = {}
        self._highs: dict[tuple[Any, ...], int] = {}
        self._reads: dict[tuple[Any, ...], int] = {}
        self._tails: dict[tuple[Any, ...], int] = {}
        self._keep: list[Any] = []
        self._by_id: dict[int, int] = {}
        self._by_value: dict[Any, int] = {}
        self._gap_numbers: dict[tuple[Any, ...], int] = {}

    def shape(self, word: Any, facts: tuple[Any, ...]) -> int:
        """The number of the (BITS_PER_LONG, flag shape) pair."""
        shape = self._shapes.get((facts[0], facts[1]))
        if shape is None:
            shape = self._shapes[(facts[0], facts[1])] = len(self.table.shapes)
            self.table.shapes.append([word.bits, word.nr_pageflags])
            self.table.facts.add_shape(word)
        return shape

    def tail(self, word: Any, env: Any) -> int:
        """The number of `rules.gap_inputs` (`env`: the config, or its two allocation-tag symbols)."""
        from mmbits.prover import rules

        inputs = rules.gap_inputs(word, env)
        tail = self._tails.get(inputs)
        if tail is None:
            tail = self._tails[inputs] = len(self._tails)
            self.table.facts.add_tail(word, inputs[-2], inputs[-1])  # MEM_ALLOC_PROFILING, MEM_PROFILING_COMPRESSED
        return tail

    def halves(self, word: Any, facts: tuple[Any, ...], width: int) -> tuple[int, int]:
        """(low, high): the numbers of the rows of what bits 0 to NR_PAGEFLAGS and from
        there to `width` hold."""
        from mmbits.prover import rules

        masks = word.masks
        nr = min(word.nr_pageflags, width)
        # below NR_PAGEFLAGS the flags (a function of the flag shape) and two masks are read
        low_key = (self._value_of(facts[1]), nr, masks.get("PAGE_FLAGS_SECOND", 0),
                   masks.get("PAGE_FLAGS_CHECK_AT_FREE", 0))
        low = self._lows.get(low_key)
        if low is None:
            low = self._lows[low_key] = len(self.table.lows)
            self.table.lows.append([self._number(r) for r in rules.bit_inputs(word, 0, nr)])
            self.table.facts.add_low(masks)
        # from there up the fields and two other masks
        high_key = (tuple(map(self._value_of, facts[2])), nr, width, masks.get("PAGE_FLAGS_CHECK_AT_PREP", 0),
                    masks.get("THP_SPLIT_COPY", 0))
        high = self._highs.get(high_key)
        if high is None:
            high = self._highs[high_key] = len(self.table.highs)
            self.table.highs.append(self._runs(rules.bit_inputs(word, nr, width), nr))
            self.table.facts.add_high(word)
        return low, high

    def _runs(self, reads: list[tuple[Any, ...]], start: int) -> list[int]:
        out = [start]
        last: Any = None
        n = -1
        gaps = self._gap_numbers
        for ab, read in enumerate(reads, start):
            if read is not last:  # a field's bits are one object: numbered once
                last = read
                if type(read[0]) is str and read[0] == "gap":  # ("gap", ab, prep, thp): the position is the run's
                    known = gaps.get(read[2:])
                    n = known if known is not None else gaps.setdefault(read[2:], self._number(read[:1] + read[2:]))
                else:
                    n = self._number(read)
            if len(out) > 1 and out[-1] == n:
                out[-2] = ab + 1
            else:
                out += [ab + 1, n]
        return out

    def _value_of(self, obj: Any) -> int:
        n = self._by_id.get(id(obj))
        if n is None:
            self._keep.append(obj)  # its id stays its own
            n = self._by_id[id(obj)] = self._by_value.setdefault(obj, len(self._by_value))
        return n

    def _number(self, read: tuple[Any, ...]) -> int:
        # the FlagBit or PackedField read by value, each object hashed once (thousands of
        # reads share a few hundred objects)
        head = read[0]
        text = type(head) is str
        if text and head == "gap":
            key: tuple[Any, ...] = read
        elif text and head == "field":
            key = ("field", read[1], self._value_of(read[2]))
        else:
            key = (self._value_of(head), *read[1:])
        n = self._reads.get(key)
        if n is None:
            n = self._reads[key] = len(self._reads)
            if key is read:
                self.table.gaps.add(n)
        return n


class Builder(Numbering):
    """The table, one profile per class as the partition finds it, from the class key (what
    it holds is what the analysis reads: `Prover.class_key`) and the representative."""

    def __init__(self, prover: Prover):
        super().__init__()
        self.prover = prover
        self._sites: dict[Any, int] = {}
        self._widths: list[int] = []  # per site: the anchor bits it reads, 0 to its highest
        self._by_facts: dict[tuple[int, int], tuple[int, int]] = {}
        self._tail_of: dict[tuple[int, bool, bool], int] = {}

    def add(self, cfg: Config, k: tuple[Any, ...] | None) -> None:
        cols = self.table.columns
        # a page->flags class whose key holds the facts the rules read (Prover._word_part)
        if k is None or len(k) != 5 or k[0][0] != "facts":
            for c in COLUMNS:
                cols[c].append(-1)
            return
        prover = self.prover
        facts = k[0][1]
        word = prover.flags_word(cfg, 0)
        site = prover.site(cfg)
        si = self._sites.get(site)
        if si is None:
            si = self._sites[site] = len(self.table.sites)
            self.table.sites.append([-1 if (ab := site.anchor_bit(b)) is None else ab for b in range(site.bits)])
            self.table.facts.add_site(site)
            self._widths.append(max(self.table.sites[si], default=-1) + 1)
        width = self._widths[si]
        # the halves and the tail read only what the facts hold (Prover._word_part): once per facts
        # object (the memo that made it keeps it alive; so does _keep)
        halves = self._by_facts.get((id(facts), width))
        if halves is None:
            self._keep.append(facts)
            halves = self._by_facts[(id(facts), width)] = self.halves(word, facts, width)
        low, high = halves
        flags = (id(facts), k[2], k[3])  # MEM_ALLOC_PROFILING, MEM_PROFILING_COMPRESSED (Prover.class_key)
        tail = self._tail_of.get(flags)
        if tail is None:
            tail = self._tail_of[flags] = self.tail(word, cfg)
        for c, v in zip(COLUMNS, (self.shape(word, facts), si, low, high, tail, int(k[4])), strict=True):  # k[4]: CHECK_PAGES
            cols[c].append(v)
