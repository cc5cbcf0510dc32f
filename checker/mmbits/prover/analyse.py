"""One config's answer: where the word sits, what the expression is there, and
what each role's analysis finds, cached on the real inputs of each step.

`prepare()` turns a Proposal into a `Prover` (the expression planned once, the
word checked against the layouts, the page kinds and the names the proposal
is); `Prover.analyse(config)` gives that config's Hits. `relevant_symbols()`
says which config symbols the answer can depend on, for grouping a domain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from mmbits.flags.data import load_flag_data
from mmbits.flags.packing import INPUT_SYMBOLS, FlagsWord, compute
from mmbits.kconfig.config import Config
from mmbits.layout.registry import LayoutSet, layout_env, layouts, packing_values
from mmbits.proposal import Proposal
from mmbits.prover import rules
from mmbits.prover.classfacts import FlagFacts
from mmbits.prover.expr import ExprPlan, Value, plan
from mmbits.prover.facts import load_memdesc_facts, load_word_facts
from mmbits.prover.hits import Ask, Hit, bit_text, bits_of
from mmbits.prover.site import (
    Site,
    canonical_word,
    check_word_name,
    model_symbols,
    raw_site_symbols,
    resolve_site,
    word_in_spec,
    word_of_access,
)


@cache
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


def self_names(proposal: Proposal, new_flags: Sequence[str]) -> frozenset[str]:
    """Names the proposal itself creates: its new enum pageflags entries (PG_new<i> in
    the packing). A name the expression merely reads (`PG_head`, `BIT(PG_head)`) is an
    existing use of the bit and counts against the proposal."""
    out = {f"PG_new{i + 1}" for i in range(len(new_flags))} | set(new_flags)
    return frozenset(out)


def name_matters(name: str | None) -> bool:
    """Whether the verdict can depend on the name a proposal gives itself (`--as`, a
    patch's macro name): the rules compare it only with names the data defines (a flag
    or alias it would be the existing definition of, a page type it would not clash
    with, a memdesc type it would be), and a PGTY_ name makes the value a type byte.
    A name none of those can match is only a label: proposals differing only in such
    names get the same answer (the patch scanner shares it)."""
    if not name:
        return False
    if name.startswith("PGTY_"):
        return True
    return name in _data_names() or any(n.startswith(name.lower()) for n in _memdesc_type_names())


@cache
def _data_names() -> frozenset[str]:
    data = load_flag_data()
    return frozenset(data.all_names() | {t.name for t in data.page_types})


@cache
def _memdesc_type_names() -> frozenset[str]:
    md = load_memdesc_facts()
    return frozenset(n.lower() for t in md.tables.values() for n in t.types.values())


class Prover:
    """One proposal made ready for analysis (`prepare`): its plan, word, layouts and Ask,
    with the caches of its analyses. (A plain class: a dataclass compiles its methods when
    imported, and every check imports this one.)"""

    __slots__ = ("proposal", "struct", "word", "xp", "lset", "ask_base", "site_syms", "_sites", "_analyses",
                 "_site_env_keys", "_needs_env", "_facts_names_cache", "_site_ids", "_joins", "_site_values",
                 "config_memo", "shipped", "_disk_sites", "raw_site_syms")

    def __init__(self, proposal: Proposal, struct: str, word: str, xp: ExprPlan, lset: LayoutSet, ask_base: Ask,
                 site_syms: frozenset[str], *, shipped: bool = False, raw_site_syms: frozenset[str] | None = None):
        from mmbits.layout.registry import PACKING_SYMBOLS
        from mmbits.prover.site import _LSETS

        self.proposal, self.struct, self.word, self.xp = proposal, struct, word, xp
        self.lset, self.ask_base, self.site_syms = lset, ask_base, site_syms
        self._sites: dict[tuple[Any, ...], Site] = {}
        self._analyses: dict[tuple[Any, ...], tuple[Any, list[Hit]]] = {}
        self._facts_names_cache: tuple[tuple[str, ...] | None] | None = None
        self._site_ids: dict[int, int] = {}
        self._joins: dict[tuple[int, int], tuple[list[Hit], list[Hit], list[Hit]]] = {}
        self._site_values: dict[Site, int] = {}
        # per-config answers that do not depend on the proposal (FlagsWord, Site), keyed by the
        # config object's id: the engine hands in one dict per cached group list, which holds
        # those configs (so the ids stay theirs) and is dropped with it
        self.config_memo: dict[tuple[Any, ...], Any] | None = None
        # the layout set is the shipped one: sites and relevant symbols are kept on disk (prover.wordstore)
        self.shipped = shipped
        self._disk_sites = False
        # the site's symbols as the layouts name them (`site.raw_site_symbols`), when known already
        self.raw_site_syms = raw_site_syms
        _LSETS[id(lset)] = lset
        raw = raw_site_syms if raw_site_syms is not None else \
            raw_site_symbols(lset, struct, word) if word else frozenset()
        self._needs_env = bool(set(raw) & set(PACKING_SYMBOLS))
        self._site_env_keys = tuple(sorted(raw))

    def __repr__(self) -> str:
        return f"Prover({self.proposal!r}, struct={self.struct!r}, word={self.word!r})"

    def site(self, config: Config) -> Site:
        memo = self.config_memo
        mkey = (id(config), id(self.lset), self.struct, self.word)
        if memo is not None:
            known = memo.get(mkey)
            if known is not None:
                return known  # type: ignore[no-any-return]
        hit = self.site_of(config)
        if memo is not None:
            memo[mkey] = hit
        return hit

    def site_key(self, config: Config) -> tuple[Any, ...]:
        """What the site reads of a config: its values of the word's site symbols, the four
        the packing decides (PACKING_SYMBOLS) taken from its packing."""
        if self._needs_env:
            # the key reads the four packing-decided symbols and the config's own; the
            # whole layout env (a copy of the config) only when the site is new
            packed = packing_values(compute(config))
            return tuple(packed[s] if s in packed else config.get(s) for s in self._site_env_keys)
        return tuple(config.get(s) for s in self._site_env_keys)

    def site_of(self, config: Config) -> Site:
        """The site on a config that need not outlive this call (not memoised by id)."""
        key = self.site_key(config)
        hit = self._sites.get(key)
        if hit is None and self.shipped and not self._disk_sites:
            from mmbits.prover import wordstore

            self._disk_sites = True
            for k, v in wordstore.load_sites(self.struct, self.word).items():
                self._sites.setdefault(k, v)
            hit = self._sites.get(key)
        if hit is None:
            env = layout_env(config) if self._needs_env else None
            hit = resolve_site(self.lset, self.struct, self.word, config, env)
            self._sites[key] = hit
            if self.shipped:
                from mmbits.prover import wordstore

                wordstore.keep_site(self.struct, self.word, key, hit)
        return hit

    def flags_word(self, config: Config, extra: int) -> FlagsWord:
        """compute(config, extra) once per group config while its group list is cached."""
        memo = self.config_memo
        if memo is None:
            return compute(config, extra_flags=extra)
        mkey = (id(config), extra)
        known = memo.get(mkey)
        if known is None:
            known = memo[mkey] = compute(config, extra_flags=extra)
        return known

    def class_key(self, config: Config) -> tuple[Any, ...] | None:
        """What `analyse(config)` reads of the config, for sharing its answer between the
        groups of a domain (prover.classes): the packing (see `_word_part`), the Site, and
        the config symbols the word's role reads beside them. None when the analysis reads
        more of the config than that (a memdesc word's whole struct, struct page's size
        with new flags): no sharing. Needs `config_memo` (it keeps the objects whose ids
        the keys hold alive)."""
        if self.config_memo is None:
            return None
        extra = len(self.xp.new_flags)
        try:
            word = self.flags_word(config, extra)
            base = self.flags_word(config, 0) if extra else word
            site = self.site(config) if self.word else _NO_SITE
        except Exception:  # noqa: BLE001 - analyse() meets it again and reports it for this group
            return None
        role = site.role if site.exists else ""
        sid = self._site_ids.get(id(site))
        if sid is None:
            # equal sites resolved from different site inputs are one site (160 objects, 4 sites
            # over every release and arch): by value, looked up by id (the memo keeps them alive)
            sid = self._site_ids[id(site)] = self._site_values.setdefault(site, len(self._site_values))
        if role == "flags":
            if base is not word and not word.last_cpupid_in_flags:
                return None  # _page_sizes resolves struct page for this config
            return (self._word_part(word, base, True), sid, bool(config.get("MEM_ALLOC_PROFILING")),
                    bool(config.get("MEM_PROFILING_COMPRESSED")), bool(config.get("CHECK_PAGES")))
        if role == "pointer":
            pw = load_word_facts().pointers.get(site.anchor or "")
            env_key = tuple(config.get(s) for s in sorted(_pointer_symbols(pw))) if pw else ()
            return (self._word_part(word, base, False), sid, env_key)
        if role in ("page_type", "plain", ""):
            return (self._word_part(word, base, False), sid)
        return None

    def _word_part(self, word: FlagsWord, base: FlagsWord, rules_read: bool) -> tuple[Any, ...]:
        """The packing's share of a class key. The words themselves (their ids) in general.
        When no flag is added and every name the expression reads is NR_PAGEFLAGS,
        BITS_PER_LONG, a constant or a page flag or alias, the value depends on the word's
        bits and which flags and aliases it has (the shape `flags.packing` builds it from:
        their bit numbers, NR_PAGEFLAGS, and the aliases c_names() adds), and the
        page->flags rules read only the flags, the fields, the gap, the kernel's count, the
        allocation-tag note and four masks (`rules.flag_bits_inputs`): those facts, so
        releases and packings that agree on them share the analysis (a domain over every
        release and arch has 190k words)."""
        names = self._facts_names()
        if base is not word or names is None or word._shape is None:
            return (id(word), id(base))
        if not rules_read:
            return ("value", word.bits, word._shape)
        memo = self.config_memo
        assert memo is not None
        fkey = ("facts", id(word.fields), id(word.masks))
        facts = memo.get(fkey)
        if facts is None:
            # the fields list is the packing's own (shared by its copies per release), the
            # masks dict one per mask shape; the words the memo holds keep both alive
            facts = memo[fkey] = flag_facts(word)
        return ("facts", facts)

    def _facts_names(self) -> tuple[str, ...] | None:
        """The flag and alias names the expression reads, when every other name it reads is
        one the word alone decides (NR_PAGEFLAGS, BITS_PER_LONG, a constant); None otherwise."""
        if self._facts_names_cache is None:
            from mmbits.prover.expr import _constant_names

            plain = {"NR_PAGEFLAGS", "__NR_PAGEFLAGS", "BITS_PER_LONG"} | set(_constant_names())
            flag_names = load_flag_data().all_names()
            idents = self.xp.idents
            ok = all(i in plain or i in flag_names for i in idents) and not self.xp.new_flags
            self._facts_names_cache = (tuple(i for i in idents if i not in plain),) if ok else (None,)
        return self._facts_names_cache[0]

    def ask_for(self, site: Site) -> Ask:
        if self.ask_base.kind_given or not site.exists:
            return self.ask_base
        kinds = default_kinds(self.struct, site.page_index)
        if kinds == self.ask_base.kinds:
            return self.ask_base
        return self.ask_base._replace(kinds=kinds, kind_given=False)

    def analyse(self, config: Config, shared: Any = None) -> tuple[list[Hit], Value, Site]:
        """The hits, the expression's value and the site on `config`. `shared`: the class's
        answer key (`classes.answer_keys`; equal keys, equal analyses), which then keys the
        page->flags rules' cache instead of `rules.flag_bits_inputs`: the engine analyses
        one class per key, so those inputs, read again bit by bit off the packing, were
        work for nothing (~5% of a new question)."""
        word = self.flags_word(config, len(self.xp.new_flags))
        ev = self.xp.evaluate(config, word)
        if not self.word:
            return self._generic(ev, _NO_SITE, self.ask_base), ev, _NO_SITE
        site = self.site(config)
        if not site.exists:
            return self._absent(), ev, site
        ask = self.ask_for(site)
        hits = self._generic(ev, site, ask)
        if ev.value is None:
            return hits, ev, site
        value = ev.value & ((1 << site.bits) - 1)
        key: tuple[Any, ...]
        if site.role == "flags":
            base = self.flags_word(config, 0) if self.xp.new_flags else word
            # an answer key is only made when no flag is added (base is word, inputs not None)
            inputs = ("answer", shared) if shared is not None and base is word else \
                rules.flag_bits_inputs(word, base, site, value, config)
            # with new flags the rules read both packings whole: key on the words (kept in
            # the cached entry, so these ids stay theirs); otherwise on what they read of
            # the packing for these bits, which thousands of packings share
            # struct page's size before and after, when the new flags push LAST_CPUPID out
            sizes = self._page_sizes(config) if base is not word and not word.last_cpupid_in_flags else None
            key = ("flags", (id(word), id(base)), sizes, site, value, ask.kinds,
                   bool(config.get("MEM_ALLOC_PROFILING")), bool(config.get("MEM_PROFILING_COMPRESSED")),
                   bool(config.get("CHECK_PAGES"))) if inputs is None else \
                ("flag-bits", site, value, ask.kinds, inputs)
            return self._joined(hits, self._flag_hits(key, word, base, site, value, ask, config, sizes)), ev, site
        if site.role == "page_type":
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
        return self._joined(hits, cached[1]), ev, site

    def analyse_facts(self, word: FlagFacts, env: Mapping[str, bool], site: Site, ev: Value,
                      shared: Any) -> tuple[list[Hit], Value, Site]:
        """`analyse(config, shared)` of a page->flags class from what the class table keeps
        of it (`bittable.AnswerKeys.inputs`, prover.classfacts): its packing's facts, the
        three symbols its class key holds, its site and the expression's value on it, which
        are all the analysis reads of the config (`class_key`); no Config, no packing."""
        ask = self.ask_for(site)
        hits = self._generic(ev, site, ask)
        if ev.value is None:
            return hits, ev, site
        value = ev.value & ((1 << site.bits) - 1)
        key = ("flag-bits", site, value, ask.kinds, ("answer", shared))
        return self._joined(hits, self._flag_hits(key, word, word, site, value, ask, env, None)), ev, site

    def _flag_hits(self, key: tuple[Any, ...], word: FlagsWord | FlagFacts, base: FlagsWord | FlagFacts, site: Site,
                   value: int, ask: Ask, env: Mapping[str, Any], sizes: tuple[int, int] | None) -> list[Hit]:
        """The page->flags rules' hits, cached on `key` (what they read)."""
        cached = self._analyses.get(key)
        if cached is None:
            found = rules.analyse_flags(word, base, site, value, ask, env, sizes)  # type: ignore[arg-type]
            found += rules.analyse_arms(site, value, ask)
            cached = self._analyses[key] = ((word, base), found)  # the words keep the ids in `key` theirs
        return cached[1]

    def _joined(self, generic: list[Hit], role: list[Hit]) -> list[Hit]:
        """generic + role hits, one list per pair (both are cached lists): equal answers are
        one object, so the engine sums the classes that share one (do not modify)."""
        if not role:
            return generic
        if not generic:
            return role
        key = (id(generic), id(role))
        hit = self._joins.get(key)
        if hit is None:
            hit = self._joins[key] = (generic, role, generic + role)
        return hit[2]

    def _absent(self) -> list[Hit]:
        key = ("absent",)
        cached = self._analyses.get(key)
        if cached is None:
            cached = self._analyses[key] = (None, [Hit(
                "missing-member", "absent-word",
                f"{self.ask_base.label} does not exist in this config: the proposal cannot apply there",
                self.ask_base.label, "note", self.ask_base.label)])
        return cached[1]

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


