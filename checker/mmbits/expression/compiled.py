"""The data files' evaluator: `if:` conditions, Kconfig dependencies and derived
symbols (``MEMCG && !KMSAN``, ``X86_LA57 ? 52 : 46``, ``order_base_2(NR_CPUS)``,
``VERSION >= 6.15``) over the shared syntax tree, compiled to Python closures
because the config-domain prover evaluates them hundreds of thousands of times.

A layout file is data: a closed set of operators and functions; the generated
source is built only from our own tree (names and strings embedded as repr()
literals), never from the input text. Values are Python ints (booleans are
0/1, as in C and Kconfig) or strings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from operator import itemgetter

from mmbits.errors import InputError
from mmbits.expression.lexer import ExprError
from mmbits.expression.syntax import Node, parse_tree, symbols, version_number, walk

__all__ = ["FUNCTIONS", "MAX_SHIFT", "Env", "Expr", "ExprError", "Value", "compile_function", "data_expr",
           "fusable_source", "ilog2", "order_base_2", "parse", "suggest", "version_number"]

Value = int | str
Env = Mapping[str, Value]


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


def data_number(node: Node) -> int:
    """A data file's integer constant: 0x hex, a leading 0 is octal (0644; 08 is an error)."""
    text = node.text
    if text[-1:] in "uUlL":
        raise ExprError(f"integer suffixes are C, not data: {text[:20]!r}", node.pos)
    try:
        if len(text) > 1 and text[0] == "0" and text[1] not in "xXbB":
            return int(text, 8)
        return int(text, 0)
    except ValueError:
        what = "octal constant" if text[0] == "0" else "number"
        raise ExprError(f"invalid {what} {text[:20]!r}", node.pos) from None


def _truth(v: Value) -> bool:
    return bool(v) if isinstance(v, int) else v not in ("", "n")


def _cdiv(n: int, d: int) -> int:
    if d == 0:
        raise ExprError("division by zero")
    q = abs(n) // abs(d)
    return q if (n >= 0) == (d >= 0) else -q


def _check(tree: Node) -> None:
    """What the data language does not have: member access, casts, unknown functions."""
    for n in walk(tree):
        if n.op == "member":
            raise ExprError(f"member access {n.value!r} is not part of the data language", n.pos)
        if n.op == "cast":
            raise ExprError("casts are not part of the data language", n.pos)
        if n.op == "call" and n.value not in FUNCTIONS:
            raise ExprError(f"unknown function {n.value!r}", n.pos)


def _closure(node: Node) -> Callable[[Env], Value]:
    """The fallback evaluator (trees too deep for Python's compiler)."""
    op = node.op
    if op in ("num", "ver", "str"):
        const: Value = data_number(node) if op == "num" else node.value  # type: ignore[assignment]
        return lambda env: const
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
        args = [_closure(a) for a in node.args]
        return lambda env: fn(*(a(env) for a in args))
    if op == "un":
        inner = _closure(node.args[0])
        return {
            "!": lambda env: int(not _truth(inner(env))),
            "-": lambda env: -inner(env),  # type: ignore[operator]
            "+": inner,
            "~": lambda env: ~inner(env),  # type: ignore[operator]
        }[str(node.value)]
    if op == "cond":
        c, t, o = (_closure(a) for a in node.args)
        return lambda env: t(env) if _truth(c(env)) else o(env)
    a, b = (_closure(x) for x in node.args)
    name = str(node.value)
    if name == "&&":
        return lambda env: int(_truth(a(env)) and _truth(b(env)))
    if name == "||":
        return lambda env: int(_truth(a(env)) or _truth(b(env)))
    if name == "/":
        return lambda env: _cdiv(a(env), b(env))  # type: ignore[arg-type]
    ops: dict[str, Callable[[Value, Value], Value]] = {
        "==": lambda x, y: int(x == y), "!=": lambda x, y: int(x != y),
        "<": lambda x, y: int(x < y),  # type: ignore[operator]
        "<=": lambda x, y: int(x <= y),  # type: ignore[operator]
        ">": lambda x, y: int(x > y),  # type: ignore[operator]
        ">=": lambda x, y: int(x >= y),  # type: ignore[operator]
        "+": lambda x, y: x + y,  # type: ignore[operator]
        "-": lambda x, y: x - y,  # type: ignore[operator]
        "*": lambda x, y: x * y,  # type: ignore[operator]
        "%": lambda x, y: x % y,  # type: ignore[operator]
        "<<": _shl,  # type: ignore[dict-item]
        ">>": lambda x, y: x >> y,  # type: ignore[operator]
        "&": lambda x, y: x & y,  # type: ignore[operator]
        "|": lambda x, y: x | y,  # type: ignore[operator]
        "^": lambda x, y: x ^ y,  # type: ignore[operator]
    }
    fn2 = ops[name]
    return lambda env: fn2(a(env), b(env))


