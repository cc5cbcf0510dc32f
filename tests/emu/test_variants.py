"""Each design comes out the way the kernel's history says
(shared/reference/deferred-free-and-memdesc.md, "Concrete test cases"), from
the emulated bytes and events; `v6.19+fixes+hotplug` (every known hole
closed) is clean on every preset."""

from __future__ import annotations

import pytest

from mmbits.emu.variants import VARIANTS
from mmbits.kconfig.presets import preset, preset_names

from .helpers import kinds, primary, sva
from .helpers import simulate_json as simulate

# variant -> kinds its first (primary) findings must include, from the kernel's
# history (reference sections and the messages the variants' docstrings cite)
HISTORY = {
    "v6.19": {"iommu-use-after-free", "leak"},  # sections 3.2 (511-page leak) and 3.4 (CPA)
    "v6.19+vmemmap-fix": {"iommu-use-after-free"},  # section 3.4: CPA split table still unmarked
    "v6.19+cpa-mark": {"leak", "iommu-use-after-free"},  # section 3.2 leak; hot-add tables unmarked
    # both fixes, hot-remove as upstream: alloc_low_pages() is __get_free_pages(GFP_KERNEL | __GFP_ZERO)
    # after boot (arch/x86/mm/init.c, v6.19), no ptdesc_set_kernel(), so the hot-add table is freed at once
    "v6.19+fixes": {"iommu-use-after-free"},
    "sync": {"iommu-use-after-free"},  # section 1: freed while the IOMMU caches it
    # Baolu Lu 2025-08-18 (quoted in e321d374-...): the worker list_move()s the global list
    # head onto its stack list, then walks the head itself as a ptdesc: a wild pointer
    "two-lists": {"use-after-free"},
    "three-lists": {"iommu-use-after-free"},  # as posted: no invalidation in the worker
    "nr-pageflags-bit": {"stale-after-free"},  # case 1: not an allocated bit, survives free
    "page-type-bit0-sketch": {"wiped-before-test", "always-true"},  # case 4
    "page-type-bit0-baolu": {"always-true"},  # case 4: UINT_MAX has bit 0 set
    "pmd-ptdesc": {"wrong-table"},  # case 5 (section 3.1)
    "memdesc-ptdesc": {"memdesc-clobbered"},  # case 16 (section 6)
}


def test_every_variant_is_covered() -> None:
    assert set(VARIANTS) == set(HISTORY) | {"v6.19+fixes+hotplug", "ptdump-race", "ptdump-fixed", "ptdump-arm64-both"}


def test_two_lists_walks_the_moved_head() -> None:
    """list_move(&kernel_pte_work.list, &free_list) moves the static head, not
    the entries: the first entry the worker frees is the head in kernel data."""
    result = simulate(sva(), "two-lists", mode="sequential", detail=False)
    (f,) = primary(result)
    assert f["kind"] == "use-after-free" and "not a struct page member" in f["message"]
    assert "work_free3" in f["message"]


def test_v6_19_fixes_leaves_the_hot_add_table() -> None:
    """With both fixes the one hole left is memory hot-remove: the unmarked
    table of hot-added memory, freed at once while the IOMMU caches it;
    marking it (v6.19+fixes+hotplug) removes exactly that finding."""
    result = simulate(sva(), "v6.19+fixes", mode="sequential", detail=False)
    wheres = {(f["kind"], f["where"]["detail"]) for f in primary(result)}
    assert wheres == {("iommu-use-after-free", "__free_pages: vmemmap PTE table (hot-remove)")}
    closed = simulate(sva(), "v6.19+fixes+hotplug", mode="sequential", detail=False)
    assert closed["verdict"] == "SAFE", closed["findings"]


@pytest.mark.parametrize("variant", sorted(HISTORY))
def test_variant_shows_its_history(variant: str) -> None:
    result = simulate(sva(), variant, mode="sequential", detail=False)
    assert result["verdict"] == "UNSAFE"
    assert HISTORY[variant] <= kinds(result), result["findings"]
    # and the first thing that goes wrong is one of them, not a consequence
    assert primary(result)[0]["kind"] in HISTORY[variant]


