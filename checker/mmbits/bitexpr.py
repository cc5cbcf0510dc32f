"""C integer semantics for patch and proposal expressions: kept as an import path;
the evaluator is `mmbits.expression.csem` over the one shared parser."""

from mmbits.expression.csem import (
    CAST_NAMES,
    MACROS,
    BitExprError,
    CType,
    CValue,
    Evaluation,
    c_types,
    evaluate,
    identifiers,
    tree_of,
)

__all__ = ["CAST_NAMES", "MACROS", "BitExprError", "CType", "CValue", "Evaluation", "c_types", "evaluate",
           "identifiers", "tree_of"]
