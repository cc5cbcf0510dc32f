"""check calls mmbits.emu.lifecycle.run_proposal(proposal, config) when the proposal
has set/test/clear steps; its findings join the static ones. A stand-in module plays
the emulator here so the hook is tested whether or not the emulator is installed."""

from __future__ import annotations

import sys
import types

from mmbits.findings import Finding
from mmbits.proposal import Proposal
from prover.helpers import config_of


def _fake(monkeypatch, behaviour):  # type: ignore[no-untyped-def]
    calls: list[tuple[Proposal, object]] = []

    def run_proposal(proposal, config):  # type: ignore[no-untyped-def]
        calls.append((proposal, config))
        return behaviour(proposal, config)

    mod = types.ModuleType("mmbits.emu.lifecycle")
    mod.run_proposal = run_proposal  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mmbits.emu.lifecycle", mod)
    return calls


def test_lifecycle_findings_join_the_verdict(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mmbits.prover import check

    calls = _fake(monkeypatch, lambda p, c: [Finding("wiped-before-test", "pagetable_dtor() wipes the bit before "
                                                     "pagetable_free() tests it", None, p.word)])
    p = Proposal("BIT(0)", "ptdesc.__page_type", "kernel-pgtable", "PTDESC_TYPE_KERNEL", set_at="pte_free_kernel",
                 test_at="pagetable_free")
    r = check(p, config=config_of("x86_64-6.18"))
    assert [c[0].name for c in calls] == ["PTDESC_TYPE_KERNEL"]
    assert "wiped-before-test" in {f.kind for f in r.findings}
    assert r.lifecycle.startswith("checked on 1")
    assert next(f for f in r.findings if f.kind == "wiped-before-test").config == "x86_64-6.18"


def test_domain_runs_a_few_representatives(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mmbits.kconfig.domain import load_domain
    from mmbits.prover import check

    calls = _fake(monkeypatch, lambda p, c: [])
    p = Proposal("PG_referenced", "ptdesc.pt_flags", "kernel-pgtable", "PT_kernel", set_at="mark",
                 test_at="pagetable_free", clear_at="pagetable_free")
    r = check(p, domain=load_domain("default"))
    assert r.verdict == "safe"
    assert 1 <= len(calls) <= 6 and {c[1]["ARCH"] for c in calls} == {"x86_64", "i386", "arm64", "arm32"}


def test_emulator_failure_makes_the_verdict_unknown(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Fail closed: a proposal the static analysis finds clean (PT_kernel is v6.18's own
    definition of bit 2 for kernel page tables) is UNKNOWN, not SAFE, when the emulator crashes."""
    from mmbits.prover import check

    def boom(p, c):  # type: ignore[no-untyped-def]
        raise RuntimeError("not modelled")

    _fake(monkeypatch, boom)
    p = Proposal("PG_referenced", "ptdesc.pt_flags", "kernel-pgtable", "PT_kernel", set_at="mark")
    static = check(p, config=config_of("x86_64-6.18"), lifecycle=False)
    assert static.verdict == "safe"
    r = check(p, config=config_of("x86_64-6.18"))
    assert r.verdict == "unknown" and r.lifecycle == "emulator failed"
    assert len(r.unknown) == 1 and "RuntimeError: not modelled" in r.unknown[0]
    assert "unknown" in {f.kind for f in r.findings}


def test_emulator_failure_cli_exits_2(monkeypatch, cli) -> None:  # type: ignore[no-untyped-def]
    def boom(p, c):  # type: ignore[no-untyped-def]
        raise RuntimeError("not modelled")

    _fake(monkeypatch, boom)
    r = cli("check", "PG_referenced", "--as", "PT_kernel", "--word", "ptdesc.pt_flags", "--kind", "kernel-pgtable",
            "--set-at", "mark", "--preset", "x86_64-6.18")
    assert r.code == 2, r.out
    assert r.out.startswith("UNKNOWN: ") and "RuntimeError: not modelled" in r.out


def test_a_kind_the_emulator_does_not_run_is_unknown() -> None:
    """Steps on a slab page: the emulator runs page-table lives only, so nothing checked them."""
    from mmbits.prover import check

    p = Proposal("BIT(0)", "slab.flags", "slab", "SL_new", set_at="alloc")
    r = check(p, config=config_of("x86_64-6.18"))
    assert r.verdict in ("unknown", "unsafe")
    assert any("does not model the life of slab pages" in u for u in r.unknown)


def test_the_lifecycle_explores_schedules(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """While run_proposal() runs one sequential schedule, check also explores every
    interleaving of two CPUs x two operations (as `mmbits simulate` does) and says how many."""
    from mmbits.prover import check

    calls = _fake(monkeypatch, lambda p, c: [])
    p = Proposal("PG_referenced", "ptdesc.pt_flags", "kernel-pgtable", "PT_kernel", set_at="mark",
                 test_at="pagetable_free", clear_at="pagetable_free")
    r = check(p, config=config_of("x86_64-6.18"))
    assert len(calls) == 1 and r.verdict == "safe"
    n = int(r.lifecycle.split(", ")[1].split(" ")[0])
    assert n > 1 and "cut short" not in r.lifecycle


def test_a_cut_short_exploration_is_unknown(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mmbits.prover import check, lifecycle

    _fake(monkeypatch, lambda p, c: [])
    monkeypatch.setattr(lifecycle, "MAX_STATES", 5)
    p = Proposal("PG_referenced", "ptdesc.pt_flags", "kernel-pgtable", "PT_kernel", set_at="mark",
                 test_at="pagetable_free", clear_at="pagetable_free")
    r = check(p, config=config_of("x86_64-6.18"))
    assert r.verdict == "unknown" and "cut short" in r.unknown[0]
