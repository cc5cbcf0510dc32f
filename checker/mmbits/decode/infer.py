"""Which config produced a dump, when the user does not say.

dump_page's own `flags:` line is a fingerprint of the config: the packed
fields it prints (node=, zone=, lastcpupid=, section=, kasantag=) fix the
page->flags packing (decode/solve.py solves for the widths), the flag names
follow enum pageflags. A preset that prints the line exactly is taken as
is; otherwise the solved widths become Kconfig values on the architecture
the log names (decode/context.py) and the model checks them. The number of
raw words narrows it further (sizeof(struct page)).
"""

from __future__ import annotations

from collections import Counter
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from mmbits.byvalue import ByValue, EqualByValue
from mmbits.decode.data import load_dump_data
from mmbits.decode.kernelfmt import render_inner, renderer
from mmbits.decode.solve import Packing, printed_fields, solve
from mmbits.errors import InputError
from mmbits.flags.data import load_flag_data
from mmbits.flags.packing import INPUT_SYMBOLS, compute
from mmbits.kconfig.config import Config

if TYPE_CHECKING:
    from mmbits.decode.data import DumpData
    from mmbits.flags.packing import FlagsWord

DEFAULT_PRESET = {64: "x86_64-6.18", 32: "i386-highmem-flatmem"}


class ConfigChoice(EqualByValue):
    """The config a dump is decoded with, how it was found and what else would fit."""

    config: Config
    how: str  # given | preset | solved | default
    note: str
    presets: list[str]  # presets that reproduce the flags line
    alternatives: list[dict[str, str]]  # other packings printing the same fields

    _SHOWN = ("config", "how", "note", "presets", "alternatives")

    def __init__(self, config: Config, how: str, note: str, presets: list[str] | None = None,
                 alternatives: list[dict[str, str]] | None = None) -> None:
        self.config = config
        self.how = how
        self.note = note
        self.presets = [] if presets is None else presets
        self.alternatives = [] if alternatives is None else alternatives

    def _fields(self) -> tuple[object, ...]:
        return (self.config, self.how, self.note, self.presets, self.alternatives)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.config.label(), "arch": self.config.arch, "how": self.how,
                               "note": self.note, "symbols": self.config.describe(INPUT_SYMBOLS)}
        if self.presets:
            out["matching_presets"] = self.presets
        if self.alternatives:
            out["alternatives"] = self.alternatives
        return out


def page_size(config: Config) -> int:
    from mmbits.layout.registry import layouts

    return layouts().resolve("page", config).size


def with_endian(config: Config, big: bool) -> Config:
    """The same config with CPU_BIG_ENDIAN set as asked (arm only; x86 is little-endian)."""
    if bool(config.big_endian) == big:
        return config
    from mmbits.kconfig.model import load_model

    if config.arch not in ("arm64", "arm32"):
        raise InputError(f"{config.label()} is {config.arch}, which is little-endian only; "
                         f"--endian big needs an arm64 or arm32 config")
    values = dict(config.primary)
    values["CPU_BIG_ENDIAN"] = int(big)
    return load_model().make(values, name=f"{config.label()}+{'big' if big else 'little'}-endian")


def fits(config: Config, size: int | None) -> bool:
    """struct page has `size` bytes and a member over each of them (no tail padding)."""
    if size is None:
        return True
    from mmbits.layout.registry import layouts

    layout = layouts().resolve("page", config)
    if layout.size != size:
        return False
    # the registry hands each config a copy of the layout it resolved once (same members),
    # and a copy would work out its coverage again
    hit = _COVERED.get(id(layout.root))
    if hit is None or hit[0] is not layout.root:
        hit = _COVERED[id(layout.root)] = (layout.root, all(layout.covered))
    return hit[1]


# whether a struct page layout covers every byte, by its members' root (kept alive, so its id stays unique)
_COVERED: dict[int, tuple[object, bool]] = {}


