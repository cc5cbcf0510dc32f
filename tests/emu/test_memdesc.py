"""The separated-ptdesc model reproduces the crash of seed 004 (Willy's RFC
"Separate ptdesc from struct page", 2025-10-20): page->lru.prev's
LIST_POISON2 read back as page->memdesc, dead000000000122, while
page->__folio_index still holds a ptdesc pointer."""

from __future__ import annotations

import re
from pathlib import Path

from .helpers import simulate_json as simulate
from .helpers import sva

SEED = Path(__file__).parent.parent / "data" / "seeds" / "004_56616265fdc3b62f.txt"


def _seed_raw() -> list[str]:
    words: list[str] = []
    for line in SEED.read_text().splitlines():
        if line.startswith("raw: "):
            words.extend(line[5:].split())
    return words


def test_seed_crash_signature() -> None:
    result = simulate(sva(), "memdesc-ptdesc", mode="sequential")
    first = result["findings"][0]
    assert first["kind"] == "memdesc-clobbered"
    seed_line = re.search(r"memdesc ([0-9a-f]{16}) index ([0-9a-f]{16})", SEED.read_text())
    assert seed_line is not None
    ours = re.search(r"memdesc ([0-9a-f]{16}) index ([0-9a-f]{16})", first["message"])
    assert ours is not None
    # the clobbered memdesc is the seed's value: LIST_POISON2 with x86_64's delta
    assert ours.group(1) == seed_line.group(1) == "dead000000000122"
    # the debug copy in __folio_index is a ptdesc pointer from the page's
    # previous life as a page table (a direct-map slab address, like the seed's)
    assert ours.group(2)[:6] == seed_line.group(2)[:6] == "ffff88"
    # and the struct page words agree with the seed's raw: lines where the
    # story says they must: lru.prev/memdesc (word 2), index (word 4 is a
    # pointer), refcount 1 + page_type UINT_MAX (word 6), mapping and private 0
    raw = " ".join(first["data"]["before"]["raw"]).replace("raw: ", "").split()
    seed = _seed_raw()
    for i in (2, 3, 5, 6, 7):
        assert raw[i] == seed[i], (i, raw[i], seed[i])
    assert raw[4] == ours.group(2)
    # who wrote it: the buddy allocator's list_del() when CPA's split_large_page()
    # took the page (the lru union's remaining user), not the ptdesc code
    assert "lru.prev = 0xdead000000000122" in first["message"]
    assert "cpa_split" in first["message"]


def test_memdesc_lives_next_to_compound_head() -> None:
    from mmbits.emu.machine import Machine

    m = Machine(sva(), "memdesc-ptdesc", npages=128)
    f = m.facts
    assert f.page.struct == "page_sep"
    assert f.pw("memdesc").offset == f.pw("compound_head").offset + f.ptr_size == f.pw("lru.prev").offset
    pte = m.pagetable_alloc("pte")  # a converted allocation: memdesc = ptdesc | PageTable
    md = m.mem.get(pte, f.pw("memdesc"))
    assert md & 0xF == f.memdesc_pagetable_type == 9
    assert m.ptdesc_of(pte) == md & ~0xF and (md & ~0xF) % 16 == 0
    assert not m.findings
