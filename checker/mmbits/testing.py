"""Assertions for users' own tests of a page-descriptor idea.

A failed assertion should teach, not just fail: each helper raises an
AssertionError whose message is what the matching command prints (`mmbits
check`, `mmbits btf verify`, `mmbits simulate`), so the counterexample
config and the colliding thing are in the pytest report::

    from mmbits.testing import assert_bit_free, assert_layout_matches, assert_no_findings

    def test_my_bit():
        assert_bit_free("BIT(NR_PAGEFLAGS)", word="ptdesc.pt_flags", kind="kernel-pgtable")

Each helper returns the result it judged, so a test can go on asserting on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["assert_bit_free", "assert_layout_matches", "assert_no_findings", "as_proposal"]

# where a failure message stops listing (the whole text is in the returned result)
MAX_LISTED = 12


def as_proposal(proposal: Any, *, word: str | None = None, kind: str | None = None,
                name: str | None = None) -> Any:
    """A Proposal from what a test has at hand: a Proposal, a C expression
    (with `word=`), or the path of a proposal YAML file. `name` is the new
    name the patch gives the bit (`check --as`): without it an existing flag
    name means that flag's own use, as in `mmbits check`."""
    from dataclasses import replace

    from mmbits.proposal import Proposal, load_proposal, validate

    if isinstance(proposal, Path) or (isinstance(proposal, str) and proposal.endswith((".yaml", ".yml"))):
        p = load_proposal(proposal)
    elif isinstance(proposal, Proposal):
        p = proposal
    elif isinstance(proposal, str | int):
        if word is None:
            raise TypeError("a C expression needs word='STRUCT.FIELD' (e.g. word='ptdesc.pt_flags')")
        p = Proposal(expr=str(proposal), word=word)
    else:
        raise TypeError(f"cannot make a proposal of {type(proposal).__name__}")
    updates: dict[str, Any] = {k: v for k, v in (("word", word), ("kind", kind), ("name", name)) if v is not None}
    return validate(replace(p, **updates) if updates else p)


def _targets(configs: Any) -> list[tuple[str, Any]]:
    """("config"|"domain", object) pairs: None is the default domain, a str a
    domain or preset name, a Config one config, an iterable several."""
    from mmbits.kconfig.config import Config
    from mmbits.kconfig.domain import Domain, domain_names, load_domain
    from mmbits.kconfig.presets import preset

    if configs is None:
        return [("domain", load_domain("default"))]
    if isinstance(configs, Config):
        return [("config", configs)]
    if isinstance(configs, Domain):
        return [("domain", configs)]
    if isinstance(configs, str):
        if configs in domain_names():
            return [("domain", load_domain(configs))]
        return [("config", preset(configs))]
    if isinstance(configs, Iterable):
        out: list[tuple[str, Any]] = []
        for item in configs:
            out.extend(_targets(item))
        return out
    raise TypeError(f"configs must be a Config, a domain or preset name, a Domain or a list, not "
                    f"{type(configs).__name__}")


def assert_bit_free(proposal: Any, configs: Any = None, *, word: str | None = None, kind: str | None = None,
                    name: str | None = None, lifecycle: bool = True) -> list[Any]:
    """Prove `proposal` free on `configs` (default: every valid config of the
    default domain); on failure the message is `mmbits check`'s output for
    the first unsafe target: the verdict, each finding with its counterexample
    config and the colliding thing. Returns the CheckResults."""
    __tracebackhide__ = True  # pytest: the failure points at the test, not here
    from mmbits.prover import check
    from mmbits.prover.text import render

    p = as_proposal(proposal, word=word, kind=kind, name=name)
    results = []
    for what, target in _targets(configs):
        if what == "config":
            result = check(p, config=target, source=target.label(), lifecycle=lifecycle)
        else:
            result = check(p, domain=target, source=f"domain {target.name}", lifecycle=lifecycle)
        results.append(result)
    unsafe = [r for r in results if r.verdict == "unsafe"]
    if unsafe:
        head = f"{p.label()} is not free on {len(unsafe)} of {len(results)} target(s) checked; " \
               f"mmbits check says:\n\n"
        raise AssertionError(head + render(unsafe[0]))
    return results


