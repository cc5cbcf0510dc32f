"""One simulation: build the machine and the workload for a design and a
config, explore the schedules, replay each finding's schedule for its report.

`simulate()` returns a SimulationResult; its `to_json()` is what
`mmbits simulate --json` prints and `mmbits.report.api.write_simulation_report()`
renders::

    {"verdict": "SAFE" | "UNSAFE", "variant", "proposal", "config",
     "machine": {...}, "workload": {...}, "explored": {...},
     "findings": [{"kind", "message", "config", "where",
                   "data": {"schedule": [...], "before": {...}, "after": {...}, ...}}]}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mmbits.collector import collector_paused
from mmbits.emu.dump import decode
from mmbits.emu.explore import (
    QUIESCE,
    WORKER,
    Exploration,
    World,
    drive,
    exhaustive,
    random_runs,
    replay,
)
from mmbits.emu.machine import DEFAULT_PAGES, Machine
from mmbits.emu.variants import make_design
from mmbits.emu.workload import build
from mmbits.errors import InputError
from mmbits.findings import Finding, blocking
from mmbits.kconfig.config import Config
from mmbits.proposal import Proposal
from mmbits.schedule import ScheduleStep, steps_of, threads

MODES = ("auto", "exhaustive", "random", "sequential")


class Schedule(tuple[Any, ...]):
    """Thread choices read from a file: remembers the file, so a step that cannot
    run is reported against it."""

    where: str | None = None


def schedule_from_json(doc: Any, finding: int = 0, where: str = "") -> tuple[str, ...]:
    """The thread choices of a schedule: a JSON list of thread names, or the
    schedule of finding number `finding` of a `simulate --json` result."""
    if isinstance(doc, dict):
        findings = doc.get("findings")
        if not isinstance(findings, list) or not findings:
            raise InputError("no findings, so no schedule to replay", file=where or None)
        if not 0 <= finding < len(findings):
            raise InputError(f"there is no finding {finding} (0..{len(findings) - 1})", file=where or None)
        chosen = findings[finding]
        data = chosen.get("data") if isinstance(chosen, dict) else None
        doc = threads(steps_of(data.get("schedule"))) if isinstance(data, dict) else None
    if not isinstance(doc, list) or not all(isinstance(t, str) for t in doc) or not doc:
        raise InputError("a schedule is a JSON list of thread names (cpu0, worker, ...) or a simulate --json "
                         "result", file=where or None)
    out = Schedule(doc)
    out.where = where or None
    return out


# above this many CPU operations "auto" explores randomly
AUTO_EXHAUSTIVE_OPS = 8


@dataclass
class Setup:
    """Everything that determines the initial world (so a schedule replays)."""

    config: Config
    variant: str = "v6.19"
    proposal: Proposal | None = None
    cpus: int = 2
    ops: int = 3
    sva: bool | None = None
    async_free: bool | None = None
    npages: int = DEFAULT_PAGES
    only: tuple[str, ...] = ()
    worker_per_page: bool = False  # one step per iteration of the worker's loop

    def pages(self) -> int:
        """Enough struct pages for the workload: each hot-remove holds a
        PMD-sized vmemmap block, every operation a few tables."""
        from mmbits.emu.facts import facts_for

        f = facts_for(self.config)
        n = self.cpus * self.ops
        hot = n if self.only == ("hot-remove",) else (n + len(f.ops) - 1) // max(len(f.ops), 1)
        need = 256 + 64 * n + (hot * (2 << f.pmd_order) if "hot-remove" in f.ops else 0)
        pages = self.npages
        while pages < need:
            pages *= 2
        return pages

    def world(self, trace: bool = False) -> World:
        from mmbits.emu.buddy import OutOfMemory

        design = make_design(self.variant, proposal=self.proposal)
        design.worker_per_page = self.worker_per_page
        m = Machine(self.config, design, npages=self.pages(), sva=self.sva, async_free=self.async_free,
                    trace=trace)
        try:
            wl = build(m, self.cpus, self.ops, self.only)
        except OutOfMemory as exc:
            raise InputError(f"the workload does not fit the emulated memory ({m.mem.npages} pages): {exc}") from None
        self.plan = wl.plan
        threads = dict(wl.programs)
        threads[WORKER] = ()
        m.after_step()  # the IOMMU has walked the tables before the threads start
        m.emitted.clear()
        return World(m, threads)


def sequential(world: World) -> Exploration:
    """One schedule: each CPU in turn runs its operations, the worker whenever
    work is pending after a step (the lifecycle path of `mmbits check`)."""
    ex = Exploration("sequential")
    drive(world, lambda _w, names: WORKER if WORKER in names else names[0], ex)
    ex.states = ex.transitions + 1
    ex.schedules = 1
    return ex


def fixed(world: World, schedule: tuple[str, ...]) -> Exploration:
    """Replay one given schedule (thread names; "-" or "quiesce" for the end checks)."""
    ex = Exploration("replay")
    todo = iter(enumerate(schedule, start=1))

    def choose(w: World, names: list[str]) -> str | None:
        i, name = next(todo, (0, None))
        if name is None:
            return None
        if name in ("-", QUIESCE):
            return QUIESCE
        if name not in names:
            raise InputError(f"schedule step {i}: thread {name!r} cannot run here "
                             f"(runnable: {', '.join(names) or 'none'}): the schedule is for another "
                             f"variant, config or workload", file=getattr(schedule, "where", None))
        return name

    drive(world, choose, ex)
    ex.states = ex.transitions + 1
    ex.schedules = 1
    return ex


def explore(setup: Setup, mode: str = "auto", *, seed: int = 0, schedules: int = 200, max_states: int = 200_000,
            progress: Callable[..., None] | None = None,
            schedule: tuple[str, ...] | None = None, reduce: bool = True,
            persistent: bool = False, jobs: int = 1, canonical: bool = True) -> tuple[Exploration, World]:
    world = setup.world()
    if schedule is not None:
        return fixed(world, schedule), world
    if mode == "auto":
        mode = "exhaustive" if setup.cpus * setup.ops <= AUTO_EXHAUSTIVE_OPS else "random"
    if mode == "exhaustive":
        # the explored worlds make no reference cycles (Machine.clone): reference
        # counting frees each one dropped, and the cyclic collector's passes over
        # the live ones cost 5-20% of a run
        with collector_paused():
            ex = exhaustive(world, max_states=max_states, progress=progress, reduce=reduce,
                            persistent=persistent, jobs=jobs, canonical=canonical)
        return ex, world
    if mode == "random":
        return random_runs(world, schedules=schedules, seed=seed, progress=progress), world
    return sequential(world), world


def findings_of(setup: Setup, ex: Exploration, detail: bool = True) -> list[Finding]:
    """Turn what an exploration found into Findings; with `detail`, replay
    each schedule for the step list and the page bytes around the bad step."""
    label = setup.config.label()
    out = []
    # one traced initial world, cloned for each replay: building it (the layouts' facts,
    # the workload's tables) costs ~65 ms, a clone well under a millisecond
    fresh: list[World] = []

    def start() -> World:
        if not fresh:
            fresh.append(setup.world(trace=True))
        return fresh[0].clone()

    order = sorted(ex.found.items(), key=lambda kv: (ex.follows.get(kv[0]) is not None, len(kv[1][1]), kv[0]))
    for key, (ev, schedule) in order:
        data: dict[str, Any] = {}
        follows = ex.follows.get(key)
        data["follows"] = {"kind": follows[0], "where": follows[1]} if follows is not None else None
        message = ev.message
        if detail:
            rep = replay(start, schedule, key)
            if rep.event is not None:
                message = rep.event.message
                ev = rep.event
            data["schedule"] = tuple(rep.steps)
            data["step"] = rep.step_index
            if ev.pfn is not None:
                data["before"] = decode(rep.machine, ev.pfn, rep.before)
                data["after"] = decode(rep.machine, ev.pfn, rep.after)
        else:
            data["schedule"] = tuple(ScheduleStep(t) for t in schedule)
        if ev.pfn is not None:
            data["pfn"] = hex(ev.pfn)
        data.update(ev.data)
        out.append(Finding(ev.kind, message, label, ev.where, ev.severity, data))
    return out


@dataclass
class SimulationResult:
    """One simulation, typed; `to_json()` is the `simulate --json` document."""

    verdict: str  # SAFE, UNSAFE, or UNKNOWN (an exhaustive run cut short that found nothing)
    variant: str
    title: str
    config: str
    machine: dict[str, Any]
    workload: dict[str, Any]
    explored: Exploration
    findings: list[Finding]
    proposal: dict[str, object] | None = None

    @property
    def complete(self) -> bool:
        return self.explored.complete

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "variant": self.variant, "title": self.title, "proposal": self.proposal,
                "config": self.config, "machine": self.machine, "workload": self.workload,
                "explored": self.explored.to_json(), "findings": [f.to_json() for f in self.findings]}


def simulate(config: Config, variant: str = "v6.19", *, proposal: Proposal | None = None, cpus: int = 2,
             ops: int = 3, mode: str = "auto", seed: int = 0, schedules: int = 200, max_states: int = 200_000,
             sva: bool | None = None, async_free: bool | None = None, npages: int = DEFAULT_PAGES,
             only: tuple[str, ...] = (), detail: bool = True, schedule: tuple[str, ...] | None = None,
             progress: Callable[..., None] | None = None, reduce: bool = True,
             worker_per_page: bool = False, persistent: bool = False, jobs: int = 1,
             canonical: bool = True) -> SimulationResult:
    """Explore a design on a workload (`reduce`: partial-order reduction with
    sleep sets in exhaustive mode; off, only state hashing prunes;
    `persistent`: with it, only a persistent set of threads from each state
    (mmbits.emu.persistent); `jobs`: processes sharing an exhaustive
    exploration without persistent sets (mmbits.emu.parallel; 0: auto_jobs());
    `worker_per_page`: the worker frees one list entry per step, as its loop
    does, instead of the whole batch in one; `canonical`: states that differ
    only in the order of the deferred-free queue are one, mmbits.emu.canonical;
    off, every byte tells states apart)."""
    if not only and proposal is None:
        from mmbits.emu.variants import VARIANTS

        only = VARIANTS[variant].default_only if variant in VARIANTS else ()
    setup = Setup(config, variant, proposal, cpus, ops, sva, async_free, npages, only, worker_per_page)
    if jobs == 0:
        jobs = auto_jobs(cpus * ops, persistent)
    ex, world = explore(setup, mode, seed=seed, schedules=schedules, max_states=max_states, progress=progress,
                        schedule=schedule, reduce=reduce, persistent=persistent, jobs=jobs, canonical=canonical)
    found = findings_of(setup, ex, detail)
    m = world.m
    problems = []
    pm = m.proposal_marker
    if pm is not None:
        for kind, msg in pm.mk.problems:
            problems.append(Finding(kind, f"{pm.mk.label()}: {msg}", config.label(), pm.mk.word))
    found = problems + found
    # a bounded exhaustive run that found nothing proves nothing: UNKNOWN (exit 2)
    verdict = "UNSAFE" if blocking(found) else ("UNKNOWN" if ex.cut_short else "SAFE")
    return SimulationResult(verdict=verdict, variant="proposal" if proposal is not None else variant,
                            title=m.design.title, config=config.label(), machine=machine_json(m),
                            workload=workload_json(setup, cpus, ops), explored=ex,
                            findings=found, proposal=pm.mk.to_json() if pm is not None else None)


# from this many operations in all (simulate's default workload: 2 x 3) an exhaustive
# run takes seconds, worth a second process; below it, well under a second
PARALLEL_OPS = 6


def auto_jobs(operations: int, persistent: bool = False) -> int:
    """The processes `simulate --jobs 0` explores with: two when this
    process may run on two CPUs or more, the last minute's load average
    leaves more than one of them idle, and the workload is large enough;
    else one (persistent sets keep per-path race data a shared table cannot).
    On a busy machine a second process gains nothing and costs CPU: Linux's
    autogroup scheduling gives the processes of one command one share, and
    they share caches with more processes (bench_emu: 30.5 s wall against
    22.2 s at load 4-5 on the default workload)."""
    if persistent or operations < PARALLEL_OPS:
        return 1
    import os

    from mmbits.cpus import usable_cpus

    n = usable_cpus()
    try:
        idle = n - os.getloadavg()[0]
    except OSError:
        idle = n
    return 2 if n >= 2 and idle > 1 else 1


def workload_json(setup: Setup, cpus: int, ops: int) -> dict[str, Any]:
    """The workload part of the JSON; `worker_per_page` only when it is on
    (the documents of the default runs stay as they were)."""
    out: dict[str, Any] = {"cpus": cpus, "ops_per_cpu": ops, "plan": setup.plan}
    if setup.worker_per_page:
        out["worker_per_page"] = True
    return out


def machine_json(m: Machine) -> dict[str, Any]:
    f = m.facts
    return {
        "arch": m.config.arch,
        "struct_page": f.page.struct,
        "sizeof_page": f.sizeof_page,
        "pages": m.mem.npages,
        "levels": [lv.name for lv in f.levels],
        "iommu_sva": m.sva,
        "iommu_sva_requested": m.sva_requested,
        "async_kernel_pgtable_free": m.async_free,
        "markings": [mk.mk.to_json() for mk in m.markers],
        "check_pages": bool(m.config.get("CHECK_PAGES", 0)),
    }
