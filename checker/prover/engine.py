"""The domain proof: one proposal, every config of a domain, one verdict.

Configs are grouped on the symbols the question can read (where the word
sits, what its role needs, what the expression's names depend on), so the
cost follows the number of distinct answers, not the domain's raw size; and
each analysis is cached on its actual inputs (the FlagsWord object, the
expression's value, the word's site), so 100k configs run a few hundred
analyses. Hits are aggregated per colliding thing with one counterexample.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pagebits.errors import InputError
from pagebits.findings import Finding
from pagebits.flags.data import load_flag_data
from pagebits.flags.packing import INPUT_SYMBOLS, compute
from pagebits.kconfig.config import Config
from pagebits.kconfig.domain import Group
from pagebits.layout.registry import LayoutSet, layout_env, layouts
from pagebits.proposal import Proposal
from pagebits.prover import rules
from pagebits.prover.expr import ExprPlan, Value, plan
from pagebits.prover.facts import load_memdesc_facts, load_word_facts
from pagebits.prover.hits import Ask, Hit, bit_text, bits_of
from pagebits.prover.site import (
    Site,
    canonical_word,
    check_word_name,
    resolve_site,
    site_symbols,
    word_of_access,
)

COLLIDING = {"collision", "tail-marker", "type-byte", "pointer-tag"}


@dataclass
class Aggregate:
    """One finding across the domain: the first config it was seen on, and how many configs."""

    hit: Hit
    config: Config
    count: int = 0
    groups: int = 0


@dataclass
class CheckResult:
    proposal: Proposal
    source: str  # what was checked: a domain name, a preset, a .config
    verdict: str  # safe | unsafe
    configs_checked: int
    configs_unsafe: int
    configs_colliding: int
    groups: int
    findings: list[Finding]
    counts: list[int]  # configs per finding, same order
    explanation: list[str]
    seconds: float
    relevant: tuple[str, ...] = ()
    lifecycle: str = "not requested"  # checked | not requested | emulator missing

    def to_json(self) -> dict[str, Any]:
        findings = []
        for f, n in zip(self.findings, self.counts, strict=True):
            item: dict[str, Any] = {"kind": f.kind, "message": f.message, "config": f.config, "where": f.where,
                                    "severity": f.severity, "what": f.data.get("what", ""), "configs": n}
            extra = {k: v for k, v in f.data.items() if k not in ("what",)}
            if extra:
                item["data"] = extra
            findings.append(item)
        return {
            "verdict": self.verdict,
            "proposal": self.proposal.to_json(),
            "checked": self.source,
            "configs_checked": self.configs_checked,
            "configs_unsafe": self.configs_unsafe,
            "configs_colliding": self.configs_colliding,
            "groups": self.groups,
            "lifecycle": self.lifecycle,
            "findings": findings,
            "explanation": self.explanation,
        }


def default_kinds(struct: str, page_index: int) -> tuple[str, ...]:
    """Page kinds a word of `struct` is used on when the proposal names none."""
    data = load_flag_data()
    if page_index == 1:
        return ("second",)
    if page_index >= 2:
        return ("tail",)
    if struct == "page":
        return tuple(k for k, v in data.kinds.items() if v.position in ("head", "any"))
    own = tuple(k for k, v in data.kinds.items() if v.descriptor == struct and v.position in ("head", "any"))
    return own or tuple(k for k, v in data.kinds.items() if v.position in ("head", "any"))


def self_names(proposal: Proposal, xp: ExprPlan) -> frozenset[str]:
    if proposal.name:
        return frozenset({proposal.name})
    bare = xp.bare_name
    return frozenset({bare}) if bare else frozenset()


@dataclass
class _Prover:
    proposal: Proposal
    struct: str
    word: str
    xp: ExprPlan
    lset: LayoutSet
    ask_base: Ask
    site_syms: frozenset[str]
    _sites: dict[tuple[Any, ...], Site] = field(default_factory=dict)
    _analyses: dict[tuple[Any, ...], tuple[Any, list[Hit]]] = field(default_factory=dict)
    _site_env_keys: tuple[str, ...] = ()
    _needs_env: bool = False

    def __post_init__(self) -> None:
        from pagebits.layout.registry import PACKING_SYMBOLS
        from pagebits.prover.site import _LSETS, _site_symbols

        _LSETS[id(self.lset)] = self.lset
        raw = _site_symbols(id(self.lset), self.struct, self.word) if self.word else frozenset()
        self._needs_env = bool(set(raw) & set(PACKING_SYMBOLS))
        self._site_env_keys = tuple(sorted(raw))

    def site(self, config: Config) -> Site:
        if self._needs_env:
            env = layout_env(config)
            key = tuple(env.get(s) for s in self._site_env_keys)
        else:
            env = None
            key = tuple(config.get(s) for s in self._site_env_keys)
        hit = self._sites.get(key)
        if hit is None:
            hit = resolve_site(self.lset, self.struct, self.word, config, env)
            self._sites[key] = hit
        return hit

    def ask_for(self, site: Site) -> Ask:
        if self.ask_base.kind_given or not site.exists:
            return self.ask_base
        kinds = default_kinds(self.struct, site.page_index)
        if kinds == self.ask_base.kinds:
            return self.ask_base
        return Ask(self.ask_base.label, kinds, False, self.ask_base.self_names, self.ask_base.type_value)

    def analyse(self, config: Config) -> tuple[list[Hit], Value, Site]:
        word = compute(config, extra_flags=len(self.xp.new_flags))
        ev = self.xp.evaluate(config, word)
        if not self.word:
            return self._generic(ev, _NO_SITE, self.ask_base), ev, _NO_SITE
        site = self.site(config)
        if not site.exists:
            return [Hit("missing-member", "absent-word",
                        f"{self.ask_base.label} does not exist in this config: the proposal cannot apply there",
                        self.ask_base.label, "note", self.ask_base.label)], ev, site
        ask = self.ask_for(site)
        hits = self._generic(ev, site, ask)
        if ev.value is None:
            return hits, ev, site
        value = ev.value & ((1 << site.bits) - 1)
        key: tuple[Any, ...]
        if site.role == "flags":
            base = compute(config) if self.xp.new_flags else word
            key = ("flags", id(word), id(base), site.signature(), value, ask.kinds,
                   bool(config.get("MEM_ALLOC_PROFILING")), bool(config.get("MEM_PROFILING_COMPRESSED")))
            cached = self._analyses.get(key)
            if cached is None:
                sizes = self._page_sizes(config) if base is not word and not word.last_cpupid_in_flags else None
                found = rules.analyse_flags(word, base, site, value, ask, config, sizes)
                found += rules.analyse_arms(site, value, ask)
                cached = ((word, base), found)
                self._analyses[key] = cached
        elif site.role == "page_type":
            key = ("page_type", site.signature(), value, ask.kinds)
            cached = self._analyses.get(key)
            if cached is None:
                found = rules.analyse_page_type(site, value, ask, load_word_facts()) + rules.analyse_arms(site, value, ask)
                cached = (None, found)
                self._analyses[key] = cached
        elif site.role == "pointer":
            facts = load_word_facts()
            pw = facts.pointers.get(site.anchor or "")
            env_key = tuple(config.get(s) for s in sorted(_pointer_symbols(pw))) if pw else ()
            key = ("pointer", site.signature(), value, env_key)
            cached = self._analyses.get(key)
            if cached is None:
                # the other arms over a pointer word are pointer views of the same word: analyse_pointer covers them
                found = rules.analyse_pointer(site, value, ask, facts, config)
                cached = (None, found)
                self._analyses[key] = cached
        elif site.role == "memdesc":
            layout = self.lset.resolve(self.struct, config)
            key = ("memdesc", id(layout), site.signature(), value)
            cached = self._analyses.get(key)
            if cached is None:
                found = rules.analyse_memdesc(site, value, ask, load_memdesc_facts(), layout)
                cached = (layout, found)
                self._analyses[key] = cached
        else:
            key = ("plain", site.signature(), site.others, value)
            cached = self._analyses.get(key)
            if cached is None:
                cached = (None, rules.analyse_arms(site, value, ask))
                self._analyses[key] = cached
        return hits + cached[1], ev, site

    def _generic(self, ev: Value, site: Site, ask: Ask) -> list[Hit]:
        key = ("generic", id(ev), site.bits if site.exists else 0, ask.label)
        cached = self._analyses.get(key)
        if cached is None:
            cached = self._analyses[key] = (ev, _generic(ev, site, ask))
        return cached[1]

    def _page_sizes(self, config: Config) -> tuple[int, int]:
        env = layout_env(config)
        before = self.lset.resolve("page", config, env).size
        env2 = dict(env)
        env2["LAST_CPUPID_NOT_IN_PAGE_FLAGS"] = 1
        return before, self.lset.resolve("page", config, env2).size


_NO_SITE = Site("", "", False, 0, 0, 0, 0, 0, False, None, 0, 0, "plain", "all", (), "")


def _pointer_symbols(pw: Any) -> set[str]:
    out = set(pw.target_align.symbols)
    for t in pw.tags:
        if t.cond is not None:
            out |= set(t.cond.symbols)
    return out


def _generic(ev: Value, site: Site | None, ask: Ask) -> list[Hit]:
    """What the expression itself does: undefined shifts, sign extension, truncation, absent names, always true."""
    width = site.bits if site is not None and site.exists else 0
    out: list[Hit] = []
    label = ask.label
    if ev.absent:
        names = ", ".join(ev.absent)
        out.append(Hit("unknown-name", f"absent:{names}",
                       f"{names} {'does' if len(ev.absent) == 1 else 'do'} not exist in this config: the expression "
                       f"does not compile there (guard it, or the patch breaks the build)", label, "warning", names))
    for kind, msg in ev.problems:
        out.append(Hit(kind, f"expr:{kind}:{msg.split(':')[0]}", msg, label, "error", "the expression"))
    if ev.always_true:
        out.append(Hit("always-true", "condition",
                       f"the condition is always true: `{ev.constant_true}` is non-zero and `|` (not `&`) keeps it, "
                       f"whatever the descriptor word holds (did you mean `&`?)", label, "error",
                       f"`| {ev.constant_true}`"))
    if ev.value is not None and width:
        raw = ev.value
        if raw < 0 and ev.type is not None:
            from pagebits.bitexpr import c_types

            tbits = c_types(width)[ev.type].bits if ev.type in c_types(width) else width
            if width > tbits and not any(k == "sign-extension" for k, _ in ev.problems):
                out.append(Hit("sign-extension", "sign-extension",
                               f"{ev.type} value {raw} stored in the {width}-bit {label} becomes "
                               f"{raw & ((1 << width) - 1):#x}: bits {tbits}-{width - 1} are set too", label, "error",
                               "the expression"))
        elif raw >> width:
            lost = bits_of(raw >> width << width)
            out.append(Hit("truncated", "truncated",
                           f"{raw:#x} does not fit the {width}-bit {label}: {bit_text(lost)} "
                           f"{'is' if len(lost) == 1 else 'are'} lost", label, "error", f"{width}-bit word"))
    return out


# -- the proof -------------------------------------------------------------------------

def prepare(proposal: Proposal, defines: Mapping[str, str] | None = None, new_flags: Sequence[str] = (),
            lset: LayoutSet | None = None, probe: Config | None = None) -> _Prover:
    lset = lset or layouts()
    xp = plan(proposal.expr, defines, new_flags)
    struct, word = canonical_word(proposal.struct, proposal.field) if proposal.word else ("", "")
    if not word and xp.runtime:
        # a condition on a descriptor word names its word: ptdesc->__page_type & X
        for access in xp.runtime:
            found = word_of_access(access, lset, probe if probe is not None else _probe_config())
            if found is not None:
                struct, word = found
                proposal = replace(proposal, word=f"{struct}.{word}")
                break
    if word:
        check_word_name(lset, struct, word, probe if probe is not None else _probe_config())
    kinds = (proposal.kind,) if proposal.kind else default_kinds(struct, 0)
    selfs = self_names(proposal, xp)
    # a new enum entry is PG_new<i> in the packing
    selfs |= {f"PG_new{i + 1}" for i, n in enumerate(new_flags) if n in selfs}
    type_value = any(n.startswith("PGTY_") for n in selfs)
    label = f"{proposal.struct}.{proposal.field}" if word else proposal.expr
    ask = Ask(label, kinds, proposal.kind is not None, selfs, type_value)
    return _Prover(proposal, struct, word, xp, lset, ask, site_symbols(lset, struct, word) if word else frozenset())


def _probe_config() -> Config:
    from pagebits.cli.common import DEFAULT_PRESET
    from pagebits.kconfig.presets import preset

    return preset(DEFAULT_PRESET)


def relevant_symbols(prover: _Prover, domain: Any = None, config: Config | None = None) -> set[str]:
    """Symbols a domain proof groups on: the site, each role the word takes somewhere, the expression."""
    rel = set(prover.site_syms) | {"BITS_PER_LONG", "ARCH"}
    if prover.xp.config_dependent():
        rel |= set(INPUT_SYMBOLS)
    roles: set[str] = set()
    anchors: set[str] = set()
    if prover.word:
        probes = [g.config for g in domain.groups(prover.site_syms or {"ARCH"})] if domain is not None else [config]
        for cfg in probes:
            s = prover.site(cfg)
            roles.add(s.role)
            if s.anchor:
                anchors.add(s.anchor)
    if "flags" in roles:
        rel |= set(INPUT_SYMBOLS)
    if "pointer" in roles:
        facts = load_word_facts()
        for a in anchors:
            if a in facts.pointers:
                rel |= _pointer_symbols(facts.pointers[a])
    return rel


def check(proposal: Proposal, *, config: Config | None = None, domain: Any = None, source: str = "",
          defines: Mapping[str, str] | None = None, new_flags: Sequence[str] = (), lifecycle: bool = True,
          lset: LayoutSet | None = None, progress: Callable[[int, int], None] | None = None) -> CheckResult:
    """Prove a proposal over one config or every valid config of a domain."""
    if (config is None) == (domain is None):
        raise ValueError("check() needs exactly one of config= and domain=")
    start = time.perf_counter()
    prover = prepare(proposal, defines, new_flags, lset, probe=config)
    if config is not None:
        _check_buildable(config)
        groups: Iterable[Group] = [Group(config, 1, "config")]
        relevant: set[str] = set(relevant_symbols(prover, config=config))
        total = 1
    else:
        relevant = relevant_symbols(prover, domain)
        groups = _domain_groups(domain, relevant)
        total = domain.size()
    aggs: dict[tuple[str, str], Aggregate] = {}
    checked = unsafe = colliding = ngroups = 0
    shift_counts: set[tuple[int, ...]] = set()
    worst_shift: tuple[int, int, Config] | None = None  # (count, width, config)
    explanation: list[str] = []
    undefined_seen = False
    for group in groups:
        cfg, count = group.config, group.count
        hits, ev, site = prover.analyse(cfg)
        ngroups += 1
        checked += count
        if ngroups == 1:
            explanation = explain(prover, cfg, ev, site, relevant)
        if ev.shifts:
            shift_counts.add(tuple(c for c, _ in ev.shifts))
            for c, w in ev.shifts:
                if worst_shift is None or w - c < worst_shift[1] - worst_shift[0]:
                    worst_shift = (c, w, cfg)
        blocking = False
        collides = False
        for h in hits:
            agg = aggs.get((h.kind, h.key))
            if agg is None:
                agg = aggs[(h.kind, h.key)] = Aggregate(h, cfg)
            agg.count += count
            agg.groups += 1
            if h.severity == "error":
                blocking = True
                if h.kind in COLLIDING:
                    collides = True
            if h.kind == "undefined-shift" and h.severity == "error":
                undefined_seen = True
        unsafe += count if blocking else 0
        colliding += count if collides else 0
        if progress is not None and ngroups % 512 == 0:
            progress(checked, total)
    if progress is not None:
        progress(checked, total)
    extra: list[tuple[Hit, Config, int]] = []
    if len(shift_counts) > 1 and worst_shift is not None and not undefined_seen:
        extra.append((_shift_note(prover, worst_shift, shift_counts), worst_shift[2], checked))
    findings: list[Finding] = []
    counts: list[int] = []
    for agg in sorted(aggs.values(), key=_order):
        findings.append(_finding(agg.hit, agg.config, relevant))
        counts.append(agg.count)
    for hit, cfg, n in extra:
        findings.append(_finding(hit, cfg, relevant))
        counts.append(n)
    lifecycle_state = "not requested"
    if lifecycle and proposal.lifecycle:
        lf, lifecycle_state = _lifecycle(prover.proposal, findings, config, domain, relevant)
        for f, n in lf:
            findings.append(f)
            counts.append(n)
            if f.severity == "error":
                unsafe = max(unsafe, n)
    verdict = "unsafe" if any(f.severity == "error" for f in findings) else "safe"
    if verdict == "unsafe" and unsafe == 0:
        unsafe = checked
    return CheckResult(prover.proposal, source, verdict, checked, unsafe, colliding, ngroups, findings, counts, explanation,
                       time.perf_counter() - start, tuple(sorted(relevant)), lifecycle_state)


_GROUPS: dict[tuple[int, frozenset[str]], tuple[Any, list[Group]]] = {}


def _domain_groups(domain: Any, relevant: set[str]) -> list[Group]:
    """The domain's groups for these symbols, kept for the next check on the same
    question shape (a patch asks several; the domain object is load_domain()'s cached one)."""
    key = (id(domain), frozenset(relevant))
    hit = _GROUPS.get(key)
    if hit is not None and hit[0] is domain:
        return hit[1]
    groups = list(domain.groups(relevant))
    if len(_GROUPS) >= 4:
        _GROUPS.pop(next(iter(_GROUPS)))
    _GROUPS[key] = (domain, groups)
    return groups


def _check_buildable(config: Config) -> None:
    word = compute(config)
    if word.errors:
        from pagebits.errors import InvalidConfigError

        raise InvalidConfigError(f"config {config.label()} cannot build: {'; '.join(word.errors)}",
                                 failed=list(word.errors))


_SEVERITY_ORDER = {"error": 0, "warning": 1, "note": 2}


def _order(agg: Aggregate) -> tuple[int, str, bool, int]:
    # static collisions before ones a boot-time mode makes, then by how many configs
    return (_SEVERITY_ORDER[agg.hit.severity], agg.hit.kind, bool(agg.hit.data_dict().get("runtime")), -agg.count)


def _finding(hit: Hit, config: Config, relevant: Iterable[str]) -> Finding:
    data = dict(hit.data)
    data["what"] = hit.what
    data["config_symbols"] = {k: v for k, v in sorted(config.primary.items())
                              if k in _primaries(tuple(sorted(relevant)))}
    if config.name:
        data["config_name"] = config.name
    return Finding(hit.kind, hit.message, config.name or config.describe(relevant), hit.where, hit.severity, data)


_PRIM: dict[tuple[str, ...], frozenset[str]] = {}


def _primaries(relevant: tuple[str, ...]) -> frozenset[str]:
    hit = _PRIM.get(relevant)
    if hit is None:
        from pagebits.kconfig.model import load_model

        hit = _PRIM[relevant] = load_model().primaries_behind(relevant) | {"ARCH"}
    return hit


def _shift_note(prover: _Prover, worst: tuple[int, int, Config], counts: set[tuple[int, ...]]) -> Hit:
    count, width, cfg = worst
    seen = sorted({c for cs in counts for c in cs})
    msg = (f"the shift count depends on the config ({seen[0]}..{seen[-1]} over the configs checked) and is defined on "
           f"all of them: the closest is {count} against a {width}-bit type; it becomes undefined once the count "
           f"reaches {width}, and nothing in the expression guards that")
    if "NR_PAGEFLAGS" in prover.xp.idents:
        word = compute(cfg)
        for k in range(1, width - word.nr_pageflags + 2):
            grown = compute(cfg, extra_flags=k)
            if grown.errors:
                if grown.nr_pageflags < width:
                    msg += (f"; on that config the kernel's own {grown.errors[0]} stops the build at NR_PAGEFLAGS = "
                            f"{grown.nr_pageflags}, before the shift could become undefined")
                elif grown.nr_pageflags == width:
                    msg += (f"; on that config only the kernel's own {grown.errors[0]} (at NR_PAGEFLAGS = "
                            f"{width}) keeps it from becoming undefined")
                break
    return Hit("undefined-shift", "shift-margin", msg, prover.ask_base.label, "note", "shift count",
               (("count", count), ("width", width), ("counts", seen)))


def _lifecycle(proposal: Proposal, static: list[Finding], config: Config | None, domain: Any,
               relevant: Iterable[str]) -> tuple[list[tuple[Finding, int]], str]:
    """Run the emulator (pagebits.emu, when installed) on a few representative configs."""
    try:
        from pagebits.emu.lifecycle import run_proposal  # type: ignore[import-not-found]
    except ImportError:
        return [(Finding("lifecycle-unchecked",
                         "the proposal names set/test/clear steps but the lifecycle emulator (pagebits.emu) is not "
                         "available: only the static verdict is proved", None, proposal.word, "note"), 0)], \
            "emulator missing"
    configs: list[Config] = []
    if config is not None:
        configs = [config]
    else:
        seen_parts: set[str] = set()
        for g in domain.groups(relevant):
            if g.part not in seen_parts:
                seen_parts.add(g.part)
                configs.append(g.config)
        configs = configs[:6]
    merged: dict[tuple[str, str], tuple[Finding, int]] = {}
    for cfg in configs:
        try:
            found = run_proposal(proposal, cfg)
        except InputError:
            raise
        except Exception as exc:  # the static verdict stands; say why the lifecycle one is missing
            note = Finding("lifecycle-unchecked", f"the lifecycle emulator could not run this proposal "
                           f"({type(exc).__name__}: {exc}): only the static verdict is proved",
                           cfg.name or cfg.describe(relevant), proposal.word, "note")
            return [(note, 0)], "emulator failed"
        for f in found:
            if f.config is None:
                f.config = cfg.name or cfg.describe(relevant)
            key = (f.kind, f.message)
            prev = merged.get(key)
            merged[key] = (prev[0], prev[1] + 1) if prev else (f, 1)
    return list(merged.values()), f"checked on {len(configs)} representative config(s)"


# -- what the bits are, for one config ------------------------------------------------------

def explain(prover: _Prover, config: Config, ev: Value, site: Site, relevant: Iterable[str] = ()) -> list[str]:
    """One line per proposed bit: what it is on this config (the first config of the proof)."""
    if ev.value is None or not site.exists:
        return []
    lines = []
    value = ev.value & ((1 << site.bits) - 1) if site.bits else ev.value
    head = f"{prover.ask_base.label} = {value:#x}"
    if site.page_index:
        head += f" (struct page {site.page_index} of the folio)"
    lines.append(head + f" on {config.name or config.describe(set(relevant) or prover.site_syms)}:")
    word = compute(config, extra_flags=len(prover.xp.new_flags)) if site.role == "flags" else None
    for b in bits_of(value)[:16]:
        ab = site.anchor_bit(b)
        if site.role == "flags" and word is not None and ab is not None:
            owner = word.owner(ab)
            if owner == "gap" and word.gap:
                owner = f"gap (page.flags bits {word.gap[0]}-{word.gap[1]}, above NR_PAGEFLAGS)"
            if ab < word.nr_pageflags:
                fl = word.flags[ab]
                aliases = ", ".join(a.name for a in fl.aliases)
                owner = f"{fl.name}" + (f" (aliases {aliases})" if aliases else "") + \
                    f", used on {', '.join(fl.kinds) or 'no kind'}"
            lines.append(f"  bit {b}: {owner}")
        elif site.role == "page_type" and ab is not None:
            shift = load_flag_data().page_type_shift
            lines.append(f"  bit {b}: {'type byte' if ab >= shift else 'owner bits of a typed page'}")
        elif site.anchor is not None and ab is not None:
            lines.append(f"  bit {b}: page.{site.anchor} bit {ab}")
        else:
            lines.append(f"  bit {b}: {site.role} word {site.struct}.{site.word}")
    return lines
