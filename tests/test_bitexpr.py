"""C semantics of bit expressions: types, promotion, sign extension, UB."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbits.bitexpr import BitExprError, evaluate
from mmbits.errors import InputError

NAMES = {"NR_PAGEFLAGS": 24, "PG_referenced": 2, "BITS_PER_LONG": 64, "WIDE": 64}


@pytest.mark.parametrize("text, bits, value, ctype, kinds", [
    ("BIT(NR_PAGEFLAGS)", 64, 1 << 24, "unsigned long", []),
    ("PG_referenced", 64, 2, "int", []),
    ("(1UL << 24) - 1", 64, 0xFFFFFF, "unsigned long", []),
    ("1 << 31", 64, -(1 << 31), "int", ["undefined-shift"]),
    ("1 << 32", 64, 0, "int", ["undefined-shift"]),
    ("BIT(WIDE)", 64, 0, "unsigned long", ["undefined-shift"]),
    ("BIT(31)", 32, 1 << 31, "unsigned long", []),
    ("BIT(32)", 32, 0, "unsigned long", ["undefined-shift"]),
    ("(1 << 31) | 1UL", 64, 0xFFFFFFFF80000001, "unsigned long", ["undefined-shift", "sign-extension"]),
    ("0x80000000 | 1UL", 64, 0x80000001, "unsigned long", []),  # hex 0x80000000 is unsigned int
    ("2147483648", 64, 2147483648, "long", []),  # a decimal constant never becomes unsigned
    ("GENMASK(7, 0)", 64, 0xFF, "unsigned long", []),
    ("~0U", 64, 0xFFFFFFFF, "unsigned int", []),
    ("-1 + 0U", 64, 0xFFFFFFFF, "unsigned int", []),
    ("(unsigned long)-1", 32, 0xFFFFFFFF, "unsigned long", []),
])
def test_c_semantics(text, bits, value, ctype, kinds) -> None:
    e = evaluate(text, NAMES, bits)
    assert (e.value, e.type.name) == (value, ctype)
    assert sorted({k for k, _ in e.problems}) == sorted(set(kinds))


def test_store_sign_extends() -> None:
    value, problems = evaluate("1 << 31", NAMES, 64).store(64)
    assert value == 0xFFFFFFFF80000000 and problems[0][0] == "sign-extension"
    assert evaluate("1 << 31", NAMES, 64).store(32) == (0x80000000, [])


def test_unknown_name_suggests() -> None:
    with pytest.raises(InputError, match="did you mean PG_referenced"):
        evaluate("PG_refrenced", NAMES, 64)


@pytest.mark.parametrize("text", ["", "BIT(", "1 +", "sizeof(long)", "GENMASK(1)", "(1", "1 ? 2"])
def test_bad_syntax(text: str) -> None:
    with pytest.raises(BitExprError):
        evaluate(text, NAMES, 64)


@given(st.text(alphabet="0123456789xULBIT()<>|&~^!-+*/%?: ,NR_PAGEFLS", max_size=40))
def test_fuzz_never_crashes(text: str) -> None:
    with contextlib.suppress(BitExprError):
        evaluate(text, NAMES, 64)


@given(st.integers(0, 70), st.sampled_from([32, 64]))
def test_bit_matches_python_when_defined(n: int, bits: int) -> None:
    e = evaluate(f"BIT({n})", {}, bits)
    if n < bits:
        assert e.value == 1 << n and not e.problems
    else:
        assert e.problems[0][0] == "undefined-shift"


@pytest.mark.parametrize("text, value, kinds", [
    # C11 6.5.13-6.5.15: only the taken operand is evaluated (issue 14)
    ("1 ? BIT(2) : (1 << 40)", 4, []),
    ("0 ? (1 << 40) : BIT(2)", 4, []),
    ("0 && (1 << 40)", 0, []),
    ("1 || (1 << 40)", 1, []),
    ("1 && (1 << 40)", 0, ["undefined-shift"]),  # taken: the shift is evaluated
    ("0 ? 1 : (1 << 40)", 0, ["undefined-shift"]),
])
def test_short_circuit_evaluates_only_the_taken_operand(text: str, value: int, kinds: list[str]) -> None:
    e = evaluate(text, NAMES, 64)
    assert e.value == value and sorted({k for k, _ in e.problems}) == kinds


def test_untaken_operand_still_types_the_conditional() -> None:
    """`1 ? -1 : 0UL` is unsigned long (the usual conversions of both arms): the -1 widens."""
    e = evaluate("1 ? -1 : 0UL", NAMES, 64)
    assert e.type.name == "unsigned long" and e.value == 0xFFFFFFFFFFFFFFFF
    assert e.shifts == [] and evaluate("0 ? BIT(3) : 1", NAMES, 64).shifts == []


def test_one_parser_for_both_languages() -> None:
    """The data language and C share the tree: the same text parses to the same shape."""
    from mmbits.cexpr import Expr
    from mmbits.expression.syntax import parse_tree

    text = "A ? (B << 2) | 1 : !C && D"
    assert Expr(text).tree is parse_tree(text)
    assert evaluate(text, {"A": 1, "B": 3, "C": 0, "D": 1}, 64).value == Expr(text)({"A": 1, "B": 3, "C": 0, "D": 1})
