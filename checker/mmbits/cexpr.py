"""The data files' expression language: kept as an import path for the modules that
use it; the language itself is `mmbits.expression` (one lexer and parser, the
compiled evaluator in `mmbits.expression.compiled`)."""

from mmbits.expression.compiled import (
    FUNCTIONS,
    MAX_SHIFT,
    Env,
    Expr,
    ExprError,
    Value,
    data_expr,
    ilog2,
    order_base_2,
    parse,
    suggest,
    version_number,
)

__all__ = ["FUNCTIONS", "MAX_SHIFT", "Env", "Expr", "ExprError", "Value", "data_expr", "ilog2", "order_base_2", "parse",
           "suggest", "version_number"]
