"""All layout files of a kernel version, resolved per config on demand.

`resolve("ptdesc", config)` is the entry point the rest of mmbits uses. A
layout only depends on the few symbols its conditions and types read, so
results are cached on exactly those values: a domain proof over 100k configs
resolves each distinct layout once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmbits.errors import InputError
from mmbits.kconfig.config import Config
from mmbits.paths import DEFAULT_KERNEL, layouts_root, version_dir

if TYPE_CHECKING:  # imported when layouts are read or resolved: a new question on a known word does neither
    from mmbits.layout.ctypes import TypeTable
    from mmbits.layout.model import Layout
    from mmbits.layout.spec import LayoutSpec
    from mmbits.yamlio import LDict

# symbols the flags packing adds to a config for layout conditions
PACKING_SYMBOLS = ("LAST_CPUPID_NOT_IN_PAGE_FLAGS", "NODE_NOT_IN_PAGE_FLAGS", "SECTION_IN_PAGE_FLAGS", "NR_PAGEFLAGS")

# the descriptors of a v6.18 struct page, in the order reports show them
DESCRIPTORS = ("page", "folio", "ptdesc", "slab", "zpdesc", "ioptdesc")


def layout_env(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config plus what the page->flags packing decides (LAST_CPUPID_NOT_IN_PAGE_FLAGS ...)."""
    from mmbits.flags.packing import compute

    # a Config copied through its read-only view: C-level, not a __getitem__ call per symbol
    env = dict(config.symbols if isinstance(config, Config) else config)
    env.update(packing_values(compute(config)))
    return env


def packing_values(word: Any) -> dict[str, int]:
    """The PACKING_SYMBOLS a FlagsWord decides, for layout conditions."""
    return {"LAST_CPUPID_NOT_IN_PAGE_FLAGS": int(not word.last_cpupid_in_flags),
            "NODE_NOT_IN_PAGE_FLAGS": int(not word.node_in_flags),
            "SECTION_IN_PAGE_FLAGS": int(word.section_in_flags), "NR_PAGEFLAGS": word.nr_pageflags}


class LayoutSet:
    """The structs of a kernel version, resolved per config on demand. `types` and `specs`
    are read when first used when `layouts()` made the set (`load`): a new question whose
    word's facts and sites are on disk (prover.wordstore) never reads the layout files,
    which was a tenth of its start-up."""

    def __init__(self, version: str, types: TypeTable | None = None, specs: dict[str, LayoutSpec] | None = None,
                 load: Callable[[], tuple[TypeTable, dict[str, LayoutSpec]]] | None = None):
        if (types is None or specs is None) and load is None:
            raise ValueError("a LayoutSet needs its types and specs, or a way to load them")
        self.version = version
        self._types = types
        self._specs = specs
        self._load = load
        self._cache: dict[tuple[Any, ...], Layout] = {}
        self._symbols: dict[str, tuple[str, ...]] = {}
        self._resolving: set[str] = set()

    def _loaded(self) -> tuple[TypeTable, dict[str, LayoutSpec]]:
        if self._types is None or self._specs is None:
            assert self._load is not None
            self._types, self._specs = self._load()
        return self._types, self._specs

    @property
    def types(self) -> TypeTable:
        return self._loaded()[0]

    @property
    def specs(self) -> dict[str, LayoutSpec]:
        return self._loaded()[1]

    def names(self) -> list[str]:
        return list(self.specs)

    def spec(self, name: str) -> LayoutSpec:
        key = name.removeprefix("struct ").strip()
        if key not in self.specs:
            from mmbits.cexpr import suggest

            raise InputError(f"no layout for struct {key!r}{suggest(key, self.specs)}; known: {', '.join(self.specs)}")
        return self.specs[key]

    def symbols(self, name: str) -> tuple[str, ...]:
        """Every config symbol a struct's layout can depend on (nested structs included)."""
        if name in self._symbols:
            return self._symbols[name]
        spec = self.spec(name)
        out = set(spec.symbols()) | set(self.types.symbols()) | {"BITS_PER_LONG", "CPU_BIG_ENDIAN"}
        if spec.exists is not None:
            out |= spec.exists.symbols
        self._symbols[name] = tuple(sorted(out))  # cycle guard
        for ref in spec.struct_refs():
            if ref in self.specs and ref != name:
                out |= set(self.symbols(ref))
        self._symbols[name] = tuple(sorted(out))
        return self._symbols[name]

    def config_symbols(self, name: str) -> frozenset[str]:
        """The symbols of `symbols()` expressed as Kconfig-model symbols (packing ones expanded)."""
        from mmbits.flags.packing import INPUT_SYMBOLS

        out = set(self.symbols(name))
        if out & set(PACKING_SYMBOLS):
            out -= set(PACKING_SYMBOLS)
            out |= set(INPUT_SYMBOLS)
        return frozenset(out)

    def exists(self, name: str, config: Config | Mapping[str, Any]) -> bool:
        """Whether the config's kernel release has this struct (ptdesc from 6.6, zpdesc from 6.14 ...)."""
        return self.spec(name).exists_in(config)

    def resolve(self, name: str, config: Config | Mapping[str, Any], env: Mapping[str, Any] | None = None) -> Layout:
        spec = self.spec(name)
        if not spec.exists_in(config):
            from mmbits.kconfig.release import release_name

            raise InputError(f"struct {spec.name} does not exist in Linux "
                             f"{release_name(int(config.get('VERSION') or 0))}"
                             f"{_span_text(spec)}", file=str(spec.path))
        env = env if env is not None else layout_env(config)
        key = (spec.name, *(env.get(s) for s in self.symbols(spec.name)))
        hit = self._cache.get(key)
        if hit is not None:
            if hit.config is config or not isinstance(config, Config):
                return hit
            return hit.with_config(config)
        if spec.name in self._resolving:
            raise InputError(f"struct {spec.name} contains itself", file=str(spec.path))
        self._resolving.add(spec.name)
        try:
            def struct_layout(ref: str) -> Layout:
                if ref not in self.specs:
                    raise InputError(f"struct {ref} has no layout here")
                return self.resolve(ref, config, env)

            from mmbits.layout.resolve import resolve_spec

            layout = resolve_spec(spec, env, self.types, struct_layout,
                                  config=config if isinstance(config, Config) else None)
        finally:
            self._resolving.discard(spec.name)
        self._cache[key] = layout
        return layout


