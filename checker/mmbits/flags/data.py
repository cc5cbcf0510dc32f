"""Load the flag-space data of a kernel version: page flags, aliases, masks,
page types, pt_flags, page kinds, zones and packing constants.

All of it is YAML under layouts/<version>/; nothing here knows a bit number.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mmbits.cexpr import Expr, Value, data_expr
from mmbits.errors import InputError
from mmbits.kconfig.model import load_model
from mmbits.kconfig.release import guard
from mmbits.paths import DEFAULT_KERNEL, version_dir
from mmbits.yamlio import LDict, load_file

POLICIES = {"PF_ANY", "PF_HEAD", "PF_ONLY_HEAD", "PF_NO_TAIL", "PF_NO_COMPOUND", "PF_SECOND", "PF_ARCH"}
PAGE_POSITIONS = {"head", "second", "tail", "any"}


# a collections.namedtuple at run time, typed as a NamedTuple for mypy: typing.NamedTuple reads
# each field's annotation (a string here) with compile(), and a process's first compile()
# builds the ast module's node classes (~21 M instructions for the 11 of a decode's start-up)
if TYPE_CHECKING:
    class FlagSpec(NamedTuple):
        name: str
        policy: str
        kinds: tuple[str, ...]
        cond: Expr | None
        tails: bool
        doc: str
else:
    FlagSpec = namedtuple("FlagSpec", ["name", "policy", "kinds", "cond", "tails", "doc"])


# a collections.namedtuple at run time, typed as a NamedTuple for mypy: typing.NamedTuple reads
# each field's annotation (a string here) with compile(), and a process's first compile()
# builds the ast module's node classes (~21 M instructions for the 11 of a decode's start-up)
if TYPE_CHECKING:
    class _AliasSpecFields(NamedTuple):
        name: str
        base: str
        kinds: tuple[str, ...]
        page: str  # head | second | any
        cond: Expr | None
        enum: str
        doc: str
        span: Expr | None = None  # since:/until: only: the releases where the constant exists at all
        enum_if: Expr | None = None  # the #ifdef around the constant in the enum (existence, not validity)
else:
    _AliasSpecFields = namedtuple("AliasSpec", ["name", "base", "kinds", "page", "cond", "enum", "doc", "span", "enum_if"], defaults=(None, None))


class AliasSpec(_AliasSpecFields):
    __slots__ = ()

    def in_release(self, env: Mapping[str, Value]) -> bool:
        """The constant exists in the config's release (needs only VERSION)."""
        return self.span is None or self.span.truth(env)

    def exists(self, env: Mapping[str, Value]) -> bool:
        """The constant exists for this config (release and the enum's own #ifdef)."""
        return self.in_release(env) and (self.enum_if is None or self.enum_if.truth(env))

    def valid_for(self) -> str:
        where = {"head": "head page", "second": "second page", "any": "any page", "tail": "tail page"}[self.page]
        return f"{'|'.join(self.kinds)} ({where})"


# a collections.namedtuple at run time, typed as a NamedTuple for mypy: typing.NamedTuple reads
# each field's annotation (a string here) with compile(), and a process's first compile()
# builds the ast module's node classes (~21 M instructions for the 11 of a decode's start-up)
if TYPE_CHECKING:
    class PageType(NamedTuple):
        name: str
        value: int
        kind: str | None
        low_bits: int
        low_use: str
        cond: Expr | None = None  # since:/until: (PGTY_large_kmalloc from 6.17)
else:
    PageType = namedtuple("PageType", ["name", "value", "kind", "low_bits", "low_use", "cond"], defaults=(None,))


# a collections.namedtuple at run time, typed as a NamedTuple for mypy: typing.NamedTuple reads
# each field's annotation (a string here) with compile(), and a process's first compile()
# builds the ast module's node classes (~21 M instructions for the 11 of a decode's start-up)
if TYPE_CHECKING:
    class _PageTypeEncodingFields(NamedTuple):
        name: str
        style: str  # top-byte | inverted
        cond: Expr | None
        base: int
        mapcount_reserve: int
        types: tuple[PageType, ...]
else:
    _PageTypeEncodingFields = namedtuple("PageTypeEncoding", ["name", "style", "cond", "base", "mapcount_reserve", "types"])


