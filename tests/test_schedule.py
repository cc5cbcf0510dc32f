"""A finding's schedule is typed (ScheduleStep) inside mmbits and JSON only at the edge."""

from __future__ import annotations

import json

from mmbits.findings import Finding
from mmbits.schedule import ScheduleStep, steps_of, threads


def test_simulation_findings_carry_typed_steps_and_the_json_keeps_its_shape() -> None:
    from mmbits.emu.simulate import simulate
    from mmbits.kconfig.presets import preset

    # v6.19 as merged: hot-remove frees a non-compound vmemmap block through pagetable_free(),
    # which frees compound_order() = 0 pages (the leak tests/emu and reports/ show)
    result = simulate(preset("x86_64-6.18"), "v6.19", cpus=1, ops=1, only=("hot-remove",), mode="sequential")
    finding = next(f for f in result.findings if f.kind == "leak")
    steps = finding.data["schedule"]
    assert steps and all(isinstance(s, ScheduleStep) for s in steps)
    assert steps[0].thread == "cpu0" and steps[0].step
    doc = finding.to_json()["data"]["schedule"]
    assert doc == [{"thread": s.thread, "step": s.step, "notes": list(s.notes)} for s in steps]
    json.dumps(doc)  # plain JSON, nothing typed left


def test_a_finding_read_back_from_json_has_typed_steps_again() -> None:
    steps = (ScheduleStep("cpu0", "pte_free_kernel(pfn 0x12)", ("queued",)), ScheduleStep("worker"),
             ScheduleStep("iommu", "walks the scenario's VAs"))
    f = Finding("leak", "511 page(s) leaked", "x86_64-6.18", None, "error", {"schedule": steps, "step": 1})
    back = Finding.from_json(json.loads(json.dumps(f.to_json())))
    assert back.data["schedule"] == steps and back == f
    assert back.to_json()["data"]["schedule"][1] == {"thread": "worker"}  # only who ran: no detail keys


def test_steps_of_and_threads() -> None:
    assert steps_of([{"thread": "cpu1", "step": "x", "notes": ["n"]}, "worker"]) == (
        ScheduleStep("cpu1", "x", ("n",)), ScheduleStep("worker"))
    assert steps_of("not a list") == () and steps_of([3]) == ()
    assert threads(steps_of(["cpu0", "iommu", "worker"])) == ["cpu0", "worker"]  # --replay choices
