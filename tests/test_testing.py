"""mmbits.testing: the assertion helpers users call from their own tests.
Their failure messages must carry what the matching command prints."""

from __future__ import annotations

import pytest

from mmbits.emu.machine import Machine
from mmbits.emu.simulate import simulate
from mmbits.errors import InputError
from mmbits.findings import Finding
from mmbits.kconfig.dotconfig import config_from_file
from mmbits.kconfig.presets import preset
from mmbits.layout.registry import layouts
from mmbits.proposal import Proposal
from mmbits.testing import as_proposal, assert_bit_free, assert_layout_matches, assert_no_findings

from conftest import DATA, REF_CONFIG

PT_KERNEL_FILE = DATA / "proposals" / "pt_kernel.yaml"


# -- assert_bit_free ------------------------------------------------------------------------------

def test_safe_proposal_returns_one_result_per_target() -> None:
    results = assert_bit_free(PT_KERNEL_FILE, ["x86_64-6.18", preset("i386-pae-sparsemem")])
    assert [r.verdict for r in results] == ["safe", "safe"]
    assert [r.source for r in results] == ["x86_64-6.18", "i386-pae-sparsemem"]
    assert all(r.lifecycle.startswith("checked") for r in results)


def test_unsafe_message_is_the_check_output_with_a_counterexample() -> None:
    with pytest.raises(AssertionError) as failure:
        assert_bit_free("BIT(NR_PAGEFLAGS)", ["x86_64-6.18", "x86_64-maxsmp"], word="ptdesc.pt_flags",
                        kind="kernel-pgtable", lifecycle=False)
    text = str(failure.value)
    assert text.startswith("BIT(NR_PAGEFLAGS) in ptdesc.pt_flags (kernel-pgtable) is not free on 2 of 2")
    assert "UNSAFE: BIT(NR_PAGEFLAGS) in ptdesc.pt_flags (kernel-pgtable)" in text
    assert "checked 1 config (x86_64-6.18" in text  # the first unsafe target, as `check --preset` prints it
    assert "unallocated-bit" in text


def test_domain_by_name() -> None:
    with pytest.raises(AssertionError) as failure:
        assert_bit_free("BIT(NR_PAGEFLAGS)", "default", word="ptdesc.pt_flags", kind="kernel-pgtable",
                        lifecycle=False)
    assert "domain default" in str(failure.value)
    assert "page.flags bits 25-26 = LRU_REFS" in str(failure.value)


def test_as_proposal_inputs() -> None:
    assert as_proposal(PT_KERNEL_FILE).name == "PT_kernel"
    assert as_proposal(str(PT_KERNEL_FILE), kind="pgtable").kind == "pgtable"
    p = as_proposal("BIT(0)", word="ptdesc.__page_type", name="PTDESC_TYPE_KERNEL")
    assert p == Proposal(expr="BIT(0)", word="ptdesc.__page_type", name="PTDESC_TYPE_KERNEL")
    with pytest.raises(TypeError, match="word="):
        as_proposal("BIT(0)")
    with pytest.raises(InputError, match="unknown page kind"):
        as_proposal("BIT(0)", word="ptdesc.pt_flags", kind="kernel-pagetable")
    with pytest.raises(InputError, match="unknown preset"):
        assert_bit_free("BIT(0)", "x86_64-6.81", word="ptdesc.pt_flags")


# -- assert_layout_matches ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ref_config():  # type: ignore[no-untyped-def]
    return config_from_file(REF_CONFIG)[0]


def test_layout_matches_btf(ref_btf, ref_config) -> None:  # type: ignore[no-untyped-def]
    for struct in ("ptdesc", "slab", "folio"):
        assert assert_layout_matches(layouts().resolve(struct, ref_config), ref_btf) == []
    assert assert_layout_matches("zpdesc", ref_btf, config=ref_config) == []


def test_layout_mismatch_lists_the_differences(ref_btf, ref_config) -> None:  # type: ignore[no-untyped-def]
    """The 6.18 reference kernel is a vendor build with one extra member."""
    with pytest.raises(AssertionError) as failure:
        assert_layout_matches("page", ref_btf, config=ref_config)
    text = str(failure.value)
    assert "struct page: 1 difference(s) from the BTF" in text
    assert "ERROR:extra-member: struct page: the BTF has a member our layout lacks: buddy_since" in text


def test_layout_of_another_config_does_not_match(ref_btf) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AssertionError, match="sizeof\\(struct page\\) is 40 in our layout, 64 in the BTF"):
        assert_layout_matches("page", ref_btf, config="i386-pae-sparsemem")


# -- assert_no_findings ---------------------------------------------------------------------------

def test_clean_machine_passes() -> None:
    m = Machine(preset("x86_64-6.18"), "v6.19+fixes", npages=128)
    m.free_pages(m.alloc_pages(2, comp=True), 2)
    assert_no_findings(m)


def test_machine_findings_fail_with_their_lines() -> None:
    m = Machine(preset("x86_64-6.18"), "v6.19+fixes", npages=1024, async_free=True)
    m.enqueue(m.alloc_pages(9))  # a plain order-9 block freed with compound_order() == 0
    m.quiesce()
    with pytest.raises(AssertionError, match=r"1 finding\(s\):\nERROR:leak: 511 page\(s\) leaked"):
        assert_no_findings(m)
    assert_no_findings(m, kinds=["iommu-use-after-free"])  # only those kinds count


def test_simulation_result_fails_with_simulate_text() -> None:
    result = simulate(preset("x86_64-6.18"), "v6.19+cpa-mark", only=("hot-remove",), cpus=1, ops=1,
                      mode="sequential")
    with pytest.raises(AssertionError) as failure:
        assert_no_findings(result)
    text = str(failure.value)
    assert "mmbits simulate: v6.19+cpa-mark" in text and "verdict: UNSAFE" in text


def test_findings_list_and_severities() -> None:
    note = Finding("obligation", "clear it at free", "x86_64-6.18", severity="note")
    assert_no_findings([note])
    with pytest.raises(AssertionError, match="NOTE:obligation"):
        assert_no_findings([note], errors_only=False)
    with pytest.raises(TypeError):
        assert_no_findings("nothing")