def test_v6_19_as_merged_fails_for_the_historical_reasons() -> None:
    """Section 3.2: 511 of 512 vmemmap pages leak; section 3.4: the CPA split
    table goes back to the allocator while the IOMMU caches it."""
    result = simulate(sva(), "v6.19", mode="sequential", detail=False)
    wheres = {(f["kind"], f["where"]["detail"]) for f in result["findings"]}
    assert ("iommu-use-after-free", "__free_pages: CPA split PTE table") in wheres
    leak = [f for f in result["findings"] if f["kind"] == "leak"]
    assert [f["data"]["pages"] for f in leak] == [511]
    # the fixes remove exactly their own finding
    fixed = simulate(sva(), "v6.19+vmemmap-fix", mode="sequential", detail=False)
    assert "leak" not in kinds(fixed)
    marked = simulate(sva(), "v6.19+cpa-mark", mode="sequential", detail=False)
    assert ("iommu-use-after-free", "__free_pages: CPA split PTE table") not in {
        (f["kind"], f["where"]["detail"]) for f in marked["findings"]}


def test_unmarked_hot_add_tables_skip_the_invalidation() -> None:
    """alloc_low_pages() / vmemmap_alloc_block_zero() never mark: hot-remove
    frees the vmemmap PTE table through __pagetable_free() at once."""
    result = simulate(sva(), "v6.19+vmemmap-fix", cpus=1, ops=1, mode="exhaustive", detail=False,
                      only=("hot-remove",))
    assert [f["where"]["detail"] for f in result["findings"]] == ["__free_pages: vmemmap PTE table (hot-remove)"]


def test_three_lists_as_posted_frees_before_any_invalidation() -> None:
    """The 2025-08-23 draft splices and frees with no IOMMU invalidation, so
    the queued PTE table of a huge-pmd promotion is freed under the IOMMU."""
    result = simulate(sva(), "three-lists", cpus=1, ops=1, mode="exhaustive", detail=False, only=("huge-pmd",))
    assert [(f["kind"], f["where"]["detail"]) for f in result["findings"]] == [
        ("iommu-use-after-free", "__free_pages: PTE table (huge-pmd)")]


def test_two_lists_links_a_dead_stack_head() -> None:
    result = simulate(sva(), "two-lists", cpus=1, ops=1, mode="sequential", only=("cpa",))
    (f,) = result["findings"]
    assert f["kind"] == "use-after-free" and "not a struct page member" in f["message"]
    steps = [s["step"] for s in f["data"]["schedule"]]
    assert any(s.startswith("cpa_free") for s in steps) and steps[-1].startswith("work_free3")


def test_page_type_bit0_baolu_sees_every_untyped_page_as_kernel() -> None:
    """UINT_MAX has bit 0 set: the worker runs the dtor on CPA's alloc_pages() table."""
    result = simulate(sva(), "page-type-bit0-baolu", cpus=1, ops=1, mode="sequential", detail=False, only=("cpa",))
    assert {f["kind"] for f in result["findings"]} >= {"always-true"}


def test_vmemmap_leak_is_511_pages() -> None:
    result = simulate(sva(), "v6.19", cpus=1, ops=1, mode="sequential", detail=False, only=("hot-remove",))
    leak = [f for f in result["findings"] if f["kind"] == "leak"]
    assert [f["data"]["pages"] for f in leak] == [511]


def test_pmd_ptdesc_consequences() -> None:
    """Case 5: UAF of the live containing table and leak of the child."""
    result = simulate(sva(), "pmd-ptdesc", cpus=1, ops=1, mode="exhaustive", detail=False, only=("huge-pmd",))
    assert {"wrong-table", "use-after-free", "leak"} <= kinds(result)


def test_pmd_ptdesc_pud_path_frees_pmd_sv_repeatedly() -> None:
    result = simulate(sva(), "pmd-ptdesc", cpus=1, ops=1, mode="sequential", detail=False, only=("huge-pud",))
    assert "double-free" in kinds(result)
    assert any("pmd_sv" in f["where"]["detail"] for f in result["findings"] if f["kind"] == "wrong-table")


