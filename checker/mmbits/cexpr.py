"""A small, safe C/Kconfig-like expression language for the data files.

Layout `if:` conditions, Kconfig dependencies and derived symbols are written
as strings in YAML (``MEMCG && !KMSAN``, ``X86_5LEVEL ? 52 : 46``,
``order_base_2(NR_CPUS)``). A proposal file from a mailing list must never
execute anything, so this is a parser with a closed set of operators and
functions; nothing reaches ``eval``. Expressions compile to closures because
the config-domain prover evaluates them hundreds of thousands of times.

Values are Python ints (booleans are 0/1, as in C and Kconfig) or strings.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache

Value = int | str
Env = Mapping[str, Value]


class ExprError(ValueError):
    """Syntax or name error, with the column where it happened."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        if self.column is None:
            return self.message
        return f"{self.message} (at column {self.column + 1})"


def order_base_2(n: int) -> int:
    """The kernel's order_base_2(): ceil(log2(n)), with order_base_2(0|1) == 0."""
    if n <= 1:
        return 0
    return (n - 1).bit_length()


def ilog2(n: int) -> int:
    if n <= 0:
        raise ExprError("ilog2 of a non-positive value")
    return n.bit_length() - 1


# C leaves shifts by the width or more undefined; a bound far above any width keeps a
# hostile `1 << 40000000000` in a layout file from allocating gigabytes
MAX_SHIFT = 4096


def _shl(x: int, n: int) -> int:
    if isinstance(n, int) and n > MAX_SHIFT:
        raise ExprError(f"shift count {n} is too large")
    return x << n


