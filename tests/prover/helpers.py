"""Helpers for prover tests: prove a proposal on a preset or a domain, and look at findings."""

from __future__ import annotations

from typing import Any

from mmbits.kconfig.domain import load_domain
from mmbits.kconfig.model import load_model
from mmbits.kconfig.presets import preset
from mmbits.proposal import Proposal
from mmbits.prover import CheckResult, check


def config_of(name: str, **sets: Any) -> Any:
    cfg = preset(name)
    if not sets:
        return cfg
    values = dict(cfg.primary)
    values.update(load_model().normalise({k: str(v) for k, v in sets.items()}))
    return load_model().make(values, name=f"{name}+{','.join(sets)}")


def prove(expr: str, word: str, kind: str | None = None, name: str | None = None, *, on: str | None = None,
          domain: str | None = None, sets: dict[str, Any] | None = None, **kw: Any) -> CheckResult:
    p = Proposal(expr=expr, word=word, kind=kind, name=name)
    if domain is not None:
        return check(p, domain=load_domain(domain), source=f"domain {domain}", lifecycle=False, **kw)
    return check(p, config=config_of(on or "x86_64-6.18", **(sets or {})), lifecycle=False, **kw)


def kinds(result: CheckResult, severity: str | None = None) -> set[str]:
    return {f.kind for f in result.findings if severity is None or f.severity == severity}


def blocking(result: CheckResult) -> set[str]:
    return kinds(result, "error")


def whats(result: CheckResult, kind: str) -> list[str]:
    return [f.data.get("what", "") for f in result.findings if f.kind == kind]


def messages(result: CheckResult, kind: str | None = None) -> str:
    return "\n".join(f.message for f in result.findings if kind is None or f.kind == kind)
