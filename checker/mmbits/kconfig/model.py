"""Load the Kconfig facts of one kernel version and turn choices into Configs.

The data (symbols, arch facts, derived symbols, dependency rules) is in
layouts/<version>/kconfig.yaml; this module only interprets it. Invalid
combinations are rejected with the dependency that fails, never laid out.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from mmbits.cexpr import Expr, Value, data_expr
from mmbits.errors import InputError, InvalidConfigError
from mmbits.kconfig.config import Config
from mmbits.kconfig.release import guard, parse_release, release_name
from mmbits.paths import DEFAULT_KERNEL, version_dir
from mmbits.yamlio import LDict, load_file

if TYPE_CHECKING:
    from mmbits.kconfig.fused import FusedModel


# a collections.namedtuple at run time, typed as a NamedTuple for mypy: typing.NamedTuple reads
# each field's annotation (a string here) with compile(), and a process's first compile()
# builds the ast module's node classes (~21 M instructions for the 11 of a decode's start-up)
if TYPE_CHECKING:
    class _SymbolFields(NamedTuple):
        name: str
        type: str  # bool | int | str | release (VERSION: MAJOR * 1000 + MINOR)
        default: Value
        choices: tuple[Value, ...] | None = None
        min: int | None = None
        max: int | None = None
        dotconfig: str | None = None
        boot: bool = False
        doc: str = ""
else:
    _SymbolFields = namedtuple("Symbol", ["name", "type", "default", "choices", "min", "max", "dotconfig", "boot", "doc"], defaults=(None, None, None, None, False, ""))


class Symbol(_SymbolFields):
    __slots__ = ()

    def coerce(self, raw: object, where: str = "") -> Value:
        """Turn a user/.config value into the model's value, or raise InputError."""
        ctx = f"{where}{self.name}"
        if self.type == "release":
            value = parse_release(raw, f"{ctx}: ")
            if self.choices is not None and value not in self.choices:
                known = ", ".join(release_name(int(v)) for v in self.choices)
                raise InputError(f"{ctx}: Linux {release_name(value)} is not modelled (modelled: {known})")
            return value
        if self.type == "bool":
            if isinstance(raw, bool):
                return int(raw)
            if isinstance(raw, int) and raw in (0, 1):
                return raw
            text = str(raw).strip().lower()
            if text in ("y", "yes", "true", "1", "on", "m"):
                return 1
            if text in ("n", "no", "false", "0", "off", ""):
                return 0
            raise InputError(f"{ctx}: expected y or n, got {raw!r}")
        if self.type == "int":
            try:
                value = raw if isinstance(raw, int) and not isinstance(raw, bool) else int(str(raw).strip().strip('"'), 0)
            except ValueError:
                raise InputError(f"{ctx}: expected an integer, got {raw!r}") from None
            if self.min is not None and value < self.min:
                raise InputError(f"{ctx}: {value} is below the minimum {self.min}")
            if self.max is not None and value > self.max:
                raise InputError(f"{ctx}: {value} is above the maximum {self.max}")
            if self.choices is not None and value not in self.choices:
                raise InputError(f"{ctx}: {value} is not one of {list(self.choices)}")
            return value
        text = str(raw).strip().strip('"')
        if self.choices is not None and text not in self.choices:
            raise InputError(f"{ctx}: {text!r} is not one of {', '.join(map(str, self.choices))}")
        return text


# a collections.namedtuple at run time, typed as a NamedTuple for mypy: typing.NamedTuple reads
# each field's annotation (a string here) with compile(), and a process's first compile()
# builds the ast module's node classes (~21 M instructions for the 11 of a decode's start-up)
if TYPE_CHECKING:
    class _RuleFields(NamedTuple):
        require: Expr
        why: str
        when: Expr | None = None
else:
    _RuleFields = namedtuple("Rule", ["require", "why", "when"], defaults=(None,))


class Rule(_RuleFields):
    __slots__ = ()

    @property
    def symbols(self) -> frozenset[str]:
        syms = set(self.require.symbols)
        if self.when is not None:
            syms |= self.when.symbols
        return frozenset(syms)

    def holds(self, env: Mapping[str, Value]) -> bool:
        if self.when is not None and not self.when.truth(env):
            return True
        return self.require.truth(env)

    def describe(self) -> str:
        cond = f"{self.when.text} requires " if self.when is not None else "requires "
        return f"{cond}{self.require.text}: {self.why}"


# a collections.namedtuple at run time, typed as a NamedTuple for mypy: typing.NamedTuple reads
# each field's annotation (a string here) with compile(), and a process's first compile()
# builds the ast module's node classes (~21 M instructions for the 11 of a decode's start-up)
if TYPE_CHECKING:
    class Arch(NamedTuple):
        name: str
        dotconfig: str
        facts: dict[str, Value]
        defaults: dict[str, Value]
        derived: tuple[tuple[str, Expr], ...]
else:
    Arch = namedtuple("Arch", ["name", "dotconfig", "facts", "defaults", "derived"])


