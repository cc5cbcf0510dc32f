"""Expression plans: C semantics per config, names from the data, conditions, defines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbits.errors import InputError
from mmbits.flags.packing import compute
from mmbits.names import c_names
from mmbits.prover.expr import _SLOW, _fast_value, parse_define, plan
from mmbits.strategies import configs
from prover.helpers import config_of, prove


def test_enum_bit_numbers_are_bits() -> None:
    p = plan("PG_referenced")
    assert p.text == "BIT(PG_referenced)" and p.bit_number == "PG_referenced"
    assert p.evaluate(config_of("x86_64-6.18")).value == 1 << 2
    assert plan("NR_PAGEFLAGS").evaluate(config_of("x86_64-6.18")).value == 24  # a count, not a bit


def test_unknown_names_list_close_matches() -> None:
    with pytest.raises(InputError, match=r"unknown name 'PG_refrenced' \(did you mean PG_referenced"):
        plan("BIT(PG_refrenced)")
    with pytest.raises(InputError, match="unknown name"):
        plan("FOO | BIT(1)")


def test_name_absent_in_some_configs_is_a_warning_not_an_error() -> None:
    # no MEMORY_FAILURE: PG_hwpoison does not exist, the expression does not compile, so
    # nothing is proved on that config (issue 14: fail closed) - a warning, and UNKNOWN
    r = prove("BIT(PG_hwpoison)", "page.flags", "slab", "PG_new", on="x86_64-6.18")
    assert r.verdict == "unknown" and [f.kind for f in r.findings] == ["unknown-name", "unknown"]
    assert {f.severity for f in r.findings} == {"warning"}
    r2 = prove("BIT(PG_hwpoison)", "page.flags", "slab", "PG_new", on="x86_64-maxsmp")
    assert r2.verdict == "unsafe"  # PG_hwpoison is used on any page


def test_c_semantics_reach_the_verdict() -> None:
    r = prove("1 << 31", "page.flags", on="x86_64-6.18")
    kinds = {f.kind for f in r.findings}
    assert {"undefined-shift", "sign-extension", "collision"} <= kinds
    assert prove("1UL << 31", "page.flags", on="x86_64-6.18").findings[0].kind == "unallocated-bit"
    assert {f.kind for f in prove("BIT(40)", "ptdesc.__page_type", on="x86_64-6.18").findings} >= {"truncated"}
    assert "undefined-shift" in {f.kind for f in prove("BIT(40)", "ptdesc.__page_type",
                                                        on="i386-highmem-flatmem").findings}


def test_conditions_and_defines() -> None:
    p = plan("ptdesc->pt_flags.f | X", {"X": "BIT(PG_referenced)"})
    assert p.mode == "condition" and p.runtime == ("ptdesc->pt_flags.f",)
    v = p.evaluate(config_of("x86_64-6.18"))
    assert v.always_true and v.value == 4
    t = plan("(ptdesc->pt_flags.f & X)", {"X": "BIT(2)"}).evaluate(config_of("x86_64-6.18"))
    assert not t.always_true and t.value == 4
    zero = plan("ptdesc->pt_flags.f | X", {"X": "0"}).evaluate(config_of("x86_64-6.18"))
    assert not zero.always_true
    with pytest.raises(InputError, match="WORD | CONST"):
        plan("ptdesc->a + 1")
    assert parse_define("A=BIT(1)") == ("A", "BIT(1)")
    with pytest.raises(InputError):
        parse_define("=1")


@given(configs(), st.sampled_from(["NR_PAGEFLAGS", "PG_referenced", "PG_head", "PG_arch_2", "PG_mlocked",
                                   "PG_swapcache", "PG_has_hwpoisoned", "PT_kernel", "SL_partial",
                                   "PGTY_table", "BITS_PER_LONG", "UINT_MAX", "PAGE_FLAGS_CHECK_AT_FREE"]))
def test_fast_names_agree_with_c_names(config, name) -> None:  # type: ignore[no-untyped-def]
    names, _ = c_names(config)
    fast = _fast_value(compute(config), name, ())
    if fast is not _SLOW:
        assert fast == names.get(name)


@given(configs(), st.sampled_from(["BIT(NR_PAGEFLAGS)", "BIT(NR_PAGEFLAGS+40)", "1UL << (BITS_PER_LONG-1)",
                                   "PG_referenced", "BIT(PG_head)|BIT(NR_PAGEFLAGS-1)", "1 << PG_arch_2",
                                   "UINT_MAX", "BIT(PG_slab)", "PGTY_table", "(1 << 31) + PG_locked",
                                   "PAGE_FLAGS_CHECK_AT_FREE & 1"]))
def test_a_value_of_the_words_own_names_is_the_value_with_every_name(config, text) -> None:  # type: ignore[no-untyped-def]
    # ExprPlan.evaluate reads only the names the expression reads when the word has them all;
    # the reference evaluates with c_names()'s whole table of the config
    xp = plan(text)
    word = compute(config)
    got = xp.evaluate(config, word)
    names, types = xp.names_for(config, word)
    want = xp._evaluate(names, types, names["BITS_PER_LONG"])
    assert got == want


def test_the_names_every_config_has_are_in_every_presets_names() -> None:
    # plan() accepts these without building the default preset's names: they must be
    # names of every config (FlagsWord.symbols() defines them)
    from mmbits.kconfig.presets import preset, preset_names
    from mmbits.prover.expr import _WORD_NAMES

    for name in preset_names():
        assert set(c_names(preset(name))[0]) >= _WORD_NAMES, name


@given(st.integers(min_value=0, max_value=(1 << 130) - 1))
def test_bits_of_is_each_set_bit_lowest_first(value: int) -> None:
    from mmbits.prover.hits import bits_of

    assert bits_of(value) == [b for b in range(value.bit_length()) if value >> b & 1]
