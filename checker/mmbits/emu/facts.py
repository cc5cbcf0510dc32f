"""Everything the emulator knows about one config, read from the layouts data.

Struct layouts come from the layout registry, flag bits and masks from the
page->flags packing, page types from pagetype.yaml, and the rest (poisons,
"Bad page state" checks, page-table geometry, addresses) from
layouts/<version>/emulator.yaml. Nothing in the emulator hard-codes a bit
number or an offset: it asks a `Facts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from mmbits.cexpr import Expr, ExprError
from mmbits.errors import InputError
from mmbits.flags.data import load_flag_data
from mmbits.flags.packing import FlagsWord, compute
from mmbits.kconfig.config import Config
from mmbits.layout.model import Field, Layout
from mmbits.layout.registry import layouts
from mmbits.paths import DEFAULT_KERNEL, layouts_root, version_dir
from mmbits.yamlio import load_file


@dataclass(frozen=True)
class Level:
    """One page-table level that exists on this config (folded ones are dropped)."""

    name: str
    shift: int
    ptrs: int

    def index(self, va: int) -> int:
        return (va >> self.shift) % self.ptrs


@dataclass(frozen=True)
class BadPageCheck:
    word: str
    expect: int | None
    mask: bool
    reason: str
    reason_prep: str


@dataclass
class Facts:
    """Per-config constants, layouts and accessors for one emulated machine."""

    config: Config
    version: str
    page: Layout
    ptdesc: Layout
    folio: Layout | None
    flags_word: FlagsWord
    masks: dict[str, int]
    names: dict[str, int]
    page_type_shift: int
    page_type_none: int
    pgty: dict[str, int]
    poison: dict[str, int]
    max_order: int
    order_mask: int
    free_resets_page_type: bool
    levels: tuple[Level, ...]
    addresses: dict[str, int]
    page_shift: int
    sva_walks_kernel_tables: bool
    ops: tuple[str, ...]  # the default rotation of the workload
    bad_page_checks: tuple[BadPageCheck, ...]
    zone_index: int
    separate_ptdesc: bool = False
    memdesc_pagetable_type: int = 0
    memdesc_type_names: dict[int, str] = field(default_factory=dict)
    ptdesc_object_size: int = 0
    optin_ops: tuple[str, ...] = ()  # operations that run only when named (emulator.yaml `optin: true`)
    # operations of this arch whose `if:` is false on this config, with that condition:
    # `--only OP` then says what the operation needs, not that the arch lacks it
    ops_off: dict[str, str] = field(default_factory=dict)

    # -- derived helpers --------------------------------------------------
    @property
    def bits(self) -> int:
        return self.config.bits

    @cached_property
    def ptr_size(self) -> int:
        """sizeof(void *): read on every list step, so computed once."""
        return self.config.bits // 8

    @property
    def little(self) -> bool:
        return not self.config.big_endian

    @property
    def sizeof_page(self) -> int:
        return self.page.size

    def bit(self, name: str) -> int:
        """A page flag's bit number (PG_head, PG_reserved ...) for this config."""
        try:
            return self.names[name]
        except KeyError:
            raise InputError(f"flag {name} does not exist on config {self.config.label()}") from None

    def pw(self, name: str) -> Field:
        """A word of struct page (the design's page struct)."""
        return self.page.field(name)

    def pd(self, name: str) -> Field:
        """A word of the ptdesc (overlay or separate object)."""
        return self.ptdesc.field(name)

    def list_head(self) -> tuple[Field, Field]:
        """(next, prev) accessors of a struct list_head at offset 0, derived
        from struct page's lru so every list uses the resolved layout."""
        nxt = self.page.field("lru.next")
        prv = self.page.field("lru.prev")
        return nxt.moved("next", 0), prv.moved("prev", prv.offset - nxt.offset)

    @property
    def level_by_name(self) -> dict[str, int]:
        return {lv.name: i for i, lv in enumerate(self.levels)}

    @property
    def pmd_order(self) -> int:
        """get_order(PMD_SIZE): order of a block one entry above a PTE table maps."""
        return self.levels[-2].shift - self.page_shift if len(self.levels) >= 2 else 0


@cache
def _emulator_data(version: str) -> tuple[str, dict[str, Any]]:
    path = version_dir(version) / "emulator.yaml"
    if not path.exists():
        raise InputError("the emulator's kernel facts are missing", file=str(path))
    return str(path), load_file(path)


def _int(text: object, env: Any, where: str) -> int:
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    try:
        return int(Expr(str(text))(env))
    except ExprError as exc:
        raise InputError(f"{where}: {exc}") from None


