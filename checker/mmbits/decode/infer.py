"""Which config produced a dump, when the user does not say.

dump_page's own `flags:` line is a fingerprint of the config: the packed
fields it prints (node=, zone=, lastcpupid=, section=, kasantag=) and the
flag names depend on the page->flags packing and on enum pageflags. So we
look for the configs whose %pGp of the raw flags word is exactly what the
kernel printed: first the presets, then every config of the default domain
(grouped by the packing inputs, so each distinct word is rendered once).
The number of raw words narrows it further (sizeof(struct page)).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache

from mmbits.decode.data import load_dump_data
from mmbits.decode.kernelfmt import Renderer, pgp_inner, render_inner, renderer
from mmbits.errors import InputError
from mmbits.flags.packing import INPUT_SYMBOLS, FlagsWord, compute
from mmbits.kconfig.config import Config

DEFAULT_PRESET = {64: "x86_64-6.18", 32: "i386-highmem-flatmem"}
DEFAULT_DOMAIN = "default"


@dataclass
class ConfigChoice:
    config: Config
    how: str  # given | preset | domain | default
    note: str
    presets: list[str] = field(default_factory=list)  # presets that reproduce the flags line
    domain_matches: int = 0  # default-domain configs that reproduce it
    domain_total: int = 0
    alternatives: list[dict] = field(default_factory=list)  # other decodes of the flags word

    def to_json(self) -> dict:
        out = {"name": self.config.label(), "arch": self.config.arch, "how": self.how, "note": self.note,
               "symbols": self.config.describe(INPUT_SYMBOLS)}
        if self.presets:
            out["matching_presets"] = self.presets
        if self.domain_total:
            out["domain_matches"] = self.domain_matches
            out["domain_total"] = self.domain_total
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
    return layout.size == size and all(layout.covered)


def _with_size(config: Config, size: int | None) -> Config | None:
    """`config`, or the same config with MEMCG flipped, whose struct page fills `size` bytes."""
    if size is None:
        return config
    from mmbits.errors import InvalidConfigError
    from mmbits.kconfig.model import load_model

    values = dict(config.primary)
    values["MEMCG"] = 0 if values.get("MEMCG") else 1
    try:
        alt: Config | None = load_model().make(values, name=None)
    except InvalidConfigError:
        alt = None
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


@cache
def _domain_words(bits: int) -> tuple[tuple[FlagsWord, tuple[tuple[Config, int], ...]], ...]:
    """Default-domain configs of a word size, grouped by their page->flags packing."""
    from mmbits.kconfig.domain import load_domain

    by_word: dict[int, tuple[FlagsWord, list[tuple[Config, int]]]] = {}
    for group in load_domain(DEFAULT_DOMAIN).groups(INPUT_SYMBOLS):
        if group.config.bits != bits:
            continue
        word = compute(group.config)
        if not word.builds:
            continue
        entry = by_word.setdefault(id(word), (word, []))
        entry[1].append((group.config, group.count))
    return tuple((w, tuple(cs)) for w, cs in by_word.values())


@cache
def _domain_total(bits: int) -> int:
    return sum(n for _r, ws in _domain_renderers(bits) for _w, cs in ws for _c, n in cs)


@cache
def _domain_renderers(bits: int) -> tuple[tuple[Renderer, tuple[tuple[FlagsWord, tuple[tuple[Config, int], ...]], ...]],
                                          ...]:
    """The domain's packings grouped once more by what %pGp prints (far fewer groups)."""
    data = load_dump_data()
    by_r: dict[Renderer, list] = {}
    for word, cs in _domain_words(bits):
        by_r.setdefault(renderer(word, data), []).append((word, cs))
    return tuple((r, tuple(ws)) for r, ws in by_r.items())


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


