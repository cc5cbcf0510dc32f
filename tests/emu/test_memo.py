"""The step memo (mmbits.emu.memo) changes what a transition costs, never
what it does: exploring with remembered effects replayed visits the same
states, takes the same transitions, reaches the same end states and finds
the same findings, with the same messages and schedules, as executing every
step (StepMemo.enabled = False), on every variant and with persistent sets.
The expected values are the executing path's own results on the same
workload, in the same process."""

from __future__ import annotations

from typing import Any

import pytest

from mmbits.emu.explore import Exploration, exhaustive
from mmbits.emu.memo import StepMemo
from mmbits.emu.simulate import Setup
from mmbits.emu.variants import VARIANTS

from .helpers import debug_vm, sva


def _explore(setup: Setup, persistent: bool = False) -> tuple[Exploration, StepMemo]:
    world = setup.world()
    return exhaustive(world, max_states=50_000, persistent=persistent), world.m.memo


def _summary(ex: Exploration) -> dict[str, Any]:
    return {"states": ex.states, "transitions": ex.transitions, "pruned": ex.pruned, "slept": ex.slept,
            "skipped": ex.skipped, "revisits": ex.revisits, "schedules": ex.schedules, "complete": ex.complete,
            "terminals": ex.terminals, "follows": dict(ex.follows),
            "found": {k: (ev.message, ev.pfn, ev.severity, ev.crash, ev.data, s) for k, (ev, s) in ex.found.items()}}


def _both(monkeypatch: pytest.MonkeyPatch, setup: Setup, persistent: bool = False) -> None:
    replayed, memo = _explore(setup, persistent)
    with monkeypatch.context() as mp:
        mp.setattr(StepMemo, "enabled", False)
        executed, unused = _explore(setup, persistent)
    assert unused.hits == unused.misses == 0
    assert executed.complete and executed.transitions > 0
    assert memo.hits > 0 and memo.unplaced == 0
    assert _summary(replayed) == _summary(executed)


# the variants run by default: one of each kind of design (the rest in the slow tier)
_DEFAULT = {"v6.19", "three-lists", "two-lists", "sync", "nr-pageflags-bit", "page-type-bit0-baolu", "pmd-ptdesc",
            "memdesc-ptdesc", "ptdump-race"}


@pytest.mark.parametrize("variant", [v if v in _DEFAULT else pytest.param(v, marks=pytest.mark.slow)
                                     for v in sorted(VARIANTS)])
def test_replayed_steps_explore_what_executed_steps_explore(monkeypatch: pytest.MonkeyPatch, variant: str) -> None:
    setup = Setup(sva(), variant, cpus=2, ops=1, only=VARIANTS[variant].default_only)
    _both(monkeypatch, setup)


@pytest.mark.parametrize(("variant", "only", "ops", "per_page", "persistent", "config"), [
    ("v6.19", ("cpa", "hot-remove"), 2, False, False, "sva"),
    pytest.param("v6.19", (), 1, True, False, "sva", marks=pytest.mark.slow),
    ("v6.19", (), 1, False, False, "debug_vm"),
    pytest.param("v6.19+fixes+hotplug", ("huge-pmd",), 2, False, True, "sva", marks=pytest.mark.slow),
    pytest.param("ptdump-arm64-both", (), 1, False, True, "sva", marks=pytest.mark.slow),
])
def test_replayed_steps_on_larger_workloads(monkeypatch: pytest.MonkeyPatch, variant: str, only: tuple[str, ...],
                                            ops: int, per_page: bool, persistent: bool, config: str) -> None:
    setup = Setup(sva() if config == "sva" else debug_vm(), variant, cpus=2, ops=ops,
                  only=only or VARIANTS[variant].default_only, worker_per_page=per_page)
    _both(monkeypatch, setup, persistent)


def test_a_table_linked_elsewhere_keeps_a_free_of_an_unlinked_table_remembered() -> None:
    """pagetable_free() asks reachable() whether the table it frees is still
    linked (Design.check_unlinked); the memo keys that question by its answer,
    not by every table's contents: with another table linked in the same PMD
    table since, the free is replayed, and it leaves what executing it leaves."""
    from mmbits.emu.footprint import Footprint
    from mmbits.emu.machine import Machine
    from mmbits.emu.steps import Step

    m = Machine(sva(), "sync", sva=True)
    pmd = 1 << m.facts.levels[-2].shift
    va = m.facts.addresses["vmalloc_start"] + pmd
    freed, other = m.pagetable_alloc("pte"), m.pagetable_alloc("pte")
    m.link(va, freed)
    m.link(va + pmd, other)  # the PMD table exists; the next link writes one entry of it
    m.unlink(va + pmd)
    m.unlink(va)
    step = Step("kernel_table_free", (freed, "test"))
    before = m.clone()
    first = m.clone()
    first.record(Footprint())
    first.memo.run(first, "cpu0", step, first.mem.fp)
    first.record(None)
    assert (first.memo.hits, first.memo.misses) == (0, 1)
    later = before.clone()
    later.link(va + pmd, other)  # another table linked: the graph's hash changes, the answer does not
    executed = later.clone()
    executed.exec_step("cpu0", step)
    later.record(Footprint())
    later.memo.run(later, "cpu0", step, later.mem.fp)
    later.record(None)
    assert (later.memo.hits, later.memo.misses) == (1, 1)
    assert later.fingerprint() == executed.fingerprint() != before.fingerprint()