def facts_for(config: Config, *, separate_ptdesc: bool = False, version: str = DEFAULT_KERNEL) -> Facts:
    """The Facts of a config; `separate_ptdesc` selects the memdesc model
    (struct page_sep + a ptdesc_sep object per table) instead of v6.18's overlay."""
    path, doc = _emulator_data(version)
    if doc.get("since") is not None:
        from mmbits.kconfig.release import parse_release, release_name

        first = parse_release(doc["since"])
        if config.get("VERSION") and int(config["VERSION"]) < first:
            # the bad input is the release asked for, not the data file: no file prefix
            raise InputError(f"Linux {release_name(int(config['VERSION']))} ({config.label()}) has no deferred "
                             f"kernel page-table free to emulate: it exists from Linux {release_name(first)} "
                             f"(emulator.yaml since:); give --kernel {release_name(first)} to emulate this config "
                             f"there")
    arch = config.arch
    arches = doc.get("arches") or {}
    if arch not in arches:
        raise InputError(f"no emulator data for arch {arch!r}", file=path)
    adoc = arches[arch]
    lset = layouts(version)
    md = doc.get("memdesc") or {}
    if separate_ptdesc:
        page = lset.resolve(str(md["page_struct"]), config)
        ptdesc = lset.resolve(str(md["ptdesc_struct"]), config)
        folio = None
    else:
        page = lset.resolve("page", config)
        ptdesc = lset.resolve("ptdesc", config)
        folio = lset.resolve("folio", config)
    word = compute(config)
    if not word.builds:
        raise InputError(f"config {config.label()} cannot build: {word.errors[0]}")
    from mmbits.names import c_names

    names, _types = c_names(config)
    data = load_flag_data(version)
    pgty = {t.name: t.value for t in data.page_types}
    delta = int(config.get("POISON_POINTER_DELTA", 0))
    poison = {str(k): int(v) + delta for k, v in (doc.get("poison") or {}).items()}
    levels = []
    for i, lv in enumerate(adoc.get("levels") or []):
        where = f"{path}: arches.{arch}.levels[{i}]"
        if "if" in lv and not Expr(str(lv["if"])).truth(config):
            continue
        levels.append(Level(str(lv["name"]), _int(lv["shift"], config, where), _int(lv["ptrs"], config, where)))
    present = [o for o in adoc.get("ops") or [] if "if" not in o or Expr(str(o["if"])).truth(config)]
    ops = tuple(str(o["op"]) for o in present if not o.get("optin"))
    optin_ops = tuple(str(o["op"]) for o in present if o.get("optin"))
    ops_off = {str(o["op"]): str(o["if"]) for o in adoc.get("ops") or [] if o not in present}
    checks = []
    for c in doc.get("bad_page_checks") or []:
        if "if" in c and not Expr(str(c["if"])).truth(config):
            continue
        checks.append(BadPageCheck(str(c["word"]), c.get("expect"), bool(c.get("mask", False)),
                                   str(c.get("reason", c.get("reason_free", ""))), str(c.get("reason_prep", ""))))
    zone_name = str(doc.get("page_zone", "ZONE_NORMAL"))
    zone_index = word.zones.index(zone_name) if zone_name in word.zones else len(word.zones) - 1
    facts = Facts(
        config=config, version=version, page=page, ptdesc=ptdesc, folio=folio, flags_word=word,
        masks=dict(word.masks), names=names, page_type_shift=data.page_type_shift,
        page_type_none=data.page_type_none, pgty=pgty, poison=poison,
        max_order=int(doc.get("max_page_order", 10)), order_mask=int(doc.get("order_mask", 0xFF)),
        free_resets_page_type=bool(doc.get("free_resets_page_type", True)), levels=tuple(levels),
        addresses={str(k): int(v) for k, v in (adoc.get("addresses") or {}).items()},
        page_shift=int(adoc.get("page_shift", 12)),
        sva_walks_kernel_tables=bool(adoc.get("sva_walks_kernel_tables", False)), ops=ops, optin_ops=optin_ops,
        ops_off=ops_off,
        bad_page_checks=tuple(checks), zone_index=zone_index, separate_ptdesc=separate_ptdesc,
    )
    if separate_ptdesc:
        table = _memdesc_types(str(md.get("type_table", "current")))
        wanted = str(md.get("pagetable_type", "PageTable"))
        by_name = {v: k for k, v in table.items()}
        if wanted not in by_name:
            raise InputError(f"memdesc type {wanted!r} is not in table {md.get('type_table')}", file=path)
        facts.memdesc_pagetable_type = by_name[wanted]
        facts.memdesc_type_names = table
        align = 16
        facts.ptdesc_object_size = -(-ptdesc.size // align) * align
    return facts


@cache
def _memdesc_types(table: str) -> dict[int, str]:
    path = layouts_root() / "memdesc" / "memdesc_types.yaml"
    doc = load_file(path)
    tables = doc.get("tables") or {}
    if table not in tables:
        raise InputError(f"no memdesc type table {table!r}", file=str(path))
    return {int(k): str(v) for k, v in (tables[table].get("types") or {}).items()}
