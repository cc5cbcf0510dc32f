"""The page->flags word for a config, computed with the kernel's own formulas.

Order and formulas follow include/linux/page-flags-layout.h, kernel/bounds.c and
include/linux/mmzone.h (v6.18), restated in shared/reference/page-flags-layout.md
sections 1.2-1.4 and 1.7. Where the kernel's bookkeeping is wrong (it counts
LAST_CPUPID_SHIFT, not WIDTH, in NR_NON_PAGEFLAG_BITS) we compute the true gap
ourselves and report the kernel's figure beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache, cached_property, lru_cache
from operator import itemgetter
from typing import Any

from mmbits.byvalue import ByValue
from mmbits.cexpr import order_base_2
from mmbits.flags import store
from mmbits.flags.data import AliasSpec, FlagData, FlagSpec, load_flag_data
from mmbits.kconfig.config import Config

# inputs the packing reads from a config (for grouping configs in domain proofs)
INPUT_SYMBOLS = (
    "BITS_PER_LONG", "SPARSEMEM", "SPARSEMEM_VMEMMAP", "SECTION_SIZE_BITS", "MAX_PHYSMEM_BITS",
    "NODES_SHIFT", "NUMA_BALANCING", "NR_CPUS_BITS", "KASAN_SW_TAGS", "KASAN_HW_TAGS", "LRU_GEN",
    "MEM_ALLOC_PROFILING", "MEM_PROFILING_COMPRESSED", "ZONE_DMA", "ZONE_DMA32", "HIGHMEM",
    "ZONE_DEVICE", "MMU", "MEMORY_FAILURE", "PAGE_IDLE_FLAG", "64BIT", "ARCH_USES_PG_ARCH_2",
    "ARCH_USES_PG_ARCH_3", "TRANSPARENT_HUGEPAGE", "MIGRATION", "SWAP", "MEMORY_HOTPLUG",
    "VERSION", "ARCH_USES_PG_UNCACHED", "KASAN_TAG_WIDTH",
    "XEN", "XEN_PV",  # Xen page-flag aliases (PG_pinned ...) exist only in Xen guests
)

FIELD_ORDER = ("section", "node", "zone", "last_cpupid", "kasan_tag", "lru_gen", "lru_refs")
# the kernel's names of the packed fields (what findings and the summary print)
FIELD_LABEL = {
    "section": "SECTION",
    "node": "NODE",
    "zone": "ZONE",
    "last_cpupid": "LAST_CPUPID",
    "kasan_tag": "KASAN_TAG",
    "lru_gen": "LRU_GEN",
    "lru_refs": "LRU_REFS",
    "alloc_tag": "ALLOC_TAG",
}


# PackedField, FlagBit and FlagsWord are plain classes, not dataclasses: every check imports
# them, and a dataclass compiles its methods at import (~5 M instructions each). The first
# two are immutable by convention, equal and hashed by value as the frozen dataclasses were
# (`mmbits.byvalue.ByValue`).


class PackedField(ByValue):
    """A field packed into page->flags: its bits lsb .. lsb + width - 1."""

    __slots__ = ("name", "lsb", "width", "runtime")

    def __init__(self, name: str, lsb: int, width: int, runtime: bool = False):
        self.name = name  # section | node | zone | last_cpupid | kasan_tag | lru_gen | lru_refs | alloc_tag
        self.lsb, self.width = lsb, width
        self.runtime = runtime  # a boot-time mode claims these bits (compressed alloc tags)

    def _fields(self) -> tuple[str, int, int, bool]:
        return (self.name, self.lsb, self.width, self.runtime)

    def __repr__(self) -> str:
        return "PackedField(name={!r}, lsb={!r}, width={!r}, runtime={!r})".format(*self._fields())

    @property
    def msb(self) -> int:
        return self.lsb + self.width - 1

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "lsb": self.lsb, "width": self.width}
        if self.runtime:
            out["runtime"] = True
        return out


class FlagBit(ByValue):
    """A page flag present in this config, with the aliases present too."""

    __slots__ = ("name", "bit", "policy", "kinds", "tails", "aliases")

    def __init__(self, name: str, bit: int, policy: str, kinds: tuple[str, ...], tails: bool,
                 aliases: tuple[AliasSpec, ...]):
        self.name, self.bit, self.policy, self.kinds = name, bit, policy, kinds
        self.tails, self.aliases = tails, aliases

    def _fields(self) -> tuple[str, int, str, tuple[str, ...], bool, tuple[AliasSpec, ...]]:
        return (self.name, self.bit, self.policy, self.kinds, self.tails, self.aliases)

    def __repr__(self) -> str:
        return "FlagBit(name={!r}, bit={!r}, policy={!r}, kinds={!r}, tails={!r}, aliases={!r})".format(*self._fields())


class FlagsWord:
    """One config's page->flags: flags, packed fields, gap, masks (on first use)."""

    # the fields equality compares and repr shows, in order (as the dataclass it was: not _shape,
    # _masks compared but not shown)
    _EQ = ("bits", "nr_pageflags", "flags", "zones", "shifts", "widths", "pgoff", "fields", "errors",
           "nr_unused_kernel", "gap", "node_in_flags", "last_cpupid_in_flags", "section_in_flags", "zoneid",
           "alloc_tag_note", "kernel", "_masks")

    def __init__(self, bits: int, nr_pageflags: int, flags: list[FlagBit], zones: list[str], shifts: dict[str, int],
                 widths: dict[str, int], pgoff: dict[str, int], fields: list[PackedField], errors: list[str],
                 nr_unused_kernel: int, gap: tuple[int, int] | None, node_in_flags: bool, last_cpupid_in_flags: bool,
                 section_in_flags: bool, zoneid: tuple[int, int], alloc_tag_note: str = "", kernel: int = 0,
                 _masks: dict[str, int] | None = None, _shape: tuple[Any, ...] | None = None):
        self.bits, self.nr_pageflags, self.flags, self.zones = bits, nr_pageflags, flags, zones
        self.shifts = shifts  # *_SHIFT (what the config asks for)
        self.widths = widths  # *_WIDTH (what fits)
        self.pgoff = pgoff
        self.fields = fields  # width > 0, high to low; runtime fields last
        self.errors = errors  # the kernel's own #error lines: the config cannot build
        self.nr_unused_kernel = nr_unused_kernel  # NR_UNUSED_PAGEFLAG_BITS as the kernel computes it
        self.gap = gap  # [first, last] bits between the flags and the lowest field
        self.node_in_flags, self.last_cpupid_in_flags, self.section_in_flags = \
            node_in_flags, last_cpupid_in_flags, section_in_flags
        self.zoneid = zoneid  # (ZONEID_PGOFF, ZONEID_SHIFT)
        self.alloc_tag_note = alloc_tag_note
        self.kernel = kernel  # the release (VERSION) this word is for
        self._masks = _masks
        # which flags and aliases are present (indices into the flag data) and how many new
        # ones: with the release and the LRU field masks, all the mask formulas read
        self._shape = _shape

    def __eq__(self, other: object) -> bool:
        return type(other) is FlagsWord and all(getattr(self, n) == getattr(other, n) for n in self._EQ)

    __hash__ = None  # type: ignore[assignment]  # mutable (masks filled in on first use)

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._EQ if n != "_masks")
        return f"FlagsWord({shown})"

    @property
    def masks(self) -> dict[str, int]:
        """PAGEFLAGS_MASK, PAGE_FLAGS_CHECK_AT_FREE/PREP, PAGE_FLAGS_SECOND ... (computed on
        first use, shared by every word of the same shape: do not modify)."""
        if self._masks is None:
            data = load_flag_data()
            key = _mask_key(self, data)
            hit = _MASKS.get(key) if key is not None else None
            if hit is None and key is not None:
                # computed by an earlier process (flags.store), else now, and kept for the next
                hit = _MASKS[key] = store.masks(key) or _stored_masks(key, self, data)
            if hit is None:
                hit = _compute_masks(self, data)
            self._masks = hit
        return self._masks

    @cached_property
    def _by_name(self) -> dict[str, FlagBit]:
        out: dict[str, FlagBit] = {}
        for f in self.flags:
            out[f.name] = f
            for a in f.aliases:
                out.setdefault(a.name, f)
        return out

    @property
    def builds(self) -> bool:
        return not self.errors

    @property
    def true_gap_bits(self) -> int:
        return 0 if self.gap is None else self.gap[1] - self.gap[0] + 1

    @property
    def free_bits(self) -> list[int]:
        """Gap bits no static field and no runtime mode claims."""
        if self.gap is None:
            return []
        claimed = 0
        for f in self.fields:
            if f.runtime:
                claimed |= f.mask
        return [b for b in range(self.gap[0], self.gap[1] + 1) if not claimed >> b & 1]

    def field(self, name: str) -> PackedField | None:
        return next((f for f in self.fields if f.name == name), None)

    def flag(self, name: str) -> FlagBit | None:
        return self._by_name.get(name)

    def owner(self, bit: int) -> str:
        """What occupies a bit: a flag name, a field, the gap, or nothing."""
        for f in self.flags:
            if f.bit == bit:
                return f.name
        for pf in self.fields:
            if pf.lsb <= bit <= pf.msb:
                return f"{pf.name.upper()} bit {bit - pf.lsb}"
        return "gap" if self.gap and self.gap[0] <= bit <= self.gap[1] else "unused"

    def symbols(self, masks: bool = True) -> dict[str, int]:
        """Kernel macro values, for expressions (NR_PAGEFLAGS, PG_x, masks, *_PGOFF)."""
        out: dict[str, int] = {"NR_PAGEFLAGS": self.nr_pageflags, "__NR_PAGEFLAGS": self.nr_pageflags,
                               "BITS_PER_LONG": self.bits, "MAX_NR_ZONES": len(self.zones),
                               "NR_UNUSED_PAGEFLAG_BITS": self.nr_unused_kernel}
        for f in self.flags:
            out[f.name] = f.bit
            for a in f.aliases:
                out[a.name] = f.bit
        for name, value in self.pgoff.items():
            out[f"{name.upper()}_PGOFF"] = value
        for name in FIELD_ORDER:
            out[f"{name.upper()}_WIDTH"] = self.widths.get(name, 0)
        if masks:
            out.update(self.masks)
        for i, z in enumerate(self.zones):
            out[z] = i
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "word_bits": self.bits,
            "nr_pageflags": self.nr_pageflags,
            "fields": [f.to_json() for f in self.fields],
            "free_bits": self.free_bits,
            "gap": list(self.gap) if self.gap else None,
            "last_cpupid_in_flags": self.last_cpupid_in_flags,
            "node_in_flags": self.node_in_flags,
            "section_in_flags": self.section_in_flags,
            "nr_unused_pageflag_bits_kernel": self.nr_unused_kernel,
            "true_gap_bits": self.true_gap_bits,
            "zones": self.zones,
            "errors": self.errors,
            "flags": [
                {
                    "name": f.name,
                    "bit": f.bit,
                    "policy": f.policy,
                    "used_by": list(f.kinds),
                    "aliases": [{"name": a.name, "valid_for": a.valid_for()} for a in f.aliases],
                }
                for f in self.flags
            ],
            "masks": {k: hex(v) for k, v in self.masks.items()},
        }