def _with_size(config: Config, size: int | None) -> Config | None:
    """`config`, or the same config with MEMCG flipped, whose struct page fills `size` bytes."""
    if size is None:
        return config
    from mmbits.kconfig.model import load_model

    values = dict(config.primary)
    values["MEMCG"] = 0 if values.get("MEMCG") else 1
    alt = load_model().build(values)
    for cand in (config, alt):
        if cand is not None and fits(cand, size):
            return cand
    for cand in (config, alt):
        if cand is not None and page_size(cand) == size:
            return cand
    return None


@cache
def _distance(config: Config) -> int:
    """How many options a config sets away from its arch's defaults (defconfig-like first)."""
    from mmbits.kconfig.model import load_model

    model = load_model()
    arch = model.archs.get(config.arch)
    defaults = dict(arch.defaults) if arch is not None else {}
    out = 0
    for name, value in config.primary.items():
        sym = model.symbols.get(name)
        if name == "ARCH" or sym is None:
            continue
        base = defaults.get(name, sym.default)
        if value != base and name != "NR_CPUS":
            out += 1
    return out


@cache
def _presets(bits: int, big: bool) -> tuple[Config, ...]:
    from mmbits.kconfig.presets import preset, preset_names

    out = []
    for name in preset_names():
        cfg = preset(name)
        if cfg.bits != bits:
            continue
        if big:
            if cfg.arch not in ("arm64", "arm32"):
                continue
            cfg = with_endian(cfg, True)
        out.append(cfg)
    return tuple(out)


def _norm(text: str) -> str:
    return text.replace(" ", "")


def _fields_of(inner: str) -> dict[str, str]:
    """The NAME=VALUE fields of a %pGp body."""
    return dict(t.split("=", 1) for t in inner.split("|") if "=" in t)


def arch_hint(words: list[int], bits: int) -> str | None:
    """The architecture whose kernel address ranges the dump's pointers fall in, if clear."""
    if bits != 64:
        return None
    data = load_dump_data()
    votes: Counter[str] = Counter()
    for w in words:
        top = w >> 40
        for arch, prefixes in data.address_hints.items():
            if top in prefixes:
                votes[arch] += 1
    if not votes:
        return None
    (arch, n), *rest = votes.most_common()
    return arch if not rest or rest[0][1] < n else None


class Solved(ByValue):
    """A config the packing solver found, with what it rests on."""

    config: Config
    packing: Packing
    others: tuple[Packing, ...]  # further packings that print the same fields
    zone_names: tuple[tuple[str, int], ...] = ()  # (name of the printed zone, configs) when they differ

    _SHOWN = ("config", "packing", "others", "zone_names")

    def __init__(self, config: Config, packing: Packing, others: tuple[Packing, ...],
                 zone_names: tuple[tuple[str, int], ...] = ()) -> None:
        self.config = config
        self.packing = packing
        self.others = others
        self.zone_names = zone_names

    def _fields(self) -> tuple[object, ...]:
        return (self.config, self.packing, self.others, self.zone_names)


def choose_config(flags_value: int | None, flags_text: str | None, bits: int, big: bool,
                  size: int | None, words: list[int] | None = None, arch: str | None = None,
                  version: tuple[int, int] | None = None) -> ConfigChoice:
    """The config that explains a dump: solved from the kernel's flags line if there is one.

    `version` (the release the log names or the user gave) becomes the config's VERSION,
    so the layouts' since:/until: entries (enum pageflags, page_type values, folio
    fields) are that release's. Memoised on what it reads (the flags value and text, word
    size, byte order, struct page size, the architecture named by the log or the pointers,
    the release), so a log of many reports from one kernel solves once."""
    hint = arch or arch_hint(words or [], bits)
    return _choose(flags_value, flags_text, bits, big, size, hint, _version_code(version))


@lru_cache(maxsize=256)
def _version_code(version: tuple[int, int] | None) -> int:
    """VERSION for a release (6.12 is 6012); 0 (the model's default, its newest release) when
    unknown or outside the releases the model has (kconfig.yaml `kernels:`)."""
    if version is None:
        return 0
    from mmbits.kconfig.model import load_model

    code = version[0] * 1000 + version[1]
    return code if code in load_model().releases else 0


