"""The lifecycle half of a verdict: the emulator (mmbits.emu) runs the proposal's
set/test/clear steps on representative configs.

It fails closed: when the emulator is missing, raises, or cannot say whether its
exploration covered every schedule, the lifecycle half is *unknown* and the
engine turns a would-be SAFE into UNKNOWN with the reason. A crash never
prints SAFE.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mmbits.errors import InputError
from mmbits.findings import Finding
from mmbits.kconfig.config import Config
from mmbits.proposal import Proposal

# representative configs the emulator runs: one per domain part (arch), at most
MAX_CONFIGS = 6
# the proposal workload explored over every interleaving: two CPUs, two operations
# each (what `mmbits simulate` explores exhaustively), bounded in states
EXPLORE_CPUS = 2
EXPLORE_OPS = 2
MAX_STATES = 20_000
# reported by the static prover from the same expression
_STATIC = {"undefined-shift", "sign-extension", "unknown-name"}


@dataclass
class LifecycleOutcome:
    """What the emulator said: findings with how many configs each was seen on, a
    one-line state for the output, and why the lifecycle half is unknown (if it is)."""

    findings: list[tuple[Finding, int]] = field(default_factory=list)
    state: str = "not requested"
    unknown: list[str] = field(default_factory=list)
    schedules: int = 0
    cut_short: bool = False


def _representatives(config: Config | None, domain: Any, relevant: Iterable[str]) -> list[Config]:
    if config is not None:
        return [config]
    configs: list[Config] = []
    seen_parts: set[str] = set()
    for g in domain.groups(relevant):
        if g.part not in seen_parts:
            seen_parts.add(g.part)
            configs.append(g.config)
    return configs[:MAX_CONFIGS]


def _unpack(result: Any) -> tuple[list[Finding], int, bool]:
    """run_proposal() returns findings, or (with the exploring emulator) an object
    carrying `findings`, the number of schedules run and whether it was cut short."""
    if isinstance(result, list):
        return result, 1, False
    findings = list(getattr(result, "findings", []))
    schedules = int(getattr(result, "schedules", 0) or 0)
    cut = bool(getattr(result, "cut_short", False) or getattr(result, "truncated", False)
               or (getattr(result, "exhaustive", True) is False))
    return findings, schedules, cut


def explore_schedules(proposal: Proposal, config: Config) -> tuple[list[Finding], int, bool]:
    """Every schedule of the small proposal workload (EXPLORE_CPUS x EXPLORE_OPS), as
    `mmbits simulate --mode exhaustive` explores them, bounded at MAX_STATES states.
    Used while the emulator's own run_proposal() runs a single sequential schedule."""
    from mmbits.emu import variants
    from mmbits.emu.simulate import simulate

    base = getattr(variants, "PROPOSAL_BASE", "upstream")  # the design run_proposal() plugs the bit into
    steps = {proposal.set_at, proposal.test_at, proposal.clear_at}
    async_free = True if steps & {"enqueue", "worker"} else None
    result = simulate(config, base, proposal=proposal, cpus=EXPLORE_CPUS, ops=EXPLORE_OPS, mode="exhaustive",
                      max_states=MAX_STATES, async_free=async_free, detail=False)
    # the emulator's typed SimulationResult: its findings are already Findings
    found = [f for f in result.findings if f.kind not in _STATIC]
    return found, int(result.explored.schedules), not result.explored.complete


def run_lifecycle(proposal: Proposal, config: Config | None, domain: Any,
                  relevant: Iterable[str]) -> LifecycleOutcome:
    """Run the emulator on a few representative configs; fail closed."""
    try:
        from mmbits.emu.lifecycle import run_proposal
    except ImportError as exc:
        reason = (f"the proposal names set/test/clear steps but the lifecycle emulator (mmbits.emu) is not "
                  f"available ({exc}): the lifecycle half of the verdict is unknown (use --static for the "
                  f"static verdict alone)")
        return LifecycleOutcome([(Finding("unknown", reason, None, proposal.word, "warning"), 0)],
                                "emulator missing", [reason])
    from mmbits.emu import lifecycle as emu_lifecycle

    kinds = getattr(emu_lifecycle, "LIFECYCLE_KINDS", None)
    overlays = getattr(emu_lifecycle, "PAGE_OVERLAYS", None)
    kind = proposal.kind or "kernel-pgtable"
    if (kinds is not None and kind not in kinds) or (overlays is not None and proposal.struct not in overlays):
        what = f"{kind} pages" if kinds is not None and kind not in kinds else f"struct {proposal.struct}"
        reason = (f"the lifecycle emulator does not model the life of {what} (it runs "
                  f"{', '.join(kinds or ())} pages): the proposal's set/test/clear steps are unchecked")
        return LifecycleOutcome([(Finding("unknown", reason, None, proposal.word, "warning"), 0)],
                                "not modelled", [reason])
    relevant = tuple(relevant)
    configs = _representatives(config, domain, relevant)
    merged: dict[tuple[str, str], tuple[Finding, int]] = {}
    out = LifecycleOutcome()
    for cfg in configs:
        label = cfg.name or cfg.describe(relevant)
        try:
            raw = run_proposal(proposal, cfg)
            found, schedules, cut = _unpack(raw)
            if isinstance(raw, list):  # one sequential schedule: explore the interleavings too
                more, schedules, cut = explore_schedules(proposal, cfg)
                found = found + more
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - any emulator failure makes the verdict unknown, never SAFE
            reason = (f"the lifecycle emulator failed on {label} ({type(exc).__name__}: {exc}): the lifecycle half "
                      f"of the verdict is unknown")
            out.findings.append((Finding("unknown", reason, label, proposal.word, "warning"), 1))
            out.unknown.append(reason)
            out.state = "emulator failed"
            return out
        out.schedules += schedules
        if cut:
            out.cut_short = True
            reason = (f"the lifecycle exploration on {label} was cut short after {schedules} schedule(s): "
                      f"schedules it did not reach are unchecked")
            out.unknown.append(reason)
            out.findings.append((Finding("unknown", reason, label, proposal.word, "warning"), 1))
        once: dict[tuple[str, str], Finding] = {}
        for f in found:  # the sequential run's finding first: it carries the detailed schedule and page bytes
            once.setdefault((f.kind, f.message), f)
        for f in once.values():
            if f.config is None:
                f.config = label
            key = (f.kind, f.message)
            prev = merged.get(key)
            merged[key] = (prev[0], prev[1] + 1) if prev else (f, 1)
    out.findings += list(merged.values())
    runs = f", {out.schedules} schedule(s)" if out.schedules > len(configs) else ""
    out.state = f"checked on {len(configs)} representative config(s){runs}" + (" (cut short)" if out.cut_short else "")
    return out