def _truth(expr: Any, env: Mapping[str, Any]) -> bool:
    return expr is None or expr.truth(env)


def compute(env: Mapping[str, Any], data: FlagData | None = None, extra_flags: int = 0) -> FlagsWord:
    """The FlagsWord of a config (any mapping holding the INPUT_SYMBOLS).

    `extra_flags` appends that many new enum pageflags entries (PG_new1 ...)
    before __NR_PAGEFLAGS: "what happens if I add a flag" questions.
    """
    version = data.version if data is not None else _default_version()
    try:
        # a Config holds every input symbol: one C-level lookup of all of them
        key = _INPUTS(env.symbols if isinstance(env, Config) else env)
    except KeyError:
        key = tuple(env.get(s, 0) for s in INPUT_SYMBOLS)
    return _by_inputs(key, version, extra_flags)


_INPUTS = itemgetter(*INPUT_SYMBOLS)


def compute_inputs(values: tuple[Any, ...], extra_flags: int = 0) -> FlagsWord:
    """The FlagsWord for the values of INPUT_SYMBOLS, in that order (a domain index row)."""
    return _by_inputs(tuple(values), _default_version(), extra_flags)


@cache
def _default_version() -> str:
    return load_flag_data().version


_PRESENCE: dict[tuple[Any, ...], tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = {}


@cache
def _presence_inputs(version: str) -> tuple[int, ...]:
    """Positions in INPUT_SYMBOLS of the symbols the flag/alias/zone conditions read."""
    data = load_flag_data(version)
    conds = [f.cond for f in data.flags] + [a.cond for a in data.aliases] + [c for _n, c in data.zones]
    syms: set[str] = set()
    for c in conds:
        if c is not None:
            syms |= set(c.symbols)
    return tuple(i for i, s in enumerate(INPUT_SYMBOLS) if s in syms)


@cache
def _presence_getter(version: str) -> Callable[[Sequence[Any]], Any]:
    """The values of the presence conditions' inputs, as one C-level get."""
    at = _presence_inputs(version)
    return itemgetter(*at) if at else (lambda _key: ())


_AT = {s: i for i, s in enumerate(INPUT_SYMBOLS)}
(_BPL, _SPARSE, _VMEMMAP, _PHYS, _SECTION, _NODES, _BALANCING, _CPUS, _SW, _HW, _LRU, _PROFILING, _COMPRESSED,
 _VERSION, _TAG_WIDTH) = (_AT[n] for n in (
    "BITS_PER_LONG", "SPARSEMEM", "SPARSEMEM_VMEMMAP", "MAX_PHYSMEM_BITS", "SECTION_SIZE_BITS", "NODES_SHIFT",
    "NUMA_BALANCING", "NR_CPUS_BITS", "KASAN_SW_TAGS", "KASAN_HW_TAGS", "LRU_GEN", "MEM_ALLOC_PROFILING",
    "MEM_PROFILING_COMPRESSED", "VERSION", "KASAN_TAG_WIDTH"))


def _presence(key: tuple[Any, ...], version: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Which flags, aliases and zones exist for the INPUT_SYMBOLS values `key`. The
    conditions read a handful of symbols: the ~50 of them are evaluated once per distinct
    assignment of those, not per config."""
    pkey = (version, _presence_getter(version)(key))
    presence = _PRESENCE.get(pkey)
    if presence is None:
        env = dict(zip(INPUT_SYMBOLS, key, strict=True))
        flags, aliases, zones = _conditions(version)
        presence = _PRESENCE[pkey] = (_holding(flags, key, env), _holding(aliases, key, env),
                                      _holding(zones, key, env))
    return presence


_Condition = tuple[Callable[[Sequence[Any]], Any], Any, dict[Any, bool]]


@cache
def _conditions(version: str) -> tuple[list[_Condition], list[_Condition], list[_Condition]]:
    """Each flag's, alias's and zone's condition with a getter of the inputs it reads and a
    memo of its truth by their values: a condition reads one or two symbols (VERSION and an
    option), so across a domain over every release each is evaluated a few dozen times."""
    data = load_flag_data(version)

    def entry(cond: Any) -> _Condition:
        at = [_AT[n] for n in sorted(cond.symbols)] if cond is not None and cond.symbols <= _AT.keys() else []
        if cond is not None and not at and cond.symbols:
            return (lambda key: key, cond, {})  # reads something else: keyed on every input
        return (itemgetter(*at) if at else (lambda _key: ()), cond, {})

    return ([entry(f.cond) for f in data.flags], [entry(a.cond) for a in data.aliases],
            [entry(cond) for _n, cond in data.zones])


def _holding(conditions: list[_Condition], key: tuple[Any, ...], env: Mapping[str, Any]) -> tuple[int, ...]:
    """The indices of the conditions that hold for the INPUT_SYMBOLS values `key` (`env`)."""
    out = []
    for i, (get, cond, seen) in enumerate(conditions):
        k = get(key)
        hit = seen.get(k)
        if hit is None:
            hit = seen[k] = _truth(cond, env)
        if hit:
            out.append(i)
    return tuple(out)


# the inputs the formulas read besides the presence conditions and the release label
_NUMERIC = tuple(_AT[n] for n in (
    "BITS_PER_LONG", "SPARSEMEM", "SPARSEMEM_VMEMMAP", "MAX_PHYSMEM_BITS", "SECTION_SIZE_BITS", "NODES_SHIFT",
    "NUMA_BALANCING", "NR_CPUS_BITS", "KASAN_SW_TAGS", "KASAN_HW_TAGS", "LRU_GEN", "MEM_ALLOC_PROFILING",
    "MEM_PROFILING_COMPRESSED", "KASAN_TAG_WIDTH"))


def layout_keys(positions: Sequence[int | None], consts: Sequence[Any],
                version: str | None = None) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """For the rows of one table (a domain index: INPUT_SYMBOLS[i] sits at `positions[i]`
    of a row, or is `consts[i]` in every row), a function from a row to what the layout
    formulas read of it: two rows of the table with the same key have the same bits,
    fields, gap and errors (`layout_of`), whatever their release and whichever flags they
    have (the formulas read how many flags and zones there are, not which). A call per
    row is two C-level gets and a dict lookup, so a summary over 200k groups computes each
    distinct layout once without building their input tuples."""
    version = version or _default_version()
    template = list(consts)
    varying = [i for i, p in enumerate(positions) if p is not None]

    def getter(indices: Sequence[int]) -> Callable[[Sequence[Any]], Any]:
        rows = [positions[i] for i in indices if positions[i] is not None]
        if not rows:
            return lambda _row: None
        return itemgetter(*rows)

    presence_of = getter(_presence_inputs(version))
    numeric_of = getter(_NUMERIC)
    counts: dict[Any, tuple[int, int]] = {}

    def key(row: Sequence[Any]) -> tuple[Any, ...]:
        raw = presence_of(row)
        how_many = counts.get(raw)
        if how_many is None:
            values = list(template)
            for i in varying:
                values[i] = row[positions[i]]  # type: ignore[index]
            present, _aliases, zones = _presence(tuple(values), version)
            how_many = counts[raw] = (len(present), len(zones))
        return how_many, numeric_of(row)

    return key


def layout_of(values: Sequence[Any], extra_flags: int = 0) -> tuple[tuple[Any, ...], FlagsWord]:
    """The layout for the values of INPUT_SYMBOLS: a key equal for all input values whose
    words have the same bits, fields, gap and errors (the release, which flags are present
    and their aliases aside: `_compute` reads how many flags and zones there are), and the
    word of these values (`kernel` 0; `compute_inputs` labels it with the release)."""
    version = _default_version()
    derived = _derived(tuple(values), version, extra_flags)
    key = (derived[0], len(derived[1]), len(derived[3]), *derived[4:14], derived[15])
    return key, _core(derived[:14] + derived[15:], version)


@lru_cache(maxsize=65536)
def _by_inputs(key: tuple[Any, ...], version: str, extra: int = 0) -> FlagsWord:
    # many input combinations give the same word: key it on what the formulas read
    # (read by position: a domain over every release asks this 177k times)
    return _by_derived(_derived(key, version, extra), version)


def _derived(key: tuple[Any, ...], version: str, extra: int) -> tuple[Any, ...]:
    """What the formulas read of the INPUT_SYMBOLS values `key`; [14] is the release label."""
    present, aliases, zones = _presence(key, version)
    sparsemem = bool(key[_SPARSE])
    return (
        int(key[_BPL]), present, aliases, zones, sparsemem, bool(key[_VMEMMAP]),
        int(key[_PHYS]) - int(key[_SECTION]) if sparsemem else 0,
        int(key[_NODES]),
        int(key[_CPUS]) if key[_BALANCING] else -1,
        bool(key[_SW]), bool(key[_HW]), bool(key[_LRU]),
        bool(key[_PROFILING] and key[_COMPRESSED]),
        extra,
        int(key[_VERSION] or 0), key[_TAG_WIDTH],
    )


@lru_cache(maxsize=16384)
def _by_derived(derived: tuple[Any, ...], version: str) -> FlagsWord:
    # the release only labels the word (and its masks, computed on first use, read it):
    # the packing itself is shared by every release with the same derived inputs, so a
    # domain over 19 releases computes each distinct packing once, not 19 times
    kernel = derived[14]
    core = _core(derived[:14] + derived[15:], version)
    if core.kernel == kernel:
        return core
    # a shallow copy with another label (re-running __init__ was 5x slower)
    word = object.__new__(FlagsWord)
    word.__dict__.update(core.__dict__)
    word.__dict__.pop("_by_name", None)  # the cached_property is per object
    word.kernel = kernel
    word._masks = None
    return word


@lru_cache(maxsize=16384)
def _core(derived: tuple[Any, ...], version: str) -> FlagsWord:
    data = load_flag_data(version)
    (bpl, present, aliases, zones, sparsemem, vmemmap, sections_shift, nodes_shift, cpu_bits,
     sw_tags, hw_tags, lru_gen, compressed, extra, kasan_tag_width) = derived
    env: dict[str, Any] = {
        "BITS_PER_LONG": bpl, "SPARSEMEM": sparsemem, "SPARSEMEM_VMEMMAP": vmemmap,
        "SECTIONS_SHIFT": sections_shift, "NODES_SHIFT": nodes_shift,
        "NUMA_BALANCING": cpu_bits >= 0, "NR_CPUS_BITS": max(cpu_bits, 0), "KASAN_SW_TAGS": sw_tags,
        "KASAN_HW_TAGS": hw_tags, "LRU_GEN": lru_gen, "MEM_ALLOC_PROFILING": compressed,
        "MEM_PROFILING_COMPRESSED": compressed, "KASAN_TAG_WIDTH": kasan_tag_width,
    }
    word = _compute(env, data, _flag_bits(version, present, aliases, extra), [data.zones[i][0] for i in zones])
    word._shape = (version, present, aliases, extra)
    return word


def _stored_masks(key: tuple[Any, ...], word: FlagsWord, data: FlagData) -> dict[str, int]:
    masks = _compute_masks(word, data)
    store.keep(key, masks)
    return masks


@lru_cache(maxsize=4096)
def _flag_bits(version: str, present: tuple[int, ...], aliases: tuple[int, ...], extra: int) -> tuple[FlagBit, ...]:
    """enum pageflags for one set of present flags and valid aliases: present flags numbered
    consecutively (kernel/bounds.c NR_PAGEFLAGS), each with its aliases. Thousands of
    packings share a few of these, so they are built once each."""
    data = load_flag_data(version)
    specs = [data.flags[i] for i in present]
    specs += [FlagSpec(f"PG_new{i + 1}", "PF_ANY", ("any",), None, True, "hypothetical new flag")
              for i in range(extra)]
    by_base: dict[str, list[AliasSpec]] = {}
    for i in aliases:
        a = data.aliases[i]
        by_base.setdefault(a.base, []).append(a)
    bit_of = {f.name: i for i, f in enumerate(specs)}
    return tuple(_flag_bit(f.name, bit_of[f.name], f.policy, f.kinds, f.tails, tuple(by_base.get(f.name, ())))
                 for f in specs)


@lru_cache(maxsize=4096)
def _flag_bit(name: str, bit: int, policy: str, kinds: tuple[str, ...], tails: bool,
              aliases: tuple[AliasSpec, ...]) -> FlagBit:
    """FlagBits are immutable and few: thousands of configs share them."""
    return FlagBit(name, bit, policy, kinds, tails, aliases)


@cache
def _packed(name: str, lsb: int, width: int) -> PackedField:
    """PackedFields are immutable and few: 100k packings share a few hundred."""
    return PackedField(name, lsb, width)


def _compute(env: Mapping[str, Any], data: FlagData, flag_bits: tuple[FlagBit, ...], zones: list[str]) -> FlagsWord:
    c = data.constants
    bpl = int(env["BITS_PER_LONG"])
    flags = list(flag_bits)
    nr = len(flags)
    nzones = len(zones)
    errors: list[str] = []
    # ZONES_SHIFT (page-flags-layout.h)
    if nzones < 2:
        zones_shift = 0
    elif nzones <= 2:
        zones_shift = 1
    elif nzones <= 4:
        zones_shift = 2
    elif nzones <= 8:
        zones_shift = 3
    else:
        zones_shift = c["MAX_ZONES_SHIFT"]
        errors.append('#error "ZONES_SHIFT -- too many zones configured"')

    vmemmap = bool(env.get("SPARSEMEM_VMEMMAP"))
    sparsemem = bool(env.get("SPARSEMEM"))
    sections_shift = int(env["SECTIONS_SHIFT"])
    sections_width = sections_shift if sparsemem and not vmemmap else 0
    zones_width = zones_shift
    nodes_shift = int(env.get("NODES_SHIFT", 0))
    lru_gen_width = order_base_2(c["MAX_NR_GENS"] + 1) if env.get("LRU_GEN") else 0
    lru_refs_want = c["MAX_NR_TIERS"] - 2 if env.get("LRU_GEN") else 0
    room = bpl - nr

    # NODES_WIDTH: the node test ignores KASAN and LAST_CPUPID (reference section 7 F2)
    if zones_width + lru_gen_width + sections_width + nodes_shift <= room:
        nodes_width = nodes_shift
    elif vmemmap:
        nodes_width = 0
        errors.append('#error "Vmemmap: No space for nodes field in page flags"')
    else:
        nodes_width = 0

    if env.get("KASAN_TAG_WIDTH") is not None:
        # kconfig.yaml derives it per release (HW tags: 8 bits, then 4)
        kasan_width = int(env["KASAN_TAG_WIDTH"])
    elif env.get("KASAN_SW_TAGS"):
        kasan_width = c["KASAN_SW_TAG_WIDTH"]
    elif env.get("KASAN_HW_TAGS"):
        kasan_width = c["KASAN_HW_TAG_WIDTH"]
    else:
        kasan_width = 0

    cpupid_shift = c["LAST__PID_SHIFT"] + int(env.get("NR_CPUS_BITS", 0)) if env.get("NUMA_BALANCING") else 0
    if zones_width + lru_gen_width + sections_width + nodes_width + kasan_width + cpupid_shift <= room:
        cpupid_width = cpupid_shift
    else:
        cpupid_width = 0

    if zones_width + lru_gen_width + sections_width + nodes_width + kasan_width + cpupid_width > room:
        errors.append('#error "Not enough bits in page flags"')

    # LRU_REFS_WIDTH is elastic: min() with what is left (reference section 7 F3)
    lru_refs_width = min(
        lru_refs_want,
        room - zones_width - lru_gen_width - sections_width - nodes_width - kasan_width - cpupid_width,
    )
    lru_refs_width = max(lru_refs_width, 0)

    widths = {
        "section": sections_width,
        "node": nodes_width,
        "zone": zones_width,
        "last_cpupid": cpupid_width,
        "kasan_tag": kasan_width,
        "lru_gen": lru_gen_width,
        "lru_refs": lru_refs_width,
    }
    shifts = {
        "section": sections_shift,
        "node": nodes_shift,
        "zone": zones_shift,
        "last_cpupid": cpupid_shift,
        "kasan_tag": kasan_width,
        "lru_gen": lru_gen_width,
        "lru_refs": lru_refs_want,
    }
    # *_PGOFF (mmzone.h): each field immediately below the previous one
    pgoff: dict[str, int] = {}
    pos = bpl
    for name in FIELD_ORDER:
        pos -= widths[name]
        pgoff[name] = pos
    fields = [_packed(name, pgoff[name], widths[name]) for name in FIELD_ORDER if widths[name] > 0]

    # NR_NON_PAGEFLAG_BITS counts LAST_CPUPID_SHIFT, not WIDTH (reference section 7 F1)
    nr_non = sections_width + nodes_width + zones_width + cpupid_shift + kasan_width + lru_gen_width + lru_refs_width
    nr_unused = bpl - (nr_non + nr)
    lowest = pgoff["lru_refs"]
    gap = (nr, lowest - 1) if lowest > nr else None

    alloc_note = ""
    if env.get("MEM_ALLOC_PROFILING") and env.get("MEM_PROFILING_COMPRESSED"):
        # lib/alloc_tag.c: alloc_tag_ref_offs = LRU_REFS_PGOFF - NR_UNUSED_PAGEFLAG_BITS,
        # mask (1 << NR_UNUSED_PAGEFLAG_BITS) - 1: the whole gap when the sums are right
        if nr_unused > 0:
            fields.append(PackedField("alloc_tag", lowest - nr_unused, nr_unused, runtime=True))
            alloc_note = (f"compressed allocation tags (boot sysctl.vm.mem_profiling=1,compressed) claim bits "
                          f"{lowest - nr_unused}-{lowest - 1}")
        elif nr_unused == 0:
            alloc_note = "compressed allocation tags: NR_UNUSED_PAGEFLAG_BITS is 0, the kernel disables compression"
        else:
            alloc_note = (f"compressed allocation tags: NR_UNUSED_PAGEFLAG_BITS is {nr_unused}, so the kernel "
                          f"computes 1UL << {nr_unused} (undefined)")

    node_in_flags = not (nodes_shift != 0 and nodes_width == 0)
    cpupid_in_flags = not (cpupid_shift != 0 and cpupid_width == 0)
    if node_in_flags:
        zoneid_shift = nodes_shift + zones_shift
        zoneid_pgoff = min(pgoff["node"], pgoff["zone"])
    else:
        zoneid_shift = sections_shift + zones_shift
        zoneid_pgoff = min(pgoff["section"], pgoff["zone"])

    word = FlagsWord(
        bits=bpl,
        nr_pageflags=nr,
        flags=flags,
        zones=zones,
        shifts=shifts,
        widths=widths,
        pgoff=pgoff,
        fields=fields,
        errors=errors,
        nr_unused_kernel=nr_unused,
        gap=gap,
        node_in_flags=node_in_flags,
        last_cpupid_in_flags=cpupid_in_flags,
        section_in_flags=sparsemem and not vmemmap,
        zoneid=(zoneid_pgoff, zoneid_shift),
        alloc_tag_note=alloc_note,
        kernel=int(env.get("VERSION") or 0),
    )
    return word


_MASKS: dict[tuple[Any, ...], dict[str, int]] = {}


@cache
def _mask_reads(version: str) -> tuple[str, ...]:
    """The names the mask formulas read beyond the flags, aliases, the masks themselves,
    PAGEFLAGS_MASK, the LRU field masks and VERSION (none today; were one to read, say,
    BITS_PER_LONG, its value joins the key instead of the key going wrong)."""
    data = load_flag_data(version)
    known = {f.name for f in data.flags} | {a.name for a in data.aliases} | set(data.mask_optional)
    known |= {n for n, _ in data.masks} | {"PAGEFLAGS_MASK", "LRU_GEN_MASK", "LRU_REFS_MASK", "VERSION"}
    reads: set[str] = set()
    for _n, expr in data.masks:
        reads |= set(expr.symbols)
    return tuple(sorted(reads - known))


def _mask_key(word: FlagsWord, data: FlagData) -> tuple[Any, ...] | None:
    """What the masks of `word` depend on; None for a word built outside `_core`."""
    if word._shape is None or word._shape[0] != data.version:
        return None
    extra = _mask_reads(data.version)
    values = word.symbols(masks=False) if extra else {}
    lru = tuple(f.mask for f in word.fields if f.name in ("lru_gen", "lru_refs") and not f.runtime)
    return (word._shape, word.kernel, lru, tuple(f.name for f in word.fields), tuple(values.get(n) for n in extra))


def _compute_masks(word: FlagsWord, data: FlagData) -> dict[str, int]:
    """The page-flags.h masks. A flag not configured reads as -1, so BIT_IF() of it is 0
    (what the kernel's __PG_HWPOISON / __PG_MLOCKED do)."""

    def mask_of(name: str) -> int:
        f = word.field(name)
        return f.mask if f is not None and not f.runtime else 0

    scope: dict[str, Any] = word.symbols(masks=False)
    scope["VERSION"] = word.kernel
    # every alias of a present flag is an enum constant, whatever its validity
    # (if it exists in this release at all)
    span_env = {"VERSION": word.kernel}
    for a in data.aliases:
        base = word.flag(a.base)
        if base is not None and (word.kernel == 0 or a.in_release(span_env)):
            scope.setdefault(a.name, base.bit)
    for a in data.aliases:
        scope.setdefault(a.name, -1)
    for name in data.mask_optional:
        scope.setdefault(name, -1)
    for f in data.flags:
        scope.setdefault(f.name, -1)
    scope["PAGEFLAGS_MASK"] = (1 << word.nr_pageflags) - 1
    scope["LRU_GEN_MASK"] = mask_of("lru_gen")
    scope["LRU_REFS_MASK"] = mask_of("lru_refs")
    out = {"PAGEFLAGS_MASK": scope["PAGEFLAGS_MASK"], "LRU_GEN_MASK": scope["LRU_GEN_MASK"],
           "LRU_REFS_MASK": scope["LRU_REFS_MASK"]}
    for name, expr in data.masks:
        scope[name] = out[name] = int(expr(scope))
    return out
