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
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache, cached_property, partial
from math import prod
from operator import itemgetter
from typing import Any

from mmbits.byvalue import ByValue
from mmbits.cexpr import Expr, Value, data_expr, suggest
from mmbits.errors import InputError
from mmbits.kconfig import index
from mmbits.kconfig.config import Config
from mmbits.kconfig.model import KconfigModel, Rule, load_model
from mmbits.paths import DEFAULT_KERNEL, version_dir
from mmbits.yamlio import LDict, load_file

_RELEASE_NAME = re.compile(r"^v?\d+\.\d+$")


class Group(ByValue):
    """A representative config and the number of domain configs it stands for. (A plain
    class, immutable by convention: every check imports it, and a dataclass compiles its
    methods at import.)"""

    __slots__ = ("config", "count", "part")

    def __init__(self, config: Config, count: int, part: str):
        self.config = config
        self.count = count
        self.part = part

    def _fields(self) -> tuple[Config, int, str]:
        return (self.config, self.count, self.part)

    def __repr__(self) -> str:
        return f"Group(config={self.config!r}, count={self.count!r}, part={self.part!r})"


class GroupTable:
    """A part's groups: `counts[j]` configs stand for `rows[j]` (a tuple of values);
    `positions[i]` is where `names[i]` sits in a row, or None when it is the same in every
    group (`consts[i]`); `make(row)` builds the group's representative config. Read only.
    (A plain class: every check imports it, and a dataclass compiles its methods at import.)"""

    def __init__(self, counts: list[int], rows: list[tuple[Any, ...]], positions: tuple[int | None, ...],
                 consts: tuple[Value | None, ...], make: Callable[[tuple[Any, ...]], Config]):
        self.counts = counts
        self.rows = rows
        self.positions = positions
        self.consts = consts
        self.make = make

    def __repr__(self) -> str:
        return f"GroupTable({len(self.rows)} rows, positions={self.positions!r})"

    def values(self, row: tuple[Any, ...]) -> tuple[Value, ...]:
        """The values of the names in one row (the constants appended, one C-level get)."""
        return self._getter(row + self._tail)

    @cached_property
    def _tail(self) -> tuple[Value | None, ...]:
        return tuple(c for p, c in zip(self.positions, self.consts, strict=True) if p is None)

    @cached_property
    def _getter(self) -> Callable[[tuple[Any, ...]], tuple[Value, ...]]:
        width = len(self.rows[0]) if self.rows else 0
        at, k = [], 0
        for p in self.positions:
            if p is None:
                at.append(width + k)
                k += 1
            else:
                at.append(p)
        return _getter(at)