@lru_cache(maxsize=4096)
def _choose(flags_value: int | None, flags_text: str | None, bits: int, big: bool, size: int | None,
            hint: str | None, version: int = 0) -> ConfigChoice:
    """_solve_choice(), kept on disk for the next process (decode/choicestore.py)."""
    from mmbits.decode import choicestore

    key = (flags_value, flags_text, bits, big, size, hint, version)
    choice = choicestore.lookup(key)
    if choice is None:
        choice = _solve_choice(*key)
        choicestore.keep(key, choice)
    return choice


def _solve_choice(flags_value: int | None, flags_text: str | None, bits: int, big: bool, size: int | None,
                  hint: str | None, version: int = 0) -> ConfigChoice:
    data = load_dump_data()
    model_arch, proxy = model_arch_for(hint, bits, big)
    default_arch = model_arch
    proxy_note = (f"; the model has no {hint}, so its struct page is read with {model_arch}'s layout"
                  f"{' in big-endian' if big else ''} (same words for the fields dump_page prints)") if proxy else ""
    # the release first: resolving a preset's struct page for its size is what costs
    presets = [c for c in _presets(bits, big) if (not version or c.kernel == version)
               and (size is None or page_size(c) == size)]
    if flags_value is not None and flags_text is not None:
        want = _norm(flags_text)
        want_fields = _fields_of(want)
        fields = tuple(sorted(printed_fields(flags_text).items()))
        solved = _solve_config(bits, flags_value, fields, model_arch, big, size, version)
        if solved is None and (not hint or proxy):
            # nothing named the arch, or the model lacks it (UML's 7-word page): the other
            # arch of this word size may have the struct page size the words show (x86
            # aligns struct page to 16 bytes, arm64 and UML do not)
            for other in _other_archs(model_arch, bits):
                if not _can_be(other, big):
                    continue
                solved = _solve_config(bits, flags_value, fields, other, big, size, version)
                if solved is not None:
                    proxy_note = ((f"; no line names the architecture and only {other}'s struct page has "
                                   f"{size} bytes among the model's {bits}-bit archs") if not proxy else
                                  (f"; the model has no {hint}; {other} is the first of its {bits}-bit archs with a "
                                   f"{size}-byte struct page (the words' count), so the page is read with {other}'s "
                                   f"layout: the generic struct page, same words for the fields dump_page prints; "
                                   f"arch-specific flag bits are not {hint}'s"))
                    break
        exact = [c for c in presets if render_inner(flags_value, renderer(compute(c), data)) == want
                 and (not hint or c.arch == model_arch)]
        if exact and (solved is None or exact[0].arch == solved.config.arch):
            return ConfigChoice(exact[0], "preset", f"preset {exact[0].label()} reproduces the kernel's flags line"
                                + (f" (so do {', '.join(c.label() for c in exact[1:])})" if exact[1:] else "")
                                + proxy_note, [c.label() for c in exact])
        if solved is not None:
            alts = [{"packing": p.describe()} for p in solved.others[:6]]
            note = (f"solved from the flags line: {solved.packing.describe()}; decoding with "
                    f"{solved.config.label()}" + proxy_note)
            if solved.zone_names:
                chosen = compute(solved.config).zones
                z = printed_fields(flags_text)["zone"]
                note += (f"; zone={z} is {chosen[z] if z < len(chosen) else '?'} here, but the zone's name depends "
                         f"on the zone options, which the flags line does not show: "
                         + ", ".join(f"{n} in {k} of the configs that fit" for n, k in solved.zone_names))
            if solved.others:
                note += (f"; {len(solved.others)} other packing(s) print the same fields (listed as alternatives): "
                         f"what depends on them is uncertain")
            return ConfigChoice(solved.config, "solved", note, alternatives=alts)
        fields_hits = [c for c in presets if _fields_of(render_inner(flags_value, renderer(compute(c), data)))
                       == want_fields]
        if fields_hits:
            return ConfigChoice(fields_hits[0], "preset",
                                f"preset {fields_hits[0].label()} reproduces the packed fields of the kernel's flags "
                                f"line; only its packed fields match, not its flag names: the dump comes from a "
                                f"kernel with another enum pageflags" + proxy_note, [c.label() for c in fields_hits])
        fallback = _default(bits, big, size, default_arch, version)
        return ConfigChoice(fallback, "default",
                            f"no packing the model can build prints the kernel's flags fields "
                            f"({'|'.join(f'{k}={v}' for k, v in want_fields.items()) or 'none'}) for these bits "
                            f"(another kernel version, or a config outside the model); decoding with "
                            f"{fallback.label()}" + proxy_note)
    cfg = _default(bits, big, size, default_arch, version)
    if cfg.arch != model_arch and (hint or size):
        proxy_note = ((f"; the model has no {hint}; " if proxy else f"; {hint or 'the default arch'}'s struct page "
                       f"is not {size} bytes; ") + f"{cfg.arch} is the first of its {bits}-bit archs with a {size}-byte "
                      f"struct page (the words' count), so the page is read with {cfg.arch}'s layout")
    return ConfigChoice(cfg, "default",
                        f"no config given and no flags: line to infer one from; assuming {cfg.label()}" + proxy_note)


