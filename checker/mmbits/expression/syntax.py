"""The syntax tree of an expression and the one parser that builds it (C
precedence, `?:`, casts, calls, member access). Evaluators give the nodes their
meaning; the parser knows no values."""

from __future__ import annotations

import warnings
from collections import namedtuple
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from mmbits.expression.lexer import ExprError, Token, tokenize

__all__ = ["BINARY", "CAST_NAMES", "ExprError", "Node", "parse_tree", "symbols"]

# Binary operators: precedence (higher binds tighter), C order.
BINARY: dict[str, int] = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, "<=": 7, ">": 7, ">=": 7,
    "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}

# C type names a cast may spell, and the modelled type each stands for
CAST_NAMES = {
    "int": "int", "signed int": "int", "signed": "int", "unsigned": "unsigned int", "unsigned int": "unsigned int",
    "long": "long", "long int": "long", "signed long": "long", "unsigned long": "unsigned long",
    "unsigned long int": "unsigned long", "long unsigned int": "unsigned long", "long long": "long long",
    "unsigned long long": "unsigned long long", "u32": "unsigned int", "s32": "int", "u64": "unsigned long long",
    "s64": "long long", "u8": "int", "u16": "int", "unsigned char": "int", "unsigned short": "int",
    "size_t": "unsigned long", "pgoff_t": "unsigned long",
}


# a collections.namedtuple at run time, typed as a NamedTuple for mypy: typing.NamedTuple reads
# each field's annotation (a string here) with compile(), and a process's first compile()
# builds the ast module's node classes (~21 M instructions for the 11 of a decode's start-up)
if TYPE_CHECKING:
    class _NodeFields(NamedTuple):
        op: str
        value: int | str | None = None
        args: tuple[Node, ...] = ()
        pos: int = 0
        end: int = 0
        text: str = ""
else:
    _NodeFields = namedtuple("Node", ["op", "value", "args", "pos", "end", "text"], defaults=(None, (), 0, 0, ""))


class Node(_NodeFields):
    """op: num (value int, text = literal as written), ver (a release, value int), str,
    sym, call (value = name), cast (value = C type name), un, bin, cond, member
    (value = the access as written: `ptdesc->pt_flags.f`)."""

    __slots__ = ()

    def source(self, whole: str) -> str:
        return whole[self.pos:self.end].strip()


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, k: int = 0) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def last_end(self) -> int:
        tok = self.tokens[self.i - 1]
        return tok.pos + len(tok.text)

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
            self.take()
            then = self.conditional()
            self.expect(":")
            other = self.conditional()
            return Node("cond", "?", (cond, then, other), cond.pos, other.end)
        return cond

    def binary(self, min_prec: int) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            prec = BINARY.get(tok.text) if tok.kind == "op" else None
            if prec is None or prec < min_prec:
                return left
            self.take()
            right = self.binary(prec + 1)
            left = Node("bin", tok.text, (left, right), left.pos, right.end)

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("!", "-", "~", "+"):
            self.take()
            inner = self.unary()
            return Node("un", tok.text, (inner,), tok.pos, inner.end)
        if tok.kind == "op" and tok.text == "&" and self.peek(1).kind == "ident":
            self.take()  # address of a member access: &folio->_flags_1
            inner = self.postfix()
            if inner.op != "member":
                raise ExprError("'&' takes a member access here", tok.pos)
            return Node("member", f"&{inner.value}", (), tok.pos, inner.end)
        if tok.text == "(" and self._cast_words() is not None:
            words = self._cast_words() or ()
            self.take()
            for _ in words:
                self.take()
            self.expect(")")
            inner = self.unary()
            return Node("cast", CAST_NAMES[" ".join(words)], (inner,), tok.pos, inner.end)
        return self.postfix()

    def _cast_words(self) -> tuple[str, ...] | None:
        words = []
        k = 1
        while self.peek(k).kind == "ident":
            words.append(self.peek(k).text)
            k += 1
        if words and self.peek(k).text == ")" and " ".join(words) in CAST_NAMES:
            return tuple(words)
        return None

    def postfix(self) -> Node:
        node = self.primary()
        if self.peek().text not in ("->", ".", "["):
            return node
        if node.op not in ("sym", "member"):
            raise ExprError(f"unexpected {self.peek().text!r}", self.peek().pos)
        while self.peek().text in ("->", ".", "["):
            op = self.take()
            if op.text == "[":
                self.conditional()
                self.expect("]")
                continue
            name = self.take()
            if name.kind != "ident":
                raise ExprError(f"expected a member name after {op.text!r}", name.pos)
        end = self.last_end()
        access = "".join(self.text[node.pos:end].split())
        return Node("member", access, (), node.pos, end)

    def primary(self) -> Node:
        tok = self.take()
        end = tok.pos + len(tok.text)
        if tok.kind == "num":
            return Node("num", None, (), tok.pos, end, tok.text)
        if tok.kind == "ver":
            return Node("ver", version_number(tok.text), (), tok.pos, end, tok.text)
        if tok.kind == "str":
            try:
                with warnings.catch_warnings():  # an unknown escape ("\|") stays as written
                    warnings.simplefilter("ignore", DeprecationWarning)
                    text = bytes(tok.text[1:-1], "utf-8").decode("unicode_escape")
            except UnicodeError as exc:
                reason = getattr(exc, "reason", str(exc))
                raise ExprError(f"bad string {tok.text!r}: {reason}", tok.pos) from None
            return Node("str", text, (), tok.pos, end, tok.text)
        if tok.kind == "ident":
            if self.peek().text == "(":
                self.take()
                args: list[Node] = []
                if self.peek().text != ")":
                    args.append(self.conditional())
                    while self.peek().text == ",":
                        self.take()
                        args.append(self.conditional())
                self.expect(")")
                return Node("call", tok.text, tuple(args), tok.pos, self.last_end())
            return Node("sym", tok.text, (), tok.pos, end)
        if tok.text == "(":
            node = self.conditional()
            self.expect(")")
            return Node(node.op, node.value, node.args, tok.pos, self.last_end(), node.text)
        raise ExprError(f"unexpected {tok.text or 'end of expression'!r}", tok.pos)


def version_number(text: str) -> int:
    """A kernel release `MAJOR.MINOR` as one comparable integer, MAJOR * 1000 + MINOR.

    The data files compare the config's VERSION symbol with release literals
    (`VERSION >= 6.15`); 7.0 must sort after 6.19, which a float would not do.
    """
    major, _, minor = text.partition(".")
    return int(major) * 1000 + int(minor)


@lru_cache(maxsize=4096)
def parse_tree(text: str) -> Node:
    """The syntax tree of `text` (cached: a proposal is parsed once)."""
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise ExprError("expression nested too deeply") from None


def symbols(node: Node, calls: bool = False) -> set[str]:
    """The names a tree reads (and, with `calls`, the functions it calls)."""
    out: set[str] = set()
    todo = [node]
    while todo:
        n = todo.pop()
        if n.op == "sym" or (calls and n.op == "call"):
            out.add(str(n.value))
        todo.extend(n.args)
    return out


def walk(node: Node) -> list[Node]:
    out = []
    todo = [node]
    while todo:
        n = todo.pop()
        out.append(n)
        todo.extend(n.args)
    return out


def flatten(node: Node, op: str) -> list[Node]:
    """The operands of a chain of one binary operator: `a | b | c` -> [a, b, c]."""
    if node.op == "bin" and node.value == op:
        return flatten(node.args[0], op) + flatten(node.args[1], op)
    return [node]


def has_member(node: Node) -> bool:
    return any(n.op == "member" for n in walk(node))