def flag_facts(word: FlagsWord) -> tuple[Any, ...]:
    """What the page->flags rules read of a packing when no flag is added (`Prover._word_part`):
    equal facts, equal analyses. The flag shape is the packing's (None: no facts)."""
    masks = word.masks
    return (word.bits, word._shape, tuple(word.fields), word.gap, word.nr_unused_kernel, word.alloc_tag_note,
            *(masks.get(m, 0) for m in rules.FLAG_MASKS_READ))


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
            from mmbits.bitexpr import c_types

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


def prepare(proposal: Proposal, defines: Mapping[str, str] | None = None, new_flags: Sequence[str] = (),
            lset: LayoutSet | None = None, probe: Config | None = None) -> Prover:
    shipped = lset is None
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
    raw: frozenset[str] | None = None
    if word:
        raw = _known_word(lset, struct, word, probe, shipped)
    kinds = (proposal.kind,) if proposal.kind else default_kinds(struct, 0)
    selfs = self_names(proposal, new_flags)
    bare = xp.bare_name
    type_value = any(n.startswith("PGTY_") for n in (proposal.name or "", bare or ""))
    label = f"{proposal.struct}.{proposal.field}" if word else proposal.expr
    ask = Ask(label, kinds, proposal.kind is not None, selfs, type_value, as_name=proposal.name)
    return Prover(proposal, struct, word, xp, lset, ask, model_symbols(raw) if raw is not None else frozenset(),
                  shipped=shipped, raw_site_syms=raw)