def _other_archs(arch: str, bits: int) -> list[str]:
    """The model's other archs of this word size (kconfig.yaml facts 64BIT), x86_64 and arm64 first."""
    from mmbits.kconfig.model import load_model

    archs = load_model().archs
    same = [a for a in archs if a != arch and bool(archs[a].facts.get("64BIT")) == (bits == 64)]
    return sorted(same, key=lambda a: a not in ("x86_64", "arm64", "i386", "arm32"))


def _can_be(arch: str, big: bool) -> bool:
    """Whether the model's `arch` builds in this byte order: BIG_ENDIAN_ONLY archs only
    big, the bi-endian ones (arm, ppc64: CPU_BIG_ENDIAN settable) either, the rest little."""
    from mmbits.kconfig.model import load_model

    a = load_model().archs[arch]
    if a.facts.get("BIG_ENDIAN_ONLY"):
        return big
    return not big or arch in _BI_ENDIAN


# the model's archs whose CPU_BIG_ENDIAN is a choice (arch/arm64, arch/arm, arch/powerpc Kconfig)
_BI_ENDIAN = ("arm64", "arm32", "ppc64")


def model_arch_for(arch: str | None, bits: int, big: bool) -> tuple[str, bool]:
    """(the model's arch to read the words with, whether that is a stand-in for `arch`).
    The log's name is mapped to the model's (powerpc64 is ppc64: dump_page.yaml
    model_arch_names); an arch the model lacks (parisc, UML, m68k) is read with a
    model arch of the same word size and byte order, and said so."""
    from mmbits.kconfig.model import load_model

    archs = load_model().archs
    name = load_dump_data().model_arch_names.get(arch or "", arch)
    if name in archs and load_model().archs[name].facts.get("64BIT", 0) == (bits == 64) and _can_be(name, big):
        return name, False
    if arch is None:
        return ("arm64" if big else _default_arch(64)) if bits == 64 else ("arm32" if big else _default_arch(32)), \
            False
    if bits == 64:
        return ("arm64" if big or arch not in ("um",) else "x86_64"), True
    return ("arm32" if big or arch.startswith(("arm", "riscv", "parisc", "powerpc")) else "i386"), True


def _cpupid_rank(packing: Packing, printed: dict[str, int]) -> int:
    """0 when lastcpupid reads all ones at the packing's width: page_cpupid_reset_last()
    stores -1 (include/linux/mm.h), which is what nearly every dumped page holds, so a
    width whose all-ones value is the printed one is the kernel's; leading zeros would
    fit any wider field."""
    value = printed.get("lastcpupid")
    if value is None or not packing.lastcpupid:
        return 0
    return 0 if value == (1 << packing.lastcpupid) - 1 else 1


