"""The fixtures through the scanner: every report comes from the prover over the default domain."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbits.kconfig.domain import load_domain
from mmbits.patch import parse, scan_patches

DATA = Path(__file__).parent / "data"


def _scan(name: str):  # type: ignore[no-untyped-def]
    return scan_patches(parse((DATA / name).read_bytes(), name), domain=load_domain("default"),
                        source="domain default")


def _by(report):  # type: ignore[no-untyped-def]
    return [(f.level, f.type, f.site.file, f.site.line) for f in report.findings]


def test_one_list_draft() -> None:
    (rep,) = _scan("0001-one-list-async-pgtable-free-dtor.patch")
    got = _by(rep)
    assert ("ERROR", "COLLISION", "mm/pgtable-generic.c", 412) in got  # at the #define: where the bit is chosen
    assert ("ERROR", "UNALLOCATED_BIT", "mm/pgtable-generic.c", 412) in got
    assert ("WARNING", "NON_ATOMIC", "mm/pgtable-generic.c", 450) in got  # ptdesc->__page_flags |= ...
    collision = next(f for f in rep.findings if f.type == "COLLISION")
    assert collision.message.startswith("ASYNC_PGTABLE_FREE_DTOR = BIT(NR_PAGEFLAGS) in ptdesc.pt_flags: ")
    assert "LRU_REFS" in collision.message and "of 185856 configs" in collision.message
    assert collision.result is not None and collision.result.verdict == "unsafe"
    assert rep.count("ERROR") == 2


def test_ptdesc_type_kernel_draft() -> None:
    (rep,) = _scan("0002-ptdesc-type-kernel-bit0.patch")
    assert _by(rep) == [("ERROR", "ALWAYS_TRUE", "include/linux/mm_types.h", 602)]
    assert "page_type == 0xffffffff" in rep.findings[0].message


def test_bitwise_or_condition() -> None:
    (rep,) = _scan("0003-pagetable-free-bitwise-or.patch")
    assert _by(rep) == [("ERROR", "ALWAYS_TRUE", "include/linux/mm.h", 2964)]
    assert rep.findings[0].site.text == "\tif (ptdesc->some_field | PTDESC_KERNEL)"


def test_merged_design_is_clean() -> None:
    (rep,) = _scan("0004-merged-pt-kernel.patch")
    assert rep.findings == []
    assert all(not r.findings for r in _scan("series-merged.mbox"))


def test_new_page_flag_consequences() -> None:
    (rep,) = _scan("0005-new-page-flag.patch")
    types = {f.type for f in rep.findings}
    assert {"SHRINKS_FIELD", "FIELD_OUT_OF_WORD"} <= types
    assert "COLLISION" not in types  # a new enum entry is an allocated flag
    assert all(f.site.line == 110 for f in rep.findings)


@pytest.mark.parametrize("where", ["x86_64-6.18", pytest.param("default", marks=pytest.mark.slow)])
def test_second_page_flags(where: str) -> None:
    """The whole default domain (4 proofs over 80,448 groups) costs ~15 s of CPU, ~70 s
    before the patch branch (bench/bench_patch.py): the slow tier; one preset in the default run."""
    if where == "default":
        (rep,) = _scan("0006-second-page-flags.patch")
    else:
        from mmbits.kconfig.presets import preset

        name = "0006-second-page-flags.patch"
        (rep,) = scan_patches(parse((DATA / name).read_bytes(), name), config=preset(where), source=where)
    got = _by(rep)
    assert ("ERROR", "COLLISION", "include/linux/page-flags.h", 174) in got  # PG_zero_pending = PG_uptodate
    assert ("CHECK", "OBLIGATION", "include/linux/page-flags.h", 175) in got  # PG_zero_queued = PG_swapbacked
    assert "folio order" in rep.findings[0].message


def test_non_atomic_set_bit_on_the_flags_word() -> None:
    (rep,) = _scan("0007-nonatomic-set-bit.patch")
    assert _by(rep) == [("WARNING", "NON_ATOMIC", "mm/gup.c", 535)]


def test_mixed_series_reports_only_the_bad_patch() -> None:
    good, bad = _scan("series-mixed.mbox")
    assert good.findings == [] and bad.count("ERROR") == 2


FIXTURES = sorted(p.read_text() for p in DATA.glob("000*.patch") if "crlf" not in p.name)
LINES = ["+#define FOO BIT(NR_PAGEFLAGS + 3)", "+\tset_bit(PG_head, &folio->_flags_1);",
         "+\tif (page->flags.f | BIT(PG_locked))", "+\tPG_new_one,", "+\tPT_weird = PG_head,",
         "+\tpt->pt_flags.f &= ~FOO;", "+\tPGTY_mine = 0x42,", "+#define BAR (1 << 31)",
         "+\t__clear_bit(BAR, &ptdesc->pt_flags.f);", "+\treturn slab->slab_cache & 1;"]


def _fuzz_scan(text: str) -> None:
    from mmbits.errors import InputError
    from mmbits.kconfig.presets import preset

    try:
        patches = parse(text, "fuzz.patch")
    except InputError:
        return
    for rep in scan_patches(patches, config=preset("x86_64-6.18"), source="x86_64-6.18"):
        for f in rep.findings:
            assert f.level in ("ERROR", "WARNING", "CHECK") and f.message


def test_fuzzed_additions_never_crash_the_scanner() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.sampled_from(FIXTURES), st.lists(st.sampled_from(LINES), min_size=1, max_size=4))
    def run(text: str, extra: list[str]) -> None:
        # replace added lines of a fixture (keeping hunk counts) with other additions
        lines = text.split("\n")
        plus = [i for i, ln in enumerate(lines) if ln.startswith("+") and not ln.startswith("+++")]
        for i, new in zip(plus, extra, strict=False):
            lines[i] = new
        _fuzz_scan("\n".join(lines))

    run()


def test_page_type_enum_and_packed_field_uses() -> None:
    from mmbits.kconfig.presets import preset

    text = """--- a/include/linux/page-flags.h
+++ b/include/linux/page-flags.h
@@ -930,4 +930,6 @@ enum pagetype {
 \tPGTY_unaccepted\t= 0xf7,
 \tPGTY_large_kmalloc\t= 0xf8,
+\tPGTY_netpp\t= 0xf9,
+\tPGTY_dup\t= 0xf2,

 \t/* This is the highest value */
--- a/mm/foo.c
+++ b/mm/foo.c
@@ -10,2 +10,4 @@ static void foo(struct folio *folio, struct page *page)
 {
+\tset_bit(PG_uptodate, &folio->_flags_1);
+\tset_bit(NR_PAGEFLAGS, &page->flags.f);
 }
"""
    (rep,) = scan_patches(parse(text, "t.patch"), config=preset("x86_64-maxsmp"), source="x86_64-maxsmp")
    got = {(f.site.line, f.type) for f in rep.findings}
    assert (933, "TYPE_BYTE") in got and not any(line == 932 for line, _ in got)  # 0xf9 is free, 0xf2 is table
    assert (11, "COLLISION") in got  # bit 3 of page[1].flags is the folio order
    assert (12, "COLLISION") in got  # B2: NR_PAGEFLAGS is LRU_REFS bit 0
    assert "already PGTY_table" in next(f.message for f in rep.findings if f.type == "TYPE_BYTE")