class ProductTable:
    """A part's groups in product form (`DomainPart._group_rows`), not expanded: group j is
    the j-th item of the product of the factors in `itertools.product` order (the last
    factor fastest), its row its factors' values then its cross values, as `_expand`
    builds them all; `make(row)` builds its config."""

    def __init__(self, body: Mapping[str, Any], make: Callable[[tuple[Any, ...]], Config]):
        self.make = make
        self._body = body
        self._expanded: tuple[list[int], list[tuple[Any, ...]]] | None = None
        factors = body["factors"]
        self._multiplier: int = body["multiplier"]
        self._counts: list[list[int]] = [f["counts"] for f in factors]
        self._values = [[tuple(v) for v in f["values"]] for f in factors]
        self._sizes = [len(c) for c in self._counts]
        cross = body["cross"]
        self._cross_comps: list[int] = list(cross["comps"])
        self._cross = [tuple(v) for v in cross["values"]]
        self._len = prod(self._sizes) if self._multiplier else 0

    def __len__(self) -> int:
        return self._len

    def total(self) -> int:
        """How many configs the groups stand for."""
        return self._multiplier * prod(sum(c) for c in self._counts) if self._len else 0

    def _indices(self, j: int) -> list[int]:
        if not 0 <= j < self._len:
            raise IndexError(j)
        out = [0] * len(self._sizes)
        for f in range(len(self._sizes) - 1, -1, -1):
            j, out[f] = divmod(j, self._sizes[f])
        return out

    def expand(self) -> None:
        """Expand the product once (C-level, as `_expand`): cheaper than computing each
        group alone when most of them are asked for (a pass over the groups)."""
        if self._expanded is None:
            self._expanded = _expand(self._body)

    def count(self, j: int) -> int:
        if self._expanded is not None:
            return self._expanded[0][j]
        return self._count_at(self._indices(j))

    def _count_at(self, at: list[int]) -> int:
        return self._multiplier * prod(c[i] for c, i in zip(self._counts, at, strict=True))

    def group(self, j: int) -> tuple[int, tuple[Any, ...]]:
        """(count, row) of group j: one pass over its factors' indices for both."""
        if self._expanded is not None:
            return self._expanded[0][j], self._expanded[1][j]
        at = self._indices(j)
        return self._count_at(at), self._row_at(at)

    def values(self, names: Sequence[str], default: Any = None) -> Iterator[tuple[int, tuple[Any, ...]]]:
        """Each group's count and what its config's `get(name, default)` gives for `names`,
        in order, without building the configs (`make` adopts the part's base values
        updated with the row's `env` columns: a name is its column or the base's value).
        A pass over a word's 14k groups that builds each config costs a third of a second."""
        self.expand()
        assert self._expanded is not None
        body = self._body
        at = {n: i for i, n in enumerate(body["columns"])}
        env, base = set(body["env"]), body["base_env"]
        width = len(body["columns"])
        missing = [n for n in names if n not in env]
        consts = tuple(base.get(n, default) for n in missing)
        pick = _getter([at[n] if n in env else width + missing.index(n) for n in names])
        counts, rows = self._expanded
        if consts:
            return zip(counts, map(pick, (row + consts for row in rows)), strict=True)
        return zip(counts, map(pick, rows), strict=True)

    def row(self, j: int) -> tuple[Any, ...]:
        if self._expanded is not None:
            return self._expanded[1][j]
        return self._row_at(self._indices(j))

    def _row_at(self, at: list[int]) -> tuple[Any, ...]:
        row = tuple(itertools.chain.from_iterable(v[i] for v, i in zip(self._values, at, strict=True)))
        if self._cross_comps:
            k = 0
            for c in self._cross_comps:
                k = k * self._sizes[c] + at[c]
            row += self._cross[k]
        return row


