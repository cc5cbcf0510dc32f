"""Issue 14's examples: every one used to print SAFE (or a false UNSAFE). Each is
the question "a new use of this bit", answered from the layouts and the data.

Kernel facts typed in from the source (v6.18): include/linux/mm.h
pagetable_alloc_noprof() ORs __GFP_COMP (page tables of order >= 1 are compound,
so PG_head lives in their flags); include/linux/page-flags.h: PG_anon_exclusive =
PG_owner_2, a PF_ANY flag "per page, also on THP tails"; arch/x86/xen/mmu_pv.c:
xen_after_bootmem() -> xen_pgd_walk(&init_mm, xen_mark_pinned, ...) and
xen_alloc_ptpage() set PG_pinned (= PG_owner_priv_1) on init_mm's page tables;
arch/x86/xen/Kconfig: XEN_PV depends on X86_64.
"""

from __future__ import annotations

import pytest

from mmbits.errors import InvalidConfigError
from prover.helpers import blocking, kinds, messages, prove, whats


@pytest.mark.parametrize("expr", ["PG_head", "BIT(PG_head)", "1UL << PG_head"])
def test_pg_head_in_a_page_table_is_unsafe_however_it_is_spelled(expr: str) -> None:
    r = prove(expr, "ptdesc.pt_flags", "pgtable")
    assert r.verdict == "unsafe" and whats(r, "collision") == ["PG_head"]
    assert "__GFP_COMP" in messages(r, "collision")


def test_pg_head_output_never_says_free(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("check", "PG_head", "--word", "ptdesc.pt_flags", "--kind", "pgtable", "--preset", "x86_64-6.18")
    assert r.code == 1 and r.out.startswith("UNSAFE: ")
    assert "free" not in r.out.replace("pagetable_free", "")


@pytest.mark.parametrize("name", [None, "PG_new_second"])
def test_pg_owner_2_on_page_1_collides_with_pg_anon_exclusive(name: str | None) -> None:
    r = prove("PG_owner_2", "folio._flags_1", "second", name)
    assert r.verdict == "unsafe"
    assert "PG_anon_exclusive (= PG_owner_2; per page, on tail pages too)" in whats(r, "collision")
    assert "free on page[1]" not in messages(r)


def test_as_an_existing_alias_is_checked_for_consistency() -> None:
    """--as PG_anon_exclusive names v6.18's own per-page alias: that use is exempt, PG_owner_2's PF_ANY use is not."""
    r = prove("PG_owner_2", "folio._flags_1", "second", "PG_anon_exclusive")
    assert "existing-definition" in kinds(r)
    assert whats(r, "collision") == ["PG_owner_2 (PF_ANY: set per page, on tail pages too)"]


def test_xen_pv_pins_kernel_page_tables() -> None:
    on_xen = prove("PG_owner_priv_1", "ptdesc.pt_flags", "kernel-pgtable", "PT_x", on="amd64-6.12")
    assert on_xen.verdict == "unsafe" and whats(on_xen, "collision") == ["PG_pinned"]
    assert "xen_mark_pinned" in messages(on_xen, "collision")
    # the reference 6.18 kernel is built without XEN: nothing else is in bit 10 on kernel tables
    assert prove("PG_owner_priv_1", "ptdesc.pt_flags", "kernel-pgtable", "PT_x").verdict == "safe"


def test_xen_pv_collisions_are_charged_to_xen_pv_configs_only() -> None:
    r = prove("PG_owner_priv_1", "ptdesc.pt_flags", "pgtable", "PT_x", domain="default")
    assert r.verdict == "unsafe"
    (f,) = [f for f in r.findings if f.kind == "collision"]
    assert f.data["config_symbols"]["XEN_PV"] == 1 and f.data["config_symbols"]["ARCH"] == "x86_64"
    assert prove("PG_owner_priv_1", "ptdesc.pt_flags", "pgtable", "PT_x", domain="arm64").verdict == "safe"


def test_a_renamed_word_is_asked_under_the_releases_name() -> None:
    """Linux 6.12 calls the word ptdesc.__page_flags (Debian 6.12.117 amd64 BTF,
    tests/data/linux-6.12-amd64.pahole.txt); 6.18 renamed it pt_flags (commit 522abd92279a).
    Either spelling asks about the same bits; neither may come back SAFE on the Xen PV build."""
    for word in ("ptdesc.pt_flags", "ptdesc.__page_flags"):
        r = prove("PG_owner_priv_1", word, "kernel-pgtable", "PT_x", on="amd64-6.12")
        assert r.verdict == "unsafe" and whats(r, "collision") == ["PG_pinned"], word


def test_xen_pv_exists_only_on_x86_64() -> None:
    with pytest.raises(InvalidConfigError):
        prove("BIT(0)", "page.flags", on="arm64-kasan-sw-tags", sets={"XEN": 1, "XEN_PV": 1})


def test_free_time_checks_say_whether_the_kernel_catches_it() -> None:
    quiet = prove("PG_locked", "ptdesc.pt_flags", "pgtable")
    debug = prove("PG_locked", "ptdesc.pt_flags", "pgtable", sets={"DEBUG_VM": 1})
    assert "clears the bit silently" in messages(quiet, "bad-page-at-free")
    assert "reports 'Bad page state" in messages(debug, "bad-page-at-free")
    assert "not run the free-time checks" not in messages(debug, "bad-page-at-free")


def test_a_bare_existing_name_is_a_new_use() -> None:
    """`PT_kernel` without --as is a second user of bit 2 on kernel page tables."""
    r = prove("PT_kernel", "ptdesc.pt_flags", "kernel-pgtable")
    assert "collision" in blocking(r) and whats(r, "collision") == ["PT_kernel"]


@pytest.mark.parametrize("word,kind", [("page.flags", "anon"), ("ptdesc.pt_flags", "kernel-pgtable")])
def test_only_the_taken_operand_of_a_conditional_is_evaluated(word: str, kind: str) -> None:
    """Issue 14: `1 ? BIT(2) : (1 << 40)` was UNSAFE for an undefined shift C never
    evaluates (C11 6.5.15: only the chosen operand of `?:` is evaluated; 6.5.13/14 for
    `&&`/`||`). The verdict is the one `BIT(2)` gets, for the same reasons."""
    taken = prove("1 ? BIT(2) : (1 << 40)", word, kind)
    plain = prove("BIT(2)", word, kind)
    assert "undefined-shift" not in kinds(taken)
    assert (taken.verdict, sorted(whats(taken, "collision"))) == (plain.verdict, sorted(whats(plain, "collision")))
    # the other way round the shift is evaluated: 40 exceeds a 32-bit int, undefined
    other = prove("0 ? BIT(2) : (1 << 40)", word, kind)
    assert other.verdict == "unsafe" and "undefined-shift" in kinds(other)
    assert "undefined-shift" not in kinds(prove("BIT(2) | (0 && (1 << 40))", word, kind))