class KconfigModel:
    """One kernel data set's Kconfig facts: symbols, arch blocks, derived symbols, rules.
    (A plain class: every check imports it, and a dataclass compiles its methods at import.)"""

    def __init__(self, version: str, path: Path, archs: dict[str, Arch], symbols: dict[str, Symbol],
                 derived: tuple[tuple[str, Expr], ...], rules: tuple[Rule, ...], releases: tuple[int, ...] = ()):
        self.version, self.path, self.archs, self.symbols = version, path, archs, symbols
        self.derived, self.rules = derived, rules
        self.releases = releases  # modelled kernel releases, oldest first (VERSION values)
        self._dep_cache: dict[str, frozenset[str]] = {}
        # per arch: the symbols' defaults with the arch's over them (primary_of), made on first use
        self._bases: dict[str, dict[str, Value]] = {}
        self._fused: FusedModel | None = None  # build()'s generated completion and rules

    def __repr__(self) -> str:
        return f"KconfigModel(version={self.version!r}, path={self.path!r})"

    # -- building configs -------------------------------------------------
    def complete(self, primary: Mapping[str, Value]) -> dict[str, Value]:
        """All symbols of a full primary assignment (`primary_of`): arch facts, derived."""
        arch = self.arch_of(primary)
        env = dict(primary)
        env.update(arch.facts)
        for name, expr in arch.derived:
            env[name] = expr(env)
        for name, expr in self.derived:
            env[name] = expr(env)
        return env

    def normalise(self, values: Mapping[str, object], where: str = "") -> dict[str, Value]:
        """Coerce user values to the model's types; unknown symbols are an error."""
        out: dict[str, Value] = {}
        for name, raw in values.items():
            sym = self.symbols.get(name)
            if sym is None:
                from mmbits.cexpr import suggest

                fixed = self.fact_names()
                if name in fixed:
                    raise InputError(f"{where}{name} is fixed by the arch and cannot be set")
                raise InputError(f"{where}unknown config symbol {name!r}{suggest(name, self.symbols)}")
            out[name] = sym.coerce(raw, where)
        return out

    def primary_of(self, values: Mapping[str, Value]) -> dict[str, Value]:
        """The full primary assignment (defaults filled) for a partial one."""
        arch = self.arch_of(values)
        base = self._bases.get(arch.name)
        if base is None:
            base = self._bases[arch.name] = {name: sym.default for name, sym in self.symbols.items()}
            base.update(arch.defaults)
        out = base.copy()
        out.update(values)
        out["ARCH"] = arch.name
        return out

    def arch_of(self, values: Mapping[str, Value]) -> Arch:
        """The arch block a (partial) assignment selects; x86_64 when it names none."""
        arch_name = str(values.get("ARCH", "x86_64"))
        arch = self.archs.get(arch_name)
        if arch is None:
            raise InputError(f"unknown arch {arch_name!r} (known: {', '.join(self.archs)})")
        return arch

    def violations(self, env: Mapping[str, Value]) -> list[Rule]:
        return [rule for rule in self.rules if not rule.holds(env)]

    def make(self, values: Mapping[str, Value], name: str | None = None, source: str | None = None) -> Config:
        """Validate and build a Config; raise InvalidConfigError naming each failed dependency."""
        primary = self.primary_of(values)
        env = self.complete(primary)
        bad = self.violations(env)
        if bad:
            label = name or source or "config"
            reasons = "; ".join(rule.describe() for rule in bad)
            raise InvalidConfigError(
                f"invalid configuration {label}: {reasons}",
                failed=[rule.describe() for rule in bad],
                file=source,
            )
        return Config(env, primary, name)

    def build(self, values: Mapping[str, Value], name: str | None = None) -> Config | None:
        """The Config `make(values, name)` returns, or None where it raises InvalidConfigError
        (any other error it raises, this raises): for callers trying many candidates, which
        only ask whether each builds. The arch's derived symbols and rules are evaluated by
        one generated function (kconfig/fused.py); where that cannot answer, by `make`."""
        primary = self.primary_of(values)
        fused = self._fused
        if fused is None:
            from mmbits.kconfig.fused import FusedModel

            fused = self._fused = FusedModel(self)
        env = fused.complete(primary)
        if env is None:
            return None
        if isinstance(env, dict):
            return Config.adopt(env, primary, name)
        try:
            return self.make(values, name)
        except InvalidConfigError:
            return None

    def make_unchecked(self, values: Mapping[str, Value], name: str | None = None) -> Config:
        primary = self.primary_of(values)
        return Config(self.complete(primary), primary, name)

    # -- dependency analysis (for grouping configs) -------------------------
    def fact_names(self) -> set[str]:
        names: set[str] = set()
        for arch in self.archs.values():
            names |= set(arch.facts)
            names |= {n for n, _ in arch.derived}
        names |= {n for n, _ in self.derived}
        return names

    def known_names(self) -> set[str]:
        return set(self.symbols) | self.fact_names()

    def primaries_behind(self, names: Iterable[str]) -> frozenset[str]:
        """The primary symbols a set of (possibly derived) symbols depends on."""
        out: set[str] = set()
        for name in names:
            out |= self._primaries_of(name)
        return frozenset(out)

    def _primaries_of(self, name: str) -> frozenset[str]:
        hit = self._dep_cache.get(name)
        if hit is not None:
            return hit
        self._dep_cache[name] = frozenset()  # cycle guard
        if name in self.symbols:
            result = frozenset({name})
        else:
            deps: set[str] = {"ARCH"}
            exprs = [e for n, e in self.derived if n == name]
            for arch in self.archs.values():
                exprs += [e for n, e in arch.derived if n == name]
            for expr in exprs:
                for sym in expr.symbols:
                    deps |= self._primaries_of(sym)
            result = frozenset(deps)
        self._dep_cache[name] = result
        return result


