"""A resolved configuration: every symbol a layout or formula may read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from mmbits.cexpr import Value


class Config(Mapping[str, Value]):
    """Immutable symbol -> value map (bools as 0/1), plus where it came from.

    `primary` is the part a user chose (or a .config gave); everything else is
    arch facts and derived symbols, recomputed by the model, so two configs
    with equal primaries are the same config.
    """

    __slots__ = ("name", "_values", "_primary", "_key", "_hash", "_summary", "version_from")

    def __init__(self, values: Mapping[str, Value], primary: Mapping[str, Value], name: str | None):
        self.name = name
        # how the kernel release was chosen, said in the output ("" = the model's default)
        self.version_from = ""
        self._values = dict(values)
        self._primary = dict(primary)
        self._key: tuple[tuple[str, Value], ...] | None = None
        self._hash: int | None = None  # configs key every decode memo: hash once, on first use
        self._summary: str | None = None  # describe() of the whole primary, made once (label() of unnamed configs)

    @classmethod
    def adopt(cls, values: dict[str, Value], primary: dict[str, Value], name: str | None) -> Config:
        """A Config that takes ownership of two fresh dicts (no copies): a domain builds
        tens of thousands of configs, and each copy of ~80 symbols showed in its profile."""
        self = cls.__new__(cls)
        self.name = name
        self.version_from = ""
        self._values = values
        self._primary = primary
        self._key = None
        self._hash = None
        self._summary = None
        return self

    def __getitem__(self, key: str) -> Value:
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        # Mapping.get goes through __getitem__ and a try/except: the analyses call this
        # a million times over a domain
        return self._values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def _identity(self) -> tuple[tuple[str, Value], ...]:
        # sorted on first use only: most configs of a domain are never hashed or compared
        if self._key is None:
            self._key = tuple(sorted(self._primary.items()))
        return self._key

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = self._hash = hash(self._identity())
        return h

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, Config) and hash(self) == hash(other)
                                 and self._identity() == other._identity())

    @property
    def symbols(self) -> Mapping[str, Value]:
        """Every symbol, read-only and without a copy: C-level lookups (operator.itemgetter)
        for the hot paths that read many symbols of many configs."""
        return MappingProxyType(self._values)

    @property
    def primary(self) -> dict[str, Value]:
        return dict(self._primary)

    @property
    def arch(self) -> str:
        return str(self._values["ARCH"])

    @property
    def kernel(self) -> int:
        """The release this config is for (VERSION: 6.12 is 6012)."""
        return int(self._values.get("VERSION", 0))

    @property
    def bits(self) -> int:
        return int(self._values["BITS_PER_LONG"])

    @property
    def big_endian(self) -> bool:
        return bool(self._values.get("CPU_BIG_ENDIAN", 0))

    def on(self, symbol: str) -> bool:
        value = self._values.get(symbol, 0)
        return bool(value) if isinstance(value, int) else value not in ("", "n")

    def describe(self, symbols: Iterable[str] | None = None) -> str:
        """Kconfig-style summary: the arch, then the options that matter.

        `symbols` (derived ones included) limits it to what an analysis reads;
        they are traced back to the primary symbols a user sets. Bools show
        where they differ from the arch defaults (SYM on, !SYM off).
        """
        from mmbits.kconfig.model import load_model

        model = load_model()
        names = model.primaries_behind(symbols) if symbols is not None else frozenset(self._primary)
        arch_defaults = model.archs[self.arch].defaults if self.arch in model.archs else {}
        parts = [self.arch]
        for name in model.symbols:
            if name == "ARCH" or name not in names or name not in self._primary:
                continue
            sym = model.symbols[name]
            value = self._primary[name]
            if sym.type == "bool":
                # relative to the arch defaults, the way "defconfig + X" reads
                default = arch_defaults.get(name, sym.default)
                if value and not default:
                    parts.append(name)
                elif not value and default:
                    parts.append(f"!{name}")
            elif sym.type == "int":
                default = arch_defaults.get(name, sym.default)
                if name == "NR_CPUS" and not self._primary.get("SMP", 0):
                    continue
                if name == "NODES_SHIFT" and not value:
                    continue
                if name in ("NR_CPUS", "NODES_SHIFT") or value != default:
                    parts.append(f"{name}={value}")
            elif sym.type == "release":
                if value != sym.default:
                    from mmbits.kconfig.release import release_name

                    parts.insert(1, f"v{release_name(int(value))}")
            elif value != sym.default:
                parts.append(f"{name}={value}")
        return " ".join(parts)

    def label(self) -> str:
        if self.name:
            return self.name
        if self._summary is None:
            self._summary = self.describe()
        return self._summary

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "arch": self.arch, "symbols": dict(sorted(self._primary.items()))}

    def __repr__(self) -> str:
        return f"Config({self.label()!r})"
