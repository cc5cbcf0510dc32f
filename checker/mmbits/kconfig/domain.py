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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from math import prod
from operator import itemgetter
from typing import Any

from mmbits.cexpr import Expr, Value, data_expr, suggest
from mmbits.errors import InputError
from mmbits.kconfig import index
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
    _size: int | None = None

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

    def identity(self) -> tuple[Any, ...]:
        """What the part is, for cache keys (the data stamp covers the model behind it)."""
        return (self.model.version, self.name, self.arch, self.vary, tuple((n, e.text) for n, e in self.sets))

    def size(self) -> int:
        if self._size is None:
            key = index.key_of(self.identity(), "size")
            body = index.load(key)
            size = body.get("size") if body is not None else None
            if not isinstance(size, int) or size < 0:
                size = self._count()
                index.store(key, {"size": size})
            self._size = size
        return self._size

    def _count(self) -> int:
        comps = self.components()
        if not self._base_rules_ok:
            return 0
        return prod(len(c.valid()) for c in comps)

    def groups(self, relevant: Iterable[str]) -> Iterator[Group]:
        """One representative config per distinct assignment of the varied symbols behind
        `relevant`, with how many of the part's valid configs it stands for. Read from the
        on-disk index when this part was grouped on these symbols before (kconfig.index)."""
        body = self._rows(relevant)
        make = self._config_maker(body)
        for row in body["rows"]:
            yield Group(make(row), row[0], self.name)

    def grouped(self, relevant: Iterable[str],
                names: Sequence[str]) -> Iterator[tuple[int, tuple[Value, ...], Callable[[], Config]]]:
        """The groups of `groups(relevant)` without building their configs: each group's
        count, the values of `names` (0 for a symbol the config lacks, as `env.get(name, 0)`)
        and a function that builds the config when one is wanted (an example to print).
        For whole-domain summaries, which read a few symbols of 100k groups."""
        body = self._rows(relevant)
        make = self._config_maker(body)
        env_names, base_env = body["env_names"], body["base_env"]
        width = 1 + len(body["names"]) + len(env_names)
        at = {n: i for i, n in enumerate(env_names)}
        consts: list[Value] = []
        positions: list[int] = []
        for name in names:
            if name in at:
                positions.append(1 + len(body["names"]) + at[name])
            else:
                positions.append(width + len(consts))
                consts.append(base_env.get(name, 0))
        pick = itemgetter(*positions)
        single = len(positions) == 1
        for row in body["rows"]:
            values = pick(row + consts)
            yield row[0], ((values,) if single else values), partial(make, row)

    def _rows(self, relevant: Iterable[str]) -> dict[str, Any]:
        rel_vars = self._owners(relevant)
        key = index.key_of(self.identity(), ["groups", *sorted(rel_vars)])
        body = index.load(key)
        if body is None or not index.valid_groups(body):
            body = self._group_rows(rel_vars)
            index.store(key, body)
        return body

    @staticmethod
    def _config_maker(body: Mapping[str, Any]) -> Callable[[list[Any]], Config]:
        names, env_names = body["names"], body["env_names"]
        base_primary, base_env = body["base_primary"], body["base_env"]
        split = 1 + len(names)

        def make(row: list[Any]) -> Config:
            primary = dict(base_primary)
            primary.update(zip(names, row[1:split], strict=True))
            env = dict(base_env)
            env.update(zip(env_names, row[split:], strict=True))
            return Config.adopt(env, primary, None)

        return make

    def _group_rows(self, rel_vars: set[str]) -> dict[str, Any]:
        """The groups as rows of the symbols that differ from a base config (see
        kconfig.index): only the varied primaries of the joint components (with the `set:`
        symbols read from them) and the derived symbols behind those are recomputed per
        group, in the model's order, so each equals `model.make_unchecked(primary)`."""
        empty: dict[str, Any] = {"names": [], "env_names": [], "rows": [], "base_primary": {}, "base_env": {}}
        comps = self.components()
        if not self._base_rules_ok:
            return empty
        joint = [c for c in comps if set(c.members) & rel_vars]
        others = [c for c in comps if c not in joint]
        multiplier = prod(len(c.valid()) for c in others)
        if multiplier == 0 or any(not c.valid() for c in joint):
            return empty
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
        model = self.model
        base_values = dict(rest)
        base_values.update(firsts[next(iter(counts))])
        base_primary = model.primary_of(self.primary(base_values))
        base_env = model.complete(base_primary)
        arch = model.archs[self.arch]
        varying = {m for c in joint for m in c.members}
        # ARCH is the part's: every derived symbol reads it, none changes with it
        changing = varying | {n for n, e in self.sets if self._owners(e.symbols) & varying}
        names = [n for n in base_primary if n in changing]
        derived = [(n, e) for n, e in (*arch.derived, *model.derived) if model.primaries_behind([n]) & changing]
        in_env = [n for n in names if n not in arch.facts]
        env_names = in_env + [n for n, _ in derived]
        rows: list[list[Any]] = []
        for key, count in counts.items():
            assigned = dict(rest)
            assigned.update(firsts[key])
            for name, expr in self.sets:
                assigned[name] = expr(assigned)
            env = dict(base_env)
            for name in in_env:
                env[name] = assigned.get(name, base_primary[name])
            for name, expr in derived:
                env[name] = expr(env)
            rows.append([count * multiplier, *(assigned.get(n, base_primary[n]) for n in names),
                         *(env[n] for n in env_names)])
        return {"names": names, "env_names": env_names, "rows": rows,
                "base_primary": base_primary, "base_env": base_env}

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
        expr = data_expr(text, [n for n, _ in vary] + [n for n, _ in sets], path, spec["set"].line_of(sym),
                         f"expression for {sym} in domain part {name}")
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
