"""The lifecycle half of a verdict: the emulator (mmbits.emu, issue 5) runs the
proposal's set/test/clear steps on a few representative configs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mmbits.errors import InputError
from mmbits.findings import Finding
from mmbits.kconfig.config import Config
from mmbits.proposal import Proposal


def run_lifecycle(proposal: Proposal, static: list[Finding], config: Config | None, domain: Any,
               relevant: Iterable[str]) -> tuple[list[tuple[Finding, int]], str]:
    """Run the emulator (mmbits.emu, when installed) on a few representative configs."""
    try:
        from mmbits.emu.lifecycle import run_proposal  # type: ignore[import-not-found]
    except ImportError:
        return [(Finding("lifecycle-unchecked",
                         "the proposal names set/test/clear steps but the lifecycle emulator (mmbits.emu) is not "
                         "available: only the static verdict is proved", None, proposal.word, "note"), 0)], \
            "emulator missing"
    configs: list[Config] = []
    if config is not None:
        configs = [config]
    else:
        seen_parts: set[str] = set()
        for g in domain.groups(relevant):
            if g.part not in seen_parts:
                seen_parts.add(g.part)
                configs.append(g.config)
        configs = configs[:6]
    merged: dict[tuple[str, str], tuple[Finding, int]] = {}
    for cfg in configs:
        try:
            found = run_proposal(proposal, cfg)
        except InputError:
            raise
        except Exception as exc:  # the static verdict stands; say why the lifecycle one is missing
            note = Finding("lifecycle-unchecked", f"the lifecycle emulator could not run this proposal "
                           f"({type(exc).__name__}: {exc}): only the static verdict is proved",
                           cfg.name or cfg.describe(relevant), proposal.word, "note")
            return [(note, 0)], "emulator failed"
        for f in found:
            if f.config is None:
                f.config = cfg.name or cfg.describe(relevant)
            key = (f.kind, f.message)
            prev = merged.get(key)
            merged[key] = (prev[0], prev[1] + 1) if prev else (f, 1)
    return list(merged.values()), f"checked on {len(configs)} representative config(s)"


