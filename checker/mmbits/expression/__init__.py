"""The one expression language of mmbits: one lexer, one parser, one syntax tree,
two evaluators.

- `compiled.Expr`: the data files' conditions and derived symbols (`MEMCG &&
  !KMSAN`, `X86_LA57 ? 52 : 46`, `VERSION >= 6.15`), compiled to Python closures
  because a domain proof evaluates them hundreds of thousands of times.
- `csem.evaluate`: C integer semantics for proposals and patches (`BIT(NR_PAGEFLAGS)`,
  `1 << 31`, `(1UL << 24) - 1`): int vs unsigned long, promotions, sign extension,
  undefined shifts, and C's short-circuit `&&`/`||`/`?:` (only the taken operand is
  evaluated, so an untaken undefined shift is not a finding).

Both read the tree `syntax.parse()` builds from `lexer.tokenize()`; a proposal is
parsed once and its tree handed on, never re-tokenised downstream.
"""

from mmbits.expression.syntax import ExprError, Node, parse_tree

__all__ = ["ExprError", "Node", "parse_tree"]
