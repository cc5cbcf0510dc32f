"""C integer semantics for the bit expressions people write in patches.

`BIT(NR_PAGEFLAGS)`, `1 << 31`, `(1UL << 24) - 1`, `PG_referenced` are evaluated
the way gcc evaluates them for one config: int vs unsigned long, integer
promotion and the usual arithmetic conversions, sign extension when a negative
int widens to unsigned long, and undefined behaviour for shifts past the width
(or into the sign bit). Python ints hide all of that, which is how
`MMF_INIT_MASK` grew 0xffffffff into its top half.

Problems are reported as Findings (`undefined-shift`, `sign-extension`,
`unknown-name`) rather than exceptions, because a prover wants to know *which*
configs make an expression undefined, not just that one did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mmbits.errors import InputError


@dataclass(frozen=True)
class CType:
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


CAST_NAMES = {
    "int": "int", "signed int": "int", "signed": "int", "unsigned": "unsigned int", "unsigned int": "unsigned int",
    "long": "long", "long int": "long", "signed long": "long", "unsigned long": "unsigned long",
    "unsigned long int": "unsigned long", "long unsigned int": "unsigned long", "long long": "long long",
    "unsigned long long": "unsigned long long", "u32": "unsigned int", "s32": "int", "u64": "unsigned long long",
    "s64": "long long", "u8": "int", "u16": "int", "unsigned char": "int", "unsigned short": "int",
    "size_t": "unsigned long", "pgoff_t": "unsigned long",
}


@dataclass
class CValue:
    value: int
    type: CType
    problems: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)


@dataclass
class Evaluation:
    """The result of an expression for one config."""

    text: str
    value: int | None  # None when evaluation hit undefined behaviour it cannot continue past
    type: CType | None
    problems: list[tuple[str, str]]
    names: set[str]  # identifiers the expression read
    # (count, width of the shifted type) of every shift evaluated: how close a
    # config-dependent count (BIT(NR_PAGEFLAGS)) comes to undefined behaviour
    shifts: list[tuple[int, int]] = field(default_factory=list)

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


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)(?:[uU](?:ll|LL|l|L)?|(?:ll|LL|l|L)[uU]?)?\b)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!<>?:(),])
    """,
    re.VERBOSE,
)

MACROS = {"BIT", "BIT_ULL", "GENMASK", "GENMASK_ULL", "BIT_MASK", "BIT_WORD", "_BITUL", "_BITULL"}


class BitExprError(InputError):
    pass


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise BitExprError(f"cannot parse {text!r} at {text[pos:pos + 10]!r}")
        if m.lastgroup != "ws":
            out.append((m.lastgroup or "", m.group(), pos))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


