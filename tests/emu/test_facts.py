"""What the emulator reads from the layouts data for a config."""

from __future__ import annotations

import pytest

from mmbits.emu.facts import facts_for
from mmbits.kconfig.presets import preset


@pytest.mark.parametrize(("name", "levels", "pmd_order", "page"), [
    ("x86_64-6.18", ["pgd", "pud", "pmd", "pte"], 9, 64),
    ("i386-pae-sparsemem", ["pgd", "pmd", "pte"], 9, 40),
    ("i386-highmem-flatmem", ["pgd", "pte"], 10, 40),
    ("arm64-max", ["pgd", "pud", "pmd", "pte"], 9, 80),
    ("arm32-sparsemem", ["pgd", "pte"], 9, 36),
])
def test_geometry(name: str, levels: list[str], pmd_order: int, page: int) -> None:
    f = facts_for(preset(name))
    assert [lv.name for lv in f.levels] == levels
    assert f.pmd_order == pmd_order
    assert f.sizeof_page == page


def test_poison_and_masks_come_from_the_data() -> None:
    f = facts_for(preset("x86_64-6.18"))
    assert f.poison["LIST_POISON2"] == 0xDEAD000000000122
    assert facts_for(preset("i386-pae-sparsemem")).poison["LIST_POISON2"] == 0x122
    assert f.masks["PAGE_FLAGS_CHECK_AT_FREE"] >> f.bit("PG_reserved") & 1
    assert not f.masks["PAGE_FLAGS_CHECK_AT_FREE"] >> f.bit("PG_referenced") & 1
    assert [c.reason for c in f.bad_page_checks][-1] == "page still charged to cgroup"


def test_memdesc_model() -> None:
    f = facts_for(preset("x86_64-6.18"), separate_ptdesc=True)
    assert (f.page.struct, f.ptdesc.struct) == ("page_sep", "ptdesc_sep")
    assert f.memdesc_type_names[f.memdesc_pagetable_type] == "PageTable"
    assert f.ptdesc_object_size % 16 == 0