def _known_word(lset: LayoutSet, struct: str, word: str, probe: Config | None, shipped: bool) -> frozenset[str]:
    """Check the word is one of its struct's (bad input otherwise) and give its site's
    symbols (`site.raw_site_symbols`); for the shipped layouts both kept on disk when the
    word is in its struct's spec whatever the config (prover.wordstore), so a new
    question on a known word reads no layout file."""
    from mmbits.prover import wordstore

    raw = wordstore.load_word(struct, word) if shipped else None
    if raw is not None:
        return raw
    check_word_name(lset, struct, word, probe if probe is not None else _probe_config())
    raw = raw_site_symbols(lset, struct, word)
    if shipped and word_in_spec(lset, struct, word):
        wordstore.store_word(struct, word, raw)
    return raw


def _probe_config() -> Config:
    from mmbits.cli.common import DEFAULT_PRESET
    from mmbits.kconfig.presets import preset

    return preset(DEFAULT_PRESET)


def relevant_symbols(prover: Prover, domain: Any = None, config: Config | None = None) -> set[str]:
    """Symbols a domain proof groups on: the site, each role the word takes somewhere, the expression.

    A symbol that only moves the word's site (SPINLOCK_SIZE moves ptdesc's ptl, not its
    pt_flags) is dropped when, over the whole domain, the site is the same wherever the
    other symbols agree: it cannot change the answer, so it does not split the groups."""
    if domain is None or not prover.shipped:
        return _relevant_symbols(prover, domain, config)
    from mmbits.prover import wordstore

    key = wordstore.relevant_key(domain, prover.struct, prover.word,
                                 (prover.xp.config_dependent(), bool(prover.xp.new_flags)))
    found = wordstore.load_relevant(key)
    if found is None:
        found = _relevant_symbols(prover, domain, config)
        wordstore.store_relevant(key, found)
    return found