_PREC = {"||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, "<=": 7, ">": 7, ">=": 7,
         "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10}


class _Eval:
    def __init__(self, text: str, names: Mapping[str, int], bits_per_long: int,
                 name_types: Mapping[str, str] | None):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.names = names
        self.types = c_types(bits_per_long)
        self.bpl = bits_per_long
        self.name_types = name_types or {}
        self.used: set[str] = set()
        self.problems: list[tuple[str, str]] = []
        self.shifts: list[tuple[int, int]] = []

    # -- helpers --------------------------------------------------------
    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok[1] != text:
            raise BitExprError(f"in {self.text!r}: expected {text!r}, found {tok[1] or 'end of expression'!r}")

    def problem(self, kind: str, message: str) -> None:
        if (kind, message) not in self.problems:
            self.problems.append((kind, message))

    def t(self, name: str) -> CType:
        return self.types[name]

    def promote(self, v: CValue) -> CValue:
        return v  # every type we model has rank >= int

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

    # -- grammar -----------------------------------------------------------
    def parse(self) -> CValue:
        if self.peek()[0] == "end":
            raise BitExprError("empty expression")
        v = self.conditional()
        if self.peek()[0] != "end":
            raise BitExprError(f"in {self.text!r}: unexpected {self.peek()[1]!r}")
        return v

    def conditional(self) -> CValue:
        c = self.binary(1)
        if self.peek()[1] == "?":
            self.take()
            a = self.conditional()
            self.expect(":")
            b = self.conditional()
            t = self.usual(a, b)
            chosen = a if c.value else b
            return self.convert(chosen, t, "in ?:")
        return c

    def binary(self, min_prec: int) -> CValue:
        left = self.unary()
        while True:
            kind, op, _ = self.peek()
            prec = _PREC.get(op) if kind == "op" else None
            if prec is None or prec < min_prec:
                return left
            self.take()
            right = self.binary(prec + 1)
            left = self.apply(op, left, right)

    def apply(self, op: str, a: CValue, b: CValue) -> CValue:
        if op in ("&&", "||"):
            r = (bool(a.value) and bool(b.value)) if op == "&&" else (bool(a.value) or bool(b.value))
            return CValue(int(r), self.t("int"))
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
            r = q if op == "/" else x.value - q * y.value
        else:
            r = {"+": x.value + y.value, "-": x.value - y.value, "*": x.value * y.value,
                 "&": x.value & y.value, "|": x.value | y.value, "^": x.value ^ y.value}[op]
        if t.signed and not t.fits(r) and op in ("+", "-", "*"):
            self.problem("undefined-shift", f"signed overflow in {op} ({t.name}) in {self.text!r}")
        return CValue(t.wrap(r), t)

    def shift(self, op: str, a: CValue, b: CValue) -> CValue:
        t = a.type  # result type is the promoted left operand
        n = b.value
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

    def unary(self) -> CValue:
        kind, text, _ = self.peek()
        if kind == "op" and text in ("-", "+", "~", "!"):
            self.take()
            v = self.unary()
            if text == "!":
                return CValue(int(not v.value), self.t("int"))
            if text == "+":
                return v
            if text == "-":
                if v.type.signed and not v.type.fits(-v.value):
                    self.problem("undefined-shift", f"signed overflow negating {v.value}")
                return CValue(v.type.wrap(-v.value), v.type)
            return CValue(v.type.wrap(~v.value), v.type)
        if text == "(" and self._is_cast():
            self.take()
            words = []
            while self.peek()[1] != ")":
                words.append(self.take()[1])
            self.take()
            to = self.t(CAST_NAMES[" ".join(words)])
            v = self.unary()
            if v.type.signed and not to.signed and v.value < 0 and to.bits > v.type.bits:
                self.problem("sign-extension", f"cast of negative {v.type.name} {v.value} to {to.name}")
            return CValue(to.wrap(v.value), to)
        return self.primary()

    def _is_cast(self) -> bool:
        j = self.i + 1
        words = []
        while self.toks[j][0] == "ident":
            words.append(self.toks[j][1])
            j += 1
        return bool(words) and self.toks[j][1] == ")" and " ".join(words) in CAST_NAMES

    def primary(self) -> CValue:
        kind, text, pos = self.take()
        if kind == "num":
            return self.number(text)
        if kind == "ident":
            if text in MACROS and self.peek()[1] == "(":
                return self.macro(text)
            if text in ("sizeof",):
                raise BitExprError(f"in {self.text!r}: sizeof is not supported")
            self.used.add(text)
            if text not in self.names:
                from mmbits.cexpr import suggest

                raise BitExprError(f"unknown name {text!r}{suggest(text, self.names)}")
            tname = self.name_types.get(text, "int")
            t = self.t(tname)
            return CValue(t.wrap(int(self.names[text])), t)
        if text == "(":
            v = self.conditional()
            self.expect(")")
            return v
        raise BitExprError(f"in {self.text!r}: unexpected {text or 'end of expression'!r} at column {pos + 1}")

    def number(self, text: str) -> CValue:
        m = re.match(r"^(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)([uUlL]*)$", text)
        assert m
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
            cands = ["unsigned " + c.replace("unsigned ", "") for c in cands]
            cands = list(dict.fromkeys(cands))
        for c in cands:
            if self.t(c).fits(value):
                return CValue(value, self.t(c))
        raise BitExprError(f"integer constant {text} is too large")

    def args(self) -> list[CValue]:
        self.expect("(")
        out = [self.conditional()]
        while self.peek()[1] == ",":
            self.take()
            out.append(self.conditional())
        self.expect(")")
        return out

    def macro(self, name: str) -> CValue:
        """include/linux/bits.h and vdso/bits.h, expanded with their C types."""
        args = self.args()
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
            return CValue(args[0].value // self.bpl, self.t("unsigned long"))
        if len(args) != 2:
            raise BitExprError(f"{name}() takes two arguments (h, l)")
        h, lo = args[0].value, args[1].value
        t = ull if name == "GENMASK_ULL" else ul
        if not (0 <= lo <= h < t.bits):
            self.problem("undefined-shift", f"{name}({h}, {lo}) is out of range for {t.name} ({t.bits} bits)")
            return CValue(0, t)
        return CValue(((1 << (h - lo + 1)) - 1) << lo, t)


def evaluate(text: str, names: Mapping[str, int], bits_per_long: int,
             name_types: Mapping[str, str] | None = None) -> Evaluation:
    """Evaluate a C integer expression. `names` maps identifiers to values
    (enum constants are int unless `name_types` says otherwise)."""
    if len(text) > 4000:
        raise BitExprError("expression too long")
    ev = _Eval(text, names, bits_per_long, name_types)
    try:
        v = ev.parse()
    except RecursionError:
        raise BitExprError("expression nested too deeply") from None
    return Evaluation(text, v.value, v.type, ev.problems, ev.used, ev.shifts)


def identifiers(text: str) -> set[str]:
    """The names an expression reads (macros excluded), without evaluating it."""
    return {t for k, t, _ in _tokens(text) if k == "ident" and t not in MACROS and t not in CAST_NAMES
            and t not in ("sizeof", "unsigned", "signed", "long", "int", "char", "short")}