def _expr(text: object, path: Path, line: int | None, known: set[str]) -> Expr:
    return data_expr(text, known, path, line)


def _parse(path: Path) -> KconfigModel:
    doc = load_file(path)
    if not isinstance(doc, LDict):
        raise InputError("expected a mapping at top level", file=str(path))
    symbols: dict[str, Symbol] = {}
    releases: tuple[int, ...] = ()
    try:
        releases = tuple(sorted(parse_release(r, "kernels: ") for r in (doc.get("kernels") or [])))
    except InputError as exc:
        raise InputError(exc.message, file=str(path), line=doc.line_of("kernels")) from None
    for name, spec in (doc.get("symbols") or {}).items():
        if not isinstance(spec, dict) or spec.get("type") not in ("bool", "int", "str", "release"):
            raise InputError(f"symbol {name}: needs type bool|int|str|release", file=str(path),
                             line=doc["symbols"].line_of(name))
        default = spec.get("default", 0 if spec["type"] != "str" else "")
        if spec["type"] == "bool":
            default = int(bool(default))
        choices = tuple(spec["choices"]) if "choices" in spec else None
        if spec["type"] == "release":
            if not releases:
                raise InputError(f"symbol {name}: a release symbol needs the `kernels:` list", file=str(path))
            choices = releases
            default = parse_release(spec["default"]) if "default" in spec else releases[-1]
        symbols[str(name)] = Symbol(
            name=str(name),
            type=spec["type"],
            default=default,
            choices=choices,
            min=spec.get("min"),
            max=spec.get("max"),
            dotconfig=spec.get("dotconfig"),
            boot=bool(spec.get("boot", False)),
            doc=str(spec.get("doc", "")),
        )
    fact_names: set[str] = set()
    derived_names: set[str] = set()
    for arch in (doc.get("archs") or {}).values():
        fact_names |= set((arch or {}).get("facts") or {})
        derived_names |= set((arch or {}).get("derived") or {})
    derived_names |= set(doc.get("derived") or {})
    known = set(symbols) | fact_names | derived_names | {"ARCH"}
    archs: dict[str, Arch] = {}
    for name, spec in (doc.get("archs") or {}).items():
        derived = tuple(
            (str(k), _expr(v, path, spec["derived"].line_of(k), known)) for k, v in (spec.get("derived") or {}).items()
        )
        defaults = {}
        for k, v in (spec.get("defaults") or {}).items():
            if k not in symbols:
                raise InputError(f"arch {name}: default for unknown symbol {k}", file=str(path), line=spec.line)
            defaults[str(k)] = symbols[k].coerce(v)
        archs[str(name)] = Arch(
            name=str(name),
            dotconfig=str(spec.get("dotconfig", name)),
            facts={str(k): (int(v) if isinstance(v, bool) else v) for k, v in (spec.get("facts") or {}).items()},
            defaults=defaults,
            derived=derived,
        )
    derived = tuple((str(k), _expr(v, path, doc["derived"].line_of(k), known)) for k, v in (doc.get("derived") or {}).items())
    rules = []
    for i, spec in enumerate(doc.get("rules") or []):
        line = doc["rules"].line_of(i)
        if not isinstance(spec, dict) or "require" not in spec:
            raise InputError("rule needs `require`", file=str(path), line=line)
        when = guard({"if": spec.get("when"), "since": spec.get("since"), "until": spec.get("until")})
        rules.append(
            Rule(
                require=_expr(spec["require"], path, line, known),
                when=_expr(when, path, line, known) if when is not None else None,
                why=str(spec.get("why", "")),
            )
        )
    return KconfigModel(
        version=str(doc.get("kernel", path.parent.name)),
        path=path,
        archs=archs,
        symbols=symbols,
        derived=derived,
        rules=tuple(rules),
        releases=releases,
    )


@cache
def load_model(version: str = DEFAULT_KERNEL) -> KconfigModel:
    """The data set's Kconfig model, parsed once per process however it is asked for
    (functools.cache keys `load_model()` and `load_model(DEFAULT_KERNEL)` apart: a check
    parsed kconfig.yaml twice, ~10 ms of a new question; this outer cache keeps the
    hits C-level)."""
    return _load_model(version)


@cache
def _load_model(version: str) -> KconfigModel:
    return _parse(version_dir(version) / "kconfig.yaml")