FUNCTIONS: dict[str, Callable[..., int]] = {
    "max": max,
    "min": min,
    "order_base_2": order_base_2,
    "ilog2": ilog2,
    "BIT": lambda n: _shl(1, n),
    # BIT() of a flag that may be unconfigured (its value then reads -1): 0, as the
    # kernel's __PG_HWPOISON / __PG_MLOCKED are 0 without their Kconfig option
    "BIT_IF": lambda n: 0 if n < 0 else _shl(1, n),
}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<ver>[0-9]{1,3}\.[0-9]{1,3}\b)
  | (?P<num>0[xX][0-9a-fA-F]+\b|[0-9]+\b)
  | (?P<ident>[A-Za-z0-9_]+)
  | (?P<op>&&|\|\||==|!=|<=|>=|<<|>>|[-+*/%<>!~&|^?:(),])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExprError(f"unexpected character {text[pos]!r}", pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# Binary operators: precedence (higher binds tighter), C order.
_BINARY: dict[str, int] = {
    "||": 1,
    "&&": 2,
    "|": 3,
    "^": 4,
    "&": 5,
    "==": 6,
    "!=": 6,
    "<": 7,
    "<=": 7,
    ">": 7,
    ">=": 7,
    "<<": 8,
    ">>": 8,
    "+": 9,
    "-": 9,
    "*": 10,
    "/": 10,
    "%": 10,
}


@dataclass(frozen=True)
class Node:
    op: str  # 'num', 'str', 'sym', 'call', 'un', 'bin', 'cond'
    value: Value | None = None
    args: tuple[Node, ...] = ()
    pos: int = 0


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> Token:
        tok = self.take()
        if tok.text != text:
            raise ExprError(f"expected {text!r}, found {tok.text or 'end of expression'!r}", tok.pos)
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise ExprError("empty expression", 0)
        node = self.conditional()
        tok = self.peek()
        if tok.kind != "end":
            raise ExprError(f"unexpected {tok.text!r}", tok.pos)
        return node

    def conditional(self) -> Node:
        cond = self.binary(1)
        if self.peek().text == "?":
            pos = self.take().pos
            then = self.conditional()
            self.expect(":")
            other = self.conditional()
            return Node("cond", None, (cond, then, other), pos)
        return cond

    def binary(self, min_prec: int) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            prec = _BINARY.get(tok.text) if tok.kind == "op" else None
            if prec is None or prec < min_prec:
                return left
            self.take()
            right = self.binary(prec + 1)
            left = Node("bin", tok.text, (left, right), tok.pos)

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("!", "-", "~", "+"):
            self.take()
            return Node("un", tok.text, (self.unary(),), tok.pos)
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return Node("num", _number(tok), (), tok.pos)
        if tok.kind == "ver":
            return Node("num", version_number(tok.text), (), tok.pos)
        if tok.kind == "str":
            try:
                with warnings.catch_warnings():  # an unknown escape ("\|") stays as written
                    warnings.simplefilter("ignore", DeprecationWarning)
                    text = bytes(tok.text[1:-1], "utf-8").decode("unicode_escape")
            except UnicodeError as exc:
                raise ExprError(f"bad string {tok.text!r}: {exc.reason}", tok.pos) from None
            return Node("str", text, (), tok.pos)
        if tok.kind == "ident":
            if self.peek().text == "(":
                if tok.text not in FUNCTIONS:
                    raise ExprError(f"unknown function {tok.text!r}", tok.pos)
                self.take()
                args: list[Node] = []
                if self.peek().text != ")":
                    args.append(self.conditional())
                    while self.peek().text == ",":
                        self.take()
                        args.append(self.conditional())
                self.expect(")")
                return Node("call", tok.text, tuple(args), tok.pos)
            return Node("sym", tok.text, (), tok.pos)
        if tok.text == "(":
            node = self.conditional()
            self.expect(")")
            return node
        raise ExprError(f"unexpected {tok.text or 'end of expression'!r}", tok.pos)


def version_number(text: str) -> int:
    """A kernel release `MAJOR.MINOR` as one comparable integer, MAJOR * 1000 + MINOR.

    The data files compare the config's VERSION symbol with release literals
    (`VERSION >= 6.15`); 7.0 must sort after 6.19, which a float would not do.
    """
    major, _, minor = text.partition(".")
    return int(major) * 1000 + int(minor)


def _number(tok: Token) -> int:
    """A C integer constant: 0x hex, a leading 0 is octal (0644; 08 is an error), else decimal."""
    text = tok.text
    try:
        if len(text) > 1 and text[0] == "0" and text[1] not in "xX":
            return int(text, 8)
        return int(text, 0)
    except ValueError:
        what = "octal constant" if text[0] == "0" else "number"
        raise ExprError(f"invalid {what} {text[:20]!r}", tok.pos) from None


def _symbols(node: Node, out: set[str]) -> None:
    if node.op == "sym":
        out.add(str(node.value))
    for arg in node.args:
        _symbols(arg, out)


def _truth(v: Value) -> bool:
    return bool(v) if isinstance(v, int) else v not in ("", "n")


def _compile(node: Node) -> Callable[[Env], Value]:
    op = node.op
    if op in ("num", "str"):
        const = node.value
        return lambda env: const  # type: ignore[return-value]
    if op == "sym":
        name = str(node.value)

        def sym(env: Env) -> Value:
            try:
                return env[name]
            except KeyError:
                raise ExprError(f"unknown symbol {name!r}", node.pos) from None

        return sym
    if op == "call":
        fn = FUNCTIONS[str(node.value)]
        args = [_compile(a) for a in node.args]
        return lambda env: fn(*(a(env) for a in args))
    if op == "un":
        inner = _compile(node.args[0])
        return {
            "!": lambda env: int(not _truth(inner(env))),
            "-": lambda env: -inner(env),  # type: ignore[operator]
            "+": inner,
            "~": lambda env: ~inner(env),  # type: ignore[operator]
        }[str(node.value)]
    if op == "cond":
        c, t, o = (_compile(a) for a in node.args)
        return lambda env: t(env) if _truth(c(env)) else o(env)
    a, b = (_compile(x) for x in node.args)
    sym = str(node.value)
    if sym == "&&":
        return lambda env: int(_truth(a(env)) and _truth(b(env)))
    if sym == "||":
        return lambda env: int(_truth(a(env)) or _truth(b(env)))
    if sym == "==":
        return lambda env: int(a(env) == b(env))
    if sym == "!=":
        return lambda env: int(a(env) != b(env))
    if sym == "/":

        def div(env: Env) -> Value:
            d = b(env)
            if d == 0:
                raise ExprError("division by zero", node.pos)
            n = a(env)
            q = abs(n) // abs(d)  # type: ignore[operator, arg-type]
            return q if (n >= 0) == (d >= 0) else -q  # type: ignore[operator]

        return div
    ops: dict[str, Callable[[Value, Value], Value]] = {
        "<": lambda x, y: int(x < y),  # type: ignore[operator]
        "<=": lambda x, y: int(x <= y),  # type: ignore[operator]
        ">": lambda x, y: int(x > y),  # type: ignore[operator]
        ">=": lambda x, y: int(x >= y),  # type: ignore[operator]
        "+": lambda x, y: x + y,  # type: ignore[operator]
        "-": lambda x, y: x - y,  # type: ignore[operator]
        "*": lambda x, y: x * y,  # type: ignore[operator]
        "%": lambda x, y: x % y,  # type: ignore[operator]
        "<<": _shl,
        ">>": lambda x, y: x >> y,  # type: ignore[operator]
        "&": lambda x, y: x & y,  # type: ignore[operator]
        "|": lambda x, y: x | y,  # type: ignore[operator]
        "^": lambda x, y: x ^ y,  # type: ignore[operator]
    }
    fn2 = ops[sym]
    return lambda env: fn2(a(env), b(env))


_PY_BINARY = {"+": "+", "-": "-", "*": "*", "%": "%", "<<": "<<", ">>": ">>", "&": "&", "|": "|", "^": "^",
              "<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}


def _cdiv(n: int, d: int) -> int:
    if d == 0:
        raise ExprError("division by zero")
    q = abs(n) // abs(d)
    return q if (n >= 0) == (d >= 0) else -q


def _py(node: Node) -> str:
    """Python source for a node. Only our own AST reaches here: symbol names and
    strings are embedded as repr() literals, operators come from a fixed table."""
    op = node.op
    if op in ("num", "str"):
        return repr(node.value)
    if op == "sym":
        return f"_e[{str(node.value)!r}]"
    if op == "call":
        args = ", ".join(_py(a) for a in node.args)
        return f"_f[{str(node.value)!r}]({args})"
    if op == "un":
        inner = _py(node.args[0])
        return {"!": f"(0 if _t({inner}) else 1)", "-": f"(-{inner})", "+": inner, "~": f"(~{inner})"}[
            str(node.value)]
    if op == "cond":
        c, t, o = (_py(a) for a in node.args)
        return f"({t} if _t({c}) else {o})"
    a, b = (_py(x) for x in node.args)
    sym = str(node.value)
    if sym == "&&":
        return f"(1 if (_t({a}) and _t({b})) else 0)"
    if sym == "||":
        return f"(1 if (_t({a}) or _t({b})) else 0)"
    if sym == "/":
        return f"_d({a}, {b})"
    if sym == "<<":
        return f"_s({a}, {b})"
    if sym in ("<", "<=", ">", ">=", "==", "!="):
        return f"(1 if ({a} {sym} {b}) else 0)"
    return f"({a} {_PY_BINARY[sym]} {b})"


def _compile_py(node: Node) -> Callable[[Env], Value]:
    src = f"lambda _e: {_py(node)}"
    scope = {"__builtins__": {}, "_t": _truth, "_f": FUNCTIONS, "_d": _cdiv, "_s": _shl}
    return eval(compile(src, "<mmbits-expr>", "eval"), scope)  # noqa: S307 - generated from our AST


class Expr:
    """A parsed expression: its text, the symbols it reads, and a fast evaluator."""

    __slots__ = ("text", "tree", "symbols", "_fn")

    def __init__(self, text: str):
        self.text = text.strip()
        try:
            self.tree = _Parser(self.text).parse()
            syms: set[str] = set()
            _symbols(self.tree, syms)
            self.symbols = frozenset(syms)
            try:
                self._fn = _compile_py(self.tree)
            except (RecursionError, MemoryError, SyntaxError):
                self._fn = _compile(self.tree)
        except RecursionError:
            raise ExprError("expression nested too deeply") from None

    def __call__(self, env: Env) -> Value:
        try:
            return self._fn(env)
        except ExprError:
            raise
        except KeyError as exc:
            raise ExprError(f"unknown symbol {exc.args[0]!r} in {self.text!r}") from None
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise ExprError(f"cannot evaluate {self.text!r}: {exc}") from None
        except RecursionError:
            raise ExprError(f"cannot evaluate {self.text[:40]!r}...: nested too deeply") from None

    def truth(self, env: Env) -> bool:
        return _truth(self(env))

    def check_names(self, known: Iterable[str]) -> None:
        """Raise ExprError for the first symbol not in `known`, with close matches."""
        known_set = set(known)
        for name in sorted(self.symbols):
            if name not in known_set:
                raise ExprError(f"unknown symbol {name!r}{suggest(name, known_set)}")

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"


@cache
def parse(text: str) -> Expr:
    return Expr(text)


def suggest(name: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""
