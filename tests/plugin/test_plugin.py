"""The pytest plugin as a user meets it: fixtures, options, markers, off unless used.

The inner pytest runs in this process (pytester's in-process run loads the plugin through
its entry point, as a fresh session does), except where a fresh interpreter is the point:
what importing the plugin costs at start-up. A fresh interpreter per inner run cost more
than the runs themselves."""

from __future__ import annotations

import pytest

from conftest import REF_CONFIG


def test_fixtures_default_preset(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_sizes(mmbits_config, mmbits_layout, mmbits_flags):
            assert mmbits_config.name == "x86_64-6.18"
            assert mmbits_layout("page").size == 64
            assert mmbits_layout["ptdesc"].size <= mmbits_layout("page").size
            assert mmbits_flags.nr_pageflags == 24
    """)
    pytester.runpytest_inprocess("-q").assert_outcomes(passed=1)


def test_marker_and_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.mmbits_preset("i386-pae-sparsemem")
        def test_i386(mmbits_layout):
            assert mmbits_layout("page").size == 40

        @pytest.mark.mmbits_set(LRU_GEN="y")
        def test_set(mmbits_flags):
            assert mmbits_flags.field("lru_gen") is not None

        def test_from_option(mmbits_config):
            assert mmbits_config.arch == "arm64"
    """)
    pytester.runpytest_inprocess("-q", "--mmbits-preset", "arm64-max").assert_outcomes(passed=3)


def test_config_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_cfg(mmbits_config):
            assert mmbits_config["NR_CPUS"] == 256
    """)
    pytester.runpytest_inprocess("-q", "--mmbits-config", str(REF_CONFIG)).assert_outcomes(passed=1)


def test_bad_marker_fails_cleanly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.mmbits_preset("no-such-preset")
        def test_x(mmbits_config):
            pass
    """)
    result = pytester.runpytest_inprocess("-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mmbits: unknown preset 'no-such-preset'*"])
    assert "Traceback" not in result.stdout.str() and "another exception" not in result.stdout.str()


def test_plugin_does_not_import_engine_at_startup(pytester: pytest.Pytester) -> None:
    """Off unless used: collecting a test that asks for nothing loads no mmbits engine."""
    pytester.makepyfile("""
        import sys
        def test_nothing():
            heavy = [m for m in sys.modules if m.startswith("mmbits.") and m != "mmbits.pytest_plugin"]
            assert heavy == [], heavy
            assert "construct" not in sys.modules and "yaml" not in sys.modules
    """)
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_machine_fixture_and_variant_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        def test_default(mmbits_machine):
            assert mmbits_machine.design.name == "v6.19+fixes+hotplug"
            assert mmbits_machine.facts.sizeof_page == 64

        @pytest.mark.mmbits_preset("i386-pae-sparsemem")
        @pytest.mark.mmbits_variant("sync", npages=96)
        def test_variant(mmbits_machine):
            m = mmbits_machine
            assert m.design.name == "sync" and m.mem.npages == 96 and m.facts.sizeof_page == 40
            pfn = m.alloc_pages(1, comp=True)
            m.free_pages(pfn, 1)
            assert m.findings == []
    """)
    pytester.runpytest_inprocess("-q").assert_outcomes(passed=2)


def test_machine_fixture_bad_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.mmbits_variant("tree-lists")
        def test_typo(mmbits_machine):
            pass

        @pytest.mark.mmbits_variant("sync", pages=3)
        def test_bad_option(mmbits_machine):
            pass
    """)
    result = pytester.runpytest_inprocess("-q")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*mmbits: unknown variant 'tree-lists'*three-lists*",
                                 "*mmbits: mmbits_variant:*pages*"])
    assert "Traceback" not in result.stdout.str()


def test_helpers_fail_with_the_check_output(pytester: pytest.Pytester) -> None:
    """What a user sees when the bit is taken: mmbits check's text in the report."""
    pytester.makepyfile("""
        from mmbits.testing import assert_bit_free

        def test_taken():
            assert_bit_free("PG_head", "x86_64-6.18", word="ptdesc.pt_flags", kind="kernel-pgtable",
                            name="PT_mine")
    """)
    result = pytester.runpytest_inprocess("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*PT_mine = PG_head in ptdesc.pt_flags (kernel-pgtable) is not free on 1 of 1*",
                                 "*UNSAFE: PT_mine = PG_head in ptdesc.pt_flags (kernel-pgtable)*",
                                 "*checked 1 config (x86_64-6.18*",
                                 "*ERROR ptdesc.pt_flags bit 6 is PG_head*"])


def test_absurd_npages_is_a_clear_failure_not_memoryerror(pytester: pytest.Pytester) -> None:
    """Issue #16: `@mmbits_variant(npages=10**12)` gave a raw MemoryError."""
    pytester.makepyfile("""
        import pytest

        @pytest.mark.mmbits_variant("sync", npages=10**12)
        def test_huge(mmbits_machine):
            pass
    """)
    r = pytester.runpytest_inprocess("-q")
    r.assert_outcomes(errors=1)
    text = r.stdout.str()
    assert "npages=1000000000000 is not between 1 and" in text and "MemoryError" not in text
