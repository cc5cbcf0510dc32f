"""C integer semantics over the shared syntax tree, for proposals and patches.

`BIT(NR_PAGEFLAGS)`, `1 << 31`, `(1UL << 24) - 1`, `PG_referenced` are evaluated
the way gcc evaluates them for one config: int vs unsigned long, integer
promotion and the usual arithmetic conversions, sign extension when a negative
int widens to unsigned long, and undefined behaviour for shifts past the width
(or into the sign bit). Python ints hide all of that, which is how
`MMF_INIT_MASK` grew 0xffffffff into its top half.

`&&`, `||` and `?:` follow C (C11 6.5.13-6.5.15): only the taken operand is
evaluated, so `1 ? BIT(2) : (1 << 40)` is BIT(2) with no finding. The untaken
operand of `?:` still gives the result its type (the usual conversions of both),
which is computed without recording its problems.

Problems are returned as (kind, message) pairs (`undefined-shift`,
`sign-extension`) rather than exceptions, because a prover wants to know *which*
configs make an expression undefined, not just that one did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from mmbits.errors import InputError
from mmbits.expression.lexer import ExprError
from mmbits.expression.syntax import CAST_NAMES, Node, parse_tree, walk

__all__ = ["CAST_NAMES", "MACROS", "BitExprError", "CType", "CValue", "Evaluation", "c_types", "evaluate",
           "identifiers", "tree_of"]

MAX_LENGTH = 4000
MACROS = {"BIT", "BIT_ULL", "GENMASK", "GENMASK_ULL", "BIT_MASK", "BIT_WORD", "_BITUL", "_BITULL"}


class BitExprError(InputError):
    pass


# NamedTuple, not a frozen dataclass: every check imports it, and a dataclass compiles its
# methods when the module is imported
class CType(NamedTuple):
    name: str
    bits: int
    signed: bool

    def wrap(self, value: int) -> int:
        value &= (1 << self.bits) - 1
        if self.signed and value >> (self.bits - 1):
            value -= 1 << self.bits
        return value

    def fits(self, value: int) -> bool:
        if self.signed:
            return -(1 << (self.bits - 1)) <= value < (1 << (self.bits - 1))
        return 0 <= value < (1 << self.bits)

    @property
    def rank(self) -> int:
        return {"int": 1, "unsigned int": 1, "long": 2, "unsigned long": 2, "long long": 3,
                "unsigned long long": 3}.get(self.name, 1)


def c_types(bits_per_long: int) -> dict[str, CType]:
    return {
        "int": CType("int", 32, True),
        "unsigned int": CType("unsigned int", 32, False),
        "long": CType("long", bits_per_long, True),
        "unsigned long": CType("unsigned long", bits_per_long, False),
        "long long": CType("long long", 64, True),
        "unsigned long long": CType("unsigned long long", 64, False),
    }


# NamedTuple, not a dataclass: every check imports it, and a dataclass compiles its
# methods when the module is imported
class CValue(NamedTuple):
    value: int
    type: CType


# NamedTuple, not a dataclass: every check imports it, and a dataclass compiles its
# methods when the module is imported
class Evaluation(NamedTuple):
    """The result of an expression for one config."""

    text: str
    value: int | None  # None when evaluation hit undefined behaviour it cannot continue past
    type: CType | None
    problems: list[tuple[str, str]]
    names: set[str]  # identifiers the evaluated operands read
    # (count, width of the shifted type) of every shift evaluated: how close a
    # config-dependent count (BIT(NR_PAGEFLAGS)) comes to undefined behaviour
    shifts: list[tuple[int, int]]

    def as_word(self, word_bits: int) -> int | None:
        """The value stored into an unsigned word of `word_bits` (C conversion)."""
        if self.value is None:
            return None
        return self.value & ((1 << word_bits) - 1)

    def store(self, word_bits: int) -> tuple[int | None, list[tuple[str, str]]]:
        """Store into an unsigned word: the value, plus a sign-extension problem
        when a negative signed value fills the word's high bits."""
        if self.value is None or self.type is None:
            return None, []
        out = []
        if self.type.signed and self.value < 0 and word_bits > self.type.bits:
            out.append(("sign-extension",
                        f"{self.type.name} {self.value} stored in a {word_bits}-bit unsigned word becomes "
                        f"{self.value & ((1 << word_bits) - 1):#x}: bits {self.type.bits}-{word_bits - 1} "
                        f"are set too"))
        return self.value & ((1 << word_bits) - 1), out