def _relevant_symbols(prover: Prover, domain: Any, config: Config | None) -> set[str]:
    other = {"BITS_PER_LONG", "ARCH"}
    if prover.xp.config_dependent():
        other |= set(INPUT_SYMBOLS)
    roles: set[str] = set()
    anchors: set[str] = set()
    probes: list[Config] = []
    if prover.word:
        roles, anchors, probes = _roles(prover, domain, config)
    if "flags" in roles:
        # DEBUG_VM: whether the free-time checks catch a flag left set ("Bad page state")
        other |= set(INPUT_SYMBOLS) | {"DEBUG_VM"}
    if "pointer" in roles:
        facts = load_word_facts()
        for a in anchors:
            if a in facts.pointers:
                other |= _pointer_symbols(facts.pointers[a])
    only_site = set(prover.site_syms) - other
    # memdesc analyses resolve the whole struct, new flags resize struct page: those read
    # more of the layout than the site, so their site symbols all stay
    if only_site and domain is not None and roles <= {"flags", "page_type", "pointer", "plain"} \
            and not prover.xp.new_flags and _site_follows(prover, probes, sorted(set(prover.site_syms) - only_site)):
        return other
    return other | set(prover.site_syms)


# (domain, layout set, struct, word) -> the roles and anchors the word takes over the domain:
# a patch asks many questions of one word, and the probe groups every site symbol
_ROLES: dict[tuple[Any, ...], tuple[Any, LayoutSet, set[str], set[str], list[Config]]] = {}


