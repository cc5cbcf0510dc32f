"""The emulator's buddy allocator on a Linux 7.1 struct page: tails carry
head | 1 in compound_info (7.1.5 include/linux/page-flags.h set_compound_head()
without HUGETLB_PAGE_OPTIMIZE_VMEMMAP: `WRITE_ONCE(tail->compound_info,
(unsigned long)head | 1)`; clear_compound_head() stores 0)."""

from __future__ import annotations

from mmbits.emu.machine import Machine
from mmbits.kconfig.model import load_model

from .helpers import sva


def test_7_1_compound_tails_use_compound_info() -> None:
    model = load_model()
    cfg = model.make({**sva().primary, "VERSION": 7001}, name="x86_64-6.18+IOMMU_SVA@7.1")
    m = Machine(cfg, "v6.19+fixes", npages=64)
    f = m.facts
    assert "compound_head" not in f.page.words
    head = m.alloc_pages(2, comp=True)
    for i in (1, 2, 3):
        assert m.mem.get(head + i, f.pw("compound_info")) == m.mem.page_addr(head) | 1
    m.free_pages(head, 2)
    assert not m.findings
