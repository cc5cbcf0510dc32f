"""What a class's page->flags analysis reads of its packing, its config and its site, kept
beside the class table (prover.bittable) as plain data, so a new question analyses its
classes without building their configs or packings.

A new question on a word with a kept partition analyses one class per answer key (~700
over the default domain). Each analysis built the class representative's Config and its
page->flags packing (FlagsWord) and resolved its site, though the class key says that
all it reads of them is the packing's facts (`analyse.flag_facts`: word size, flag shape,
fields, gap, the kernel's count, the allocation-tag note, four masks), the site and
three symbols (MEM_ALLOC_PROFILING, MEM_PROFILING_COMPRESSED, CHECK_PAGES): a third of
the process's own work. The table's numbers already stand for those facts: a class's
`shape` for the word size and flag shape, `low` for the two masks read below
NR_PAGEFLAGS, `high` for the fields and the two masks read above, `tail` for the gap,
the count, the note and two of the symbols, `cp` for CHECK_PAGES, `site` for the site.
`Facts` keeps, per number, what it stands for (recorded by `bittable.Numbering` when it
numbers a packing, and by the table's makers per site), and gives a class's facts back
as `FlagFacts`: the part of a FlagsWord `rules.analyse_flags` reads (the FlagBits and
PackedFields by value, the FlagBits the packing's own objects), with its config symbols
and its Site. tests/prover/test_classfacts.py checks they equal the representative's own
packing, symbols and site, and give the same analyses, on real domains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmbits.flags.packing import FlagBit, FlagsWord, PackedField
    from mmbits.prover.site import Site

# the masks `rules.analyse_flags` reads: two below NR_PAGEFLAGS (the `low` rows), two above (`high`)
LOW_MASKS = ("PAGE_FLAGS_SECOND", "PAGE_FLAGS_CHECK_AT_FREE")
HIGH_MASKS = ("PAGE_FLAGS_CHECK_AT_PREP", "THP_SPLIT_COPY")


class FlagFacts:
    """What the page->flags rules read of a packing (FlagsWord's attributes of the same
    names), for a packing whose flag shape is known. Read only."""

    __slots__ = ("bits", "nr_pageflags", "flags", "fields", "gap", "nr_unused_kernel", "alloc_tag_note", "masks")

    def __init__(self, bits: int, flags: tuple[FlagBit, ...], fields: list[PackedField], gap: tuple[int, int] | None,
                 nr_unused_kernel: int, alloc_tag_note: str, masks: dict[str, int]):
        self.bits = bits
        self.nr_pageflags = len(flags)
        self.flags = flags
        self.fields = fields
        self.gap = gap
        self.nr_unused_kernel = nr_unused_kernel
        self.alloc_tag_note = alloc_tag_note
        self.masks = masks

    @property
    def true_gap_bits(self) -> int:
        return 0 if self.gap is None else self.gap[1] - self.gap[0] + 1

    def field(self, name: str) -> PackedField | None:
        return next((f for f in self.fields if f.name == name), None)


class Facts:
    """Per number of a class table, what it stands for: `shapes[shape]` the flag shape
    ([release name, present flags, valid aliases, new flags]: the word size is the table's
    `shapes[shape][0]`), `lows[low]` the values of LOW_MASKS, `highs[high]` the number of
    the fields list (`field_lists`: name, lsb, width, runtime, ... per list) and the values
    of HIGH_MASKS, `tails[tail]` the gap (-1, -1: none), the kernel's count of unused bits,
    the allocation-tag note, MEM_ALLOC_PROFILING and MEM_PROFILING_COMPRESSED; `sites[site]`
    the site's fields (`wordstore.site_fields`)."""

    __slots__ = ("shapes", "lows", "highs", "tails", "field_lists", "sites", "_fields_at", "_made")

    def __init__(self, shapes: list[list[Any]] | None = None, lows: list[list[int]] | None = None,
                 highs: list[list[int]] | None = None, tails: list[list[Any]] | None = None,
                 field_lists: list[list[Any]] | None = None, sites: list[list[Any]] | None = None):
        self.shapes: list[list[Any]] = [] if shapes is None else shapes
        self.lows: list[list[int]] = [] if lows is None else lows
        self.highs: list[list[int]] = [] if highs is None else highs
        self.tails: list[list[Any]] = [] if tails is None else tails
        self.field_lists: list[list[Any]] = [] if field_lists is None else field_lists
        self.sites: list[list[Any]] = [] if sites is None else sites
        self._fields_at: dict[tuple[Any, ...], int] = {}
        self._made: dict[Any, Any] = {}  # what `inputs` made, by the numbers it was made from

    # -- recorded as the table numbers a packing (bittable.Numbering) -------------------

    def add_shape(self, word: FlagsWord) -> None:
        version, present, aliases, extra = word._shape  # type: ignore[misc]  # Numbering only numbers shaped words
        self.shapes.append([version, list(present), list(aliases), extra])

    def add_low(self, masks: dict[str, int]) -> None:
        self.lows.append([masks.get(m, 0) for m in LOW_MASKS])

    def add_high(self, word: FlagsWord) -> None:
        flat = tuple(v for f in word.fields for v in (f.name, f.lsb, f.width, f.runtime))
        at = self._fields_at.get(flat)
        if at is None:
            at = self._fields_at[flat] = len(self.field_lists)
            self.field_lists.append(list(flat))
        masks = word.masks
        self.highs.append([at, *(masks.get(m, 0) for m in HIGH_MASKS)])

    def add_tail(self, word: FlagsWord, alloc: bool, compressed: bool) -> None:
        lo, hi = word.gap if word.gap is not None else (-1, -1)
        self.tails.append([lo, hi, word.nr_unused_kernel, word.alloc_tag_note, alloc, compressed])

    def add_site(self, site: Site) -> None:
        from mmbits.prover.wordstore import site_fields

        self.sites.append(site_fields(site))

    # -- kept and read back ---------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"shapes": self.shapes, "lows": self.lows, "highs": self.highs, "tails": self.tails,
                "field_lists": self.field_lists, "sites": self.sites}

    def inputs(self, shape: int, bits: int, low: int, high: int, tail: int, cp: int,
               site: int) -> tuple[FlagFacts, dict[str, bool], Site]:
        """The packing's facts, the config symbols and the site of a class with these
        numbers (`bits`: the table's word size of `shape`). ValueError (or IndexError,
        TypeError) when the numbers do not stand for what a packing holds."""
        key = (shape, low, high, tail)
        word = self._made.get(key)
        if word is None:
            word = self._made[key] = self._word(shape, bits, low, high, tail)
        env_key = ("env", tail, cp)
        env = self._made.get(env_key)
        if env is None:
            _lo, _hi, _nr, _note, alloc, compressed = self.tails[tail]
            env = self._made[env_key] = {"MEM_ALLOC_PROFILING": _flag(alloc), "MEM_PROFILING_COMPRESSED":
                                         _flag(compressed), "CHECK_PAGES": _flag(cp)}
        site_key = ("site", site)
        found = self._made.get(site_key)
        if found is None:
            from mmbits.prover.wordstore import site_of_fields

            found = self._made[site_key] = site_of_fields(self.sites[site])
        return word, env, found

    def _word(self, shape: int, bits: int, low: int, high: int, tail: int) -> FlagFacts:
        # the flag shapes, field lists and tails are few and shared: each checked and made once
        flags = self._made.get(("shape", shape))
        if flags is None:
            flags = self._made[("shape", shape)] = self._flags(shape)
        second, at_free = self.lows[low]
        at, prep, thp = self.highs[high]
        if not _ints([bits, second, at_free, at, prep, thp]):
            raise ValueError("not a packing's numbers")
        fields = self._made.get(("fields", at))
        if fields is None:
            fields = self._made[("fields", at)] = self._fields(at)
        gap_facts = self._made.get(("tail", tail))
        if gap_facts is None:
            gap_facts = self._made[("tail", tail)] = self._tail(tail)
        gap, nr_unused, note = gap_facts
        masks = dict(zip(LOW_MASKS + HIGH_MASKS, (second, at_free, prep, thp), strict=True))
        return FlagFacts(bits, flags, list(fields), gap, nr_unused, note, masks)

    def _flags(self, shape: int) -> tuple[FlagBit, ...]:
        from mmbits.flags.packing import _default_version, _flag_bits

        version, present, aliases, extra = self.shapes[shape]
        if version != _default_version() or not _ints(present) or not _ints(aliases) or extra != 0:
            raise ValueError("not a flag shape of this data")
        return _flag_bits(version, tuple(present), tuple(aliases), extra)  # the packing's own FlagBits

    def _fields(self, at: int) -> tuple[PackedField, ...]:
        from mmbits.flags.packing import PackedField

        flat = self.field_lists[at]
        if len(flat) % 4:
            raise ValueError("not a packed field list")
        fields = []
        for i in range(0, len(flat), 4):
            name, lsb, width, runtime = flat[i:i + 4]
            if type(name) is not str or type(lsb) is not int or type(width) is not int or type(runtime) is not bool:
                raise ValueError("not a packed field")
            fields.append(PackedField(name, lsb, width, runtime))
        return tuple(fields)

    def _tail(self, tail: int) -> tuple[tuple[int, int] | None, int, str]:
        lo, hi, nr_unused, note, alloc, compressed = self.tails[tail]
        if not _ints([lo, hi, nr_unused]) or type(note) is not str or type(alloc) is not bool \
                or type(compressed) is not bool:
            raise ValueError("not a packing's gap")
        return None if lo == -1 else (lo, hi), nr_unused, note


