"""Load the flag-space data of a kernel version: page flags, aliases, masks,
page types, pt_flags, page kinds, zones and packing constants.

All of it is YAML under layouts/<version>/; nothing here knows a bit number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from mmbits.cexpr import Expr, ExprError
from mmbits.errors import InputError
from mmbits.kconfig.model import load_model
from mmbits.paths import DEFAULT_KERNEL, version_dir
from mmbits.yamlio import LDict, load_file

POLICIES = {"PF_ANY", "PF_HEAD", "PF_ONLY_HEAD", "PF_NO_TAIL", "PF_NO_COMPOUND", "PF_SECOND", "PF_ARCH"}
PAGE_POSITIONS = {"head", "second", "tail", "any"}


@dataclass(frozen=True)
class FlagSpec:
    name: str
    policy: str
    kinds: tuple[str, ...]
    cond: Expr | None
    tails: bool
    doc: str


@dataclass(frozen=True)
class AliasSpec:
    name: str
    base: str
    kinds: tuple[str, ...]
    page: str  # head | second | any
    cond: Expr | None
    enum: str
    doc: str

    def valid_for(self) -> str:
        where = {"head": "head page", "second": "second page", "any": "any page", "tail": "tail page"}[self.page]
        return f"{'|'.join(self.kinds)} ({where})"


@dataclass(frozen=True)
class PageType:
    name: str
    value: int
    kind: str | None
    low_bits: int
    low_use: str


@dataclass(frozen=True)
class Kind:
    name: str
    descriptor: str
    position: str
    page_type: str | None
    doc: str


@dataclass
class FlagData:
    version: str
    flags: list[FlagSpec]
    aliases: list[AliasSpec]
    masks: list[tuple[str, Expr]]
    second_page_reserved: list[tuple[str, int, int, str]]
    page_types: list[PageType]
    page_type_shift: int
    page_type_none: int
    page_type_names: dict[str, str]
    kinds: dict[str, Kind]
    zones: list[tuple[str, Expr | None]]
    constants: dict[str, int]
    paths: dict[str, Path] = field(default_factory=dict)

    def flag_names(self) -> set[str]:
        return {f.name for f in self.flags}

    def all_names(self) -> set[str]:
        return self.flag_names() | {a.name for a in self.aliases}


def _cond(text: object, path: Path, line: int, known: set[str]) -> Expr:
    try:
        e = Expr(str(text))
        e.check_names(known)
        return e
    except ExprError as exc:
        raise InputError(f"bad condition {text!r}: {exc}", file=str(path), line=line) from None


def _one_key(item: object, path: Path, line: int) -> tuple[str, dict]:
    if not isinstance(item, dict) or len(item) != 1:
        raise InputError("expected `- NAME: {...}`", file=str(path), line=line)
    (name, spec), = item.items()
    return str(name), dict(spec or {})


@cache
def load_flag_data(version: str = DEFAULT_KERNEL) -> FlagData:
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
        fkinds = tuple(spec.get("kinds") or ())
        bad = set(fkinds) - kind_names
        if bad:
            raise InputError(f"{name}: unknown page kind(s) {sorted(bad)}", file=str(pf_path), line=line)
        flags.append(FlagSpec(name, policy, fkinds, _cond(spec["if"], pf_path, line, known) if "if" in spec else None,
                              bool(spec.get("tails", True)), str(spec.get("doc", ""))))
    flag_names = {f.name for f in flags}
    aliases: list[AliasSpec] = []

    def read_aliases(items: list, path: Path, doc_node: LDict, key: str, default_enum: str) -> None:
        for i, item in enumerate(items or []):
            line = doc_node[key].line_of(i)
            name, spec = _one_key(item, path, line)
            base = str(spec.get("base", ""))
            if base not in flag_names:
                raise InputError(f"{name}: base {base!r} is not a page flag", file=str(path), line=line)
            page = str(spec.get("page", "head"))
            if page not in PAGE_POSITIONS:
                raise InputError(f"{name}: page must be one of {sorted(PAGE_POSITIONS)}", file=str(path), line=line)
            akinds = tuple(spec.get("kinds") or ())
            bad = set(akinds) - kind_names
            if bad:
                raise InputError(f"{name}: unknown page kind(s) {sorted(bad)}", file=str(path), line=line)
            aliases.append(AliasSpec(name, base, akinds, page,
                                     _cond(spec["if"], path, line, known) if "if" in spec else None,
                                     str(spec.get("enum", default_enum)), str(spec.get("doc", ""))))

    read_aliases(doc.get("aliases"), pf_path, doc, "aliases", "pageflags")
    pt_path = vdir / "pt_flags.yaml"
    pt_doc = load_file(pt_path)
    read_aliases(pt_doc.get("flags"), pt_path, pt_doc, "flags", "pt_flags")

    mask_known = known | flag_names | {a.name for a in aliases} | {
        "LRU_GEN_MASK", "LRU_REFS_MASK", "PAGEFLAGS_MASK", "NR_PAGEFLAGS"}
    masks = []
    for name, text in (doc.get("masks") or {}).items():
        line = doc["masks"].line_of(name)
        masks.append((str(name), _cond(text, pf_path, line, mask_known)))
        mask_known.add(str(name))
    reserved = [
        (str(r["name"]), int(r["bits"][0]), int(r["bits"][1]), str(r.get("doc", "")))
        for r in doc.get("second_page_reserved") or []
    ]

    pt_path2 = vdir / "pagetype.yaml"
    ptd = load_file(pt_path2)
    page_types = [
        PageType(str(t["name"]), int(t["value"]), t.get("kind"), int(t.get("low_bits", 0)), str(t.get("low_use", "")))
        for t in ptd.get("types") or []
    ]

    pk_path = vdir / "packing.yaml"
    pk = load_file(pk_path)
    zones = [
        (str(z["name"]), _cond(z["if"], pk_path, pk["zones"].line_of(i), known) if "if" in z else None)
        for i, z in enumerate(pk.get("zones") or [])
    ]
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
    )
