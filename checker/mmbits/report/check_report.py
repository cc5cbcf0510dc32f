"""The report of a `mmbits check` result: the verdict with the proposal and
what was checked, how the bit reads on a sample config, the findings grouped
by kind (each with its counterexample config), the failing lifecycle
schedules, and the bit in question drawn on the flags word of each
counterexample config (when the word overlays page->flags).

Reads the JSON-shaped result dict of `mmbits check --json` (mmbits schema check) and
tolerates extra keys and missing optional ones."""

from __future__ import annotations

import json
from typing import Any

from mmbits.findings import Where
from mmbits.kconfig.config import Config
from mmbits.report.charts import flags_map, word_map
from mmbits.report.document import Banner, Document, Para, Picture, Pre, Section, Table
from mmbits.report.layout_report import slug

SEVERITY_CSS = {"error": "bad", "warning": "warn", "note": ""}
MAX_PICTURES = 5
REFERENCE_PRESET = "x86_64-6.18"


def where_of(finding: dict[str, Any]) -> Where | None:
    """The structured `where` of a finding (the JSON object, or an older string form)."""
    w = finding.get("where")
    return Where.of(w) if isinstance(w, (dict, str)) else None


def where_text(finding: dict[str, Any]) -> str:
    w = where_of(finding)
    return str(w) if w else ""


def bits_of(finding: dict[str, Any], where_only: bool = False) -> list[int]:
    """The bit numbers a finding points at: where.bits (the bit of the proposal),
    else data.bit/bits unless `where_only`. Never parsed out of message text."""
    w = where_of(finding)
    if w is not None and w.bits:
        return sorted(set(w.bits))
    if where_only:
        return []
    data = finding.get("data") if isinstance(finding.get("data"), dict) else {}
    out: list[int] = []
    for key in ("bit", "bits"):
        v = data.get(key) if data else None
        if isinstance(v, int) and not isinstance(v, bool):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            out.extend(int(x) for x in v if isinstance(x, int) and not isinstance(x, bool))
    return sorted(set(out))


def config_of(label: Any, symbols: Any = None) -> Config | None:
    """A Config for a finding: its `data.config_symbols` (the primary symbols the
    analysis read, so the rest may stay at their defaults), else a config label that
    is a preset name, optionally with the `+SYM=VAL,SYM=VAL` overrides `--set` adds."""
    from mmbits.errors import InputError
    from mmbits.kconfig.model import load_model
    from mmbits.kconfig.presets import preset, preset_names

    name = label if isinstance(label, str) and label else None
    if isinstance(symbols, dict) and symbols:
        try:
            return load_model().make_unchecked(symbols, name=name)
        except (InputError, ValueError, TypeError, KeyError):
            pass
    if name is None:
        return None
    base, _, sets = name.partition("+")
    base = base.strip()
    if base not in preset_names():
        return None
    try:
        cfg = preset(base)
        if not sets:
            return cfg
        model = load_model()
        values = dict(cfg.primary)
        values.update(model.normalise(dict(kv.split("=", 1) for kv in sets.split(",") if "=" in kv)))
        return model.make(values, name=name)
    except (InputError, ValueError):
        return None


def flags_shift(word: Any, config: Config) -> int | None:
    """How far bit 0 of `word` (STRUCT.FIELD) sits above bit 0 of page->flags, or None
    when the word does not overlay the flags word (page_type, a pointer, memdesc ...)."""
    if not isinstance(word, str) or "." not in word:
        return None
    from mmbits.errors import InputError
    from mmbits.layout.registry import layouts
    from mmbits.prover.site import canonical_word, resolve_site

    struct, field = word.split(".", 1)
    try:
        site = resolve_site(layouts(), *canonical_word(struct, field), config)
    except (InputError, KeyError, ValueError):
        return None
    if not site.exists or site.role != "flags":
        return None
    return site.anchor_bit(0)


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def _severity(f: dict[str, Any]) -> str:
    return str(f.get("severity") or "error")


def findings_table(findings: list[dict[str, Any]]) -> Table:
    """One row per finding: severity, message, the counterexample config, how many
    configs it stands for, where."""
    rows, css = [], []
    for f in findings:
        data = f.get("data") if isinstance(f.get("data"), dict) else {}
        n = data.get("configs") if data else None
        rows.append([_severity(f), _text(f.get("message")), _text(f.get("config")) or "any",
                     f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else "", where_text(f)])
        css.append(SEVERITY_CSS.get(_severity(f), "warn"))
    return Table(["severity", "message", "counterexample config", "configs", "where"], rows, css)


