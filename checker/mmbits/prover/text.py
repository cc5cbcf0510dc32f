"""The terminal form of a check: a verdict line, the findings grouped by kind
(each with its counterexample config and the colliding thing), the counts."""

from __future__ import annotations

import textwrap

import click

from mmbits.prover.hits import plural
from mmbits.prover.result import CheckResult

_LEVEL = {"error": "ERROR", "warning": "WARNING", "note": "NOTE"}
_COLOUR = {"error": "red", "warning": "yellow", "note": "cyan"}


def _wrap(text: str, indent: str, width: int = 100) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False, break_long_words=False)


def render(result: CheckResult, colour: bool = False) -> str:
    def style(text: str, **kw: object) -> str:
        return click.style(text, **kw) if colour else text  # type: ignore[arg-type]

    p = result.proposal
    lines = []
    verdict = result.verdict.upper()
    label = p.label() if p.word else p.expr
    fg = {"unsafe": "red", "unknown": "yellow"}.get(result.verdict, "green")
    existing = [f for f in result.findings if f.kind == "existing-definition"]
    tail = " (existing definition, checked for consistency)" if existing and result.verdict == "safe" else ""
    lines.append(style(f"{verdict}: {label}{tail}", bold=True, fg=fg))
    for reason in result.unknown:
        lines.append(_wrap(f"unknown: {reason}", ""))
    lines.append(f"checked {plural(result.configs_checked, 'config')} ({result.source}, "
                 f"{plural(result.groups, 'distinct case')}, {result.seconds:.2f} s): "
                 f"unsafe on {result.configs_unsafe}, collides on {result.configs_colliding}")
    if result.by_release:
        lines.append(_wrap(f"by release: {result.by_release}", ""))
    if result.lifecycle != "not requested":
        lines.append(f"lifecycle: {result.lifecycle}")
    kinds: dict[str, list[int]] = {}
    for i, f in enumerate(result.findings):
        kinds.setdefault(f.kind, []).append(i)
    for kind, idx in kinds.items():
        lines.append("")
        n_configs = max(result.counts[i] for i in idx)
        lines.append(style(f"{kind}", bold=True) + f"  ({plural(len(idx), 'finding')}, "
                     f"up to {plural(n_configs, 'config')})")
        for i in idx:
            f = result.findings[i]
            n = result.counts[i]
            level = style(_LEVEL[f.severity], fg=_COLOUR[f.severity])
            lines.append(_wrap(f"{level} {f.message}", "  "))
            what = f.data.get("what")
            if what:
                lines.append(_wrap(f"colliding thing: {what}" if f.kind in ("collision", "tail-marker", "type-byte",
                                                                            "pointer-tag") else f"about: {what}",
                                   "      "))
            if f.config:
                count = f"on {plural(n, 'config')}, e.g. " if n else "e.g. "
                lines.append(_wrap(f"{count}{f.config}", "      "))
    if result.explanation:
        lines.append("")
        lines.extend(result.explanation)
    if not result.findings and result.verdict == "safe":
        lines.append("")
        on_kind = f" on {p.kind} pages" if p.kind else ""
        lines.append(f"no finding: nothing else uses these bits{on_kind} on any config checked")
    return "\n".join(lines)