class PageTypeEncoding(_PageTypeEncodingFields):
    """How page->page_type says a page's type in a range of releases.

    `top-byte` (6.12 on): value << shift, the low bits the owner's. `inverted`
    (before): page_type starts at -1 and a type *clears* its mask bit; a page
    is of type T when (page_type & (base | T.value)) == base.
    """

    __slots__ = ()

    def applies(self, env: Mapping[str, Value]) -> bool:
        return self.cond is None or self.cond.truth(env)

    def type_of(self, page_type: int, env: Mapping[str, Value], shift: int = 24) -> PageType | None:
        """The type a 32-bit page_type word names here, or None."""
        page_type &= 0xFFFFFFFF
        for t in self.types:
            if t.cond is not None and not t.cond.truth(env):
                continue
            if self.style == "top-byte":
                if page_type >> shift == t.value:
                    return t
            elif page_type & (self.base | t.value) == self.base:
                return t
        return None

    def stored(self, t: PageType, shift: int = 24) -> int:
        """The page_type word of a freshly typed page (owner bits clear / untouched)."""
        if self.style == "top-byte":
            return t.value << shift
        return 0xFFFFFFFF & ~t.value


# a collections.namedtuple at run time, typed as a NamedTuple for mypy: typing.NamedTuple reads
# each field's annotation (a string here) with compile(), and a process's first compile()
# builds the ast module's node classes (~21 M instructions for the 11 of a decode's start-up)
if TYPE_CHECKING:
    class Kind(NamedTuple):
        name: str
        descriptor: str
        position: str
        page_type: str | None
        doc: str
else:
    Kind = namedtuple("Kind", ["name", "descriptor", "position", "page_type", "doc"])


class FlagData:
    """One kernel data set's flag space: flags, aliases, masks, page types, kinds, zones.
    (A plain class: every check imports it, and a dataclass compiles its methods at import.)"""

    def __init__(self, version: str, flags: list[FlagSpec], aliases: list[AliasSpec], masks: list[tuple[str, Expr]],
                 second_page_reserved: list[tuple[str, int, int, str]], page_types: list[PageType],
                 page_type_shift: int, page_type_none: int, page_type_names: dict[str, str], kinds: dict[str, Kind],
                 zones: list[tuple[str, Expr | None]], constants: dict[str, int], paths: dict[str, Path] | None = None,
                 page_type_encodings: list[PageTypeEncoding] | None = None,
                 second_page_reserved_conds: list[Expr | None] | None = None,
                 mask_optional: frozenset[str] = frozenset()):
        self.version, self.flags, self.aliases, self.masks = version, flags, aliases, masks
        self.second_page_reserved = second_page_reserved
        self.page_types = page_types  # enum pagetype (top-byte encoding; each with its cond)
        self.page_type_shift, self.page_type_none, self.page_type_names = page_type_shift, page_type_none, page_type_names
        self.kinds, self.zones, self.constants = kinds, zones, constants
        self.paths: dict[str, Path] = {} if paths is None else paths
        self.page_type_encodings: list[PageTypeEncoding] = [] if page_type_encodings is None else page_type_encodings
        self.second_page_reserved_conds: list[Expr | None] = \
            [] if second_page_reserved_conds is None else second_page_reserved_conds
        self.mask_optional = mask_optional  # names only used as BIT_IF(name) in masks

    def __repr__(self) -> str:
        return f"FlagData(version={self.version!r}, {len(self.flags)} flags, {len(self.aliases)} aliases)"

    def second_page_reserved_for(self, env: Mapping[str, Value]) -> list[tuple[str, int, int, str]]:
        """second_page_reserved entries that exist in a config's release."""
        conds = self.second_page_reserved_conds or [None] * len(self.second_page_reserved)
        return [r for r, c in zip(self.second_page_reserved, conds, strict=True) if c is None or c.truth(env)]

    def page_type_encoding(self, env: Mapping[str, Value]) -> PageTypeEncoding | None:
        """The page_type encoding of a config's release (None if the data has none for it)."""
        return next((e for e in self.page_type_encodings if e.applies(env)), None)

    def present_page_types(self, env: Mapping[str, Value]) -> list[PageType]:
        """The page types this config's release has, in its encoding's terms."""
        enc = self.page_type_encoding(env)
        if enc is None:
            return []
        return [t for t in enc.types if t.cond is None or t.cond.truth(env)]

    def flag_names(self) -> set[str]:
        return {f.name for f in self.flags}

    def all_names(self) -> set[str]:
        return self.flag_names() | {a.name for a in self.aliases}