_PY_BINARY = {"+": "+", "-": "-", "*": "*", "%": "%", "<<": "<<", ">>": ">>", "&": "&", "|": "|", "^": "^",
              "<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}


def _py(node: Node) -> str:
    """Python source for a node. Only our own tree reaches here: symbol names and
    strings are embedded as repr() literals, operators come from a fixed table."""
    op = node.op
    if op == "num":
        return repr(data_number(node))
    if op in ("ver", "str"):
        return repr(node.value)
    if op == "sym":
        return f"_e[{str(node.value)!r}]"
    if op == "call":
        args = ", ".join(_py(a) for a in node.args)
        return f"_f[{str(node.value)!r}]({args})"
    if op == "un":
        if node.value == "!":
            return f"(0 if {_py_truth(node.args[0])} else 1)"
        inner = _py(node.args[0])
        return {"-": f"(-{inner})", "+": inner, "~": f"(~{inner})"}[str(node.value)]
    if op == "cond":
        t, o = (_py(a) for a in node.args[1:])
        return f"({t} if {_py_truth(node.args[0])} else {o})"
    sym = str(node.value)
    if sym in ("&&", "||"):
        return f"(1 if {_py_truth(node)} else 0)"
    a, b = (_py(x) for x in node.args)
    if sym == "/":
        return f"_d({a}, {b})"
    if sym == "<<":
        return f"_s({a}, {b})"
    if sym in ("<", "<=", ">", ">=", "==", "!="):
        return f"(1 if ({a} {sym} {b}) else 0)"
    return f"({a} {_PY_BINARY[sym]} {b})"


def _py_truth(node: Node) -> str:
    """Python source whose truth is `_truth` of the node's value (C's: non-zero; a string
    other than "" and "n"), for conditions: `&&`, `||`, `!` and comparisons as Python's own
    boolean operators (same short-circuit order), a symbol tested in line, no `_t` call."""
    op = node.op
    if op == "un" and node.value == "!":
        return f"(not {_py_truth(node.args[0])})"
    if op == "bin" and node.value in ("&&", "||"):
        a, b = (_py_truth(x) for x in node.args)
        return f"({a} {'and' if node.value == '&&' else 'or'} {b})"
    if op == "bin" and node.value in ("<", "<=", ">", ">=", "==", "!="):
        a, b = (_py(x) for x in node.args)
        return f"({a} {node.value} {b})"
    if op == "sym":
        # the value is an int or a string (Value): false as 0, "" or "n", as `_truth` says
        return f"({_py(node)} not in (0, '', 'n'))"
    return f"_t({_py(node)})"


# evaluators by their Python source: texts that differ (`BITS_PER_LONG/8` and `BITS_PER_LONG / 8`,
# the since:/until: guards of different files) often compile to the same source, and a compile
# costs ~0.2 M instructions (a third of a one-report decode's 99 were repeats or a bare
# constant or symbol); the functions hold no state, so holders share them
_COMPILED: dict[str, Callable[[Env], Value]] = {}
_COMPILED_MAX = 4096


def _compile_py(node: Node) -> Callable[[Env], Value]:
    body = _py(node)
    fn = _COMPILED.get(body)
    if fn is None:
        fn = _build_py(node, body)
        if len(_COMPILED) < _COMPILED_MAX:
            _COMPILED[body] = fn
    return fn


def _build_py(node: Node, body: str) -> Callable[[Env], Value]:
    """The evaluator of `body` (`_py(node)`): a constant or a bare symbol as the plain
    function its source would compile to (same value, same KeyError), else compiled."""
    if node.op in ("num", "ver", "str"):
        const: Value = data_number(node) if node.op == "num" else node.value  # type: ignore[assignment]
        return lambda _e: const
    if node.op == "sym":
        return itemgetter(str(node.value))
    src = f"lambda _e: {body}"
    scope = {"__builtins__": {}, "_t": _truth, "_f": FUNCTIONS, "_d": _cdiv, "_s": _shl}
    # eval of the text, not of compile()'s code: the first compile() of a process builds the
    # ast module's ~120 node classes (it checks whether it was given a tree), ~10 M
    # instructions, 3% of a one-report decode; the file name is put back on the code
    fn = eval(src, scope)  # noqa: S307
    fn.__code__ = fn.__code__.replace(co_filename="<mmbits-expr>")
    return fn  # type: ignore[no-any-return]


_LAZY_DEPTH = 40  # CPython compiles nesting far deeper (its parser stops at 200 brackets)


def fusable_source(expr: Expr, truth: bool = False) -> str | None:
    """`expr` as Python source over an env named `_e` (its value, or with `truth` a Python
    value true where `Expr.truth` is), for a generated function that evaluates many
    expressions in one call (kconfig/fused.py); None when it nests too deeply to compile.
    The source uses the helpers `compile_function` puts in scope."""
    if _depth(expr.tree) > _LAZY_DEPTH:
        return None
    try:
        return _py_truth(expr.tree) if truth else _py(expr.tree)
    except RecursionError:
        return None


def compile_function(source: str, name: str, constants: Mapping[str, object]) -> Callable[..., object]:
    """The function `name` defined by `source` (made from `fusable_source` texts), run with no
    builtins: only the evaluator's helpers and `constants`."""
    scope: dict[str, object] = {"__builtins__": {}, "_t": _truth, "_f": FUNCTIONS, "_d": _cdiv, "_s": _shl,
                                **constants}
    exec(compile(source, "<mmbits-fused>", "exec"), scope)  # noqa: S102
    return scope[name]  # type: ignore[return-value]


def _depth(node: Node) -> int:
    """How deeply a tree nests (without recursion: a hostile one is thousands deep)."""
    deepest = 0
    stack = [(node, 1)]
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((a, d + 1) for a in n.args)
    return deepest


class Expr:
    """A parsed data-file expression: its text, the symbols it reads, and a fast evaluator."""

    __slots__ = ("text", "tree", "symbols", "_fn")

    def __init__(self, text: str, tree: Node | None = None):
        """`tree`: the text's syntax tree when known already (expression.treestore)."""
        self._fn: Callable[[Env], Value]
        self.text = text.strip()
        try:
            self.tree = tree if tree is not None else parse_tree(self.text)
            _check(self.tree)
            self.symbols = frozenset(symbols(self.tree))
            if _depth(self.tree) <= _LAZY_DEPTH:
                # compiled on first use: a run loads ~800 expressions and evaluates a few
                # hundred (compile() was a tenth of a new question's whole process); one this
                # shallow always compiles, so no error moves from loading to evaluating
                self._fn = self._first_call
                return
            try:
                self._fn = _compile_py(self.tree)
            except (RecursionError, MemoryError, SyntaxError):
                self._fn = _closure(self.tree)
        except RecursionError:
            raise ExprError("expression nested too deeply") from None

    def _first_call(self, env: Env) -> Value:
        try:
            self._fn = _compile_py(self.tree)
        except (RecursionError, MemoryError, SyntaxError):
            self._fn = _closure(self.tree)
        return self._fn(env)

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
        """Raise ExprError for the first symbol not in `known`, with close matches. (`known`
        used as it is when a set: a copy of the model's ~400 names per expression loaded was
        ~1% of a one-report decode.)"""
        known_set = known if isinstance(known, (set, frozenset)) else set(known)
        if self.symbols <= known_set:
            return
        for name in sorted(self.symbols):
            if name not in known_set:
                raise ExprError(f"unknown symbol {name!r}{suggest(name, known_set)}")

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"


@cache
def parse(text: str) -> Expr:
    """One Expr per text, its tree read back from the tree store when kept there (a new
    process parsed ~250 data texts again: ~5% of a new question's instructions)."""
    from mmbits.expression import treestore

    key = text.strip()
    kept = treestore.tree(key)
    expr = Expr(key, kept)
    if kept is None and _depth(expr.tree) <= treestore.MAX_DEPTH:
        treestore.keep(key, expr.tree)
    return expr


def data_expr(text: object, known: Iterable[str], file: object, line: int | None, what: str = "expression") -> Expr:
    """An expression of a data file with its names checked against `known`: the one way
    every loader compiles one, so a bad one is always one InputError at its file and line
    (`bad condition 'X &&': ...`). YAML's true/false are C's 1/0."""
    if isinstance(text, bool):
        text = int(text)
    try:
        # one Expr per text (`parse`): the data files load 779 expressions of 248 texts, and
        # parsing each again was a tenth of a new question's start-up; an Expr is read only
        # (its evaluator compiled on first use is the same for every holder)
        expr = parse(str(text))
        expr.check_names(known)
    except ExprError as exc:
        raise InputError(f"bad {what} {str(text)!r}: {exc}", file=str(file) if file is not None else None,
                         line=line) from None
    return expr


def suggest(name: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""