def assert_layout_matches(layout: Any, btf: Any, *, config: Any = None) -> list[Any]:
    """`layout` (a resolved Layout, or a struct name with `config=`) must equal
    the struct of the same name in `btf` (a path: raw blob, ELF vmlinux,
    /sys/kernel/btf/vmlinux; or an open Btf) member for member, as `mmbits
    btf verify` compares them. Returns the findings (empty)."""
    __tracebackhide__ = True  # pytest: the failure points at the test, not here
    from mmbits.btf import open_btf
    from mmbits.btf.reader import Btf
    from mmbits.btf.render import layout_of
    from mmbits.btf.verify import compare_layouts

    if isinstance(layout, str):
        if config is None:
            raise TypeError("a struct name needs config= (a Config or a preset name)")
        from mmbits.kconfig.presets import preset
        from mmbits.layout.registry import layouts

        layout = layouts().resolve(layout, preset(config) if isinstance(config, str) else config)
    source = btf if isinstance(btf, Btf) else open_btf(btf)
    theirs = layout_of(source, layout.struct)
    if theirs is None:
        raise AssertionError(f"struct {layout.struct} is not in the BTF {source.file}")
    label = layout.config.label() if layout.config is not None else (layout.source or layout.struct)
    found, compared = compare_layouts(layout, theirs, label)
    if found:
        raise AssertionError(f"struct {layout.struct}: {len(found)} difference(s) from the BTF "
                             f"{source.file} ({compared} members compared); mmbits btf verify says:\n"
                             + _listed(found))
    return found


def assert_no_findings(simulation: Any, *, kinds: Iterable[str] | None = None, errors_only: bool = True) -> None:
    """No findings in `simulation`: a Machine (its findings so far), a
    `simulate()` result, a CheckResult or a list of Findings. `kinds` limits
    the check to those finding kinds; warnings and notes pass unless
    errors_only=False. The message is what `mmbits simulate` prints."""
    __tracebackhide__ = True  # pytest: the failure points at the test, not here
    wanted = set(kinds) if kinds is not None else None

    def counts(kind: str, severity: str) -> bool:
        return (wanted is None or kind in wanted) and (not errors_only or severity == "error")

    if isinstance(simulation, dict) and "findings" in simulation and "machine" in simulation:
        from mmbits.emu.text import render

        bad_json = [f for f in simulation["findings"] if counts(f["kind"], f.get("severity", "error"))]
        if bad_json:
            raise AssertionError(f"{len(bad_json)} finding(s); mmbits simulate says:\n\n" + render(simulation))
        return
    bad = [f for f in _findings_of(simulation) if counts(f.kind, f.severity)]
    if bad:
        raise AssertionError(f"{len(bad)} finding(s):\n" + _listed(bad, with_schedules=True))


def _listed(findings: list[Any], with_schedules: bool = False) -> str:
    """The first MAX_LISTED findings as the commands print them (schedules as `simulate` does)."""
    from mmbits.emu.text import schedule_lines

    lines = []
    for f in findings[:MAX_LISTED]:
        lines.append(f.line())
        if with_schedules:
            lines.extend(schedule_lines(f.data or {}))
    more = len(findings) - MAX_LISTED
    if more > 0:
        lines.append(f"... and {more} more")
    return "\n".join(lines)


def _findings_of(obj: Any) -> list[Any]:
    from mmbits.findings import Finding

    if hasattr(obj, "findings") and not isinstance(obj, dict | list):
        obj = obj.findings  # Machine (property) or CheckResult (list)
    if isinstance(obj, list) and all(isinstance(f, Finding) for f in obj):
        return obj
    raise TypeError("assert_no_findings takes a Machine, a simulate() result, a CheckResult or a list of Findings")