_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)([uUlL]*)")


def tree_of(text: str) -> Node:
    """The tree of a C expression, checked for what C evaluation supports."""
    if len(text) > MAX_LENGTH:
        raise BitExprError("expression too long")
    if not text.strip():
        raise BitExprError("empty expression")
    try:
        tree = parse_tree(text)
    except ExprError as exc:
        raise BitExprError(f"in {text!r}: {exc.message}") from None
    for n in walk(tree):
        if n.op == "call" and n.value == "sizeof":
            raise BitExprError(f"in {text!r}: sizeof is not supported")
        if n.op == "call" and n.value not in MACROS:
            raise BitExprError(f"in {text!r}: {n.value}() is not a constant macro mmbits knows "
                               f"({', '.join(sorted(MACROS))})")
        if n.op in ("str", "ver"):
            raise BitExprError(f"in {text!r}: {n.text!r} is not a C integer expression")
    return tree


class _Eval:
    def __init__(self, text: str, names: Mapping[str, int], bits_per_long: int,
                 name_types: Mapping[str, str] | None):
        self.text = text
        self.names = names
        self.types = c_types(bits_per_long)
        self.bpl = bits_per_long
        self.name_types = name_types or {}
        self.used: set[str] = set()
        self.problems: list[tuple[str, str]] = []
        self.shifts: list[tuple[int, int]] = []
        self.silent = 0  # > 0 while typing an untaken operand: its problems are not C's

    def problem(self, kind: str, message: str) -> None:
        if not self.silent and (kind, message) not in self.problems:
            self.problems.append((kind, message))

    def t(self, name: str) -> CType:
        return self.types[name]

    def usual(self, a: CValue, b: CValue) -> CType:
        """C11 6.3.1.8 for the types we model."""
        ta, tb = a.type, b.type
        if ta == tb:
            return ta
        if ta.signed == tb.signed:
            return ta if ta.rank >= tb.rank else tb
        u, s = (ta, tb) if not ta.signed else (tb, ta)
        if u.rank >= s.rank:
            return u
        if s.bits > u.bits:
            return s
        return self.t("unsigned " + s.name)

    def convert(self, v: CValue, to: CType, why: str) -> CValue:
        if v.type == to:
            return v
        if v.type.signed and not to.signed and v.value < 0 and to.bits > v.type.bits:
            self.problem("sign-extension",
                         f"{v.type.name} value {v.value} ({v.value & ((1 << v.type.bits) - 1):#x}) widens to "
                         f"{to.name} {to.wrap(v.value):#x} {why}: the high {to.bits - v.type.bits} bits are set")
        return CValue(to.wrap(v.value), to)

    def untaken(self, node: Node) -> CValue:
        """An operand C does not evaluate: only its type matters (for ?:)."""
        self.silent += 1
        try:
            return self.eval(node)
        finally:
            self.silent -= 1

    # -- the tree ------------------------------------------------------------
    def eval(self, node: Node) -> CValue:
        op = node.op
        if op == "num":
            return self.number(node.text)
        if op == "sym":
            return self.name(str(node.value))
        if op == "call":
            return self.macro(str(node.value), node.args)
        if op == "cast":
            to = self.t(str(node.value))
            v = self.eval(node.args[0])
            if v.type.signed and not to.signed and v.value < 0 and to.bits > v.type.bits:
                self.problem("sign-extension", f"cast of negative {v.type.name} {v.value} to {to.name}")
            return CValue(to.wrap(v.value), to)
        if op == "un":
            return self.unary(str(node.value), self.eval(node.args[0]))
        if op == "cond":
            c = self.eval(node.args[0])
            if c.value:
                a, b = self.eval(node.args[1]), self.untaken(node.args[2])
                return self.convert(a, self.usual(a, b), "in ?:")
            a, b = self.untaken(node.args[1]), self.eval(node.args[2])
            return self.convert(b, self.usual(a, b), "in ?:")
        if op == "bin":
            sym = str(node.value)
            if sym in ("&&", "||"):
                left = bool(self.eval(node.args[0]).value)
                if left == (sym == "||"):  # decided by the left operand: the right one is not evaluated
                    return CValue(int(left), self.t("int"))
                return CValue(int(bool(self.eval(node.args[1]).value)), self.t("int"))
            return self.apply(sym, self.eval(node.args[0]), self.eval(node.args[1]))
        if op == "member":
            raise BitExprError(f"in {self.text!r}: {node.value} is a run-time value, not a constant")
        raise BitExprError(f"in {self.text!r}: unexpected {node.text or node.op!r}")

    def name(self, text: str) -> CValue:
        self.used.add(text)
        if text not in self.names:
            from mmbits.expression.compiled import suggest

            raise BitExprError(f"unknown name {text!r}{suggest(text, self.names)}")
        t = self.t(self.name_types.get(text, "int"))
        return CValue(t.wrap(int(self.names[text])), t)

    def unary(self, op: str, v: CValue) -> CValue:
        if op == "!":
            return CValue(int(not v.value), self.t("int"))
        if op == "+":
            return v
        if op == "-":
            if v.type.signed and not v.type.fits(-v.value):
                self.problem("undefined-shift", f"signed overflow negating {v.value}")
            return CValue(v.type.wrap(-v.value), v.type)
        return CValue(v.type.wrap(~v.value), v.type)

    def apply(self, op: str, a: CValue, b: CValue) -> CValue:
        if op in ("<<", ">>"):
            return self.shift(op, a, b)
        t = self.usual(a, b)
        x = self.convert(a, t, f"as the left operand of {op}")
        y = self.convert(b, t, f"as the right operand of {op}")
        if op in ("==", "!=", "<", "<=", ">", ">="):
            r = {"==": x.value == y.value, "!=": x.value != y.value, "<": x.value < y.value,
                 "<=": x.value <= y.value, ">": x.value > y.value, ">=": x.value >= y.value}[op]
            return CValue(int(r), self.t("int"))
        if op in ("/", "%"):
            if y.value == 0:
                self.problem("undefined-shift", f"division by zero in {self.text!r}")
                return CValue(0, t)
            q = abs(x.value) // abs(y.value)
            q = q if (x.value >= 0) == (y.value >= 0) else -q
            r2 = q if op == "/" else x.value - q * y.value
        else:
            r2 = {"+": x.value + y.value, "-": x.value - y.value, "*": x.value * y.value,
                  "&": x.value & y.value, "|": x.value | y.value, "^": x.value ^ y.value}[op]
        if t.signed and not t.fits(r2) and op in ("+", "-", "*"):
            self.problem("undefined-shift", f"signed overflow in {op} ({t.name}) in {self.text!r}")
        return CValue(t.wrap(r2), t)

    def shift(self, op: str, a: CValue, b: CValue) -> CValue:
        t = a.type  # result type is the promoted left operand
        n = b.value
        if not self.silent:
            self.shifts.append((n, t.bits))
        if n < 0 or n >= t.bits:
            self.problem("undefined-shift",
                         f"shift count {n} is {'negative' if n < 0 else f'>= the width of {t.name} ({t.bits})'}")
            return CValue(0, t)
        if op == ">>":
            return CValue(t.wrap(a.value >> n), t)
        r = a.value << n
        if t.signed:
            if a.value < 0:
                self.problem("undefined-shift", f"left shift of a negative {t.name} in {self.text!r}")
            elif not t.fits(r):
                self.problem("undefined-shift",
                             f"{a.value} << {n} does not fit in {t.name} ({t.bits} bits): signed overflow "
                             f"(gcc yields {t.wrap(r)})")
        return CValue(t.wrap(r), t)

    def number(self, text: str) -> CValue:
        m = _NUMBER.fullmatch(text)
        if m is None:
            raise BitExprError(f"in {self.text!r}: invalid integer constant {text[:20]!r}")
        digits, suffix = m.group(1), m.group(2).lower()
        try:
            value = int(digits, 0) if not (digits.startswith("0") and digits.isdigit() and len(digits) > 1) else int(
                digits, 8)
        except ValueError:  # 08, 09 (not octal); thousands of digits
            raise BitExprError(f"in {self.text!r}: invalid integer constant {text[:20]!r}") from None
        unsigned = "u" in suffix
        longs = suffix.count("l")
        decimal = digits.isdigit() and not (digits.startswith("0") and len(digits) > 1)
        # C11 6.4.4.1: the first type that can represent the constant
        if longs == 0:
            cands = ["int", "long", "long long"] if decimal else ["int", "unsigned int", "long", "unsigned long",
                                                                    "long long", "unsigned long long"]
        elif longs == 1:
            cands = ["long", "long long"] if decimal else ["long", "unsigned long", "long long", "unsigned long long"]
        else:
            cands = ["long long"] if decimal else ["long long", "unsigned long long"]
        if unsigned:
            cands = list(dict.fromkeys("unsigned " + c.replace("unsigned ", "") for c in cands))
        for c in cands:
            if self.t(c).fits(value):
                return CValue(value, self.t(c))
        raise BitExprError(f"integer constant {text} is too large")

    def macro(self, name: str, arg_nodes: tuple[Node, ...]) -> CValue:
        """include/linux/bits.h and vdso/bits.h, expanded with their C types."""
        args = [self.eval(a) for a in arg_nodes]
        ul, ull = self.t("unsigned long"), self.t("unsigned long long")
        if name in ("BIT", "_BITUL", "BIT_ULL", "_BITULL", "BIT_MASK"):
            if len(args) != 1:
                raise BitExprError(f"{name}() takes one argument")
            one = CValue(1, ull if name in ("BIT_ULL", "_BITULL") else ul)
            count = args[0]
            if name == "BIT_MASK":
                count = CValue(count.value % self.bpl, count.type)
            return self.shift("<<", one, count)
        if name == "BIT_WORD":
            if len(args) != 1:
                raise BitExprError(f"{name}() takes one argument")
            return CValue(args[0].value // self.bpl, self.t("unsigned long"))
        if len(args) != 2:
            raise BitExprError(f"{name}() takes two arguments (h, l)")
        h, lo = args[0].value, args[1].value
        t = ull if name == "GENMASK_ULL" else ul
        if not (0 <= lo <= h < t.bits):
            self.problem("undefined-shift", f"{name}({h}, {lo}) is out of range for {t.name} ({t.bits} bits)")
            return CValue(0, t)
        return CValue(((1 << (h - lo + 1)) - 1) << lo, t)


def evaluate(expr: str | Node, names: Mapping[str, int], bits_per_long: int,
             name_types: Mapping[str, str] | None = None, text: str | None = None) -> Evaluation:
    """Evaluate a C integer expression (its text, or a tree from `tree_of()`). `names`
    maps identifiers to values (enum constants are int unless `name_types` says otherwise)."""
    if isinstance(expr, str):
        text = expr
        tree = tree_of(expr)
    else:
        tree = expr
        text = text if text is not None else tree.text
    ev = _Eval(text, names, bits_per_long, name_types)
    try:
        v = ev.eval(tree)
    except RecursionError:
        raise BitExprError("expression nested too deeply") from None
    return Evaluation(text, v.value, v.type, ev.problems, ev.used, ev.shifts)


_TYPE_WORDS = {"sizeof", "unsigned", "signed", "long", "int", "char", "short"}


def identifiers(expr: str | Node) -> set[str]:
    """The names an expression reads (macros and type words excluded), without evaluating it."""
    tree = tree_of(expr) if isinstance(expr, str) else expr
    return {str(n.value) for n in walk(tree) if n.op == "sym" and n.value not in _TYPE_WORDS}