def _span_text(spec: LayoutSpec) -> str:
    return f" (it exists {spec.span_note})" if spec.span_note else ""


def _struct_files(dirs: Iterable[Path]) -> list[tuple[Path, LDict]]:
    """The struct layouts among the directories' YAML files: only those loaded when
    layout.structindex knows which they are (the other data files, loaded to find out,
    were a twentieth of a one-report decode's instructions)."""
    from mmbits.layout import structindex
    from mmbits.yamlio import LDict, load_file

    paths = [path for d in dirs if d.is_dir() for path in sorted(d.glob("*.yaml"))]
    key = structindex.key_of(paths)
    known = structindex.load(key, len(paths))
    out, positions = [], []
    for i, path in enumerate(paths):
        if known is not None and i not in known:
            continue
        doc = load_file(path)
        if isinstance(doc, LDict) and "struct" in doc:
            out.append((path, doc))
            positions.append(i)
    if known is None:
        structindex.store(key, positions)
    return out


def load_layout_set(dirs: Iterable[Path], types_path: Path, version: str,
                    overrides: Iterable[Path] = ()) -> LayoutSet:
    """Layouts from `dirs`; each file in `overrides` replaces the struct it defines."""
    return LayoutSet(version, *_load_parts(dirs, types_path, version, overrides))


def _load_parts(dirs: Iterable[Path], types_path: Path, version: str,
                overrides: Iterable[Path]) -> tuple[TypeTable, dict[str, LayoutSpec]]:
    from mmbits.kconfig.model import load_model
    from mmbits.layout.ctypes import load_types
    from mmbits.layout.spec import parse_layout
    from mmbits.yamlio import LDict, load_file

    types = load_types(types_path)
    model = load_model(version)
    known = model.known_names() | {"ARCH", *PACKING_SYMBOLS}
    files = _struct_files(dirs)
    extra: list[tuple[Path, LDict]] = []
    for path in overrides:
        doc = load_file(path)
        if not isinstance(doc, LDict) or "struct" not in doc:
            raise InputError("not a layout file: needs `struct:` and `members:`", file=str(path), line=1)
        extra.append((Path(path), doc))
    replaced = {str(doc["struct"]) for _, doc in extra}
    files = [(p, d) for p, d in files if str(d["struct"]) not in replaced] + extra
    names = {str(doc["struct"]) for _, doc in files}
    specs: dict[str, LayoutSpec] = {}
    for path, doc in files:
        spec = parse_layout(path, types, known, names, doc)
        if spec.name in specs:
            raise InputError(f"struct {spec.name} is defined twice (also in {specs[spec.name].path})", file=str(path))
        specs[spec.name] = spec
    return types, specs


@cache
def layouts(version: str = DEFAULT_KERNEL, overrides: tuple[Path, ...] = ()) -> LayoutSet:
    """The shipped layouts of a version plus the memdesc (future) layouts.

    `overrides` are user layout files (a proposal's modified struct) that
    replace the shipped struct of the same name. One set per process however it is asked
    for (functools.cache keys `layouts()` and `layouts(overrides=())` apart: decode's CLI
    and its config inference held two sets, each reading the layout files and resolving
    every struct page again)."""
    return _layouts(version, tuple(overrides))


@cache
def _layouts(version: str, overrides: tuple[Path, ...]) -> LayoutSet:
    vdir = version_dir(version)
    dirs = [vdir, layouts_root() / "memdesc"]
    if overrides:  # a user's files: their errors now, where they are named
        return load_layout_set(dirs, vdir / "types.yaml", version, overrides)
    return LayoutSet(version, load=lambda: _load_parts(dirs, vdir / "types.yaml", version, ()))


def resolve(name: str, config: Config, version: str = DEFAULT_KERNEL) -> Layout:
    return layouts(version).resolve(name, config)