def choose_config(flags_value: int | None, flags_text: str | None, bits: int, big: bool,
                  size: int | None, words: list[int] | None = None) -> ConfigChoice:
    """The config that explains a dump: by the kernel's flags line if there is one."""
    data = load_dump_data()
    hint = arch_hint(words or [], bits)
    default_arch = hint or _default_arch(bits)

    def rank(cfg: Config) -> tuple[int, int]:
        return (cfg.arch != default_arch, _distance(cfg))

    presets = [c for c in _presets(bits, big) if size is None or page_size(c) == size]
    if flags_value is not None and flags_text is not None:
        want = _norm(flags_text)
        want_fields = _fields_of(want)
        dom = _domain_renderers(bits) if not big else ()
        total = _domain_total(bits) if not big else 0
        for level in ("exact", "fields"):
            def same(r: Renderer, level: str = level) -> bool:
                got = render_inner(flags_value, r)
                return got == want if level == "exact" else _fields_of(got) == want_fields

            hits = sorted((c for c in presets if same(renderer(compute(c), data))),
                          key=lambda c: c.arch != default_arch)
            dom_hits = [(w, cs) for r, ws in dom if same(r) for w, cs in ws]
            matches = sum(n for _w, cs in dom_hits for _c, n in cs)
            skew = ("" if level == "exact" else
                    "; only its packed fields match, not its flag names: the dump comes from a kernel with another "
                    "enum pageflags")
            if hits:
                return ConfigChoice(hits[0], "preset",
                                    f"preset {hits[0].label()} reproduces the kernel's flags line"
                                    + (f" (so do {', '.join(c.label() for c in hits[1:])})" if hits[1:] else "")
                                    + skew, [c.label() for c in hits], matches, total)
            ranked = sorted((cfg for _w, cs in dom_hits for cfg, _n in cs), key=rank)
            zone_names = _zone_names(flags_value, dom_hits)
            for cfg in ranked:
                sized = _with_size(cfg, size)
                if sized is not None:
                    return ConfigChoice(sized, "domain",
                                        f"no preset reproduces the kernel's flags line; {matches} of {total} "
                                        f"{bits}-bit configs of domain '{DEFAULT_DOMAIN}' do; decoding with the one "
                                        f"closest to the {default_arch} defaults"
                                        + (" (its pointers are " + hint + " kernel addresses)" if hint else "")
                                        + zone_names + skew, [], matches, total)
        fallback = _default(bits, big, size, default_arch)
        return ConfigChoice(fallback, "default",
                            f"no preset and no config of domain '{DEFAULT_DOMAIN}' prints the kernel's flags line "
                            f"for these bits, not even its packed fields (another kernel version, or a config "
                            f"outside the domain); decoding with {fallback.label()}",
                            [], 0, total, alternatives(flags_value, bits, big, size))
    cfg = _default(bits, big, size, default_arch)
    return ConfigChoice(cfg, "default",
                        f"no config given and no flags: line to infer one from; assuming {cfg.label()}",
                        alternatives=alternatives(None, bits, big, size))


def _zone_names(value: int, hits: list) -> str:
    """', where zone=N is ZONE_X in n configs and ZONE_Y in m' when the name depends on the config."""
    names: Counter[str] = Counter()
    for word, cs in hits:
        zone = word.field("zone")
        if zone is None:
            continue
        z = (value >> zone.lsb) & ((1 << zone.width) - 1)
        names[word.zones[z] if z < len(word.zones) else "no such zone"] += sum(n for _c, n in cs)
    if len(names) < 2:
        return ""
    return "; the zone's name depends on the config: " + ", ".join(f"{k} in {v}" for k, v in names.most_common())


def _default_arch(bits: int) -> str:
    from mmbits.kconfig.presets import preset

    return preset(DEFAULT_PRESET[bits]).arch


def _default(bits: int, big: bool, size: int | None, arch: str | None = None) -> Config:
    from mmbits.kconfig.presets import preset

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
        raise InputError(f"no {bits}-bit config has a struct page of {size} bytes "
                         f"({(size or 0) // (bits // 8)} raw words); give --config or --preset")
    return sized


def alternatives(flags_value: int | None, bits: int, big: bool, size: int | None, limit: int = 6) -> list[dict]:
    """How the flags word decodes across the presets and the domain (the config-dependent part)."""
    if flags_value is None:
        return []
    data = load_dump_data()
    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    for word, cs in _domain_words(bits) if not big else ():
        text = pgp_inner(flags_value, word, data)
        n = sum(c for _cfg, c in cs)
        counts[text] += n
        example.setdefault(text, cs[0][0].describe(INPUT_SYMBOLS))
    out = [{"flags": text, "configs": n, "example": example[text]} for text, n in counts.most_common(limit)]
    for cfg in _presets(bits, big):
        if size is not None and page_size(cfg) != size:
            continue
        text = pgp_inner(flags_value, compute(cfg), data)
        for entry in out:
            if entry["flags"] == text:
                entry.setdefault("presets", []).append(cfg.label())
                break
        else:
            out.append({"flags": text, "configs": 0, "presets": [cfg.label()], "example": cfg.label()})
    return out
