"""Partial-order reduction is sound: exploring with sleep sets over the
recorded footprints reaches every state and every finding that exploration
without them reaches, on every variant; and transitions the footprints call
independent really commute (both orders: the same state, the same findings)."""

from __future__ import annotations

import pytest

from mmbits.emu.explore import World, exhaustive
from mmbits.emu.footprint import Footprint
from mmbits.emu.simulate import Setup, findings_of
from mmbits.emu.variants import VARIANTS
from mmbits.findings import blocking

from .helpers import sva

# small workloads that reach findings on most variants: the huge-pmd/cpa races
# of the deferred free, the vmemmap block of hot-remove, ptdump's walk
WORKLOADS = {"default": (), "cpa+hot-remove": ("cpa", "hot-remove")}


def _compare(variant: str, only: tuple[str, ...]) -> None:
    setup = Setup(sva(), variant, cpus=2, ops=1, only=only or VARIANTS[variant].default_only)
    plain = exhaustive(setup.world(), reduce=False)
    reduced = exhaustive(setup.world(), reduce=True)
    assert plain.complete and reduced.complete
    # sleep sets with state caching lose no state ...
    assert reduced.states == plain.states, variant
    # ... and no finding: the same (kind, where) keys, so the same kinds and verdict
    assert set(reduced.found) == set(plain.found), variant
    verdicts = [bool(blocking(findings_of(setup, ex, detail=False))) for ex in (plain, reduced)]
    assert verdicts[0] == verdicts[1]
    # and runs fewer transitions whenever two threads had independent steps
    assert reduced.transitions + reduced.slept >= plain.transitions or reduced.slept == 0


@pytest.mark.parametrize(("variant", "only"), [
    ("v6.19", WORKLOADS["cpa+hot-remove"]),
    ("pmd-ptdesc", ()),
    ("ptdump-race", ()),
    ("ptdump-arm64-both", ()),
])
def test_reduction_keeps_states_and_findings(variant: str, only: tuple[str, ...]) -> None:
    _compare(variant, only)


@pytest.mark.slow
@pytest.mark.parametrize("workload", list(WORKLOADS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_reduction_keeps_states_and_findings_on_every_variant(variant: str, workload: str) -> None:
    only = WORKLOADS[workload]
    if only and VARIANTS[variant].default_only:
        pytest.skip("the variant runs its own operations")
    _compare(variant, only)


def _commutes(world: World, limit: int) -> tuple[int, int]:
    """Breadth-first over up to `limit` states: for every pair of enabled
    threads whose transitions the footprints call independent, run both
    orders and require the same state fingerprint and the same findings.
    Returns (pairs checked, pairs called dependent)."""
    frontier = [world]
    checked = dependent = 0
    seen = {world.fingerprint()}
    while frontier and len(seen) < limit:
        w = frontier.pop(0)
        names = w.enabled()
        feet: dict[str, Footprint] = {}
        for name in names:
            child = w.clone()
            feet[name] = fp = Footprint()
            child.step(name, fp)
            h = child.fingerprint()
            if h not in seen and not child.m.st.crashed:
                seen.add(h)
                frontier.append(child)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                if feet[a].conflicts(feet[b]):
                    dependent += 1
                    continue
                checked += 1
                ends = []
                for first, second in ((a, b), (b, a)):
                    x = w.clone()
                    keys = {ev.key for ev in x.step(first)}
                    assert second in x.enabled(), f"{first} disabled {second}"
                    keys |= {ev.key for ev in x.step(second)}
                    ends.append((x.fingerprint(), keys))
                assert ends[0] == ends[1], f"{a} and {b} called independent but do not commute"
    return checked, dependent


@pytest.mark.parametrize(("variant", "only"), [
    ("v6.19", ("huge-pmd", "cpa")),
    ("v6.19", ("hot-remove", "huge-pud")),
    ("ptdump-arm64-both", ()),
    ("memdesc-ptdesc", ("huge-pmd", "cpa")),
])
def test_independent_transitions_commute(variant: str, only: tuple[str, ...]) -> None:
    setup = Setup(sva(), variant, cpus=2, ops=2, only=only or VARIANTS[variant].default_only)
    checked, _dependent = _commutes(setup.world(), limit=150)
    assert checked > 0  # the footprints found some independence to check
