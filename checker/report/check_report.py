"""The report of a `pagebits check` result: the verdict, the findings grouped
by kind, and the proposed bit drawn on the flags word of each counterexample
config. Reads the JSON-shaped result dict of issue 4 and tolerates extra keys
and missing optional ones."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from pagebits.kconfig.config import Config
from pagebits.report.document import Banner, Document, Para, Pre, Section, Table
from pagebits.report.layout_report import flags_section, slug

_BIT = re.compile(r"\bbits?\s+(\d+)(?:\s*-\s*(\d+))?")


def bits_of(finding: dict[str, Any]) -> list[int]:
    """The bit numbers a finding points at (data.bit/bits, or 'bit N' / 'bits N-M' in where/message)."""
    data = finding.get("data") if isinstance(finding.get("data"), dict) else {}
    out: list[int] = []
    for key in ("bit", "bits"):
        v = data.get(key) if data else None
        if isinstance(v, int):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            out.extend(int(x) for x in v if isinstance(x, int))
    if out:
        return sorted(set(out))
    for text in (str(finding.get("where") or ""), str(finding.get("message") or "")):
        m = _BIT.search(text)
        if m:
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) else lo
            lo, hi = min(lo, hi), max(lo, hi)
            if hi - lo <= 64:
                return list(range(lo, hi + 1))
    return []


def config_of(label: Any) -> Config | None:
    """A Config for a finding's config label: a preset name, optionally with the
    `+SYM=VAL,SYM=VAL` overrides `--set` adds to it."""
    if not isinstance(label, str) or not label:
        return None
    from pagebits.errors import InputError
    from pagebits.kconfig.model import load_model
    from pagebits.kconfig.presets import preset, preset_names

    name, _, sets = label.partition("+")
    name = name.strip()
    if name not in preset_names():
        return None
    try:
        cfg = preset(name)
        if not sets:
            return cfg
        model = load_model()
        values = dict(cfg.primary)
        values.update(model.normalise(dict(kv.split("=", 1) for kv in sets.split(",") if "=" in kv)))
        return model.make(values, name=label)
    except (InputError, ValueError):
        return None


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def findings_table(findings: list[dict[str, Any]]) -> Table:
    rows, css = [], []
    for f in findings:
        sev = str(f.get("severity", "error"))
        rows.append([_text(f.get("kind")), _text(f.get("message")), _text(f.get("config")), _text(f.get("where"))])
        css.append("bad" if sev == "error" else "warn")
    return Table(["kind", "message", "config", "where"], rows, css)


def build_check_report(result: dict[str, Any]) -> Document:
    if not isinstance(result, dict):
        raise TypeError("a check result is a dict")
    verdict = str(result.get("verdict", "unknown")).lower()
    findings = [f for f in result.get("findings") or [] if isinstance(f, dict)]
    n = result.get("configs_checked")
    proposal = result.get("proposal") if isinstance(result.get("proposal"), dict) else {}
    expr = result.get("expr") or proposal.get("expr") or proposal.get("name")
    word = result.get("word") or proposal.get("word")
    kind = result.get("kind") or proposal.get("kind")
    what = " ".join(x for x in (f"`{expr}`" if expr else "", f"in `{word}`" if word else "",
                                f"on {kind} pages" if kind else "") if x) or "the proposal"
    title_bits = slug(str(expr or proposal.get("name") or "proposal"))
    summary = Section("verdict", "Verdict")
    collide = result.get("configs_colliding") or result.get("configs_unsafe")
    detail = f"{what}: " + (f"{n:,} configs checked" if isinstance(n, int) else "configs checked: unknown")
    if isinstance(collide, int):
        detail += f", {collide:,} unsafe"
    summary.blocks.append(Banner("SAFE" if verdict == "safe" else "UNSAFE" if verdict == "unsafe" else verdict.upper(),
                                 verdict == "safe", detail))
    counts = Counter(str(f.get("kind")) for f in findings)
    if counts:
        summary.blocks.append(Table(["finding kind", "count"], [[k, str(v)] for k, v in sorted(counts.items())]))
    extras = {k: v for k, v in result.items()
              if k not in ("verdict", "findings", "configs_checked", "proposal") and isinstance(v, (str, int, float))}
    if extras:
        summary.blocks.append(Table(["key", "value"], [[k, str(v)] for k, v in sorted(extras.items())]))
    sections = [summary]
    if findings:
        sec = Section("findings", "Findings")
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for f in findings:
            by_kind.setdefault(str(f.get("kind")), []).append(f)
        for k in sorted(by_kind):
            sec.blocks.append(Para(f"**{k}** ({len(by_kind[k])})"))
            sec.blocks.append(findings_table(by_kind[k]))
        sections.append(sec)
    # pictures: the bits in question on each counterexample config that is a preset
    drawn: set[tuple[str, tuple[int, ...]]] = set()
    for f in findings:
        cfg = config_of(f.get("config"))
        bits = tuple(bits_of(f))
        if cfg is None or not bits or (cfg.label(), bits) in drawn or len(drawn) >= 6:
            continue
        drawn.add((cfg.label(), bits))
        sec = flags_section(cfg, bits, f"cex{len(drawn)}", f"Counterexample: {cfg.label()}")
        sec.blocks = sec.blocks[:1] + [Para(f"{f.get('kind')}: {f.get('message')}")]
        sections.append(sec)
    if not drawn:
        from pagebits.kconfig.presets import preset

        all_bits = sorted({b for f in findings for b in bits_of(f)}) or _proposal_bits(result)
        if all_bits:
            ref = preset("x86_64-6.18")
            sec = flags_section(ref, tuple(all_bits), "bits", f"The bits on {ref.label()}")
            sec.blocks = sec.blocks[:1]
            sections.append(sec)
    raw = Section("raw", "Result (JSON)")
    import json

    raw.blocks.append(Pre(json.dumps(result, indent=2, sort_keys=True, default=str)))
    sections.append(raw)
    return Document(f"pagebits check: {verdict.upper()}", f"{what}", sections, f"check-{title_bits}")


def _proposal_bits(result: dict[str, Any]) -> list[int]:
    for key in ("bit", "bits"):
        v = result.get(key)
        if isinstance(v, int):
            return [v]
        if isinstance(v, list) and all(isinstance(x, int) for x in v):
            return list(v)
    return []
