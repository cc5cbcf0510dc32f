"""The Python API of the machine (for tests and the pytest plugin), as its
docstring shows it."""

from __future__ import annotations

from mmbits.emu import Machine

from .helpers import sva


def test_docstring_walkthrough() -> None:
    m = Machine(sva(), "v6.19+fixes", sva=True)
    va = m.facts.addresses["vmalloc_start"] + (1 << m.facts.levels[-2].shift)
    pte = m.pagetable_alloc("pte")
    m.link(va, pte)
    assert m.iommu_walk(va)  # the IOMMU caches the entries on the way
    assert m.unlink(va, "pte") == pte
    m.pagetable_dtor_free(pte)  # kernel-marked: queued
    assert m.st.work_pending and not m.mem.shadow[pte]
    m.run_worker()  # splice, invalidate, __free_pages
    assert m.mem.shadow[pte] and not m.findings
    m.quiesce()
    assert not m.findings


def test_api_reports_misuse_as_findings() -> None:
    m = Machine(sva(), "sync", sva=True, npages=256)
    va = m.facts.addresses["vmalloc_start"] + (1 << m.facts.levels[-2].shift)
    pte = m.pagetable_alloc("pte")
    m.link(va, pte)
    m.iommu_walk(va)
    m.unlink(va)
    m.pagetable_dtor_free(pte)  # sync: freed at once, the IOMMU still caches it
    assert [f.kind for f in m.findings] == ["iommu-use-after-free"]
    m.enqueue(pte)  # a freed page queued: list_add on a free page's bytes ...
    m.free_pages(pte)  # ... and freed again: the machine says so, it does not raise
    assert "double-free" in [f.kind for f in m.findings]
