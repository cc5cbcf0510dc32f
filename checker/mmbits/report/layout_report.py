"""The layout report of a config: every descriptor pahole-style, the byte map
of a struct page with all overlays side by side, the MATCH and bit rules with
their status, the flags word as a bit map (this config and every preset) and
the free bits across a domain."""

from __future__ import annotations

import re
from collections import Counter

from mmbits.flags.packing import INPUT_SYMBOLS, compute
from mmbits.kconfig.config import Config
from mmbits.layout.pahole import format_layout
from mmbits.layout.registry import DESCRIPTORS, LayoutSet, layouts
from mmbits.report.charts import byte_map, flags_map, flags_strips, free_bits_chart
from mmbits.report.document import Banner, Document, Para, Picture, Pre, Section, Table

# the memdesc-era structs shown beside the v6.18 overlays (layouts/memdesc/)
MEMDESC_COLUMNS = ("page_sep", "page_memdesc")
COLUMN_HEADERS = {"page_sep": "memdesc RFC\n(page_sep)", "page_memdesc": "memdesc 32B\n(page_memdesc)",
                  "folio[0]": "folio\npage 0", "folio[1]": "folio\npage 1", "folio[2]": "folio\npage 2",
                  "folio[3]": "folio\npage 3"}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-")[:80] or "report"


def domain_histogram(domain_name: str) -> tuple[dict[str, Counter[int]], int, int, int]:
    """Free bits -> configs per arch over a domain (configs that cannot build left out),
    the number of configs, of those that cannot build, and of those with no static gap."""
    from mmbits.kconfig.domain import load_domain

    domain = load_domain(domain_name)
    hist: dict[str, Counter[int]] = {}
    total = cannot = no_gap = 0
    for group in domain.groups(INPUT_SYMBOLS):
        word = compute(group.config)
        total += group.count
        if not word.builds:
            cannot += group.count
            continue
        hist.setdefault(group.config.arch, Counter())[len(word.free_bits)] += group.count
        if word.true_gap_bits == 0:
            no_gap += group.count
    return hist, total, cannot, no_gap


def preset_words() -> list[tuple[str, Config]]:
    from mmbits.kconfig.presets import preset, preset_names

    return [(name, preset(name)) for name in preset_names()]


def flags_section(config: Config, highlight: tuple[int, ...] = (), sid: str = "flags",
                  title: str = "The page->flags word") -> Section:
    from mmbits.flags import report as flags_report

    word = compute(config)
    sec = Section(sid, title)
    sub = (f"{config.label()}: NR_PAGEFLAGS {word.nr_pageflags}, {len(word.free_bits)} free bits"
           + (", LAST_CPUPID out of the word" if not word.last_cpupid_in_flags else ""))
    sec.blocks.append(Picture(flags_map(word, f"page->flags, {config.label()}", highlight, sub), f"{sid}-map",
                              "Bit 63 (or 31) on the left. Packed fields from the top, page flags from bit 0, the "
                              "hatched bits are free."))
    rows = []
    for f in word.fields:
        rows.append([f"{f.msb}-{f.lsb}", f.name.upper(), f"{f.width} bits" + (" (boot option)" if f.runtime else "")])
    if word.gap:
        rows.append([f"{word.gap[1]}-{word.gap[0]}", "free gap", f"{word.true_gap_bits} bits"])
    rows.append([f"{word.nr_pageflags - 1}-0", "page flags", f"{word.nr_pageflags} flags"])
    sec.blocks.append(Table(["bits", "field", "width"], rows))
    frows = []
    for flag in word.flags:
        aliases = "; ".join(f"`{a.name}` ({a.valid_for()})" for a in flag.aliases) or "-"
        frows.append([str(flag.bit), f"`{flag.name}`", flag.policy, ", ".join(flag.kinds), aliases])
    sec.blocks.append(Table(["bit", "flag", "policy", "used by", "aliases (valid for)"], frows))
    notes = flags_report.findings(word, config)
    if notes:
        sec.blocks.append(Table(["", "finding"], [[n.severity.upper(), n.message] for n in notes],
                                ["warn" if n.severity != "error" else "bad" for n in notes]))
    return sec


