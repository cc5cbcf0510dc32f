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