def _roles(prover: Prover, domain: Any, config: Config | None) -> tuple[set[str], set[str], list[Config]]:
    """The roles and anchors the word takes, and the configs probed: one per distinct
    assignment of (at least) the site's symbols, so they can stand in for the domain's sites."""
    key = (id(domain), id(prover.lset), prover.struct, prover.word)
    if domain is not None:
        hit = _ROLES.get(key)
        if hit is not None and hit[0] is domain and hit[1] is prover.lset:
            return hit[2], hit[3], hit[4]
    roles: set[str] = set()
    anchors: set[str] = set()
    if domain is not None and prover._needs_env:
        # the site reads the packing, so the probe splits on every packing input: as the
        # proof will when the word holds flags (plus DEBUG_VM). Probing on that grouping,
        # through the engine's cache, lets the proof reuse the groups and the sites found
        from mmbits.prover.engine import cached_groups

        groups, memo = cached_groups(domain, set(prover.site_syms) | set(INPUT_SYMBOLS)
                                     | {"DEBUG_VM", "BITS_PER_LONG", "ARCH"})
        probes = [g.config for g in groups]
        saved, prover.config_memo = prover.config_memo, memo
        try:
            sites = [prover.site(cfg) for cfg in probes]
        finally:
            prover.config_memo = saved
    else:
        probes = [g.config for g in domain.groups(prover.site_syms or {"ARCH"})] if domain is not None else \
            [config] if config is not None else []
        sites = [prover.site_of(cfg) for cfg in probes]
    for s in sites:
        roles.add(s.role)
        if s.anchor:
            anchors.add(s.anchor)
    if domain is not None:
        if len(_ROLES) >= 64:
            _ROLES.pop(next(iter(_ROLES)))
        _ROLES[key] = (domain, prover.lset, roles, anchors, probes)
    return roles, anchors, probes


def _site_follows(prover: Prover, probes: list[Config], kept: list[str]) -> bool:
    """Whether every probe config's site is determined by the `kept` symbols' values.
    `probes` are the domain grouped on all the site's symbols: one per distinct site input."""
    seen: dict[tuple[Any, ...], Site] = {}
    for cfg in probes:
        key = tuple(cfg.get(s) for s in kept)
        site = prover.site_of(cfg)
        if seen.setdefault(key, site) != site:
            return False
    return True