def _cond(text: object, path: Path, line: int, known: set[str]) -> Expr:
    return data_expr(text, known, path, line, "condition")


_BIT_IF = re.compile(r"BIT_IF\(\s*(\w+)\s*\)")


def _guarded(spec: dict[str, Any], path: Path, line: int, known: set[str]) -> Expr | None:
    """`if:` with `since:`/`until:` folded in (kconfig.release.guard)."""
    try:
        text = guard(spec)
    except InputError as exc:
        raise InputError(exc.message, file=str(path), line=line) from None
    return _cond(text, path, line, known) if text is not None else None


def _one_key(item: object, path: Path, line: int) -> tuple[str, dict[Any, Any]]:
    if not isinstance(item, dict) or len(item) != 1:
        raise InputError("expected `- NAME: {...}`", file=str(path), line=line)
    (name, spec), = item.items()
    return str(name), dict(spec or {})


def _kinds(name: str, spec: dict[Any, Any], known: set[str], path: Path, line: int) -> tuple[str, ...]:
    """The `kinds:` of a flag or alias entry, each a page kind of kinds.yaml (or `any`)."""
    kinds = tuple(str(k) for k in spec.get("kinds") or ())
    bad = set(kinds) - known
    if bad:
        raise InputError(f"{name}: unknown page kind(s) {sorted(bad)}", file=str(path), line=line)
    return kinds


@cache
def load_flag_data(version: str = DEFAULT_KERNEL) -> FlagData:
    """The data set's page flags, read once per process however it is asked for
    (functools.cache keys `load_flag_data()` and `load_flag_data(DEFAULT_KERNEL)` apart:
    a check read them twice; this outer cache keeps the ~10k hits of a check C-level)."""
    return _load_flag_data(version)