class DomainPart:
    """One arch block of a domain: the symbols varied and their values, the ones set.
    (A plain class: every check imports it, and a dataclass compiles its methods at import.)"""

    def __init__(self, name: str, arch: str, vary: tuple[tuple[str, tuple[Value, ...]], ...],
                 sets: tuple[tuple[str, Expr], ...], model: KconfigModel):
        self.name = name
        self.arch = arch
        self.vary = vary
        self.sets = sets
        self.model = model
        self._components: list[_Component] | None = None
        self._base_rules_ok: bool | None = None
        self._size: int | None = None
        self._tables: dict[tuple[str, ...], tuple[dict[str, Any], list[int], list[tuple[Any, ...]]]] = {}
        self._bodies: dict[tuple[str, ...], dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"DomainPart(name={self.name!r}, arch={self.arch!r}, vary={self.vary!r}, sets={self.sets!r})"

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
        table = self.table(relevant, ())
        for count, row in zip(table.counts, table.rows, strict=True):
            yield Group(table.make(row), count, self.name)

    def grouped(self, relevant: Iterable[str],
                names: Sequence[str]) -> Iterator[tuple[int, tuple[Value, ...], Callable[[], Config]]]:
        """The groups of `groups(relevant)` without building their configs: each group's
        count, the values of `names` (0 for a symbol the config lacks, as `env.get(name, 0)`)
        and a function that builds the config when one is wanted (an example to print)."""
        table = self.table(relevant, names)
        for count, row in zip(table.counts, table.rows, strict=True):
            yield count, table.values(row), partial(table.make, row)

    def table(self, relevant: Iterable[str], names: Sequence[str]) -> GroupTable:
        """The groups of `groups(relevant)` as rows of values, with where each of `names` is
        in a row: for whole-domain summaries, which read a few symbols of 200k groups and
        aggregate them by count without a call per group."""
        body, counts, rows = self._rows(relevant)
        base_env = body["base_env"]
        at = {n: i for i, n in enumerate(body["columns"])}
        env = set(body["env"])
        positions = tuple(at[n] if n in env else None for n in names)
        consts = tuple(None if n in env else base_env.get(n, 0) for n in names)
        return GroupTable(counts, rows, positions, consts, self._config_maker(body))

    def product(self, relevant: Iterable[str]) -> ProductTable:
        """The groups of `groups(relevant)` in product form, not expanded: group j's count
        and row are computed when asked for (a proof that reads a stored class partition
        asks for a few of 216k groups)."""
        body = self._body(relevant)
        return ProductTable(body, self._config_maker(body))

    def _body(self, relevant: Iterable[str]) -> dict[str, Any]:
        """The groups on `relevant` in product form: from this part's memo, the on-disk
        index, or computed."""
        key = ("groups", *sorted(self._owners(relevant)))
        hit = self._tables.get(key)
        if hit is not None:
            return hit[0]
        body = self._bodies.get(key)
        if body is None:
            ikey = index.key_of(self.identity(), list(key))
            body = index.load(ikey)
            if body is None or not index.valid_groups(body):
                body = self._group_rows(set(key[1:]))
                index.store(ikey, body)
            if len(self._bodies) >= 4:
                self._bodies.clear()
            self._bodies[key] = body
        return body

    def _rows(self, relevant: Iterable[str]) -> tuple[dict[str, Any], list[int], list[tuple[Any, ...]]]:
        """The groups on `relevant`, expanded: from this part's memo, else its product form."""
        key = ("groups", *sorted(self._owners(relevant)))
        hit = self._tables.get(key)
        if hit is None:
            body = self._body(relevant)
            if len(self._tables) >= 4:  # a few questions' groups, not every one a session asked
                self._tables.clear()
            hit = self._tables[key] = (body, *_expand(body))
        return hit

    @staticmethod
    def _config_maker(body: Mapping[str, Any]) -> Callable[[tuple[Any, ...]], Config]:
        at = {n: i for i, n in enumerate(body["columns"])}
        prim, env_names = body["primary"], body["env"]
        base_primary, base_env = body["base_primary"], body["base_env"]
        prim_of = _getter([at[n] for n in prim])
        env_of = _getter([at[n] for n in env_names])

        def make(row: tuple[Any, ...]) -> Config:
            primary = dict(base_primary)
            primary.update(zip(prim, prim_of(row), strict=True))
            env = dict(base_env)
            env.update(zip(env_names, env_of(row), strict=True))
            return Config.adopt(env, primary, None)

        return make

    def _group_rows(self, rel_vars: set[str]) -> dict[str, Any]:
        """The groups in product form (see kconfig.index): validity factorises over
        components, so the groups are the product of each joint component's valid
        assignments projected on `rel_vars` (counts multiply; the first assignment of each
        projection is its representative, which keeps the order and the representatives of
        enumerating the whole product). Per projected assignment a factor holds the values
        of the symbols that follow its component alone: its varied primaries, the `set:`
        symbols and the derived symbols that read only it. The symbols that read several
        components (ARCH_USES_PG_ARCH_2 reads VERSION and X86_PAT) are a `cross` table over
        the product of just those components. Every value is computed in the model's order
        from a base config, so a group's config equals `model.make_unchecked(primary)`."""
        empty: dict[str, Any] = {"columns": [], "primary": [], "env": [], "multiplier": 0, "factors": [],
                                 "cross": {"comps": [], "values": []}, "base_primary": {}, "base_env": {}}
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
        projected = [_project(c.valid(), [n for n in c.members if n in rel_vars]) for c in joint]
        model = self.model
        base_values = dict(rest)
        for proj in projected:
            base_values.update(proj[0][1])
        base_primary = model.primary_of(self.primary(base_values))
        base_env = model.complete(base_primary)
        arch = model.archs[self.arch]
        varying = {m for c in joint for m in c.members}
        # ARCH is the part's: every derived symbol reads it, none changes with it
        changing = varying | {n for n, e in self.sets if self._owners(e.symbols) & varying}
        derived = [(n, e) for n, e in (*arch.derived, *model.derived) if model.primaries_behind([n]) & changing]
        # which joint components each changing symbol follows
        comp_of = {m: i for i, c in enumerate(joint) for m in c.members}
        set_comps = {n: {comp_of[o] for o in self._owners(e.symbols) & varying} for n, e in self.sets if n in changing}

        def homes_of(name: str) -> frozenset[int]:
            found: set[int] = set()
            for p in model.primaries_behind([name]) & changing:
                found |= {comp_of[p]} if p in comp_of else set_comps[p]
            return frozenset(found)

        prim = [n for n in base_primary if n in changing]
        homes = {n: homes_of(n) for n in (*prim, *(d for d, _ in derived))}
        cross_comps = sorted({i for h in homes.values() if len(h) > 1 for i in h})
        slot = {n: (next(iter(h)) if len(h) == 1 else -1) for n, h in homes.items()}
        symbols = [*prim, *(d for d, _ in derived)]
        columns = [n for i in [*range(len(joint)), -1] for n in symbols if slot[n] == i]
        env_cols = [n for n in columns if n not in arch.facts]
        factors = []
        for i, proj in enumerate(projected):
            own = [n for n in columns if slot[n] == i]
            values = [self._values(base_values, base_primary, base_env, [a], own, derived, arch.facts)
                      for _, a in proj]
            factors.append({"counts": [n for n, _ in proj], "values": values})
        own = [n for n in columns if slot[n] == -1]
        cross = [self._values(base_values, base_primary, base_env, [a for _, a in combo], own, derived, arch.facts)
                 for combo in itertools.product(*(projected[i] for i in cross_comps))] if own else []
        return {"columns": columns, "primary": prim, "env": env_cols, "multiplier": multiplier,
                "factors": factors, "cross": {"comps": cross_comps if own else [], "values": cross},
                "base_primary": base_primary, "base_env": base_env}

    def _values(self, base_values: dict[str, Value], base_primary: dict[str, Value], base_env: dict[str, Value],
                assignments: list[dict[str, Value]], own: list[str], derived: list[tuple[str, Expr]],
                facts: Mapping[str, Value]) -> list[Value]:
        """The values of `own` (primaries, then derived symbols) with `assignments` over the
        base config, computed as `model.make_unchecked` would: the `set:` symbols in order,
        then every derived symbol behind the varied ones in the model's order (the other
        components stay at their base values, which `own` does not read)."""
        assigned = dict(base_values)
        for a in assignments:
            assigned.update(a)
        for name, expr in self.sets:
            assigned[name] = expr(assigned)
        env = dict(base_env)
        for name in base_primary:
            if name in assigned and name not in facts:
                env[name] = assigned[name]
        for name, expr in derived:
            env[name] = expr(env)
        return [assigned.get(n, base_primary[n]) if n in base_primary else env[n] for n in own]

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


def _getter(indices: Sequence[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """itemgetter that always returns a tuple (of none, one or several items)."""
    if not indices:
        return lambda _row: ()
    if len(indices) == 1:
        i = indices[0]
        return lambda row: (row[i],)
    return itemgetter(*indices)


def _expand(body: Mapping[str, Any]) -> tuple[list[int], list[tuple[Any, ...]]]:
    """The groups of a product-form body (`_group_rows`): the product of the factors, in
    order, each row its factors' values then its cross values. Built with C-level
    iterators (product, chain, map): 200k rows in a fraction of a second."""
    factors, multiplier = body["factors"], body["multiplier"]
    if not multiplier:
        return [], []
    counts = [multiplier * n for n in map(prod, itertools.product(*(f["counts"] for f in factors)))]
    values = [[tuple(v) for v in f["values"]] for f in factors]
    rows: list[tuple[Any, ...]] = list(map(tuple, map(itertools.chain.from_iterable, itertools.product(*values))))
    cross = body["cross"]
    if cross["comps"]:
        table = dict(zip(itertools.product(*(range(len(factors[i]["counts"])) for i in cross["comps"])),
                         map(tuple, cross["values"]), strict=True))
        pick = _getter(cross["comps"])
        keys = map(pick, itertools.product(*(range(len(f["counts"])) for f in factors)))
        rows = list(map(operator.add, rows, map(table.__getitem__, keys)))
    return counts, rows


def _project(valid: list[dict[str, Value]], keys: list[str]) -> list[tuple[int, dict[str, Value]]]:
    """`valid` grouped on `keys`: (how many, the first assignment) per distinct projection,
    in the order of first occurrence."""
    counts: dict[tuple[Value, ...], int] = {}
    firsts: dict[tuple[Value, ...], dict[str, Value]] = {}
    for assignment in valid:
        key = tuple(assignment[n] for n in keys)
        if key in counts:
            counts[key] += 1
        else:
            counts[key] = 1
            firsts[key] = assignment
    return [(counts[k], firsts[k]) for k in counts]


class _Component:
    """Varied symbols of a part tied by Kconfig rules, with their valid assignments.
    (A plain class: every check imports it, and a dataclass compiles its methods at import.)"""

    def __init__(self, part: DomainPart, members: tuple[str, ...], rules: tuple[Rule, ...]):
        self.part = part
        self.members = members
        self.rules = rules
        self._valid: list[dict[str, Value]] | None = None

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
        # members assigned one at a time (VERSION first: most rules read it), each `set:`
        # symbol, derived symbol and rule evaluated at the first member after which all it
        # reads is assigned, a rule that fails prunes every combination below; each is
        # memoised on the values it reads (a rule over VERSION and NR_CPUS sees 60 of the
        # 48k combinations of its component; only truth is kept, where True and 1 agree)
        members = sorted(self.members, key=lambda m: m != "VERSION")
        at = {m: k for k, m in enumerate(members)}

        def level(symbols: Iterable[str]) -> int:
            owners = self.part._owners(symbols) & set(members)
            return max((at[o] for o in owners), default=-1)

        steps: list[list[tuple[str, Any, Any]]] = [[] for _ in members]
        assigned: dict[str, Value] = {"ARCH": self.part.arch, **base}
        env = dict(base_env)
        for name, expr in self.part.sets:
            k = level(expr.symbols)
            if k < 0:
                assigned[name] = expr(assigned)
            else:
                steps[k].append(("set", name, expr))
        for name, expr in derived:
            steps[max(level([name]), 0)].append(("derived", name, _memoised(expr, expr)))
        for r in self.rules:
            when = _memoised(r.when.truth, r.when) if r.when is not None else None
            steps[max(level(r.symbols), 0)].append(("rule", when, _memoised(r.require.truth, r.require)))
        out: list[dict[str, Value]] = []
        last = len(members) - 1

        def descend(k: int) -> None:
            member = members[k]
            for value in vary[member]:
                assigned[member] = value
                if member not in fixed_facts:
                    env[member] = value
                ok = True
                for kind, a, b in steps[k]:
                    if kind == "set":
                        assigned[a] = b(assigned)
                        if a not in fixed_facts:
                            env[a] = assigned[a]
                    elif kind == "derived":
                        env[a] = b(env)
                    elif not (b(env) or (a is not None and not a(env))):
                        ok = False
                        break
                if not ok:
                    continue
                if k == last:
                    out.append({m: assigned[m] for m in self.members})
                else:
                    descend(k + 1)

        if members:
            descend(0)
        if members and members[0] != self.members[0]:  # back to the product's order
            index = {m: {v: i for i, v in reversed(list(enumerate(vary[m])))} for m in self.members}
            out.sort(key=lambda a: tuple(index[m][a[m]] for m in self.members))
        self._valid = out
        return out


_MISSING = object()


def _memoised(fn: Callable[[Mapping[str, Value]], Any], expr: Expr) -> Callable[[Mapping[str, Value]], Any]:
    """`fn` (`expr` or its truth) evaluated once per distinct tuple of the values `expr`
    reads (equal values, True and 1 alike, share an answer: for validity, whose rules
    compare and test them, not for values that are kept)."""
    get = _getter(sorted(expr.symbols))  # type: ignore[arg-type]  # names: itemgetter reads a map
    seen: dict[tuple[Any, ...], Any] = {}

    def value(env: Mapping[str, Value]) -> Any:
        try:
            key = get(env)  # type: ignore[arg-type]
        except KeyError:
            return fn(env)  # an unknown symbol: the expression's own error
        hit = seen.get(key, _MISSING)
        if hit is _MISSING:
            hit = seen[key] = fn(env)
        return hit

    return value


class Domain:
    """A named set of configs: parts (arch blocks of varied symbols) and fixed configs.
    (A plain class: every check imports it, and a dataclass compiles its methods at import.)"""

    def __init__(self, name: str, doc: str, parts: list[DomainPart], fixed: list[Config] | None = None):
        self.name = name
        self.doc = doc
        self.parts = parts
        self.fixed: list[Config] = [] if fixed is None else fixed

    def __repr__(self) -> str:
        return f"Domain(name={self.name!r}, {len(self.parts)} parts, {len(self.fixed)} fixed)"

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
