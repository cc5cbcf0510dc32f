"""run_proposal(): the lifecycle findings `mmbits check` gets for a
proposal, from the same emulator path as `simulate --proposal`."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbits.emu.lifecycle import run_proposal
from mmbits.kconfig.presets import preset
from mmbits.proposal import Proposal, load_proposal

PROPOSALS = Path(__file__).parent.parent / "data" / "proposals"


def _kinds(p: Proposal, name: str = "x86_64-6.18") -> set[str]:
    return {f.kind for f in run_proposal(p, preset(name))}


@pytest.mark.parametrize("name", ["x86_64-6.18", "i386-pae-sparsemem", "arm64-max", "x86_64-defconfig-lru-gen"])
def test_pt_kernel_is_clean(name: str) -> None:
    """Reference case 2."""
    assert _kinds(load_proposal(PROPOSALS / "pt_kernel.yaml"), name) == set()


def test_nr_pageflags_bit_survives_free() -> None:
    """Reference case 1 (lifecycle half): the bit is above PAGEFLAGS_MASK, so
    free_pages_prepare() leaves it for the next owner."""
    found = run_proposal(load_proposal(PROPOSALS / "async_pgtable_free_dtor.yaml"), preset("x86_64-6.18"))
    assert {f.kind for f in found} == {"stale-after-free"}
    where = found[0].where
    assert where is not None and (where.struct, where.field, where.bits) == ("ptdesc", "pt_flags", (24,))
    # BIT(24): NR_PAGEFLAGS of this config


def test_page_type_bit0_is_wiped_and_always_true() -> None:
    """Reference case 4."""
    assert {"wiped-before-test", "always-true"} <= _kinds(load_proposal(PROPOSALS / "ptdesc_type_kernel.yaml"))


def test_reserved_bit_is_a_bad_page() -> None:
    """Reference case 3: PG_reserved is in PAGE_FLAGS_CHECK_AT_FREE, so every
    table freed through __free_pages() is a bad page -- except the one memory
    hot-remove frees: arch/x86/mm/init_64.c free_pagetable() (v6.19) tests
    PageReserved(page) first and takes the boot-memory branch,
    free_reserved_pages() -> free_reserved_page() (mm/page_alloc.c v6.19:
    ClearPageReserved(); init_page_count(); __free_page();
    adjust_managed_page_count(page, 1)): no bad page, but a page the buddy
    allocator handed out is added to the managed pages a second time."""
    p = Proposal("PG_reserved", "ptdesc.pt_flags", "kernel-pgtable", "PT_reserved", "alloc", None, "never")
    found = run_proposal(p, preset("x86_64-6.18"))
    assert {f.kind for f in found} == {"bad-page-at-free", "managed-count"}
    bad = [f for f in found if f.kind == "bad-page-at-free"]
    assert all("PAGE_FLAGS_CHECK_AT_FREE flag(s) set" in f.message for f in bad)
    assert not any("hot-remove" in str(f.where) for f in bad)
    (counted,) = [f for f in found if f.kind == "managed-count"]
    assert "vmemmap PTE table (hot-remove)" in str(counted.where) and counted.severity == "warning"


def test_mapping_word_is_a_bad_page() -> None:
    """Reference case 14 (Jason's "use __page_mapping" idea, never cleared)."""
    p = Proposal("1", "ptdesc.__page_mapping", "kernel-pgtable", "KMAP", "mark", "pagetable_free", "never")
    assert any("non-NULL mapping" in f.message for f in run_proposal(p, preset("x86_64-6.18")))


def test_tail_marker_bit_is_caught() -> None:
    p = Proposal("BIT(0)", "ptdesc._pt_pad_1", "kernel-pgtable", "TAILBIT", "alloc", None, "never")
    found = run_proposal(p, preset("x86_64-6.18"))
    assert any("PageTail" in f.message for f in found)


def test_no_lifecycle_means_no_findings() -> None:
    assert run_proposal(load_proposal(PROPOSALS / "static_pt_kernel.yaml"), preset("x86_64-6.18")) == []
    assert run_proposal(load_proposal(PROPOSALS / "memdesc_type4.yaml"), preset("x86_64-6.18")) == []
    anon = Proposal("BIT(3)", "folio.flags", "anon", None, "alloc", None, None)
    assert run_proposal(anon, preset("x86_64-6.18")) == []


def test_results_are_independent_copies() -> None:
    p = load_proposal(PROPOSALS / "async_pgtable_free_dtor.yaml")
    first = run_proposal(p, preset("x86_64-6.18"))
    first[0].config = "changed"
    assert run_proposal(p, preset("x86_64-6.18"))[0].config != "changed"


def test_explore_proposal_covers_every_interleaving() -> None:
    """For the prover: the proposal workload explored exhaustively finds what
    the one sequential schedule finds, and says that it was complete."""
    from mmbits.emu.lifecycle import explore_proposal

    proposal = load_proposal(PROPOSALS / "async_pgtable_free_dtor.yaml")
    full = explore_proposal(proposal, preset("x86_64-6.18"))
    assert full.mode == "exhaustive" and full.complete and full.schedules > 1
    assert {f.kind for f in full.findings} == {"stale-after-free"}
    cut = explore_proposal(proposal, preset("x86_64-6.18"), max_states=20)
    assert not cut.complete  # a bound reached is said, so "no finding" is not read as a proof
    seq = explore_proposal(proposal, preset("x86_64-6.18"), mode="sequential")
    assert not seq.complete and {f.kind for f in seq.findings} == {"stale-after-free"}