def build_layout_report(config: Config, domain: str | None = "default", lset: LayoutSet | None = None,
                        source: str = "") -> Document:
    from mmbits.overlay import byte_map as overlay_rows
    from mmbits.overlay import check_rules

    lset = lset or layouts()
    label = config.label()
    symbols = set(INPUT_SYMBOLS)
    for name in DESCRIPTORS:
        symbols |= set(lset.config_symbols(name))
    word = compute(config)
    statuses = check_rules(config, lset)
    broken = [s for s in statuses if not s.ok]
    sizes = [[f"`struct {n}`", str(lset.resolve(n, config).size)] for n in (*DESCRIPTORS, "memdesc", *MEMDESC_COLUMNS)
             if n in lset.specs]

    summary = Section("summary", "Summary")
    summary.blocks.append(Banner(
        f"{len(statuses) - len(broken)} of {len(statuses)} overlay rules hold" if not broken
        else f"{len(broken)} of {len(statuses)} overlay rules broken", not broken,
        f"{label}: {len(word.free_bits)} free bits in page->flags, struct page is "
        f"{lset.resolve('page', config).size} bytes"))
    summary.blocks.append(Para(f"Config `{label}`" + (f" (from {source})" if source and source != label else "")
                               + f": {config.describe(symbols)}."))
    summary.blocks.append(Table(["descriptor", "size (bytes)"], sizes))

    columns_structs = [*DESCRIPTORS, *[m for m in MEMDESC_COLUMNS if m in lset.specs]]
    rows = overlay_rows(config, columns_structs, lset)
    cols = [c for c in rows[0].cells] if rows else []
    bad_where = {f"{w.struct}.{w.field}" for s in broken if s.finding and (w := s.finding.where) and w.field}
    overlay = Section("overlays", "struct page overlays")
    overlay.blocks.append(Picture(
        byte_map(rows, cols, f"Every descriptor over the bytes of a struct page ({label})", COLUMN_HEADERS, bad_where),
        "bytemap",
        "Each row is a byte range of struct page; each column names the fields a descriptor puts there (every union "
        "arm on its own line; hover a cell for the full names). folio[1..3] are the folio's second to fourth struct pages. The last two columns are "
        "memdesc-era models (layouts/memdesc): the RFC page with memdesc next to compound_head, and the interim "
        "32-byte page. A red border marks a field that breaks a rule."))

    rules = Section("rules", "MATCH asserts and bit rules")
    rules.blocks.append(Para("The kernel's FOLIO_MATCH / TABLE_MATCH / SLAB_MATCH / ZPDESC_MATCH / IOPTDESC_MATCH "
                             "offset asserts, the size asserts, and the bit rules they exist to protect (the "
                             "compound_head tail bit, the page_type byte, the mapping and memcg_data tag bits)."))
    rules.blocks.append(Table(["status", "rule", "detail"],
                              [["ok" if s.ok else "BROKEN", s.rule, s.detail] for s in statuses],
                              ["ok" if s.ok else "bad" for s in statuses]))

    descs = Section("descriptors", "Descriptors (pahole)")
    for name in (*DESCRIPTORS, "memdesc", *MEMDESC_COLUMNS):
        if name in lset.specs:
            layout = lset.resolve(name, config)
            descs.blocks.append(Pre(format_layout(layout),
                                    f"`struct {name}` for {label}; source: {lset.specs[name].path.name}"))

    presets = preset_words()
    configs = Section("configs", "The flags word per config")
    configs.blocks.append(Picture(
        flags_strips([(n, compute(c)) for n, c in presets], "page->flags of every preset",
                     "one row per preset (mmbits configs lists what each sets)"),
        "presets", "Hover a span for its bit range. Light blue: page flags; hatched green: free; the rest are packed "
                   "fields (node, zone, last_cpupid, KASAN tag, LRU gen/refs, section)."))

    sections = [summary, flags_section(config), overlay, rules, configs]
    if domain:
        hist, total, cannot, no_gap = domain_histogram(domain)
        dom = Section("domain", f"Free bits across domain '{domain}'")
        zero = sum(c.get(0, 0) for c in hist.values())
        dom.blocks.append(Picture(
            free_bits_chart(hist, f"Free page->flags bits over domain '{domain}'",
                            f"{total:,} valid configs; {zero:,} have no free bit ({no_gap:,} with no gap at all, "
                            f"the rest because compressed allocation tags claim the gap); {cannot:,} cannot build"),
            "domain", "Configs per number of free bits: gap bits that no packed field and no boot-time mode claims "
                      "(booting with sysctl.vm.mem_profiling=1,compressed gives the whole gap to allocation tags). "
                      "Stacked by architecture; red: configs where any new page flag collides."))
        rows_arch = []
        for arch, c in sorted(hist.items()):
            n = sum(c.values())
            rows_arch.append([arch, f"{n:,}", str(min(c)), str(max(c)), f"{c.get(0, 0):,}"])
        dom.blocks.append(Table(["arch", "configs", "min free", "max free", "with 0 free"], rows_arch))
        sections.append(dom)
    sections.append(descs)
    return Document(f"mmbits layout report: {label}",
                    f"Linux {lset.version} page descriptors for `{label}`: layouts, overlays, rules and the "
                    f"page->flags word.", sections, f"layout-{slug('-'.join(x for x in (label, f'domain-{domain}' if domain else '') if x))}")
