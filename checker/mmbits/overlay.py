"""Which fields of which descriptor cover each byte of a struct page, and the
kernel's MATCH asserts and bit rules checked on the resolved layouts.

A broken rule is a Finding: `match-broken` (an offset assert), `size-assert`,
`tail-marker` (something that may set bit 0 of compound_head), `type-byte`
(something over page_type's top byte), `pointer-tag` (mapping / memcg_data
low tag bits).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mmbits.cexpr import Expr, data_expr
from mmbits.findings import Finding
from mmbits.kconfig.config import Config
from mmbits.layout.model import Layout, Member
from mmbits.layout.registry import DESCRIPTORS, LayoutSet, layout_env, layouts
from mmbits.paths import DEFAULT_KERNEL, version_dir
from mmbits.yamlio import load_file

RULE_KIND = {"tail-marker": "tail-marker", "type-byte": "type-byte", "mapping-tag": "pointer-tag",
             "memcg-tag": "pointer-tag"}


@dataclass(frozen=True)
class MatchRule:
    macro: str
    page: str
    desc: str
    field: str
    page_index: int
    cond: Expr | None
    note: str
    line: int


@dataclass(frozen=True)
class SizeRule:
    expr: Expr
    source: str
    line: int


@dataclass(frozen=True)
class BitRule:
    rule: str
    word: str
    bits: tuple[int, int]
    pages: str  # head | all
    doc: str
    allowed: dict[str, str]
    line: int


@dataclass
class RuleSet:
    path: str
    match: list[MatchRule]
    sizes: list[SizeRule]
    bits: list[BitRule]


@dataclass
class RuleStatus:
    rule: str  # display text
    ok: bool
    detail: str
    finding: Finding | None = None


@cache
def load_rules(version: str = DEFAULT_KERNEL) -> RuleSet:
    path = version_dir(version) / "match.yaml"
    doc = load_file(path)
    from mmbits.kconfig.model import load_model

    known = load_model(version).known_names() | {"ARCH", "LAST_CPUPID_NOT_IN_PAGE_FLAGS",
                                                  "NODE_NOT_IN_PAGE_FLAGS", "SECTION_IN_PAGE_FLAGS"}

    def expr(text: object, line: int, extra: Iterable[str] = ()) -> Expr:
        return data_expr(text, known | set(extra), path, line)

    match = []
    for i, m in enumerate(doc.get("match") or []):
        line = doc["match"].line_of(i)
        match.append(MatchRule(str(m["macro"]), str(m["page"]), str(m["desc"]), str(m["field"]),
                               int(m.get("page_index", 0)), expr(m["if"], line) if "if" in m else None,
                               str(m.get("note", "")), line))
    size_names = [f"sizeof_{d}" for d in DESCRIPTORS] + ["offsetof_slab_freelist"]
    sizes = [SizeRule(expr(s["assert"], doc["sizes"].line_of(i), size_names), str(s.get("source", "")),
                      doc["sizes"].line_of(i)) for i, s in enumerate(doc.get("sizes") or [])]
    bits = []
    for i, b in enumerate(doc.get("bits") or []):
        rng = b.get("bits") or [0]
        bits.append(BitRule(str(b["rule"]), str(b["word"]), (int(rng[0]), int(rng[-1])), str(b.get("pages", "all")),
                            " ".join(str(b.get("doc", "")).split()), dict(b.get("allowed") or {}),
                            doc["bits"].line_of(i)))
    return RuleSet(str(path), match, sizes, bits)


def _offset(layout: Layout, name: str) -> int | None:
    m = layout.by_name.get(name)
    return None if m is None else m.offset


def check_rules(
    config: Config, lset: LayoutSet | None = None, structs: Sequence[str] = DESCRIPTORS
) -> list[RuleStatus]:
    """Every MATCH assert, size assert and bit rule for one config."""
    lset = lset or layouts()
    env = layout_env(config)
    rules = load_rules(lset.version)
    resolved = {name: lset.resolve(name, config, env) for name in DESCRIPTORS
                if name in lset.specs and lset.exists(name, config)}
    page = resolved["page"]
    label = config.label()
    out: list[RuleStatus] = []
    for r in rules.match:
        if r.desc not in structs:
            continue
        if r.cond is not None and not r.cond.truth(env):
            continue
        text = f"{r.macro}({r.page}, {r.field})" + (f" page {r.page_index}" if r.page_index else "")
        desc = resolved.get(r.desc)
        po, do = _offset(page, r.page), (_offset(desc, r.field) if desc else None)
        if po is None or do is None:
            missing = f"struct page has no {r.page}" if po is None else f"struct {r.desc} has no {r.field}"
            f = Finding("match-broken", f"{text}: {missing}", label, f"{r.desc}.{r.field}")
            out.append(RuleStatus(text, False, missing, f))
            continue
        want = po + r.page_index * page.size
        if want == do:
            out.append(RuleStatus(text, True, f"offset {do}"))
        else:
            msg = (f"{text}: offsetof(struct {r.desc}, {r.field}) = {do}, but struct page's {r.page} is at "
                   f"{want}" + (f" (page {r.page_index})" if r.page_index else ""))
            out.append(RuleStatus(text, False, f"{do} != {want}",
                                  Finding("match-broken", msg, label, f"{r.desc}.{r.field}")))
    size_env: dict[str, Any] = dict(env)
    for name in DESCRIPTORS:
        size_env[f"sizeof_{name}"] = resolved[name].size if name in resolved else 0
    size_env["offsetof_slab_freelist"] = _offset(resolved["slab"], "freelist") or 0 if "slab" in resolved else 0
    for s in rules.sizes:
        ok = s.expr.truth(size_env)
        text = f"assert {s.expr.text}"
        sizes = ", ".join(f"{n}={size_env[n]}" for n in sorted(s.expr.symbols) if n.startswith(("sizeof_", "offsetof_")))
        out.append(RuleStatus(text, ok, sizes, None if ok else Finding(
            "size-assert", f"{s.expr.text} fails ({sizes}); {s.source}", label, "sizeof")))
    for b in rules.bits:
        out.extend(_bit_rule(b, page, resolved, structs, label))
    return out


def _cover_names(layout: Layout, lo: int, hi: int) -> list[Member]:
    return [m for m in layout.overlap(lo, hi - lo)]


def _bit_rule(rule: BitRule, page: Layout, resolved: dict[str, Layout], structs: Sequence[str],
              label: str) -> list[RuleStatus]:
    anchor = page.by_name.get(rule.word)
    if anchor is None:
        return []
    # the bytes of the word that hold the rule's bits
    lo_bit, hi_bit = rule.bits
    word = min(anchor.size, page.env.get("BITS_PER_LONG", 64) // 8) if anchor.size else anchor.size
    little = page.little
    byte_lo = anchor.offset + (lo_bit // 8 if little else word - 1 - hi_bit // 8)
    byte_hi = anchor.offset + (hi_bit // 8 if little else word - 1 - lo_bit // 8)
    out = []
    for name in structs:
        layout = resolved.get(name)
        if layout is None:
            continue
        npages = layout.size // page.size if name == "folio" else 1
        indices = range(npages) if rule.pages == "all" else range(1)
        bad: list[str] = []
        seen: list[str] = []
        for k in indices:
            base = k * page.size
            for m in _cover_names(layout, base + byte_lo, base + byte_hi + 1):
                key = f"{name}.{m.name}"
                seen.append(m.name or "?")
                if key not in rule.allowed:
                    bad.append(f"{m.name} (offset {m.offset}, {m.type})")
        text = f"{rule.rule}: {name} over page.{rule.word} bits {lo_bit}-{hi_bit}"
        if bad:
            msg = (f"struct {name}: {', '.join(bad)} covers page.{rule.word} bits {lo_bit}-{hi_bit} "
                   f"without a rule keeping them ({rule.doc.split('.')[0]})")
            out.append(RuleStatus(text, False, ", ".join(bad),
                                  Finding(RULE_KIND.get(rule.rule, "match-broken"), msg, label,
                                          f"{name}.{bad[0].split(' ')[0]}")))
        else:
            out.append(RuleStatus(text, True, ", ".join(dict.fromkeys(seen)) or "not covered"))
    return out


# -- the byte map ---------------------------------------------------------

@dataclass
class Column:
    name: str  # page, folio[0..3], ptdesc, ...
    layout: Layout
    base: int


@dataclass
class MapRow:
    start: int
    end: int  # exclusive
    cells: dict[str, list[str]] = field(default_factory=dict)


def _is_page_view(m: Member) -> bool:
    return m.ctype is not None and m.ctype.struct is not None


def _label(m: Member, lo: int, hi: int, base: int) -> str:
    ct = m.ctype
    if ct is not None and ct.fields and len(ct.fields) > 1:
        word = ct.size // len(ct.fields)
        first = (lo + base - m.offset) // word
        last = (hi - 1 + base - m.offset) // word
        if first == last:
            return f"{m.name}.{ct.fields[first][0]}"
    if m.bit_size is not None:
        return f"{m.name}:{m.bit_size}@{m.bit_offset}"
    return str(m.name)


def columns(config: Config, structs: Sequence[str] = DESCRIPTORS, lset: LayoutSet | None = None) -> list[Column]:
    lset = lset or layouts()
    env = layout_env(config)
    page = lset.resolve("page", config, env)
    cols = []
    for name in structs:
        if name in lset.specs and not lset.exists(name, config):
            continue  # this release has no such struct (ptdesc before 6.6, zpdesc before 6.14 ...)
        layout = lset.resolve(name, config, env)
        if name == "folio":
            for k in range(max(1, layout.size // page.size)):
                cols.append(Column(f"folio[{k}]", layout, k * page.size))
        else:
            cols.append(Column(name, layout, 0))
    return cols


def byte_map(config: Config, structs: Sequence[str] = DESCRIPTORS, lset: LayoutSet | None = None) -> list[MapRow]:
    lset = lset or layouts()
    cols = columns(config, structs, lset)
    page_size = lset.resolve("page", config).size
    per_byte: list[tuple[tuple[str, ...], ...]] = []
    for b in range(page_size):
        cells: list[tuple[str, ...]] = []
        for col in cols:
            names = tuple(
                _label(m, b, b + 1, col.base)
                for m in col.layout.overlap(col.base + b, 1)
                if not _is_page_view(m)
            )
            cells.append(names)
        per_byte.append(tuple(cells))
    rows: list[MapRow] = []
    for b, byte_cells in enumerate(per_byte):
        if rows and per_byte[b - 1] == byte_cells and _same_word(rows[-1].start, b, config):
            rows[-1].end = b + 1
            continue
        rows.append(MapRow(b, b + 1, {c.name: list(n) for c, n in zip(cols, byte_cells, strict=True)}))
    # relabel sub-words over the whole row
    for row in rows:
        for col in cols:
            ms = [m for m in col.layout.overlap(col.base + row.start, row.end - row.start) if not _is_page_view(m)]
            row.cells[col.name] = [_label(m, row.start, row.end, col.base) for m in ms]
    return rows


def _same_word(start: int, b: int, config: Config) -> bool:
    word = config.bits // 8
    return start // word == b // word


def page_type_bits(config: Config) -> list[tuple[int, int, str]]:
    """(lsb, msb, meaning) for the page_type word."""
    from mmbits.flags.data import load_flag_data

    data = load_flag_data()
    owners = [f"{t.name} owner data: {t.low_use}" for t in data.page_types if t.low_bits]
    return [
        (24, 31, "type byte: PGTY_* when 0x80..0xfe; 0xff with the rest 1s = no type (_mapcount -1)"),
        (0, 23, "owner bits of a typed page" + (f" ({'; '.join(owners)})" if owners else "")),
    ]
