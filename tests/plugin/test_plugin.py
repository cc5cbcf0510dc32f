"""The pytest plugin as a user meets it: fixtures, options, markers, off unless used."""

from __future__ import annotations

import pytest

from conftest import REF_CONFIG


def test_fixtures_default_preset(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_sizes(pagebits_config, pagebits_layout, pagebits_flags):
            assert pagebits_config.name == "x86_64-6.18"
            assert pagebits_layout("page").size == 64
            assert pagebits_layout["ptdesc"].size <= pagebits_layout("page").size
            assert pagebits_flags.nr_pageflags == 24
    """)
    pytester.runpytest_subprocess("-q").assert_outcomes(passed=1)


def test_marker_and_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.pagebits_preset("i386-pae-sparsemem")
        def test_i386(pagebits_layout):
            assert pagebits_layout("page").size == 40

        @pytest.mark.pagebits_set(LRU_GEN="y")
        def test_set(pagebits_flags):
            assert pagebits_flags.field("lru_gen") is not None

        def test_from_option(pagebits_config):
            assert pagebits_config.arch == "arm64"
    """)
    pytester.runpytest_subprocess("-q", "--pagebits-preset", "arm64-max").assert_outcomes(passed=3)


def test_config_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_cfg(pagebits_config):
            assert pagebits_config["NR_CPUS"] == 256
    """)
    pytester.runpytest_subprocess("-q", "--pagebits-config", str(REF_CONFIG)).assert_outcomes(passed=1)


def test_bad_marker_fails_cleanly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.pagebits_preset("no-such-preset")
        def test_x(pagebits_config):
            pass
    """)
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*pagebits: unknown preset 'no-such-preset'*"])
    assert "Traceback" not in result.stdout.str() and "another exception" not in result.stdout.str()


def test_plugin_does_not_import_engine_at_startup(pytester: pytest.Pytester) -> None:
    """Off unless used: collecting a test that asks for nothing loads no pagebits engine."""
    pytester.makepyfile("""
        import sys
        def test_nothing():
            heavy = [m for m in sys.modules if m.startswith("pagebits.") and m != "pagebits.pytest_plugin"]
            assert heavy == [], heavy
            assert "construct" not in sys.modules and "yaml" not in sys.modules
    """)
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_machine_fixture_and_variant_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        def test_default(pagebits_machine):
            assert pagebits_machine.design.name == "upstream"
            assert pagebits_machine.facts.sizeof_page == 64

        @pytest.mark.pagebits_preset("i386-pae-sparsemem")
        @pytest.mark.pagebits_variant("sync", npages=96)
        def test_variant(pagebits_machine):
            m = pagebits_machine
            assert m.design.name == "sync" and m.mem.npages == 96 and m.facts.sizeof_page == 40
            pfn = m.alloc_pages(1, comp=True)
            m.free_pages(pfn, 1)
            assert m.findings == []
    """)
    pytester.runpytest_subprocess("-q").assert_outcomes(passed=2)


def test_machine_fixture_bad_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.pagebits_variant("tree-lists")
        def test_typo(pagebits_machine):
            pass

        @pytest.mark.pagebits_variant("sync", pages=3)
        def test_bad_option(pagebits_machine):
            pass
    """)
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*pagebits: unknown variant 'tree-lists'*three-lists*",
                                 "*pagebits: pagebits_variant:*pages*"])
    assert "Traceback" not in result.stdout.str()


def test_helpers_fail_with_the_check_output(pytester: pytest.Pytester) -> None:
    """What a user sees when the bit is taken: pagebits check's text in the report."""
    pytester.makepyfile("""
        from pagebits.testing import assert_bit_free

        def test_taken():
            assert_bit_free("PG_head", "x86_64-6.18", word="ptdesc.pt_flags", kind="kernel-pgtable",
                            name="PT_mine")
    """)
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*PT_mine = PG_head in ptdesc.pt_flags (kernel-pgtable) is not free on 1 of 1*",
                                 "*UNSAFE: PT_mine = PG_head in ptdesc.pt_flags (kernel-pgtable)*",
                                 "*checked 1 config (x86_64-6.18*",
                                 "*ERROR ptdesc.pt_flags bit 6 is PG_head*"])