def test_cpa_unmarked_names_the_split_table() -> None:
    result = simulate(sva(), "v6.19+vmemmap-fix", cpus=1, ops=1, mode="exhaustive", detail=False, only=("cpa",))
    assert [f["where"]["detail"] for f in result["findings"]] == ["__free_pages: CPA split PTE table"]


@pytest.mark.parametrize("name", preset_names())
def test_upstream_is_clean_on_every_preset(name: str) -> None:
    from mmbits.kconfig.presets import preset

    if preset(name).kernel < 6018:
        pytest.skip("the emulated deferred free exists from 6.18 (emulator.yaml since:)")
    result = simulate(sva(name), "v6.19+fixes+hotplug", mode="sequential", detail=False)
    assert result["verdict"] == "SAFE", result["findings"]
    result = simulate(sva(name), "v6.19+fixes+hotplug", cpus=2, ops=2, mode="random", schedules=8, seed=1,
                      detail=False)
    assert result["verdict"] == "SAFE", result["findings"]


@pytest.mark.parametrize(("ops", "min_states"), [(1, 500), pytest.param(2, 1000, marks=pytest.mark.slow)])
def test_upstream_exhaustive_is_clean_and_complete(ops: int, min_states: int) -> None:
    result = simulate(sva(), "v6.19+fixes+hotplug", cpus=2, ops=ops, mode="exhaustive", detail=False)
    assert result["verdict"] == "SAFE"
    assert result["explored"]["complete"] and result["explored"]["states"] > min_states


def test_async_off_with_sva_frees_kernel_tables_unsafely() -> None:
    """Case 19 / case 7: without ASYNC_KERNEL_PGTABLE_FREE pagetable_free_kernel()
    is __pagetable_free(), which is only safe when no SVA device walks kernel tables."""
    result = simulate(sva(), "v6.19+fixes", cpus=1, ops=1, mode="sequential", detail=False, async_free=False)
    assert "iommu-use-after-free" in kinds(result)
    result = simulate(preset("x86_64-6.18"), "v6.19+fixes", cpus=1, ops=1, mode="sequential", detail=False)
    assert result["machine"]["async_kernel_pgtable_free"] is False and result["verdict"] == "SAFE"


def test_sync_is_safe_without_an_sva_device() -> None:
    assert simulate(preset("x86_64-6.18"), "sync", mode="sequential", detail=False)["verdict"] == "SAFE"
    # arm64's SVA contexts do not walk the kernel's tables (emulator.yaml)
    arm = simulate(sva("arm64-max"), "sync", mode="sequential", detail=False)
    assert arm["machine"]["iommu_sva_requested"] and not arm["machine"]["iommu_sva"]
    assert arm["verdict"] == "SAFE"


def test_worker_stale_pt_list_is_expected() -> None:
    """Case 11: the worker does no list_del(); what the freed page keeps in
    pt_list is overwritten by the buddy's own list, never LIST_POISON."""
    from mmbits.emu.machine import Machine

    m = Machine(sva(), "v6.19+fixes", npages=256)
    va = m.facts.addresses["vmalloc_start"] + (1 << 21)
    pte = m.pagetable_alloc("pte")
    m.link(va, pte)
    m.unlink(va)
    m.pagetable_dtor_free(pte)
    f = m.facts
    # case 13: on the deferred list: type reset by the dtor, PT_kernel clear, refcount 1, mapping 0
    assert m.mem.get(pte, f.pw("page_type")) == 0xFFFFFFFF
    assert not m.mem.get(pte, f.pw("flags")) >> f.bit("PT_kernel") & 1
    assert m.buddy.refcount(pte) == 1 and m.mem.get(pte, f.pw("mapping")) == 0
    m.run_worker()
    assert not m.findings
    assert m.mem.get(pte, f.pw("lru.next")) != m.lists.poison1