_ZONE_OPTIONS = ("ZONE_DMA", "ZONE_DMA32", "HIGHMEM", "ZONE_DEVICE")


def _zone_names(options: dict[str, int]) -> tuple[str, ...]:
    """enum zone_type for these zone options (packing.yaml `zones`, in the kernel's order)."""
    return tuple(name for name, cond in load_flag_data().zones if cond is None or cond.truth(options))


def _zones_shift(count: int) -> int:
    """ZONES_SHIFT of include/linux/page-flags-layout.h for MAX_NR_ZONES = count."""
    return 0 if count <= 1 else 1 if count <= 2 else 2 if count <= 4 else 3


@cache
def _zone_choices(arch: str) -> tuple[tuple[int, dict[str, int], tuple[str, ...]], ...]:
    """(options set away from the arch's defaults, the zone options, enum zone_type) for
    every combination of the zone options, fewest changes first."""
    from itertools import product

    from mmbits.kconfig.model import load_model

    model = load_model()
    defaults = dict(model.archs[arch].defaults) if arch in model.archs else {}
    zone_choices = []
    for bits_on in product((0, 1), repeat=len(_ZONE_OPTIONS)):
        options = dict(zip(_ZONE_OPTIONS, bits_on, strict=True))
        names = _zone_names(options)
        away = sum(options[o] != int(bool(defaults.get(o, 0))) for o in _ZONE_OPTIONS)
        zone_choices.append((away, options, names))
    zone_choices.sort(key=lambda z: z[0])
    return tuple(zone_choices)


def _printed(value: int, word: FlagsWord, data: DumpData) -> dict[str, int]:
    """The NAME=VALUE fields %pGp prints for `value` under `word`: what
    `printed_fields(render_inner(value, renderer(word, data)))` reads back, without making
    the flag names (a candidate config's packing is checked on its fields alone)."""
    out = {}
    for ff in data.flag_fields:
        pf = word.field(ff.field)
        if pf is not None and not pf.runtime and pf.width:
            out[ff.name] = (value >> pf.lsb) & ((1 << pf.width) - 1)
    return out


@lru_cache(maxsize=1024)
def _solve_config(bits: int, value: int, fields: tuple[tuple[str, int], ...], arch: str, big: bool,
                  size: int | None, version: int = 0) -> Solved | None:
    """The config closest to `arch`'s defaults whose packing prints exactly these fields.

    Packings are tried most plausible first (lastcpupid all ones), zone options only
    where their count gives the solved ZONES_SHIFT and holds the printed zone, and the
    first config the model builds and verifies is kept: the rest are alternatives."""
    from mmbits.kconfig.model import load_model

    data = load_dump_data()
    want = dict(fields)
    packings = sorted(solve(bits, value, fields), key=lambda p: _cpupid_rank(p, want))
    if not packings:
        return None
    model = load_model()
    defaults = dict(model.archs[arch].defaults) if arch in model.archs else {}
    zone_choices = _zone_choices(arch)
    best: tuple[Config, Packing] | None = None
    zones: Counter[str] = Counter()
    for packing in packings[:64]:
        fitting = [(opts, names) for _a, opts, names in zone_choices
                   if _zones_shift(len(names)) == packing.zone and want.get("zone", 0) < len(names)]
        if best is not None:
            for _opts, names in fitting:
                zones[names[want["zone"]] if "zone" in want else "-"] += 1
            continue
        base: dict[str, object] = {**defaults, "ARCH": arch, "MEMCG": 1}
        if version:
            base["VERSION"] = version
        if arch in _BI_ENDIAN:
            base["CPU_BIG_ENDIAN"] = int(big)
        base["NUMA"] = int(packing.node > 0 or packing.lastcpupid > 0)
        if packing.node:
            base["NODES_SHIFT"] = packing.node
        base["NUMA_BALANCING"] = int(packing.lastcpupid > 0)
        base["KASAN_SW_TAGS"] = int(packing.kasantag == 8)
        base["KASAN_HW_TAGS"] = int(packing.kasantag == 4)
        if packing.section:
            base["SPARSEMEM"], base["SPARSEMEM_VMEMMAP"] = 1, 0
        cpus_bits = packing.nr_cpus_bits
        cpus = [defaults.get("NR_CPUS", 8)] if cpus_bits is None else \
            sorted({1 << cpus_bits, max(1, 1 << max(cpus_bits - 1, 0))})
        for opts, names in fitting:
            found = None
            for ncpus in cpus:
                values = {**base, **opts, "NR_CPUS": ncpus}
                if "SMP" in model.symbols:
                    values["SMP"] = int(int(ncpus) > 1)
                if opts["ZONE_DEVICE"]:
                    values["MEMORY_HOTPLUG"] = 1
                try:
                    cfg = model.build(values)  # type: ignore[arg-type]
                except InputError:
                    continue
                if cfg is None:
                    continue
                word = compute(cfg)
                if not word.builds or _printed(value, word, data) != want:
                    continue
                found = _with_size(cfg, size)
                if found is not None:
                    break
            if found is None:
                continue
            if best is None:
                best = (found, packing)
            zones[names[want["zone"]] if "zone" in want else "-"] += 1
    if best is None:
        return None
    others = tuple(p for p in packings if p != best[1])
    return Solved(best[0], best[1], others, tuple(zones.most_common()) if len(zones) > 1 else ())


