"""The tokens of every mmbits expression: C integer constants with their suffixes,
identifiers (data-file symbols may start with a digit: `64BIT`), release literals
(`6.15`), strings (`ARCH == "x86_64"`), C operators and member access (`->`, `.`)."""

from __future__ import annotations

import re
from collections import namedtuple
from functools import cache
from typing import TYPE_CHECKING, NamedTuple


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


# Each alternative is a single bounded character class run or a fixed string: the
# scan is linear in the input (no nested quantifiers).
_TOKEN = (
    r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<ver>[0-9]{1,3}\.[0-9]{1,3}\b)
  | (?P<num>(?:0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)(?:[uU](?:ll|LL|l|L)?|(?:ll|LL|l|L)[uU]?)?\b)
  | (?P<ident>[A-Za-z0-9_]+)
  | (?P<op>->|&&|\|\||==|!=|<=|>=|<<|>>|[-+*/%<>!~&|^?:(),.\[\]])
    """
)


@cache
def _token_pattern() -> re.Pattern[str]:
    """_TOKEN compiled when a text is first tokenized: a process whose expressions all come
    from the tree store (expression.treestore) tokenizes none, and compiling it at import was
    ~1.5% of a one-report decode."""
    return re.compile(_TOKEN, re.VERBOSE)

MAX_LENGTH = 65536


# a collections.namedtuple at run time, typed as a NamedTuple for mypy: typing.NamedTuple reads
# each field's annotation (a string here) with compile(), and a process's first compile()
# builds the ast module's node classes (~21 M instructions for the 11 of a decode's start-up)
if TYPE_CHECKING:
    class Token(NamedTuple):
        kind: str  # ws | str | ver | num | ident | op | end
        text: str
        pos: int
else:
    Token = namedtuple("Token", ["kind", "text", "pos"])


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression too long ({len(text)} characters, at most {MAX_LENGTH})")
    tokens: list[Token] = []
    pos = 0
    match = _token_pattern().match
    while pos < len(text):
        m = match(text, pos)
        if not m:
            raise ExprError(f"unexpected character {text[pos]!r}", pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens
