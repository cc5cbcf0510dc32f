"""The visited-state key (mmbits.emu.canonical) is sound: exploring with the
deferred-free queue hashed by its members reaches the same end states (by
key), the same findings and the same verdict as exploring every state by its
bytes, on every variant; and the key merges only what it says it merges."""

from __future__ import annotations

from typing import Any

import pytest

from mmbits.emu import explore
from mmbits.emu.canonical import QueueKey, applies
from mmbits.emu.explore import Exploration, World, exhaustive
from mmbits.emu.machine import Machine
from mmbits.emu.simulate import Setup, findings_of
from mmbits.emu.variants import VARIANTS
from mmbits.findings import blocking

from .helpers import sva


def _exact_with_keys(setup: Setup, monkeypatch: pytest.MonkeyPatch, jobs: int = 1) -> tuple[Exploration, set[int]]:
    """Every state told apart by its bytes; the end states' keys on the side."""
    keys: set[int] = set()
    plain_end = explore.end

    def end(world: World, ex: Exploration, sched: tuple[str, ...]) -> Any:
        canon = QueueKey.of(world)
        keys.add(world.fingerprint() if canon is None else canon.key(world)[0])
        return plain_end(world, ex, sched)

    with monkeypatch.context() as patch:
        patch.setattr(explore, "end", end)
        ex = exhaustive(setup.world(), canonical=False, jobs=jobs)
    return ex, keys


def _compare(monkeypatch: pytest.MonkeyPatch, variant: str, only: tuple[str, ...], cpus: int = 2,
             ops: int = 1) -> tuple[Exploration, Exploration]:
    setup = Setup(sva(), variant, cpus=cpus, ops=ops, only=only or VARIANTS[variant].default_only)
    exact, keys = _exact_with_keys(setup, monkeypatch)
    merged = exhaustive(setup.world())
    assert exact.complete and merged.complete
    assert merged.terminals == keys, variant
    assert set(merged.found) == set(exact.found), variant
    # the same findings: kinds, messages, verdict
    found = [findings_of(setup, ex, detail=False) for ex in (exact, merged)]
    assert sorted((f.kind, f.message) for f in found[0]) == sorted((f.kind, f.message) for f in found[1]), variant
    assert bool(blocking(found[0])) == bool(blocking(found[1]))
    assert merged.states <= exact.states
    return exact, merged


@pytest.mark.parametrize(("variant", "only", "cpus", "ops"), [
    ("v6.19+fixes+hotplug", ("huge-pmd",), 2, 1),  # the queue of the huge-pmd target: merged
    ("v6.19", ("huge-pmd", "cpa"), 2, 1),  # the as-merged IOMMU findings
    ("three-lists", ("cpa", "hot-remove"), 2, 1),  # its own queue code: not reduced
])
def test_queue_order_keeps_end_states_and_findings(monkeypatch: pytest.MonkeyPatch, variant: str,
                                                   only: tuple[str, ...], cpus: int, ops: int) -> None:
    exact, merged = _compare(monkeypatch, variant, only, cpus, ops)
    if variant == "v6.19+fixes+hotplug":
        assert merged.states < exact.states  # the reduction is not vacuous here


@pytest.mark.slow
@pytest.mark.parametrize("only", [(), ("cpa", "hot-remove"), ("huge-pmd",)])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_queue_order_keeps_end_states_and_findings_on_every_variant(monkeypatch: pytest.MonkeyPatch, variant: str,
                                                                    only: tuple[str, ...]) -> None:
    if only and VARIANTS[variant].default_only:
        pytest.skip("the variant runs its own operations")
    _compare(monkeypatch, variant, only, cpus=2, ops=2 if only == ("huge-pmd",) else 1)


@pytest.mark.slow
def test_queue_order_three_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three CPUs queue in every order: the end states and findings stay, the states shrink."""
    exact, merged = _compare(monkeypatch, "v6.19+fixes+hotplug", ("huge-pmd",), cpus=3, ops=1)
    assert merged.states < exact.states


def test_two_processes_share_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes over one shared table of keys: the same states, end states and findings as one."""
    setup = Setup(sva(), "v6.19+fixes+hotplug", cpus=2, ops=1, only=("huge-pmd",))
    one = exhaustive(setup.world())
    assert one.queue_order
    two = exhaustive(setup.world(), jobs=2)
    assert (two.states, two.terminals, set(two.found)) == (one.states, one.terminals, set(one.found))


def _queued(order: list[int], still_linked: bool = False) -> tuple[World, list[int]]:
    """A world whose work list holds three kernel PTE tables queued in `order`
    (indexes into the tables made); `still_linked`: the first one is also
    still in the page tables."""
    m = Machine(sva(), "v6.19+fixes+hotplug", async_free=True)
    base = m.facts.addresses["vmalloc_start"]
    pmd = 1 << m.tables.levels[m.tables.pmd_level].shift
    tables = []
    for i in range(3):
        pfn = m.pagetable_alloc("pte")
        m.link(base + (i + 1) * pmd, pfn)
        tables.append(pfn)
    for i in order:
        if not (still_linked and i == order[0]):
            m.unlink(base + (i + 1) * pmd)
        m.pagetable_dtor_free(tables[i])
    return World(m, {"cpu0": ()}), tables


def test_key_ignores_the_queue_order_only() -> None:
    a, tables = _queued([0, 1, 2])
    b, _ = _queued([2, 0, 1])
    assert applies(a.m.design)
    assert [a.m.pt_node_page(n) for n in a.m.lists.entries(a.m.queues.work_head)] == [tables[2], tables[1], tables[0]]
    assert a.fingerprint() != b.fingerprint()  # other bytes ...
    ka, kb = (QueueKey(w.m).key(w) for w in (a, b))
    assert ka == kb and ka[1]  # ... one state, the orders merged
    # a queued page the page tables still point at (it may be freed again): no merging
    c, _ = _queued([0, 1, 2], still_linked=True)
    d, _ = _queued([0, 2, 1], still_linked=True)
    assert QueueKey(c.m).key(c) == (c.fingerprint(), False) != (d.fingerprint(), False) == QueueKey(d.m).key(d)


def test_designs_with_other_queue_code_are_not_reduced() -> None:
    from mmbits.emu.variants import make_design

    plain = {name for name in VARIANTS if applies(make_design(name))}
    assert "v6.19+fixes+hotplug" in plain and "v6.19" in plain
    assert not {"three-lists", "two-lists", "nr-pageflags-bit", "memdesc-ptdesc", "sync"} & plain
    per_page = make_design("v6.19")
    per_page.worker_per_page = True
    assert not applies(per_page)


def test_a_batch_that_crashes_part_way_is_explored_by_its_bytes() -> None:
    """A queued page whose refcount something dropped to 0: the worker's batch
    crashes on it (double free) after freeing the pages before it, which
    depend on the queue's order -- so the exploration starts again with every
    order told apart, in one process or two."""
    w, tables = _queued([0, 1, 2])
    w.m.mem.set(tables[1], w.m.buddy.F_ref, 0)
    w.threads["worker"] = ()
    exact = exhaustive(w.clone(), canonical=False)
    assert any(kind == "double-free" for kind, _where in exact.found)
    for jobs in (1, 2):
        ex = exhaustive(w.clone(), jobs=jobs)
        assert not ex.queue_order and ex.to_json()["reduction"]["queue_order"] is False
        assert (ex.states, ex.terminals, set(ex.found)) == (exact.states, exact.terminals, set(exact.found))
