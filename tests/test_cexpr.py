"""The data files' expression language: C semantics, safe, with clear errors."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mmbits.cexpr import Expr, ExprError, order_base_2


@pytest.mark.parametrize(
    "text, env, want",
    [
        ("64BIT ? 64 : 32", {"64BIT": 1}, 64),
        ("64BIT ? 64 : 32", {"64BIT": 0}, 32),
        ("!(A || B) && C", {"A": 0, "B": 0, "C": 7}, 1),
        ('ARCH == "x86_64"', {"ARCH": "x86_64"}, 1),
        ("order_base_2(NR_CPUS)", {"NR_CPUS": 8192}, 13),
        ("-7 / 2", {}, -3),  # C truncates toward zero
        ("7 % 3 + (1 << 4)", {}, 17),
        ("X ? Y : 3", {"X": 0}, 3),  # the untaken arm is not evaluated
        ("max(1, min(5, 9))", {}, 5),
        ("BIT_IF(PG_x) | BIT(2)", {"PG_x": -1}, 4),
        ("0644", {}, 420),  # a leading 0 is octal, as in C
        ("01 + 00", {}, 1),
    ],
)
def test_eval(text: str, env: dict, want: int) -> None:
    assert Expr(text)(env) == want


def test_symbols_and_names() -> None:
    e = Expr("MEMCG && !KMSAN || NODES_SHIFT > 0")
    assert e.symbols == {"MEMCG", "KMSAN", "NODES_SHIFT"}
    with pytest.raises(ExprError, match="did you mean MEMCG"):
        Expr("MEMGC").check_names({"MEMCG", "KMSAN"})


@pytest.mark.parametrize("text", ["", "A &&", "(A", "A B", "f(1)", "1 +* 2", "A ? B", "'x'", "__import__('os')"])
def test_syntax_errors(text: str) -> None:
    with pytest.raises(ExprError):
        Expr(text)


# found by `--hypothesis-profile=fuzz`: these raised ValueError/UnicodeDecodeError/RecursionError
# (an "internal error" through `mmbits show --layout`) or allocated gigabytes
@pytest.mark.parametrize("text, message", [
    ("08", "invalid octal constant"),
    ("1" * 5000, "invalid number"),
    ('"\\x"', "bad string"),
    ("(" * 3000 + "1" + ")" * 3000, "nested too deeply"),
    ("1" + " + 1" * 2000, "nested too deeply"),
    ("1 << 40000000000", "shift count 40000000000 is too large"),
    ("BIT(1 << 20)", "shift count"),
])
def test_hostile_expressions_are_expr_errors(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        Expr(text)({})


def test_order_base_2() -> None:
    assert [order_base_2(n) for n in (0, 1, 2, 3, 4, 5, 256, 257)] == [0, 0, 1, 2, 2, 3, 8, 9]


@given(st.text(alphabet="AB0189()!&|?:<>=+-*/%~^ ,\"\\xN", max_size=30))
@example("01")  # int("01", 0) raised ValueError
def test_fuzz_parse_never_crashes(text: str) -> None:
    """Any input parses or raises ExprError; evaluation raises only ExprError."""
    try:
        e = Expr(text)
    except ExprError:
        return
    with contextlib.suppress(ExprError):
        e({"A": 1, "B": 0, "x": 3})


def test_release_literals_compare_as_releases() -> None:
    """`VERSION >= 6.15`: releases are MAJOR * 1000 + MINOR, so 7.0 sorts after 6.19."""
    since_6_15 = Expr("VERSION >= 6.15 && VERSION < 7.0")
    assert [since_6_15({"VERSION": v}) for v in (6001, 6014, 6015, 6019, 7000)] == [0, 0, 1, 1, 0]


# the values a data file's symbols hold: ints and strings, "" and "n" false as in Kconfig
_ENV = {"A": 0, "B": 1, "C": 7, "S": "", "N": "n", "Y": "x86_64"}
_leaf = st.sampled_from([*_ENV, "0", "1", "3", '"n"', '""', '"x86_64"'])
_exprs = st.recursive(_leaf, lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["&&", "||", "==", "!=", "<", ">=", "+", "&"]), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"),
    inner.map(lambda e: f"!{e}"),
    st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
), max_leaves=12)


def _outcome(fn, env):  # type: ignore[no-untyped-def]
    try:
        return ("value", fn(env))
    except Exception as exc:  # noqa: BLE001 (either way's error, compared by kind)
        return ("error", type(exc).__name__ in ("TypeError", "ExprError"))


@given(_exprs)
@example('!S && (N || !Y)')  # strings tested for truth in a condition: "" false, "n" false
@example('(A ? "n" : C) || !(S == "")')
def test_compiled_source_evaluates_as_the_closures(text: str) -> None:
    """The generated Python (conditions as Python's own `and`/`or`/`not`, a symbol tested in
    line) gives every value and error the tree-walking closures give, and `truth` the same."""
    from mmbits.expression.compiled import _closure, _compile_py, _truth

    tree = Expr(text).tree
    compiled, walked = _outcome(_compile_py(tree), _ENV), _outcome(_closure(tree), _ENV)
    assert compiled == walked
    if compiled[0] == "value":
        assert _truth(compiled[1]) == _truth(walked[1])


def test_texts_of_one_source_share_one_evaluator() -> None:
    """Evaluators are kept by their Python source (expression.compiled._compile_py):
    `BITS_PER_LONG/8` and `BITS_PER_LONG / 8` compile once, and evaluate alike."""
    a, b = Expr("BITS_PER_LONG/8"), Expr("BITS_PER_LONG / 8")
    assert a({"BITS_PER_LONG": 64}) == b({"BITS_PER_LONG": 64}) == 8
    assert a._fn is b._fn


@pytest.mark.parametrize("text, env, value", [("42", {}, 42), ("0x10", {}, 16), ('"x86_64"', {}, "x86_64"),
                                              ("6.12", {}, 6012), ("MEMCG", {"MEMCG": 1}, 1),
                                              ("ARCH", {"ARCH": "arm64"}, "arm64")])
def test_a_bare_constant_or_symbol_evaluates_as_compiled(text: str, env: dict[str, int | str], value: object) -> None:
    """A constant or a lone symbol is not compiled (a plain function does what the lambda
    would): the same value, and an unknown symbol the same error."""
    e = Expr(text)
    assert e(env) == value and e(env) == value  # the first call builds the evaluator, the second uses it
    if e.symbols:
        with pytest.raises(ExprError, match=f"unknown symbol {text!r} in {text!r}"):
            Expr(text)({})


@pytest.mark.parametrize("kind", [set, frozenset, list, dict.fromkeys])
def test_names_are_checked_against_any_collection(kind: object) -> None:
    """check_names takes a set as it is (no copy) and any other collection of names alike."""
    known = kind(["MEMCG", "NUMA", "VERSION"])  # type: ignore[operator]
    Expr("MEMCG && VERSION >= 6.12").check_names(known)
    with pytest.raises(ExprError, match="unknown symbol 'MEMGC' .*did you mean MEMCG"):
        Expr("MEMGC && NUMA").check_names(known)