@cache
def _load_flag_data(version: str) -> FlagData:
    vdir = version_dir(version)
    model = load_model(version)
    known = model.known_names() | {"ARCH"}
    kinds_path = vdir / "kinds.yaml"
    kinds_doc = load_file(kinds_path)
    kinds = {
        str(n): Kind(str(n), str(s["descriptor"]), str(s.get("position", "head")), s.get("page_type"), str(s.get("doc", "")))
        for n, s in kinds_doc.items()
    }
    kind_names = set(kinds) | {"any"}

    pf_path = vdir / "pageflags.yaml"
    doc = load_file(pf_path)
    flags: list[FlagSpec] = []
    for i, item in enumerate(doc.get("flags") or []):
        line = doc["flags"].line_of(i)
        name, spec = _one_key(item, pf_path, line)
        policy = str(spec.get("policy", "PF_ANY"))
        if policy not in POLICIES:
            raise InputError(f"{name}: unknown policy {policy}", file=str(pf_path), line=line)
        fkinds = _kinds(name, spec, kind_names, pf_path, line)
        flags.append(FlagSpec(name, policy, fkinds, _guarded(spec, pf_path, line, known),
                              bool(spec.get("tails", True)), str(spec.get("doc", ""))))
    flag_names = {f.name for f in flags}
    aliases: list[AliasSpec] = []

    def read_aliases(items: list[Any] | None, path: Path, doc_node: LDict, key: str, default_enum: str) -> None:
        for i, item in enumerate(items or []):
            line = doc_node[key].line_of(i)
            name, spec = _one_key(item, path, line)
            base = str(spec.get("base", ""))
            if base not in flag_names:
                raise InputError(f"{name}: base {base!r} is not a page flag", file=str(path), line=line)
            page = str(spec.get("page", "head"))
            if page not in PAGE_POSITIONS:
                raise InputError(f"{name}: page must be one of {sorted(PAGE_POSITIONS)}", file=str(path), line=line)
            akinds = _kinds(name, spec, kind_names, path, line)
            span = _guarded({"since": spec.get("since"), "until": spec.get("until")}, path, line, known)
            # enum_if: the #ifdef around the constant in the enum itself (existence, not validity)
            enum_if = _cond(spec["enum_if"], path, line, known) if "enum_if" in spec else None
            aliases.append(AliasSpec(name, base, akinds, page, _guarded(spec, path, line, known),
                                     str(spec.get("enum", default_enum)), str(spec.get("doc", "")), span, enum_if))

    read_aliases(doc.get("aliases"), pf_path, doc, "aliases", "pageflags")
    pt_path = vdir / "pt_flags.yaml"
    pt_doc = load_file(pt_path)
    read_aliases(pt_doc.get("flags"), pt_path, pt_doc, "flags", "pt_flags")

    mask_known = known | flag_names | {a.name for a in aliases} | {
        "LRU_GEN_MASK", "LRU_REFS_MASK", "PAGEFLAGS_MASK", "NR_PAGEFLAGS"}
    masks = []
    # BIT_IF(PG_x) is 0 when the flag is absent, also from a release or a data
    # file without it: such names are allowed and read as -1
    optional = {m for text in (doc.get("masks") or {}).values() for m in _BIT_IF.findall(str(text))}
    mask_known |= optional
    for name, text in (doc.get("masks") or {}).items():
        line = doc["masks"].line_of(name)
        masks.append((str(name), _cond(text, pf_path, line, mask_known)))
        mask_known.add(str(name))
    reserved = [
        (str(r["name"]), int(r["bits"][0]), int(r["bits"][1]), str(r.get("doc", "")))
        for r in doc.get("second_page_reserved") or []
    ]
    reserved_conds = [_guarded(r, pf_path, doc.line_of("second_page_reserved"), known)
                      for r in doc.get("second_page_reserved") or []]

    pt_path2 = vdir / "pagetype.yaml"
    ptd = load_file(pt_path2)
    page_types = [
        PageType(str(t["name"]), int(t["value"]), t.get("kind"), int(t.get("low_bits", 0)), str(t.get("low_use", "")),
                 _guarded(t, pt_path2, ptd["types"].line_of(i), known))
        for i, t in enumerate(ptd.get("types") or [])
    ]
    encodings = []
    for i, e in enumerate(ptd.get("encodings") or []):
        line = ptd["encodings"].line_of(i)
        style = str(e.get("style", ""))
        if style not in ("top-byte", "inverted"):
            raise InputError("encoding style must be top-byte or inverted", file=str(pt_path2), line=line)
        if style == "top-byte":
            etypes = tuple(page_types)
        else:
            etypes = tuple(
                PageType(str(t["name"]), int(t["mask"]), t.get("kind"), int(t.get("low_bits", 0)), "",
                         _guarded(t, pt_path2, line, known))
                for t in e.get("types") or [])
        encodings.append(PageTypeEncoding(str(e.get("name", style)), style, _guarded(e, pt_path2, line, known),
                                          int(e.get("base", 0)), int(e.get("mapcount_reserve", 0)), etypes))

    pk_path = vdir / "packing.yaml"
    pk = load_file(pk_path)
    zones = [(str(z["name"]), _guarded(z, pk_path, pk["zones"].line_of(i), known))
             for i, z in enumerate(pk.get("zones") or [])]
    constants = {str(k): int(v) for k, v in (pk.get("constants") or {}).items()}
    return FlagData(
        version=version,
        flags=flags,
        aliases=aliases,
        masks=masks,
        second_page_reserved=reserved,
        page_types=page_types,
        page_type_shift=int(ptd.get("shift", 24)),
        page_type_none=int(ptd.get("no_type", 0xFFFFFFFF)),
        page_type_names={str(k): str(v) for k, v in (ptd.get("names") or {}).items()},
        kinds=kinds,
        zones=zones,
        constants=constants,
        paths={"pageflags": pf_path, "pt_flags": pt_path, "pagetype": pt_path2, "packing": pk_path, "kinds": kinds_path},
        page_type_encodings=encodings,
        second_page_reserved_conds=reserved_conds,
        mask_optional=frozenset(optional),
    )
