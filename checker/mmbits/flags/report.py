"""The page->flags word of one config, and a summary across a config domain,
as data (for --json and reports) and as text (for the terminal)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mmbits.findings import Finding
from mmbits.flags.packing import FIELD_LABEL, INPUT_SYMBOLS, FlagsWord, compute
from mmbits.kconfig.config import Config

DIAGRAM_LETTER = {"section": "S", "node": "N", "zone": "Z", "last_cpupid": "C", "kasan_tag": "K",
                  "lru_gen": "G", "lru_refs": "R", "alloc_tag": "a"}


def page_sizes(config: Config) -> tuple[int, int]:
    """sizeof(struct page) for this config, and what it would be with LAST_CPUPID in the word."""
    from mmbits.layout.registry import layout_env, layouts

    lset = layouts()
    env = layout_env(config)
    actual = lset.resolve("page", config, env).size
    env2 = dict(env)
    env2["LAST_CPUPID_NOT_IN_PAGE_FLAGS"] = 0
    return actual, lset.resolve("page", config, env2).size


def findings(word: FlagsWord, config: Config) -> list[Finding]:
    """What a kernel developer should be told about this word (not errors in our model)."""
    label = config.label()
    out: list[Finding] = []
    for err in word.errors:
        out.append(Finding("cannot-build", f"the kernel refuses this config: {err}", label, "page.flags"))
    if not word.last_cpupid_in_flags:
        actual, inword = page_sizes(config)
        hvo = "" if actual & (actual - 1) == 0 else " (not a power of two: HugeTLB vmemmap optimisation is disabled)"
        out.append(Finding(
            "field-out-of-word",
            f"LAST_CPUPID needs {word.shifts['last_cpupid']} bits and does not fit: LAST_CPUPID_NOT_IN_PAGE_FLAGS, "
            f"int _last_cpupid is appended to struct page: sizeof(struct page) {inword} -> {actual}{hvo}",
            label, "page._last_cpupid", severity="warning"))
    if not word.node_in_flags:
        out.append(Finding(
            "field-out-of-word",
            f"NODE ({word.shifts['node']} bits) does not fit: NODE_NOT_IN_PAGE_FLAGS, memdesc_nid() looks the node "
            f"up through the section; ZONEID is SECTION:ZONE ({word.zoneid[1]} bits at {word.zoneid[0]})",
            label, "page.flags", severity="warning"))
    if word.widths["lru_refs"] < word.shifts["lru_refs"]:
        out.append(Finding(
            "shrinks-field",
            f"LRU_REFS is elastic and shrank from {word.shifts['lru_refs']} to {word.widths['lru_refs']} bits "
            f"without a build error: MGLRU tier tracking is reduced",
            label, "page.flags", severity="warning"))
    # NR_UNUSED_PAGEFLAG_BITS exists from 6.12 (page-flags-layout.h; absent in 6.1.192)
    if word.builds and word.nr_unused_kernel != word.true_gap_bits and (not word.kernel or word.kernel >= 6012):
        out.append(Finding(
            "miscount",
            f"the kernel's NR_UNUSED_PAGEFLAG_BITS is {word.nr_unused_kernel} but the true gap is "
            f"{word.true_gap_bits} bits: NR_NON_PAGEFLAG_BITS counts LAST_CPUPID_SHIFT even when LAST_CPUPID is "
            f"not in the word",
            label, "page.flags", severity="warning"))
    if word.alloc_tag_note:
        sev = "warning" if word.nr_unused_kernel < 0 else "note"
        out.append(Finding("collision" if sev == "warning" else "miscount", word.alloc_tag_note, label,
                           "page.flags", severity=sev) if sev == "warning" else
                   Finding("miscount", word.alloc_tag_note, label, "page.flags", severity="note"))
    return out


def diagram(word: FlagsWord) -> str:
    """One character per bit, MSB first: field letters, '.' free, 'f' page flag."""
    chars = []
    for bit in range(word.bits - 1, -1, -1):
        ch = "." if word.gap and word.gap[0] <= bit <= word.gap[1] else "?"
        if bit < word.nr_pageflags:
            ch = "f"
        for f in word.fields:
            if f.lsb <= bit <= f.msb:
                ch = DIAGRAM_LETTER.get(f.name, "?")
        chars.append(ch)
    return "".join(chars)


def to_json(word: FlagsWord, config: Config) -> dict[str, Any]:
    out = word.to_json()
    out["config"] = config.label()
    out["arch"] = config.arch
    out["findings"] = [f.to_json() for f in findings(word, config)]
    out["page_size"] = page_sizes(config)[0]
    out["kernel"] = _kernel_line(config)
    return out


def _kernel_line(config: Config) -> str:
    """Which release the answer is for, and how it was chosen (never silent)."""
    from mmbits.kconfig.release import release_name

    return config.version_from or f"Linux {release_name(config.kernel)}"


def text(word: FlagsWord, config: Config) -> str:
    lines = [
        f"page->flags for {config.label()} ({config.arch}, BITS_PER_LONG {word.bits}, "
        f"NR_PAGEFLAGS {word.nr_pageflags})",
        f"  {config.describe(INPUT_SYMBOLS)}",
        f"  kernel: {_kernel_line(config)}",
        "",
        f"  {diagram(word)}",
        f"  {'^ bit ' + str(word.bits - 1):<{word.bits - 5}}bit 0 ^",
        "",
    ]
    rows: list[tuple[int, int, str, str]] = []
    for f in word.fields:
        detail = {
            "section": f"SECTIONS_SHIFT {word.shifts['section']}",
            "node": f"NODES_SHIFT {word.shifts['node']}",
            "zone": f"{len(word.zones)} zones: {' '.join(z.removeprefix('ZONE_') for z in word.zones)}",
            "last_cpupid": f"{word.shifts['last_cpupid']} = 8 pid + {word.shifts['last_cpupid'] - 8} cpu bits",
            "kasan_tag": "KASAN tag (stored XOR 0xff)",
            "lru_gen": "MGLRU generation + 1",
            "lru_refs": f"MGLRU tier refs ({word.widths['lru_refs']} of {word.shifts['lru_refs']} bits)",
            "alloc_tag": "compressed allocation tags (boot-time mode)",
        }.get(f.name, "")
        rows.append((f.msb, f.lsb, FIELD_LABEL.get(f.name, f.name), detail))
    if word.gap:
        rows.append((word.gap[1], word.gap[0], "free gap", f"{word.true_gap_bits} bits"))
    rows.append((word.nr_pageflags - 1, 0, "page flags", f"{word.nr_pageflags} flags"))
    seen = set()
    for msb, lsb, name, detail in sorted(rows, key=lambda r: (-r[0], r[2] == "free gap")):
        if (msb, lsb, name) in seen:
            continue
        seen.add((msb, lsb, name))
        lines.append(f"  bits {msb:>2}-{lsb:<2}  {name:<12} {detail}")
    lines.append("")
    lines.append(f"  {'bit':>3}  {'flag':<24} {'policy':<15} {'used by':<34} aliases (valid for)")
    for fb in word.flags:
        aliases = "; ".join(f"{a.name} ({a.valid_for()})" for a in fb.aliases) or "-"
        lines.append(f"  {fb.bit:>3}  {fb.name:<24} {fb.policy:<15} {','.join(fb.kinds):<34} {aliases}")
    lines.append("")
    free = word.free_bits
    lines.append(f"  free bits: {_ranges(free) if free else 'none'} ({len(free)})")
    lines.append(f"  NR_UNUSED_PAGEFLAG_BITS (kernel): {word.nr_unused_kernel}; true gap: {word.true_gap_bits}")
    lines.append(f"  LAST_CPUPID in page->flags: {'yes' if word.last_cpupid_in_flags else 'no'}; "
                 f"NODE in page->flags: {'yes' if word.node_in_flags else 'no'}; "
                 f"SECTION in page->flags: {'yes' if word.section_in_flags else 'no'}")
    lines.append(f"  ZONEID: {word.zoneid[1]} bits at {word.zoneid[0]}")
    lines.append("  masks: " + ", ".join(f"{k} {v:#x}" for k, v in word.masks.items()
                                         if k.startswith("PAGE_FLAGS") or k.endswith("_MASK")))
    for fnd in findings(word, config):
        lines.append(f"  {fnd.severity.upper()}: {fnd.message}")
    return "\n".join(lines)


def _ranges(bits: list[int]) -> str:
    out = []
    start: int | None = None
    prev: int | None = None
    for b in bits:
        if start is None or prev is None:  # both are set together
            start = prev = b
        elif b == prev + 1:
            prev = b
        else:
            out.append(f"{start}-{prev}" if start != prev else str(start))
            start = prev = b
    if start is not None:
        out.append(f"{start}-{prev}" if start != prev else str(start))
    return ",".join(out)


# -- domain summary --------------------------------------------------------

@dataclass
class Tally:
    """How many configs fall in one category, and the first groups that do (in the domain's
    order) as examples: (config, configs it stands for[, the kernel's #error lines])."""

    count: int = 0
    examples: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass
class DomainSummary:
    domain: str
    configs: int = 0
    combinations: int = 0
    groups: int = 0
    seconds: float = 0.0
    cannot_build: Tally = field(default_factory=Tally)
    zero_free: Tally = field(default_factory=Tally)
    zero_gap: Tally = field(default_factory=Tally)
    cpupid_out: Tally = field(default_factory=Tally)
    miscount: Tally = field(default_factory=Tally)
    refs_shrunk: Tally = field(default_factory=Tally)
    histogram: Counter[int] = field(default_factory=Counter)  # free bits -> configs
    gap_histogram: Counter[int] = field(default_factory=Counter)  # static gap -> configs
    min_free: int | None = None
    min_gap: int | None = None
    per_arch: dict[str, dict[str, int]] = field(default_factory=dict)
    per_release: dict[int, int] = field(default_factory=dict)  # VERSION -> configs

    def to_json(self, examples: int = 5) -> dict[str, Any]:
        def ex(t: Tally) -> dict[str, Any]:
            return {"count": t.count,
                    "examples": [{"config": i[0].describe(INPUT_SYMBOLS), "configs": i[1]} for i in t.examples[:examples]]}

        cb = ex(self.cannot_build)
        for e, item in zip(cb["examples"], self.cannot_build.examples, strict=False):
            e["errors"] = item[2]
        return {
            "domain": self.domain,
            "configs": self.configs,
            "combinations": self.combinations,
            "rejected": self.combinations - self.configs,
            "groups": self.groups,
            "seconds": round(self.seconds, 4),
            "min_free_bits": self.min_free,
            "min_static_gap": self.min_gap,
            "zero_free_bits": ex(self.zero_free),
            "zero_static_gap": ex(self.zero_gap),
            "cannot_build": cb,
            "last_cpupid_out_of_word": ex(self.cpupid_out),
            "kernel_miscount": ex(self.miscount),
            "lru_refs_shrunk": ex(self.refs_shrunk),
            "free_bits_histogram": {str(k): v for k, v in sorted(self.histogram.items())},
            "static_gap_histogram": {str(k): v for k, v in sorted(self.gap_histogram.items())},
            "per_arch": self.per_arch,
            "kernels": {_release(k): v for k, v in sorted(self.per_release.items())},
        }


def _release(value: int) -> str:
    from mmbits.kconfig.release import release_name

    return release_name(value)


# the categories a group can fall in, as bits (a group's figures say which)
_CANNOT, _ZERO_FREE, _ZERO_GAP, _CPUPID, _MISCOUNT, _SHRUNK = (1 << i for i in range(6))
_CATEGORIES = ((_CANNOT, "cannot_build"), (_ZERO_FREE, "zero_free"), (_ZERO_GAP, "zero_gap"),
               (_CPUPID, "cpupid_out"), (_MISCOUNT, "miscount"), (_SHRUNK, "refs_shrunk"))


class _Figures(NamedTuple):
    """What the summary reads of one packing: a few numbers, hashable in C (a tuple), so
    the groups are tallied by their figures and release (one dict update per group)."""

    builds: bool
    errors: tuple[str, ...]
    free: int
    gap: int
    categories: int  # the release aside: _MISCOUNT counts from 6.12 (see at())
    miscounts: bool

    def at(self, kernel: int) -> int:
        """The categories of this packing at one release: NR_UNUSED_PAGEFLAG_BITS exists
        from 6.12 (page-flags-layout.h; absent in 6.1.192)."""
        return self.categories | _MISCOUNT if self.miscounts and kernel >= 6012 else self.categories


def _figures(word: FlagsWord) -> _Figures:
    if not word.builds:
        return _Figures(False, tuple(word.errors), 0, 0, _CANNOT, False)
    free, gap = len(word.free_bits), word.true_gap_bits
    cats = (_ZERO_FREE if free == 0 else 0) | (_ZERO_GAP if gap == 0 else 0)
    cats |= _CPUPID if not word.last_cpupid_in_flags else 0
    cats |= _SHRUNK if word.widths["lru_refs"] < word.shifts["lru_refs"] else 0
    return _Figures(True, (), free, gap, cats, word.nr_unused_kernel != gap)


def summarise(domain: Any, progress: Any = None, keep: int = 5) -> DomainSummary:
    """The page->flags summary of a domain. Reads the input symbols of each group straight
    from the domain index, computes each distinct word's figures once, tallies the groups'
    counts per figures (so the cost per group is a lookup and an addition) and builds a
    group's config only for the first `keep` examples of a category."""
    t0 = time.perf_counter()
    s = DomainSummary(domain.name, combinations=domain.raw_size())
    for part in domain.parts:
        table = part.table(INPUT_SYMBOLS, INPUT_SYMBOLS)
        tally = _tally_part(table, s, keep)
        _fold(s, part.arch, tally)
        if progress is not None:
            progress(sum(tally.values()))
    for cfg in domain.fixed:
        fig = _figures(compute(cfg))
        s.groups += 1
        _example(s, fig.at(cfg.kernel), fig.errors, 1, keep, lambda c=cfg: c)
        _fold(s, cfg.arch, {(fig, cfg.kernel): 1})
        if progress is not None:
            progress(1)
    s.seconds = time.perf_counter() - t0
    return s


def _tally_part(table: Any, s: DomainSummary, keep: int) -> dict[tuple[_Figures, int], int]:
    """Configs per figures and release over one part's groups, and the examples in the
    groups' order. A group's figures are found by what its layout reads
    (`packing.layout_keys`): each distinct layout's word is computed once, for all releases."""
    from mmbits.flags.packing import layout_keys, layout_of

    key_of = layout_keys(table.positions, table.consts)
    by_layout: dict[tuple[Any, ...], _Figures] = {}
    at_version = table.positions[INPUT_SYMBOLS.index("VERSION")]
    fixed_kernel = int(table.consts[INPUT_SYMBOLS.index("VERSION")] or 0)
    figures: dict[tuple[Any, ...], _Figures] = {}
    tally: dict[tuple[_Figures, int], int] = {}
    pending = sum(bit for bit, _ in _CATEGORIES)
    for n, row in zip(table.counts, table.rows, strict=True):
        key = key_of(row)
        fig = figures.get(key)
        if fig is None:
            # rows keyed apart can still give one layout (NR_CPUS_BITS without NUMA_BALANCING)
            layout, word = layout_of(table.values(row))
            fig = by_layout.get(layout)
            if fig is None:
                fig = by_layout[layout] = _figures(word)
            figures[key] = fig
        kernel = fixed_kernel if at_version is None else int(row[at_version] or 0)
        at = (fig, kernel)
        tally[at] = tally.get(at, 0) + n
        if fig.categories & pending or fig.miscounts and pending & _MISCOUNT:
            pending &= ~_example(s, fig.at(kernel), fig.errors, n, keep, lambda r=row: table.make(r))
    s.groups += len(table.rows)
    return tally


def _example(s: DomainSummary, categories: int, errors: tuple[str, ...], n: int, keep: int,
             make: Any) -> int:
    """Record a group as an example of its categories that still want one (building its
    config then); returns the categories now full."""
    full = 0
    cfg = None
    for bit, name in _CATEGORIES:
        if categories & bit:
            t: Tally = getattr(s, name)
            if len(t.examples) < keep:
                if cfg is None:
                    cfg = make()
                t.examples.append((cfg, n, list(errors)) if bit == _CANNOT else (cfg, n))
            if len(t.examples) >= keep:
                full |= bit
    return full


def _fold(s: DomainSummary, arch_name: str, tally: dict[tuple[_Figures, int], int]) -> None:
    """Add one part's (or one preset's) configs per figures and release to the summary."""
    if not tally:
        return
    arch = s.per_arch.get(arch_name)
    if arch is None:
        arch = s.per_arch[arch_name] = {"configs": 0, "cannot_build": 0, "min_free_bits": 10**9}
    for (fig, kernel), n in tally.items():
        s.configs += n
        arch["configs"] += n
        if not fig.builds:
            s.cannot_build.count += n
            arch["cannot_build"] += n
            continue
        s.histogram[fig.free] += n
        s.gap_histogram[fig.gap] += n
        if fig.free < arch["min_free_bits"]:
            arch["min_free_bits"] = fig.free
        s.min_free = fig.free if s.min_free is None else min(s.min_free, fig.free)
        s.min_gap = fig.gap if s.min_gap is None else min(s.min_gap, fig.gap)
        categories = fig.at(kernel)
        for bit, name in _CATEGORIES[1:]:
            if categories & bit:
                getattr(s, name).count += n
        s.per_release[kernel] = s.per_release.get(kernel, 0) + n


def summary_text(s: DomainSummary, examples: int = 3) -> str:
    def ex(t: Tally) -> list[str]:
        return [f"      {i[0].describe(INPUT_SYMBOLS)}  [{i[1]} configs]" for i in t.examples[:examples]]

    lines = [
        f"domain {s.domain}: {s.configs} valid configs ({s.combinations} combinations, "
        f"{s.combinations - s.configs} rejected by Kconfig rules), {s.groups} distinct page->flags inputs, "
        f"{s.seconds:.2f}s",
        f"  min free bits: {s.min_free} (static gap, boot-time modes ignored: {s.min_gap})",
        f"  zero static gap: {s.zero_gap.count} configs",
        *ex(s.zero_gap),
        f"  zero free bits (incl. compressed alloc tags claiming the gap): {s.zero_free.count} configs",
        f"  cannot build (#error): {s.cannot_build.count} configs",
        *[line + f"  {item[2][0]}" for line, item in zip(ex(s.cannot_build), s.cannot_build.examples, strict=False)],
        f"  LAST_CPUPID out of the word (struct page grows): {s.cpupid_out.count} configs",
        *ex(s.cpupid_out),
        f"  kernel NR_UNUSED_PAGEFLAG_BITS differs from the true gap: {s.miscount.count} configs",
        f"  LRU_REFS silently shrunk: {s.refs_shrunk.count} configs",
        "  static gap histogram (bits: configs): "
        + ", ".join(f"{k}: {v}" for k, v in sorted(s.gap_histogram.items())),
        "  kernels: " + ", ".join(f"{_release(k)} ({v} configs)" for k, v in sorted(s.per_release.items())),
        "  per arch: " + "; ".join(f"{a} {d['configs']} configs, min free {d['min_free_bits']}, "
                                   f"cannot build {d['cannot_build']}" for a, d in s.per_arch.items()),
    ]
    return "\n".join(lines)
