"""Config domains: every valid combination over declared ranges, counted fast.

A domain is far too big to lay out config by config, and most options do not
touch a given question (MEMCG does not move a page->flags bit). So a domain
part is split into *components*: groups of varied symbols tied together by a
Kconfig rule. Validity factorises over components, so each component's valid
assignments are enumerated once. An analysis names the symbols it reads; only
the components holding those are enumerated jointly, and the rest contribute a
multiplicity. `groups()` yields one representative Config per distinct
assignment of the relevant symbols, with how many domain configs it stands for.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from math import prod

from mmbits.cexpr import Expr, ExprError, Value, suggest
from mmbits.errors import InputError
from mmbits.kconfig.config import Config
from mmbits.kconfig.model import KconfigModel, Rule, load_model
from mmbits.paths import DEFAULT_KERNEL, version_dir
from mmbits.yamlio import LDict, load_file

_RELEASE_NAME = re.compile(r"^v?\d+\.\d+$")


@dataclass(frozen=True)
class Group:
    """A representative config and the number of domain configs it stands for."""

    config: Config
    count: int
    part: str


@dataclass
class DomainPart:
    name: str
    arch: str
    vary: tuple[tuple[str, tuple[Value, ...]], ...]
    sets: tuple[tuple[str, Expr], ...]
    model: KconfigModel
    _components: list[_Component] | None = None
    _base_rules_ok: bool | None = None

    @property
    def var_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.vary)

    def raw_size(self) -> int:
        return prod(len(v) for _, v in self.vary)

    def primary(self, assignment: Mapping[str, Value]) -> dict[str, Value]:
        values: dict[str, Value] = {"ARCH": self.arch}
        values.update(assignment)
        env = dict(values)
        for name, expr in self.sets:
            env[name] = values[name] = expr(env)
        return values

    # -- components ---------------------------------------------------------
    def _owners(self, symbols: Iterable[str]) -> set[str]:
        """The varied symbols behind a set of symbols (through derived and `set`)."""
        prims = self.model.primaries_behind(symbols)
        owners = {p for p in prims if p in dict(self.vary)}
        for name, expr in self.sets:
            if name in prims:
                owners |= self._owners(expr.symbols) if expr.symbols else set()
        return owners

    def components(self) -> list[_Component]:
        if self._components is not None:
            return self._components
        names = self.var_names
        parent = {n: n for n in names}

        def find(n: str) -> str:
            while parent[n] != n:
                parent[n] = parent[parent[n]]
                n = parent[n]
            return n

        rule_vars: list[tuple[Rule, set[str]]] = []
        for rule in self.model.rules:
            owners = self._owners(rule.symbols)
            rule_vars.append((rule, owners))
            owned = sorted(owners)
            for a, b in itertools.pairwise(owned):
                parent[find(a)] = find(b)
        groups: dict[str, list[str]] = {}
        for n in names:
            groups.setdefault(find(n), []).append(n)
        base = {n: vals[0] for n, vals in self.vary}
        comps = []
        for members in groups.values():
            rules = [r for r, owners in rule_vars if owners and owners <= set(members)]
            comps.append(_Component(self, tuple(members), tuple(rules)))
        # rules with no varied symbol hold or fail for the whole part
        fixed_rules = [r for r, owners in rule_vars if not owners]
        env = self.model.complete(self.model.primary_of(self.primary(base)))
        self._base_rules_ok = all(r.holds(env) for r in fixed_rules)
        self._components = comps
        return comps

    def size(self) -> int:
        comps = self.components()
        if not self._base_rules_ok:
            return 0
        return prod(len(c.valid()) for c in comps)

    def groups(self, relevant: Iterable[str]) -> Iterator[Group]:
        comps = self.components()
        if not self._base_rules_ok:
            return
        rel_vars = self._owners(relevant)
        joint = [c for c in comps if set(c.members) & rel_vars]
        others = [c for c in comps if c not in joint]
        multiplier = prod(len(c.valid()) for c in others)
        if multiplier == 0 or any(not c.valid() for c in joint):
            return
        rest: dict[str, Value] = {}
        for c in others:
            rest.update(c.valid()[0])
        rel_order = [n for n in self.var_names if n in rel_vars]
        counts: dict[tuple[Value, ...], int] = {}
        firsts: dict[tuple[Value, ...], dict[str, Value]] = {}
        for combo in itertools.product(*(c.valid() for c in joint)):
            assignment: dict[str, Value] = {}
            for part in combo:
                assignment.update(part)
            key = tuple(assignment[n] for n in rel_order)
            if key in counts:
                counts[key] += 1
            else:
                counts[key] = 1
                firsts[key] = assignment
        maker = self._maker(tuple(m for c in joint for m in c.members), rest,
                            firsts[next(iter(counts))] if counts else {})
        for key, count in counts.items():
            values = dict(rest)
            values.update(firsts[key])
            yield Group(maker(values), count * multiplier, self.name)

    def _maker(self, varying: tuple[str, ...], rest: Mapping[str, Value],
               first: Mapping[str, Value]) -> Callable[[Mapping[str, Value]], Config]:
        """Build the configs of one grouping fast: the symbols that stay fixed are computed
        once, and per config only the varied primaries (with the `set:` symbols read from
        them) and the derived symbols behind those are recomputed, in the model's order.
        Equal, value for value, to `model.make_unchecked(self.primary(values))`."""
        model = self.model
        base_values = dict(rest)
        base_values.update(first)
        base_primary = model.primary_of(self.primary(base_values))
        base_env = model.complete(base_primary)
        arch = model.archs[self.arch]
        changing = set(varying)  # ARCH is the part's: every derived symbol reads it, none changes with it
        changing |= {n for n, e in self.sets if self._owners(e.symbols) & set(varying)}
        # every name in the part's assignment that a config may change: the varied symbols
        # of the joint components and the `set:` symbols read from them (only those differ
        # from the base; every other varied symbol holds `rest`'s value in every group)
        names = tuple(n for n in base_primary if n in changing)
        facts = arch.facts
        derived = [(n, e) for n, e in (*arch.derived, *model.derived) if model.primaries_behind([n]) & changing]
        sets = self.sets

        def make(values: Mapping[str, Value]) -> Config:
            primary = dict(base_primary)
            env = dict(base_env)
            assigned = dict(values)
            for name, expr in sets:
                assigned[name] = expr(assigned)
            for name in names:
                value = assigned.get(name, base_primary[name])
                primary[name] = value
                if name not in facts:
                    env[name] = value
            for name, expr in derived:
                env[name] = expr(env)
            return Config.adopt(env, primary, None)

        return make

    def configs(self) -> Iterator[Config]:
        """Every valid config of the part, one by one (slow; for tests and sampling)."""
        comps = self.components()
        if not self._base_rules_ok:
            return
        for combo in itertools.product(*(c.valid() for c in comps)):
            values: dict[str, Value] = {}
            for part in combo:
                values.update(part)
            yield self.model.make_unchecked(self.primary(values))


@dataclass
class _Component:
    part: DomainPart
    members: tuple[str, ...]
    rules: tuple[Rule, ...]
    _valid: list[dict[str, Value]] | None = field(default=None, repr=False)

    def valid(self) -> list[dict[str, Value]]:
        if self._valid is not None:
            return self._valid
        vary = dict(self.part.vary)
        base = {n: vals[0] for n, vals in self.part.vary}
        model = self.part.model
        # the full env once; per combination only the primaries and the derived
        # symbols that read them change (a multi-release domain has large
        # components: recomputing every derived symbol each time dominated)
        base_env = model.complete(model.primary_of(self.part.primary(base)))
        arch = model.archs[self.part.arch]
        touched = set(self.members) | {n for n, e in self.part.sets if self.part._owners(e.symbols) & set(self.members)}
        derived = [(n, e) for n, e in (*arch.derived, *model.derived)
                   if model.primaries_behind([n]) & touched]
        fixed_facts = set(arch.facts)
        out = []
        for combo in itertools.product(*(vary[m] for m in self.members)):
            assignment = dict(zip(self.members, combo, strict=True))
            values = dict(base)
            values.update(assignment)
            env = dict(base_env)
            for name, value in self.part.primary(values).items():
                if name not in fixed_facts:
                    env[name] = value
            for name, expr in derived:
                env[name] = expr(env)
            if all(r.holds(env) for r in self.rules):
                out.append(assignment)
        self._valid = out
        return out


@dataclass
class Domain:
    name: str
    doc: str
    parts: list[DomainPart]
    fixed: list[Config] = field(default_factory=list)

    def size(self) -> int:
        return sum(p.size() for p in self.parts) + len(self.fixed)

    def raw_size(self) -> int:
        return sum(p.raw_size() for p in self.parts) + len(self.fixed)

    def groups(self, relevant: Iterable[str]) -> Iterator[Group]:
        relevant = tuple(relevant)
        for part in self.parts:
            yield from part.groups(relevant)
        for cfg in self.fixed:
            yield Group(cfg, 1, cfg.name or "preset")

    def configs(self) -> Iterator[Config]:
        for part in self.parts:
            yield from part.configs()
        yield from self.fixed

    def at_release(self, release: int) -> Domain:
        """The same domain with the kernel release fixed (--kernel with --domain)."""
        parts = [p for p in (_with_releases(p, (release,)) for p in self.parts) if p is not None]
        fixed = [c for c in self.fixed if c.kernel == release]
        return Domain(self.name, self.doc, parts, fixed)

    def releases(self) -> list[int]:
        """The kernel releases the domain spans."""
        out: set[int] = {c.kernel for c in self.fixed}
        for p in self.parts:
            vary = dict(p.vary)
            if "VERSION" in vary:
                out |= {int(v) for v in vary["VERSION"]}
            else:
                out.add(int(p.model.symbols["VERSION"].default))
        return sorted(out)


def _with_releases(part: DomainPart, releases: tuple[int, ...]) -> DomainPart | None:
    """`part` with VERSION varied over `releases` (kept to those it already allows)."""
    vary = dict(part.vary)
    if "VERSION" in vary:
        releases = tuple(r for r in vary["VERSION"] if r in releases)
        if not releases:
            return None
    new_vary = tuple((n, v) for n, v in part.vary if n != "VERSION") + (("VERSION", releases),)
    return DomainPart(part.name, part.arch, new_vary, part.sets, part.model)


def _release_list(spec: object, model: KconfigModel, path: str, line: int | None) -> tuple[int, ...]:
    """`kernels: all | lts | [6.1, "6.12", ...]` of a domain."""
    sym = model.symbols["VERSION"]
    if spec == "all":
        return model.releases
    if spec == "lts":
        return tuple(r for r in model.releases if r in LTS)
    if not isinstance(spec, list) or not spec:
        raise InputError("kernels: expected all, lts or a list of releases", file=path, line=line)
    try:
        return tuple(int(sym.coerce(v)) for v in spec)
    except InputError as exc:
        raise InputError(exc.message, file=path, line=line) from None


# the longterm releases in the modelled span (kernel.org/category/releases.html)
LTS = frozenset({6001, 6006, 6012, 6018})


def _part(name: str, spec: LDict, model: KconfigModel, path: str) -> DomainPart:
    arch = str(spec.get("arch", ""))
    if arch not in model.archs:
        raise InputError(f"domain part {name}: unknown arch {arch!r}", file=path, line=spec.line)
    vary = []
    for sym, values in (spec.get("vary") or {}).items():
        if sym not in model.symbols:
            raise InputError(f"domain part {name}: unknown symbol {sym}{suggest(sym, model.symbols)}",
                             file=path, line=spec["vary"].line_of(sym))
        if not isinstance(values, list) or not values:
            raise InputError(f"domain part {name}: {sym} needs a non-empty list", file=path,
                             line=spec["vary"].line_of(sym))
        vary.append((str(sym), tuple(model.symbols[sym].coerce(v, f"{sym}=") for v in values)))
    sets: list[tuple[str, Expr]] = []
    for sym, text in (spec.get("set") or {}).items():
        if sym not in model.symbols:
            raise InputError(f"domain part {name}: unknown symbol {sym}", file=path, line=spec["set"].line_of(sym))
        try:
            expr = Expr(str(text))
            expr.check_names([n for n, _ in vary] + [n for n, _ in sets])
        except ExprError as exc:
            raise InputError(f"domain part {name}: {sym}: {exc}", file=path, line=spec["set"].line_of(sym)) from None
        sets.append((str(sym), expr))
    return DomainPart(f"{name}:{arch}", arch, tuple(vary), tuple(sets), model)


@cache
def load_domain(name: str, version: str = DEFAULT_KERNEL) -> Domain:
    path = version_dir(version) / "domains.yaml"
    doc = load_file(path)
    if name not in doc and _RELEASE_NAME.match(name):
        # a release name ("6.12") is the default domain at that release
        from mmbits.kconfig.release import parse_release

        model = load_model(version)
        release = int(model.symbols["VERSION"].coerce(parse_release(name, "domain ")))
        base = load_domain("default", version).at_release(release)
        return Domain(name, f"the default domain at Linux {name}", base.parts, base.fixed)
    if name not in doc:
        raise InputError(f"unknown domain {name!r}{suggest(name, doc)}; known: {', '.join(doc)}")
    spec = doc[name]
    model = load_model(version)
    parts: list[DomainPart] = []
    fixed: list[Config] = []
    if spec.get("presets") == "all":
        from mmbits.kconfig.presets import preset, preset_names

        fixed = [preset(n, version) for n in preset_names(version)]
    for i, pspec in enumerate(spec.get("parts") or []):
        if "ref" in pspec:
            dom_name, _, arch = str(pspec["ref"]).partition(":")
            parts += [p for p in load_domain(dom_name, version).parts if p.arch == arch]
            continue
        parts.append(_part(name, pspec, model, str(path)))
        del i
    if "kernels" in spec:
        releases = _release_list(spec["kernels"], model, str(path), spec.line_of("kernels"))
        parts = [p for p in (_with_releases(p, releases) for p in parts) if p is not None]
    return Domain(name, str(spec.get("doc", "")), parts, fixed)


def domain_names(version: str = DEFAULT_KERNEL) -> list[str]:
    return list(load_file(version_dir(version) / "domains.yaml"))