def _default_arch(bits: int) -> str:
    from mmbits.kconfig.presets import preset

    return preset(DEFAULT_PRESET[bits]).arch


def _arch_defaults(arch: str, big: bool, size: int | None, version: int = 0) -> Config | None:
    """The arch's own Kconfig defaults (its defconfig-like config), sized to the words."""
    from mmbits.kconfig.model import load_model

    model = load_model()
    if arch not in model.archs:
        return None
    values: dict[str, object] = {**model.archs[arch].defaults, "ARCH": arch, "MEMCG": 1}
    if version:
        values["VERSION"] = version
    if arch in _BI_ENDIAN:
        values["CPU_BIG_ENDIAN"] = int(big)
    try:
        cfg = model.make(values)  # type: ignore[arg-type]
    except InputError:
        return None
    return _with_size(cfg, size)


def _default(bits: int, big: bool, size: int | None, arch: str | None = None, version: int = 0) -> Config:
    from mmbits.kconfig.presets import preset

    if arch is not None and (big or version):
        # big-endian, or a release the presets are not: the arch's own defaults at that release
        plain = _arch_defaults(arch, big, size, version)
        if plain is not None:
            return plain
    presets = [c for c in _presets(bits, big) if fits(c, size)] or \
        [c for c in _presets(bits, big) if size is None or page_size(c) == size]
    if presets:
        name = DEFAULT_PRESET.get(bits)
        for c in presets:
            if c.name == name and (arch is None or c.arch == arch):
                return c
        same = [c for c in presets if c.arch == arch]
        return (same or presets)[0]
    # no preset has this struct page size: flip MEMCG on the default
    base = preset(DEFAULT_PRESET[bits]) if not big else _presets(bits, big)[0]
    sized = _with_size(base, size)
    if sized is None:
        for c in _presets(bits, big):
            sized = _with_size(c, size)
            if sized is not None:
                return sized
        # no preset: the defaults of the model's archs of this word size and byte order
        # (UML's 7-word page is the generic struct page without 16-byte alignment)
        for other in ([arch] if arch is not None else []) + _other_archs(arch or "", bits):
            if _can_be(other, big):
                sized = _arch_defaults(other, big, size, version)
                if sized is not None:
                    return sized
        raise InputError(f"no {bits}-bit config has a struct page of {size} bytes "
                         f"({(size or 0) // (bits // 8)} raw words); give --config or --preset")
    return sized
