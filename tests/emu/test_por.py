"""Partial-order reduction is sound: exploring with sleep sets over the
recorded footprints reaches every state and every finding that exploration
without them reaches, on every variant; and transitions the footprints call
independent really commute (both orders: the same state, the same findings)."""

from __future__ import annotations

from typing import Any

import pytest

from mmbits.emu.explore import Exploration, World, exhaustive
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
    # states by every byte (the queue-order key is not a congruence: tests/emu/test_canonical.py)
    plain = exhaustive(setup.world(), reduce=False, canonical=False)
    reduced = exhaustive(setup.world(), reduce=True, canonical=False)
    assert plain.complete and reduced.complete
    # sleep sets with state caching lose no state ...
    assert reduced.states == plain.states, variant
    # ... no end state (finished or deadlocked) ...
    assert reduced.terminals == plain.terminals, variant
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
@pytest.mark.parametrize("persistent", [False, True])
@pytest.mark.parametrize("workload", list(WORKLOADS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_reduction_keeps_states_and_findings_on_every_variant(variant: str, workload: str, persistent: bool) -> None:
    """Sleep sets (every state kept), and persistent sets (every end state and
    finding kept), on every variant."""
    only = WORKLOADS[workload]
    if only and VARIANTS[variant].default_only:
        pytest.skip("the variant runs its own operations")
    if persistent:
        _persistent_compare(variant, only, 2)
    else:
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


# workloads whose full tree of schedules (no state hashing, no sleep sets) is
# small enough to run: each reaches the finding kinds of its variant
# (the IOMMU stale-cache and CPA races, ptdump's use-after-free and deadlock)
TINY = [
    ("v6.19", ("huge-pmd", "cpa"), 2),
    ("v6.19+fixes", ("cpa", "hot-remove"), 2),
    ("three-lists", ("cpa", "hot-remove"), 2),
    ("ptdump-race", (), 1),
    ("ptdump-arm64-both", (), 1),
]


@pytest.mark.parametrize(("variant", "only", "cpus"), TINY)
def test_reductions_against_every_schedule(variant: str, only: tuple[str, ...], cpus: int) -> None:
    """Differential: every schedule played out (reductions off: no state
    hashing, no sleep sets) against the default exploration: the same end
    states, the same findings (so the same kinds), with far fewer transitions."""
    setup = Setup(sva(), variant, cpus=cpus, ops=1, only=only or VARIANTS[variant].default_only)
    full = exhaustive(setup.world(), reduce=False, prune=False, max_states=100_000)
    reduced = exhaustive(setup.world())
    assert full.complete and reduced.complete
    assert full.terminals and reduced.terminals == full.terminals, variant
    assert set(reduced.found) == set(full.found), variant
    assert full.found  # each workload reaches a finding: the comparison is not vacuous
    assert reduced.transitions < full.transitions
    # and the two-process search (mmbits.emu.parallel): in union the same end states and findings
    split = exhaustive(setup.world(), jobs=2)
    assert split.complete and len(split.processes) == 2
    assert split.terminals == full.terminals and set(split.found) == set(full.found), variant


def test_walk_and_reachability_memos_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The IOMMU's remembered after-flush walks and the remembered table
    reachability are caches: exploring without them reaches the same states,
    end states and findings."""
    from mmbits.emu.iommu import Iommu
    from mmbits.emu.pgtable import KernelTables

    setup = Setup(sva(), "v6.19", cpus=2, ops=2, only=("huge-pmd", "cpa"))
    cached = exhaustive(setup.world())
    assert cached.found  # the workload's flushes and frees reach findings
    monkeypatch.setattr(Iommu, "walk_all_flushed", lambda self, vas: _walk_all(self, vas))
    monkeypatch.setattr(KernelTables, "reachable", _reachable_fresh)
    fresh = exhaustive(setup.world())
    assert (fresh.states, fresh.transitions, fresh.terminals) == (cached.states, cached.transitions, cached.terminals)
    assert set(fresh.found) == set(cached.found)


def _walk_all(iommu: Any, vas: list[int]) -> list[str]:
    reads: dict[int, frozenset[Any]] = {}
    out = iommu.rewalk(vas, reads, set())
    iommu.m._walk_reads = reads
    return out


_REACHABLE = __import__("mmbits.emu.pgtable", fromlist=["KernelTables"]).KernelTables.reachable


def _reachable_fresh(self: Any) -> Any:
    self.__dict__.pop("_reachable", None)
    return _REACHABLE(self)


# persistent sets (dynamic partial-order reduction, mmbits.emu.persistent)
# against state hashing alone, on the variants whose findings need care: the
# walker's use-after-free (ptdump-race), the rwsem deadlock (ptdump-arm64-both:
# blocked threads never run, their pending steps must still be raced), the
# as-merged leak and IOMMU findings (v6.19), the splice of three-lists as posted
PERSISTENT = [
    ("v6.19", ("huge-pmd", "cpa"), 2, {"iommu-use-after-free"}),
    ("v6.19", ("cpa", "hot-remove"), 2, {"leak", "iommu-use-after-free"}),
    ("three-lists", ("cpa", "hot-remove"), 2, {"iommu-use-after-free"}),
    ("ptdump-race", (), 2, {"walker-use-after-free"}),
    ("ptdump-arm64-both", (), 1, {"deadlock"}),
]


def _persistent_compare(variant: str, only: tuple[str, ...], cpus: int, ops: int = 1) -> tuple[Any, Any]:
    setup = Setup(sva(), variant, cpus=cpus, ops=ops, only=only or VARIANTS[variant].default_only)
    # persistent sets tell states apart by every byte: so does the exploration they are compared with
    plain = exhaustive(setup.world(), reduce=False, canonical=False)
    reduced = exhaustive(setup.world(), persistent=True)
    assert plain.complete and reduced.complete and reduced.persistent
    # every end state (finished or deadlocked) ...
    assert reduced.terminals == plain.terminals, variant
    # ... and every finding: the same (kind, where) keys, where names the object
    assert set(reduced.found) == set(plain.found), variant
    assert reduced.states <= plain.states
    return plain, reduced


@pytest.mark.parametrize(("variant", "only", "cpus", "kinds"), PERSISTENT)
def test_persistent_sets_keep_end_states_and_findings(variant: str, only: tuple[str, ...], cpus: int,
                                                      kinds: set[str]) -> None:
    plain, _reduced = _persistent_compare(variant, only, cpus)
    # not vacuous: the workload reaches the variant's findings (issue #15's history)
    assert kinds <= {kind for kind, _where in plain.found}


@pytest.mark.slow
def test_persistent_sets_on_two_operations_per_cpu() -> None:
    _persistent_compare("v6.19", ("cpa", "hot-remove", "huge-pmd"), 2, ops=2)
    _persistent_compare("ptdump-arm64-both", (), 2)


# two processes sharing the table of visited states (mmbits.emu.parallel) against
# one: the same distinct states, end states and findings; how the work is split
# (each process's own search from the start, only what the first hands over, a
# table too small so that states are kept apart and some explored twice, three
# processes) changes none
SPLITS = {"turns": {}, "handed-over": {"handed_only": True}, "overflow": {"slots": 64}, "three": {"jobs": 3}}


def _split_compare(variant: str, only: tuple[str, ...], cpus: int, ops: int, how: str,
                   monkeypatch: pytest.MonkeyPatch) -> Exploration:
    from mmbits.emu import parallel

    setup = Setup(sva(), variant, cpus=cpus, ops=ops, only=only or VARIANTS[variant].default_only)
    one = exhaustive(setup.world())
    opts: dict[str, Any] = dict(SPLITS[how])
    slots = opts.pop("slots", None)
    if slots is not None:
        monkeypatch.setattr(parallel, "MIN_SLOTS", slots)
        monkeypatch.setattr(parallel, "MAX_SLOTS", slots)
        monkeypatch.setattr(parallel, "PROBES", 4)
    two = parallel.exhaustive_parallel(setup.world(), opts.pop("jobs", 2), **opts)
    assert one.complete and two.complete and not two.cut_short
    assert two.states == one.states, variant  # the distinct states: sleep sets keep every one
    assert two.terminals == one.terminals, variant
    assert set(two.found) == set(one.found), variant
    # every state counted once, or said to be explored twice
    assert sum(two.processes) == two.states + two.twice
    if slots is None:
        assert two.twice == 0
    if how == "handed-over":
        assert two.processes[1] > 0 and two.replayed > 0  # the second process explored handed-over states
    return one


@pytest.mark.parametrize("how", list(SPLITS))
@pytest.mark.parametrize(("variant", "only", "cpus", "ops"), [
    ("v6.19", ("huge-pmd", "cpa"), 2, 2),
    ("ptdump-arm64-both", (), 2, 1),
])
def test_two_processes_keep_states_and_findings(variant: str, only: tuple[str, ...], cpus: int, ops: int, how: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    one = _split_compare(variant, only, cpus, ops, how, monkeypatch)
    assert one.found  # the workload reaches the variant's findings (IOMMU, deadlock): not vacuous


@pytest.mark.slow
@pytest.mark.parametrize("workload", list(WORKLOADS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_two_processes_on_every_variant(variant: str, workload: str, monkeypatch: pytest.MonkeyPatch) -> None:
    only = WORKLOADS[workload]
    if only and VARIANTS[variant].default_only:
        pytest.skip("the variant runs its own operations")
    _split_compare(variant, only, 2, 1, "turns", monkeypatch)


def test_schedule_count_without_reduction_is_every_schedule() -> None:
    """`schedules` is the number of complete paths through the explored
    graph: without sleep sets that is every schedule, whether the states are
    hashed, and whether one process or two explored them (the merged graph
    counts each schedule once). With sleep sets each path stands for its
    reorderings, so the figure depends on the search and is not compared."""
    variant, only, cpus = TINY[0]
    setup = Setup(sva(), variant, cpus=cpus, ops=1, only=only)
    tree = exhaustive(setup.world(), reduce=False, prune=False, max_states=100_000)
    hashed = exhaustive(setup.world(), reduce=False)
    split = exhaustive(setup.world(), reduce=False, jobs=2)
    assert tree.complete and hashed.complete and split.complete and len(split.processes) == 2
    assert tree.schedules > hashed.states  # paths, not states: the comparison is not vacuous
    assert hashed.schedules == tree.schedules
    assert split.schedules == tree.schedules
