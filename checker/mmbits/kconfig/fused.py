"""A model's completion and dependency rules fused into generated straight-line code.

`KconfigModel.make` completes a config (arch facts, the arch's derived symbols, the
model's) and checks every rule, each expression one call through `Expr` with its error
handling: some 40 us a config. Decode's config solver (decode/infer.py) tries thousands
of candidate configs on a log's first reports, most of which a rule refuses, and only
asks whether each builds. `FusedModel.complete` evaluates the same expressions, in the
same order, as one generated function per arch (its derived symbols) and one for the
model (its derived symbols, then every rule, as `violations` does), conditions as
Python's own boolean operators. It answers "valid, with these symbols" or "not valid";
where an expression raises it gives no answer (`UNKNOWN`), and the caller goes the
reference way (`make`), which raises what it raises. Compiled on first use: the rules
once (a few ms), each arch's few derived symbols when that arch is first built.
tests/kconfig/test_fused.py checks that both ways agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mmbits.cexpr import Value
from mmbits.expression.compiled import compile_function, fusable_source

if TYPE_CHECKING:
    from mmbits.kconfig.model import Arch, KconfigModel

# `complete`'s answer when an expression raised: ask the reference path
UNKNOWN = object()

_Step = Callable[[dict[str, Value]], Any]


class FusedModel:
    """One model's generated completion and rules (None where an expression nests too
    deeply to compile: then every answer is UNKNOWN)."""

    # False: every answer UNKNOWN, so `build` goes the reference way (tests compare the two)
    enabled = True

    def __init__(self, model: KconfigModel):
        self.model = model
        self._rules: _Step | None = _rules(model)
        self._archs: dict[str, _Step | None] = {}

    def complete(self, primary: dict[str, Value]) -> object:
        """Every symbol of a full primary assignment (`primary_of`), in a new dict, as
        `KconfigModel.complete` gives them; None when a rule fails; UNKNOWN when an
        expression raised or could not be compiled."""
        if not FusedModel.enabled:
            return UNKNOWN
        arch = str(primary["ARCH"])
        if arch in self._archs:
            derive = self._archs[arch]
        else:
            derive = self._archs[arch] = _arch(self.model.archs[arch])
        if derive is None or self._rules is None:
            return UNKNOWN
        env = derive(primary)
        if env is UNKNOWN:
            return UNKNOWN
        ok = self._rules(env)
        return env if ok is True else None if ok is False else UNKNOWN


def _arch(arch: Arch) -> _Step | None:
    """primary -> a new dict with the arch's facts and derived symbols."""
    lines = ["def _derive(_p):", "    _e = _p.copy()", "    _e.update(_facts)", "    try:"]
    for name, expr in arch.derived:
        src = fusable_source(expr)
        if src is None:
            return None
        lines.append(f"        _e[{name!r}] = {src}")
    lines += ["    except _Exception:", "        return _unknown", "    return _e"]
    return compile_function("\n".join(lines) + "\n", "_derive",
                            {"_facts": dict(arch.facts), "_unknown": UNKNOWN, "_Exception": Exception})


def _rules(model: KconfigModel) -> _Step | None:
    """env -> True (every rule holds) or False, the model's derived symbols set in env first."""
    lines = ["def _check(_e):", "    _ok = True", "    try:"]
    for name, expr in model.derived:
        src = fusable_source(expr)
        if src is None:
            return None
        lines.append(f"        _e[{name!r}] = {src}")
    for rule in model.rules:
        require = fusable_source(rule.require, truth=True)
        when = fusable_source(rule.when, truth=True) if rule.when is not None else ""
        if require is None or when is None:
            return None
        lines.append(f"        if {when} and not {require}:" if when else f"        if not {require}:")
        lines.append("            _ok = False")
    lines += ["    except _Exception:", "        return _unknown", "    return _ok"]
    return compile_function("\n".join(lines) + "\n", "_check",
                            {"_unknown": UNKNOWN, "_Exception": Exception})