def _proposal_table(result: dict[str, Any], proposal: dict[str, Any]) -> Table | None:
    rows = []
    for key, label in (("name", "name"), ("expr", "expression"), ("word", "word"), ("kind", "page kind"),
                       ("set_at", "set at"), ("test_at", "tested at"), ("clear_at", "cleared at")):
        if proposal.get(key):
            rows.append([label, f"`{proposal[key]}`"])
    for key, label in (("checked", "checked"), ("groups", "distinct cases"), ("lifecycle", "lifecycle")):
        v = result.get(key)
        if v is not None:
            rows.append([label, f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)])
    return Table(["", "proposal"], rows) if rows else None


_SEVERITY_ORDER = {"error": 0, "warning": 1, "note": 2}


def by_kind(findings: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The findings grouped by kind, the kinds with the worst severity first, then by name."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        groups.setdefault(str(f.get("kind")), []).append(f)
    return sorted(groups.items(), key=lambda kv: (min(_SEVERITY_ORDER.get(_severity(f), 3) for f in kv[1]), kv[0]))


def _kinds_table(findings: list[dict[str, Any]]) -> Table:
    """Per kind: how many findings, their worst severity and the first counterexample."""
    rows, css = [], []
    for kind, group in by_kind(findings):
        worst = min((_severity(f) for f in group), key=lambda s: _SEVERITY_ORDER.get(s, 3))
        cex = next((_text(f.get("config")) for f in group if f.get("config")), "any")
        rows.append([kind, str(len(group)), worst, cex])
        css.append(SEVERITY_CSS.get(worst, "warn"))
    return Table(["finding kind", "findings", "worst", "counterexample config"], rows, css)


def _pictures(findings: list[dict[str, Any]], word: Any) -> list[Section]:
    """The bit in question on the flags word of up to MAX_PICTURES counterexample
    configs, the first finding of each kind first, then the others (one section)."""
    chosen: list[tuple[dict[str, Any], Config, tuple[int, ...]]] = []
    seen: set[tuple[str, tuple[int, ...]]] = set()
    first_of_kind: dict[str, dict[str, Any]] = {}
    for f in findings:
        first_of_kind.setdefault(str(f.get("kind")), f)
    ordered = list(first_of_kind.values()) + [f for f in findings if f not in first_of_kind.values()]
    for f in ordered:
        if len(chosen) >= MAX_PICTURES:
            break
        bits = bits_of(f, where_only=True)
        if not bits:
            continue
        data = f.get("data") if isinstance(f.get("data"), dict) else {}
        cfg = config_of(f.get("config"), data.get("config_symbols") if data else None)
        if cfg is None:
            continue
        shift = flags_shift(word, cfg)
        if shift is None:
            continue
        key = (cfg.label(), tuple(b + shift for b in bits))
        if key in seen:
            continue
        seen.add(key)
        chosen.append((f, cfg, key[1]))
    if not chosen:
        return []
    from mmbits.flags.packing import compute

    sec = Section("counterexamples", "The bit on the counterexample configs")
    sec.blocks.append(Para("The proposal's bit (outlined in red) on the page->flags word of each counterexample "
                           "config: the first finding of each kind first."))
    for n, (f, cfg, chosen_bits) in enumerate(chosen, start=1):
        fw = compute(cfg)
        where = ", ".join(str(b) for b in chosen_bits)
        sec.blocks.append(Para(f"**{n}. {f.get('kind')}** on `{cfg.label()}`: {f.get('message')}"))
        sec.blocks.append(Picture(
            flags_map(fw, f"page->flags on counterexample {n} ({f.get('kind')})", chosen_bits,
                      f"NR_PAGEFLAGS {fw.nr_pageflags}, {len(fw.free_bits)} free bits"
                      + ("" if fw.last_cpupid_in_flags else ", LAST_CPUPID out of the word")),
            f"cex{n}-map", f"Bit {where} of page->flags on counterexample {n}."))
    return [sec]


def _reference_picture(proposal: dict[str, Any]) -> list[Section]:
    """The bit on the reference preset's flags word, for a report without a
    counterexample picture (a SAFE verdict): evaluated again on that preset."""
    from mmbits.errors import InputError
    from mmbits.flags.packing import compute
    from mmbits.kconfig.presets import preset
    from mmbits.proposal import Proposal
    from mmbits.prover.analyse import prepare

    expr, word = proposal.get("expr"), proposal.get("word")
    if not isinstance(expr, str) or not isinstance(word, str):
        return []
    cfg = preset(REFERENCE_PRESET)
    shift = flags_shift(word, cfg)
    if shift is None:
        return []
    try:
        prop = Proposal(expr=expr, word=word, kind=proposal.get("kind"), name=proposal.get("name"))
        _hits, value, _site = prepare(prop, probe=cfg).analyse(cfg)
    except (InputError, ValueError, KeyError, TypeError):
        return []  # e.g. a --define the result does not carry
    v = value.value if isinstance(value.value, int) else None
    if v is None or v <= 0 or v.bit_length() > 64:
        return []
    bits = tuple(b + shift for b in range(v.bit_length()) if v >> b & 1)
    fw = compute(cfg)
    sec = Section("bit", f"The bit on {REFERENCE_PRESET}")
    sec.blocks.append(Picture(
        flags_map(fw, f"page->flags on {REFERENCE_PRESET}", bits,
                  f"{expr} = {v:#x}: bit {', '.join(str(b) for b in bits)}; NR_PAGEFLAGS {fw.nr_pageflags}, "
                  f"{len(fw.free_bits)} free bits"),
        "bit-map", f"The proposal's bit (outlined in red) on the reference config {REFERENCE_PRESET}."))
    return [sec]


def _page_type_picture(word: Any, kind: Any, findings: list[dict[str, Any]], expr: Any) -> list[Section]:
    """The bit in question on the 32-bit page_type word: the type byte, the owner bits,
    and what the word holds on an untyped page and on a typed page of the proposal's kind."""
    from mmbits.flags.data import load_flag_data
    from mmbits.kconfig.presets import preset
    from mmbits.prover.facts import load_word_facts
    from mmbits.prover.site import canonical_word, resolve_site

    if not isinstance(word, str) or "." not in word:
        return []
    from mmbits.errors import InputError
    from mmbits.layout.registry import layouts

    cfg = preset(REFERENCE_PRESET)
    try:
        site = resolve_site(layouts(), *canonical_word(*word.split(".", 1)), cfg)
    except (InputError, KeyError, ValueError):
        return []
    if not site.exists or site.role != "page_type" or site.anchor_bits != 32:
        return []
    bits = sorted({b for f in findings for b in bits_of(f, where_only=True) if 0 <= b < 32})
    if not bits:
        return []
    data = load_flag_data()
    shift = data.page_type_shift
    spans = [("type byte (PGTY_*)", 31, shift, "#fed9a6")]
    disputed = load_word_facts().owner_bits_disputed
    if disputed is not None and disputed[1] == shift - 1:
        spans.append(("owner bits (disputed)", disputed[1], disputed[0], "#fdd0a2"))
        spans.append(("owner bits", disputed[0] - 1, 0, "#ccebc5"))
    else:
        spans.append(("owner bits", shift - 1, 0, "#ccebc5"))
    mask = sum(1 << b for b in bits)
    rows: list[tuple[str, int]] = [("untyped (UINT_MAX)", data.page_type_none)]
    kinds = data.kinds
    ptype = kinds[kind].page_type if isinstance(kind, str) and kind in kinds else None
    typed = next((t for t in data.page_types if t.name == ptype), None)
    if typed is not None:
        rows.append((f"{typed.name} << {shift}", typed.value << shift))
        rows.append((f"{typed.name} | {expr}" if expr else f"{typed.name} | bit", (typed.value << shift) | mask))
    sec = Section("bit", "The bit in the page_type word")
    sec.blocks.append(Picture(
        word_map(32, spans, rows, f"{word}: bit {', '.join(str(b) for b in bits)}", bits,
                 "page_type on an untyped page and on a typed page (include/linux/page-flags.h)"),
        "page-type-map", "What the word holds with and without a page type; the bit in question is outlined in "
                         "red. On an untyped page it already reads 1."))
    return [sec]


KNOWN_KEYS = ("verdict", "findings", "configs_checked", "configs_unsafe", "configs_colliding", "proposal",
              "checked", "groups", "lifecycle", "explanation", "expr", "word", "kind", "by_release", "releases")


def build_check_report(result: dict[str, Any]) -> Document:
    from mmbits.report.sim_report import schedule_blocks

    if not isinstance(result, dict):
        raise TypeError("a check result is a dict")
    verdict = str(result.get("verdict", "unknown")).lower()
    findings = [f for f in result.get("findings") or [] if isinstance(f, dict)]
    n = result.get("configs_checked")
    raw_proposal = result.get("proposal")
    proposal: dict[str, Any] = raw_proposal if isinstance(raw_proposal, dict) else {}
    expr = result.get("expr") or proposal.get("expr") or proposal.get("name")
    word = result.get("word") or proposal.get("word")
    kind = result.get("kind") or proposal.get("kind")
    name = proposal.get("name")
    what = " ".join(x for x in (f"`{expr}`" if expr else "", f"in `{word}`" if word else "",
                                f"on {kind} pages" if kind else "") if x) or "the proposal"
    if name and name != expr:
        what = f"`{name}` = {what}"
    # what makes the file unique: the proposal, its word and page kind, and what was checked
    # (a domain, a preset, a .config), so two runs never overwrite each other
    checked = result.get("checked")
    stem = slug("-".join(str(x) for x in (name or expr or "proposal", word, kind, checked) if x))

    summary = Section("verdict", "Verdict")
    detail = f"{what}: " + (f"{n:,} configs checked" if isinstance(n, int) else "configs checked: unknown")
    unsafe, collide = result.get("configs_unsafe"), result.get("configs_colliding")
    if isinstance(unsafe, int):
        detail += f", unsafe on {unsafe:,}"
    if isinstance(collide, int):
        detail += f", collides on {collide:,}" if isinstance(unsafe, int) else f", {collide:,} unsafe"
    by_release = result.get("by_release")
    if isinstance(by_release, str) and by_release:
        detail += f"; by release: {by_release}"
    label = verdict.upper()
    summary.blocks.append(Banner(label, verdict == "safe", detail))
    ptable = _proposal_table(result, proposal)
    if ptable is not None:
        summary.blocks.append(ptable)
    if findings:
        summary.blocks.append(_kinds_table(findings))
    elif verdict == "safe":
        summary.blocks.append(Para("No finding on any config checked: the bit collides with nothing, is not an "
                                   "unallocated or undefined bit, and (with lifecycle steps) survives until it is "
                                   "tested."))
    explanation = result.get("explanation")
    if isinstance(explanation, list) and explanation:
        summary.blocks.append(Para("How the bit reads on the first config checked:"))
        summary.blocks.append(Pre("\n".join(str(x) for x in explanation)))
    by_release = result.get("by_release")
    if isinstance(by_release, str) and by_release:  # empty when the domain holds one release
        summary.blocks.append(Para(f"By kernel release: {by_release}."))
    extras = {k: v for k, v in result.items()
              if k not in KNOWN_KEYS and isinstance(v, (str, int, float)) and v != ""}
    if extras:
        summary.blocks.append(Table(["key", "value"], [[k, str(v)] for k, v in sorted(extras.items())]))
    sections = [summary]

    if findings:
        sec = Section("findings", "Findings by kind")
        for k, group in by_kind(findings):
            sec.blocks.append(Para(f"**{k}** ({len(group)})"))
            sec.blocks.append(findings_table(group))
        sections.append(sec)
        scheduled = [f for f in findings if schedule_blocks(f, "x")]
        if scheduled:
            lsec = Section("lifecycle", "Lifecycle: the failing schedules")
            lsec.blocks.append(Para("The emulator ran the proposal through the page's life (allocation, marking, "
                                    "deferred free, reuse); each schedule below reaches the finding."))
            for i, f in enumerate(scheduled[:MAX_PICTURES], start=1):
                lsec.blocks.append(Para(f"**{i}. {f.get('kind')}** on `{_text(f.get('config')) or 'any'}`: "
                                        f"{f.get('message')}"))
                lsec.blocks.extend(schedule_blocks(f, f"schedule-{i}"))
            sections.append(lsec)
    pictures = _pictures(findings, word) or _page_type_picture(word, kind, findings, expr)
    sections.extend(pictures or _reference_picture({"expr": expr, "word": word, "kind": kind, "name": name}))

    raw = Section("raw", "Result (JSON)")
    raw.blocks.append(Pre(json.dumps(result, indent=2, sort_keys=True, default=str),
                          collapsed="the result as `mmbits check --json` prints it"))
    sections.append(raw)
    return Document(f"mmbits check: {label}", what, sections, f"check-{stem}")
