"""Schedules: exhaustive exploration with state-hash pruning finds what the
full tree finds, random runs are reproducible by seed, and a finding's
schedule replays to the same finding."""

from __future__ import annotations

import pytest

from mmbits.emu.explore import exhaustive, random_runs, replay
from mmbits.emu.simulate import Setup, findings_of
from mmbits.kconfig.presets import preset

from .helpers import simulate_json as simulate
from .helpers import sva


def test_pruning_finds_what_the_full_tree_finds() -> None:
    for variant in ("sync", "nr-pageflags-bit", "v6.19+fixes"):
        setup = Setup(sva(), variant, cpus=2, ops=1, only=("huge-pmd",))
        pruned = exhaustive(setup.world(), reduce=False)
        full = exhaustive(setup.world(), prune=False, reduce=False)
        assert set(pruned.found) == set(full.found), variant
        assert pruned.states < full.states
        # the pruned graph stands for every schedule of the tree (without
        # sleep sets: with them it stands for one order of independent steps)
        assert pruned.schedules == full.schedules


def test_random_is_reproducible() -> None:
    setup = Setup(sva(), "pmd-ptdesc", cpus=2, ops=2)
    a = random_runs(setup.world(), schedules=5, seed=7)
    b = random_runs(setup.world(), schedules=5, seed=7)
    assert {k: s for k, (_e, s) in a.found.items()} == {k: s for k, (_e, s) in b.found.items()}


@pytest.mark.parametrize("workload", [
    {"cpus": 2, "ops": 1, "only": ("cpa", "huge-pmd")},
    pytest.param({"cpus": 2, "ops": 2}, marks=pytest.mark.slow),
])
def test_schedule_replays_to_its_finding(workload: dict) -> None:
    setup = Setup(sva(), "v6.19+vmemmap-fix", **workload)
    ex = exhaustive(setup.world())
    assert ex.found
    for key, (_ev, schedule) in ex.found.items():
        rep = replay(lambda: setup.world(trace=True), schedule, key)
        assert rep.event is not None and rep.event.key == key
        assert rep.before is not None and rep.after is not None
        # the bad step changed the page -- except an IOMMU walk into a page an
        # earlier step freed while it was still linked (free_pte_table() order)
        assert rep.before != rep.after or key[1].startswith("iommu walk")
        assert rep.steps[rep.step_index].thread in ("cpu0", "cpu1", "worker", "iommu")


def test_findings_carry_schedule_and_decoded_bytes() -> None:
    result = simulate(sva(), "v6.19+vmemmap-fix", cpus=1, ops=1, only=("cpa",))
    (f,) = result["findings"]
    data = f["data"]
    assert [s["thread"] for s in data["schedule"]][0] == "cpu0"
    assert data["before"]["page"]["_refcount"] == "0x1" and data["after"]["page"]["_refcount"] == "0x0"
    assert data["after"]["page"]["page_type"] == "0xf0000000"  # PGTY_buddy: back in the allocator
    assert data["before"]["raw"][0].startswith("raw: ")
    assert result["explored"]["schedules"] >= 1 and result["explored"]["complete"]


def test_sequential_and_exhaustive_agree_on_a_deterministic_bug() -> None:
    # without SVA the unmarked hot-add table is harmless: only the 511-page leak is left
    setup = Setup(preset("x86_64-6.18"), "v6.19", cpus=1, ops=1, only=("hot-remove",), async_free=True)
    ex = exhaustive(setup.world())
    assert [f.kind for f in findings_of(setup, ex, detail=False)] == ["leak"]


def test_a_program_after_a_step_is_one_shared_tuple_per_value() -> None:
    """successor() keeps each distinct program once: the same value as
    more + the rest, and the same object whichever world reaches it."""
    from mmbits.emu.explore import successor
    from mmbits.emu.steps import Step

    prog = (Step("a", (1,)), Step("b", (2, (3, 4))))
    more = (Step("c", (5,)),)
    first = successor(prog, more)
    assert first == more + prog[1:]
    assert successor(prog, more) is first  # found by the identities
    assert successor(tuple(prog), [Step("c", (5,))]) is first  # an equal program made anew: kept once
    assert successor(first, ()) == prog[1:]