def _flag(value: Any) -> bool:
    if type(value) is not bool and type(value) is not int:
        raise ValueError("not a symbol's truth")
    return bool(value)


def _ints(items: Any) -> bool:
    return isinstance(items, list) and set(map(type, items)) <= {int}


def from_json(doc: Any, shapes: int, lows: int, highs: int, sites: int) -> Facts:
    """Stored facts for a table of that many shapes, lows, highs and sites (the rows must
    be as many: ValueError if not). The rows themselves are checked when a class's
    facts are made from them (`Facts.inputs`)."""
    if not isinstance(doc, dict):
        raise ValueError("not a class table's facts")
    parts = [doc[k] for k in ("shapes", "lows", "highs", "tails", "field_lists", "sites")]
    if not all(type(p) is list and set(map(type, p)) <= {list} for p in parts):
        raise ValueError("not a class table's facts")
    f_shapes, f_lows, f_highs, f_tails, f_fields, f_sites = parts
    if (len(f_shapes), len(f_lows), len(f_highs), len(f_sites)) != (shapes, lows, highs, sites) \
            or not set(map(len, f_shapes)) <= {4} or not set(map(len, f_lows)) <= {2} \
            or not set(map(len, f_highs)) <= {3} or not set(map(len, f_tails)) <= {6}:
        raise ValueError("class table facts of another table")
    return Facts(f_shapes, f_lows, f_highs, f_tails, f_fields, f_sites)
