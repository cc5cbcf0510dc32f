"""Run the CPUs and the deferred-free worker as interleaving threads.

A World is a machine plus each thread's pending steps. `exhaustive()` explores
every reachable state depth-first, pruning a state whose fingerprint (all
bytes, page contents, shadow, IOMMU caches, thread programs) was seen before:
from equal states the futures are equal, so nothing is lost; sleep sets over
the transitions' recorded footprints (mmbits.emu.footprint) skip running a
transition whose independent reordering was already explored; its loop is
`search()` over a table of visited states (`Visited`), which
mmbits.emu.parallel runs in several processes over one shared table. Every mode
takes its steps through `advance()` and ends a schedule through `end()`, and
every single-schedule mode is the one `drive(world, chooser)` loop. `random_runs()` plays
seeded random schedules. Either way, a finding is kept with the shortest
schedule (the list of thread choices) that reached it; `replay()` plays that
schedule again on a fresh machine with a write journal to produce the
readable step list and the page bytes before and after the bad step.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mmbits.emu.canonical import QueueKey
from mmbits.emu.footprint import Footprint
from mmbits.emu.machine import Event, Machine
from mmbits.emu.steps import Step
from mmbits.schedule import ScheduleStep

QUIESCE = "quiesce"
WORKER = "worker"
CORRUPT = -1
# errors after which the kernel's memory is not what the code believes
CORRUPTING = {"wrong-table", "use-after-free", "double-free", "list-corruption", "memdesc-clobbered"}


# a program's hash by its identity (World.fingerprint); an entry keeps its
# tuple alive, so the id is not reused while the entry is kept
_PROGRAM_HASHES: dict[int, tuple[tuple[Step, ...], int]] = {}
# the programs made so far, each kept once (successor()), and the program
# after a step by the identities of the program and of the steps the step
# scheduled (a replayed step's are its memo entry's own tuple); the entries
# keep both alive, so the ids are not reused while they are kept
_PROGRAMS: dict[tuple[Step, ...], tuple[Step, ...]] = {}
_SUCCESSORS: dict[tuple[int, int], tuple[tuple[Step, ...], Any, tuple[Step, ...]]] = {}
_WORK_START = (Step("work_start"),)


def successor(prog: tuple[Step, ...], more: Any) -> tuple[Step, ...]:
    """A thread's program after its first step ran and scheduled `more`:
    more + the rest, as one shared tuple per distinct program, so that what
    is remembered about a program by its identity (its hash here, what its
    steps name in mmbits.emu.canonical) is found again in every world that
    reaches it -- rather than hashed anew, step by step, after each transition."""
    key = (id(prog), id(more))
    got = _SUCCESSORS.get(key)
    if got is not None and got[0] is prog and got[1] is more:
        return got[2]
    nxt = tuple(more) + prog[1:]
    if len(_PROGRAMS) > 65536:
        _PROGRAMS.clear()
    nxt = _PROGRAMS.setdefault(nxt, nxt)
    if isinstance(more, tuple):  # (a list is made afresh by each executed step)
        if len(_SUCCESSORS) > 65536:
            _SUCCESSORS.clear()
        _SUCCESSORS[key] = (prog, more, nxt)
    return nxt


class QueueOrderObserved(Exception):
    """A worker's batch crashed part-way from a state whose key merged the
    queue's orders: which pages it freed before the crash depends on the
    order, so the exploration starts again telling every order apart."""


@dataclass
class World:
    m: Machine
    threads: dict[str, tuple[Step, ...]]
    # the first error found on the path to this world, per page it was about
    # (key CORRUPT: the first one that corrupts memory)
    seen: dict[int, tuple[str, str]] = field(default_factory=dict)
    # the visited-state key when it is not the fingerprint (mmbits.emu.canonical),
    # and whether this world's last key merged queue orders
    canon: QueueKey | None = None
    merged: bool = False

    def clone(self) -> World:
        return World(self.m.clone(), dict(self.threads), dict(self.seen), self.canon, self.merged)

    def enabled(self) -> list[str]:
        if self.m.st.crashed:
            return []
        can_run = self.m.design.can_run
        out = [name for name, prog in self.threads.items() if prog and name != WORKER and can_run(self.m, name, prog[0])]
        if self.threads.get(WORKER) or self.m.st.work_pending:
            out.append(WORKER)
        return out

    def step(self, name: str, fp: Footprint | None = None) -> list[Event]:
        """Run thread `name`'s next step and the IOMMU's walks after it; with
        `fp`, record what the transition read and wrote (its enabledness
        included: the lock state a lock step waits on, the worker's
        work_pending) for partial-order reduction."""
        prog = self.threads.get(name) or ()
        m = self.m
        if fp is not None:
            m.record(fp)
        try:
            if name == WORKER and not prog:
                prog = _WORK_START
                if fp is not None:
                    fp.reads.add(("st", "work_pending"))
            head = prog[0]
            if fp is not None:
                m.design.can_run(m, name, head)
            more = m.exec_step(name, head) if fp is None else m.memo.run(m, name, head, fp)
            self.threads[name] = successor(prog, more)
            self.last_step = head
            self.iommu_notes = m.after_step()
        finally:
            if fp is not None:
                m.record(None)
                fp.crashed = bool(m.st.crashed)
        events = m.emitted
        m.emitted = []
        return events

    def blocked(self) -> dict[str, Step]:
        """Threads with steps left that cannot run (all of them, once nothing can run)."""
        return {name: prog[0] for name, prog in self.threads.items() if prog}

    def finish(self) -> list[Event]:
        """End of a schedule: nothing can run. With steps left that is a
        deadlock; otherwise the end-of-run checks."""
        blocked = self.blocked() if not self.m.st.crashed else {}
        if blocked:
            m = self.m
            who = "; ".join(f"{name} waits in {nxt.label(m.mem.describe)}" for name, nxt in blocked.items())
            ev = Event("deadlock", f"deadlock: no thread can run and work is left: {who}; "
                       f"{m.design.lock_state(m)}", "deadlock: " + ", ".join(
                           f"{name} in {nxt.name}" for name, nxt in sorted(blocked.items())),
                       data={"detected_by": "emulator (the kernel hangs: hung-task warning, lockdep if enabled)"})
            m.all_events.append(ev)
            return [ev]
        if not self.m.st.crashed:
            self.m._guard(lambda: self.m.design.end_checks(self.m))
        events = self.m.emitted
        self.m.emitted = []
        return events

    def fingerprint(self) -> int:
        # the threads in their one order (Setup.world() makes the dict, a step
        # only replaces a value, a clone copies it): a tuple, no frozenset
        # built; each program by its hash, remembered by the program's identity
        # (a step makes its thread's program a new tuple, the others stay shared
        # by the clones: hashing a program hashes every pending step)
        known = _PROGRAM_HASHES
        out = []
        for name, prog in self.threads.items():
            got = known.get(id(prog))
            if got is None or got[0] is not prog:
                if len(known) > 8192:
                    known.clear()
                got = known[id(prog)] = (prog, hash(prog))
            out.append((name, got[1]))
        return hash((self.m.fingerprint(), tuple(out)))

    def key(self) -> int:
        """The visited-state key: the fingerprint, or with `canon` set the
        fingerprint with the deferred-free queue hashed by its members, not
        their order (mmbits.emu.canonical: nothing can tell those states apart)."""
        if self.canon is None:
            return self.fingerprint()
        key, self.merged = self.canon.key(self)
        return key


@dataclass
class Exploration:
    mode: str
    states: int = 0
    transitions: int = 0
    schedules: int = 0
    pruned: int = 0  # transitions that reached a state already explored (state hashing)
    reduced: bool = False  # partial-order reduction (sleep sets) on
    persistent: bool = False  # and only a persistent set of threads run from each state (mmbits.emu.persistent)
    # states that differ only in the order of the deferred-free queue counted as one
    # (mmbits.emu.canonical): states, pruned, end states and schedules are of those
    queue_order: bool = False
    slept: int = 0  # transitions not run: asleep (an independent order of them was explored)
    skipped: int = 0  # transitions not run: outside the state's persistent set
    revisits: int = 0  # states explored again because they came back with a smaller sleep set
    replayed: int = 0  # steps run again to reach a state another process handed over (mmbits.emu.parallel)
    max_depth: int = 0
    complete: bool = True
    cut_short: bool = False  # an exhaustive run stopped at its state bound
    seconds: float = 0.0
    seed: int | None = None
    found: dict[tuple[str, str], tuple[Event, tuple[str, ...]]] = field(default_factory=dict)
    # the error that came first on the kept schedule of a finding (None: it came first)
    follows: dict[tuple[str, str], tuple[str, str] | None] = field(default_factory=dict)
    last_events: list[Event] = field(default_factory=list, repr=False)  # of the latest transition
    # fingerprints of the end states reached (nothing could run: finished or deadlocked)
    terminals: set[int] = field(default_factory=set, repr=False)
    # the states each process explored (several processes: mmbits.emu.parallel), and
    # how many of them more than one did (states: the distinct ones)
    processes: list[int] = field(default_factory=list)
    twice: int = 0
    # and the CPU seconds each process's search took (the longest: the wall time on free cores)
    process_cpu: list[float] = field(default_factory=list)
    # the explored state graph: the edges from each state (None: an end or a crash), to
    # count the complete schedules the explored states stand for; a state whose
    # transitions have all been taken keeps them compact (see Edges)
    graph: dict[int, Edges] = field(default_factory=dict, repr=False)

    def record(self, events: list[Event], schedule: tuple[str, ...], world: World | None = None) -> None:
        """Keep each finding with its best schedule: one where no other error
        came first if there is one, else the shortest."""
        for ev in events:
            # a finding follows an earlier error about the same page, or any
            # earlier error that corrupts memory (after which nothing is trusted)
            prior = None
            if world is not None:
                prior = world.seen.get(ev.pfn) if ev.pfn is not None else None
                prior = prior or world.seen.get(CORRUPT)
            self._keep(ev, schedule, prior)
            if world is not None and ev.severity == "error":
                if ev.pfn is not None:
                    world.seen.setdefault(ev.pfn, ev.key)
                if ev.kind in CORRUPTING:
                    world.seen.setdefault(CORRUPT, ev.key)

    def _keep(self, ev: Event, schedule: tuple[str, ...], prior: tuple[str, str] | None,
              tie: bool = False) -> None:
        """Keep `ev` with `schedule` if it is better than the one kept: no
        error came first (prior None) where one did, else shorter; `tie`:
        between equally good ones the smaller schedule (merging searches)."""
        best = self.found.get(ev.key)
        before = self.follows.get(ev.key)
        rank = (prior is not None, len(schedule))
        if best is not None:
            kept = (before is not None, len(best[1]))
            if not (rank < kept or (tie and rank == kept and schedule < best[1])):
                return
        self.found[ev.key] = (ev, schedule)
        self.follows[ev.key] = prior

    def absorb(self, other: Exploration) -> None:
        """Add what another process's search of the same state space found
        (mmbits.emu.parallel): its counts, end states, findings, state graph."""
        for name in ("states", "transitions", "pruned", "slept", "skipped", "revisits", "replayed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.max_depth = max(self.max_depth, other.max_depth)
        self.complete = self.complete and other.complete
        self.cut_short = self.cut_short or other.cut_short
        self.terminals |= other.terminals
        for key, (ev, schedule) in other.found.items():
            self._keep(ev, schedule, other.follows.get(key), tie=True)
        for fp, edges in other.graph.items():
            mine = self.graph.get(fp)
            self.graph[fp] = edges if mine is None else compact({**expand(mine), **expand(edges)})

    def count_state(self, max_states: int, progress: Progress | None, pending: Callable[[], int],
                    total: int | None = None) -> bool:
        """One more distinct state explored: progress every 500 states (so far, and so far +
        `pending()`, the transitions still to take, as a low estimate); True once `max_states`
        is reached, the run then marked cut short. `total`: the states explored by every
        process of a shared search (mmbits.emu.parallel), this one's included."""
        self.states += 1
        total = self.states if total is None else total
        if progress is not None and self.states % 500 == 0:
            progress(total, total + pending())
        if total >= max_states:
            self.complete = False
            self.cut_short = True
        return self.cut_short

    @property
    def ratio(self) -> float:
        """The share of the transitions enabled at explored states that were
        not run (asleep, or outside the persistent set)."""
        saved = self.slept + self.skipped
        return saved / max(saved + self.transitions, 1)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "states": self.states, "transitions": self.transitions,
                               "schedules": self.schedules, "pruned": self.pruned,
                               "reduction": {"sleep_sets": self.reduced, "persistent_sets": self.persistent,
                                             "queue_order": self.queue_order,
                                             "slept": self.slept, "skipped": self.skipped,
                                             "revisits": self.revisits, "ratio": round(self.ratio, 3)},
                               "end_states": len(self.terminals), "max_depth": self.max_depth,
                               **({"processes": self.processes, "explored_twice": self.twice,
                                   "replayed": self.replayed,
                                   "process_cpu_seconds": [round(c, 2) for c in self.process_cpu]}
                                  if len(self.processes) > 1 else {}),
                               "complete": self.complete, "cut_short": self.cut_short,
                               "seconds": round(self.seconds, 3)}
        if self.seed is not None:
            out["seed"] = self.seed
        if self.seconds > 0:
            out["states_per_second"] = round(self.states / self.seconds, 1)
        return out


# called with the work done so far and, when known, an estimate of the total
Progress = Callable[..., None]


def exhaustive(world: World, max_states: int = 200_000, progress: Progress | None = None,
               prune: bool = True, reduce: bool = True, persistent: bool = False, jobs: int = 1,
               canonical: bool = True) -> Exploration:
    """Every reachable state, depth-first, with state-hash pruning and sleep
    sets (Godefroid 1996): a transition independent of the one just taken
    (their footprints do not conflict, mmbits.emu.footprint) and already
    explored from the parent is not run again from the child -- the other
    order reaches the same state with the same findings. With state caching
    each visited state keeps the sleep set it was explored with; reached
    again with a smaller one, the transitions asleep then and awake now are
    explored from it (sleep sets alone never lose a state; caching must not
    either). reduce=False: state hashing only; prune=False: the full tree of
    schedules (both for checking the reductions on tiny cases).
    persistent (with reduce and prune): only a persistent set of threads
    from each state (mmbits.emu.persistent, dynamic partial-order reduction);
    off (the default: on simulate's default workload it explores 19% fewer
    states than sleep sets alone for twice the CPU; on 2 x 4 huge-pmd half
    the states for a little less), every thread not asleep runs from every
    state. jobs > 1 (with prune, without persistent): that many forked
    processes share one table of visited states (mmbits.emu.parallel).
    canonical (with prune, without persistent): states that differ only in
    the order of the deferred-free queue are one state (mmbits.emu.canonical,
    where a design's queue code allows it; `keyed`); off, states are told
    apart by every byte."""
    if reduce and prune and persistent:
        from mmbits.emu.persistent import exhaustive_persistent

        return exhaustive_persistent(world, max_states, progress)
    if jobs > 1 and prune:
        from mmbits.emu.parallel import exhaustive_parallel

        return exhaustive_parallel(world, jobs, max_states, progress, reduce, canonical=canonical)

    def run(w: World, merge: bool) -> Exploration:
        w.canon = QueueKey.of(w) if merge else None
        ex = Exploration("exhaustive", reduced=reduce, queue_order=w.canon is not None)
        start = time.perf_counter()
        root = w.key()
        ex.states = 1
        search(w, ex, Visited(root), max_states, progress, reduce=reduce, prune=prune)
        ex.schedules = count_paths(ex.graph, root)
        ex.graph = {}  # counted: not kept with the result
        ex.seconds = time.perf_counter() - start
        return ex

    return keyed(run, world, canonical and prune)


def keyed(run: Callable[[World, bool], Exploration], world: World, canonical: bool) -> Exploration:
    """run(world, merge) with the queue's orders merged (mmbits.emu.canonical)
    when `canonical`, on a clone; should a worker's batch crash part-way from
    a merged state (QueueOrderObserved: which pages it freed first depends on
    the order), again on `world` with every state told apart by its bytes."""
    if canonical:
        try:
            return run(world.clone(), True)
        except QueueOrderObserved:
            pass
    return run(world, False)


class Visited:
    """The states explored so far by one process, each with the sleep set it
    was explored with (the transitions never run from it); the few distinct
    sleep sets are kept once. mmbits.emu.parallel has the same interface over
    memory shared by several processes."""

    def __init__(self, root: int) -> None:
        self.table: dict[int, frozenset[str]] = {root: frozenset()}
        self.sleeps: dict[frozenset[str], frozenset[str]] = {}

    def visit(self, fp: int, asleep: frozenset[str]) -> frozenset[str] | None:
        """State `fp` reached with the transitions `asleep`: None when it is
        new (remembered with them); else the transitions asleep at the earlier
        visits and awake now (empty: nothing to explore again), the state then
        remembered with the transitions asleep both times."""
        before = self.table.get(fp)
        if before is None:
            self.table[fp] = self.sleeps.setdefault(asleep, asleep)
            return None
        awake = before - asleep
        if awake:
            both = before & asleep
            self.table[fp] = self.sleeps.setdefault(both, both)
        return awake

    def count(self) -> int:
        """Distinct states explored (by every process sharing the table)."""
        return len(self.table)


class StateTable(Protocol):
    def visit(self, fp: int, asleep: frozenset[str]) -> frozenset[str] | None: ...

    def count(self) -> int: ...


class Sharing(Protocol):
    """How searches in several processes hand work to each other (mmbits.emu.parallel)."""

    def offer(self, stack: list[_Frame]) -> None:
        """Called between transitions: give a pending transition of `stack` to a search without work."""

    def work(self) -> _Frame | None:
        """This search has nothing left: a frame handed over by another, or None when all are done."""


def search(world: World, ex: Exploration, visited: StateTable, max_states: int, progress: Progress | None,
           reduce: bool = True, prune: bool = True, turn: int = 0, share: Sharing | None = None,
           begin: bool = True) -> None:
    """The depth-first loop of exhaustive(), from `world` (in `visited`
    already), counting into `ex` (its states: those this search found new).
    `turn` rotates the order in which each state's transitions are taken
    (the processes of mmbits.emu.parallel start their searches apart);
    `share` hands pending transitions to other searches and takes theirs
    (begin=False: only those, nothing from `world`)."""
    # depth-first with one frame per depth: a child world is made (cloned)
    # only when it is explored, and the last child takes over its parent's
    # world, so memory holds one world per depth, not every pending sibling
    stack: list[_Frame] = []
    frame = _open(world, (), world.key(), {}, frozenset(), ex, turn) if begin else None
    if frame is not None:
        stack.append(frame)
    while True:
        if not stack:
            got = share.work() if share is not None else None
            if got is None:
                break
            stack.append(got)
        fr = stack[-1]
        if fr.next >= len(fr.todo):  # its last pending transition was handed over
            stack.pop()
            continue
        if share is not None and not ex.transitions % 16:
            share.offer(stack)
            if fr.next >= len(fr.todo):
                continue
        name = fr.todo[fr.next]
        fr.next += 1
        if fr.next == len(fr.todo):
            stack.pop()
            child = fr.world
        else:
            child = fr.world.clone()
        foot = Footprint() if reduce else None
        path = advance(child, name, ex, fr.sched, foot)
        last = fr.next == len(fr.todo)
        if child.m.st.crashed:
            if child.merged and name == WORKER:
                raise QueueOrderObserved(f"the worker crashed in {child.last_step.name} from a state with "
                                         "its queue's order merged")
            fr.edges[name] = None
            if last:
                ex.graph[fr.key] = compact(fr.edges)
            continue
        child_sleep: dict[str, Footprint] = {}
        if foot is not None:
            for z, zf in (*fr.sleep.items(), *fr.done.items()):
                if not zf.conflicts(foot):
                    child_sleep[z] = zf
            fr.done[name] = foot
        fp = child.key() if prune else ex.transitions
        fr.edges[name] = fp
        if last:  # every transition from it taken: its edges kept compact
            ex.graph[fr.key] = compact(fr.edges)
        awake = visited.visit(fp, frozenset(child_sleep))
        skip: frozenset[str] = frozenset()
        if awake is not None:
            if not awake:
                ex.pruned += 1
                continue
            # asleep at an earlier visit, awake now: explore those from it
            ex.revisits += 1
            skip = frozenset(n for n in child.enabled() if n not in awake)
        elif ex.count_state(max_states, progress, lambda: sum(len(f.todo) - f.next for f in stack),
                            visited.count()):
            break
        frame = _open(child, path, fp, child_sleep, skip, ex, turn)
        if frame is not None:
            stack.append(frame)


@dataclass
class _Frame:
    """A state being explored: its world, the transitions to take from it
    (in order), the footprints of those taken (later siblings sleep on them)."""

    world: World
    sched: tuple[str, ...]
    sleep: dict[str, Footprint]
    todo: list[str]
    edges: dict[str, int | None]
    key: int
    done: dict[str, Footprint] = field(default_factory=dict)
    next: int = 0


def resume(root: World, sched: tuple[str, ...], name: str, sleep: dict[str, Footprint], ex: Exploration) -> _Frame:
    """The frame that takes transition `name` from the state schedule `sched`
    leads to from `root` (replayed, not counted: another search handed it
    over), with the transitions asleep there."""
    w = root.clone()
    scratch = Exploration("replay")
    path: tuple[str, ...] = ()
    for t in sched:
        path = advance(w, t, scratch, path)
    ex.replayed += len(sched)
    key = w.key()
    return _Frame(w, sched, sleep, [name], open_edges(ex.graph, key), key)


def _open(w: World, sched: tuple[str, ...], fp: int, sleep: dict[str, Footprint], skip: frozenset[str],
          ex: Exploration, turn: int = 0) -> _Frame | None:
    """Start exploring a state: an end state gets its end checks (None: nothing
    to take); otherwise the frame of the transitions awake and not skipped
    (in the thread order rotated by `turn`)."""
    ex.max_depth = max(ex.max_depth, len(sched))
    names = w.enabled()
    edges = open_edges(ex.graph, fp)
    if not names:
        end(w, ex, sched)
        edges[QUIESCE] = None
        ex.graph[fp] = compact(edges)
        return None
    todo = [n for n in names if n not in sleep and n not in skip]
    if turn and len(todo) > 1:
        r = turn % len(todo)
        todo = todo[r:] + todo[:r]
    ex.slept += sum(1 for n in names if n in sleep)
    if not todo:
        ex.graph[fp] = compact(edges)
        return None
    return _Frame(w, sched, sleep, todo, edges, fp)


def advance(world: World, name: str, ex: Exploration, sched: tuple[str, ...],
            fp: Footprint | None = None) -> tuple[str, ...]:
    """One transition of any schedule mode: thread `name` steps, the
    exploration counts it and keeps its findings; returns the longer schedule."""
    events = world.step(name, fp)
    ex.transitions += 1
    path = (*sched, name)
    ex.record(events, path, world)
    ex.last_events = events
    return path


def end(world: World, ex: Exploration, sched: tuple[str, ...]) -> list[Event]:
    """The end of any schedule (nothing can run): end checks or a deadlock."""
    events = world.finish()
    ex.terminals.add(world.key())
    ex.record(events, (*sched, QUIESCE), world)
    return events


# a state's edges in the explored graph: a dict (thread -> the state it leads
# to, None for an end or a crash) while transitions are still being taken from
# it, then a flat tuple (thread, state, thread, state, ...): ~70 bytes a state
# instead of a dict's ~230 (the graph holds every explored state)
Edges = dict[str, "int | None"] | tuple[Any, ...]


def compact(edges: Edges) -> tuple[Any, ...]:
    """The edges as a flat tuple."""
    if isinstance(edges, tuple):
        return edges
    return tuple(x for pair in edges.items() for x in pair)


def expand(edges: Edges) -> dict[str, int | None]:
    """The edges as a dict."""
    if isinstance(edges, dict):
        return edges
    return dict(zip(edges[::2], edges[1::2], strict=True))


def open_edges(graph: dict[int, Edges], fp: int) -> dict[str, int | None]:
    """The edges of state fp as a dict to add to (a state explored again
    after a revisit, or from a hand-over, may have compact ones)."""
    edges = graph.get(fp)
    if isinstance(edges, dict):
        return edges
    out = graph[fp] = expand(edges) if edges is not None else {}
    return out


def count_paths(graph: dict[int, Edges] | dict[int, dict[str, int | None]], root: int) -> int:
    """Complete schedules from the root through the explored state graph
    (each edge a transition run; None an end or a crash): the graph is
    acyclic (every step consumes a step of some thread's program), so count
    bottom-up; states left unexplored (a bounded run) count as one. With
    partial-order reduction an order of independent steps that was not run
    is not counted: each path stands for its reorderings."""
    memo: dict[int, int] = {}
    stack: list[tuple[int, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if node in memo:
            continue
        edges = graph.get(node)
        if edges is None:
            memo[node] = 1
            continue
        targets = edges[1::2] if isinstance(edges, tuple) else edges.values()
        if not ready:
            stack.append((node, True))
            stack.extend((e, False) for e in targets if e is not None and e not in memo)
            continue
        memo[node] = sum(1 if e is None else memo.get(e, 1) for e in targets)
    return memo.get(root, 1)


# picks the next thread among the runnable ones (called just before the step);
# QUIESCE ends the schedule with the end-of-run checks, None stops it
Chooser = Callable[[World, list[str]], "str | None"]
# called after each step (and after the end checks) with the thread and its
# events; returning True stops the schedule
Observer = Callable[[str, list[Event]], bool]


def drive(world: World, chooser: Chooser, ex: Exploration, observe: Observer | None = None) -> tuple[str, ...]:
    """Play one schedule on `world`: the one loop of every single-schedule
    mode (sequential, random, a given schedule, replay). When nothing can run
    the schedule ends with World.finish() (end checks, or a deadlock)."""
    sched: tuple[str, ...] = ()
    while True:
        names = world.enabled()
        name = chooser(world, names) if names else QUIESCE
        if name is None:
            break
        if name == QUIESCE:
            events = end(world, ex, sched)
            sched = (*sched, QUIESCE)
            if observe is not None:
                observe(QUIESCE, events)
            break
        sched = advance(world, name, ex, sched)
        events = ex.last_events
        if observe is not None and observe(name, events):
            break
        if world.m.st.crashed:
            break
    ex.max_depth = max(ex.max_depth, len(sched))
    return sched


def random_runs(world: World, schedules: int = 100, seed: int = 0, progress: Progress | None = None) -> Exploration:
    """Seeded random schedules from the same initial state."""
    ex = Exploration("random", seed=seed, complete=False)
    rng = random.Random(seed)
    start = time.perf_counter()
    seen: set[int] = set()
    for n in range(schedules):
        w = world.clone()

        def observe(name: str, events: list[Event], w: World = w) -> bool:
            if name != QUIESCE:
                seen.add(w.fingerprint())
            return False

        drive(w, lambda _w, names: rng.choice(names), ex, observe)
        ex.schedules += 1
        if progress is not None:
            progress(n + 1)
    ex.states = len(seen)
    ex.seconds = time.perf_counter() - start
    return ex


@dataclass
class Replayed:
    steps: list[ScheduleStep]
    event: Event | None
    before: bytes | None
    after: bytes | None
    step_index: int | None
    machine: Machine


def replay(make_world: Callable[[], World], schedule: tuple[str, ...], key: tuple[str, str] | None = None) -> Replayed:
    """Play a schedule on a fresh world with the write journal on; return the
    readable steps and, for the finding `key`, the page bytes around it."""
    w = make_world()
    m = w.m
    m.trace = True
    m.mem.journal = []
    steps: list[ScheduleStep] = []
    out = Replayed(steps, None, None, None, None, m)
    todo = iter(schedule)
    snapshot = b""

    def choose(world: World, names: list[str]) -> str | None:
        nonlocal snapshot
        name = next(todo, None)
        if name is not None and name != QUIESCE and name not in names:
            steps.append(ScheduleStep(name, "(not runnable: the schedule does not apply)"))
            return None
        snapshot = bytes(m.mem.pages)
        m.notes = []
        mark(0)
        return name

    def observe(name: str, events: list[Event]) -> bool:
        nonlocal snapshot
        if name == QUIESCE:
            # the end checks run without a choice (nothing could run): only their own notes
            steps.append(ScheduleStep("-", "end of run: leak and dangling-table checks", tuple(m.notes[noted:])))
        else:
            steps.append(ScheduleStep(name, w.last_step.label(m.mem.describe), tuple(m.notes)))
            if w.iommu_notes:
                n = len(w.iommu_notes)
                steps.append(ScheduleStep("iommu", f"walks the scenario's VAs: caches {n} "
                                          f"paging-structure entr{'y' if n == 1 else 'ies'}", tuple(w.iommu_notes)))
        for ev in events:
            if out.event is None and (key is None or ev.key == key):
                out.event = ev
                out.step_index = len(steps) - 1
                if ev.pfn is not None:
                    size = m.mem.size
                    out.before = snapshot[ev.pfn * size:(ev.pfn + 1) * size]
                    out.after = m.mem.page_bytes(ev.pfn)
        mark(len(m.notes))
        snapshot = bytes(m.mem.pages)
        return out.event is not None and key is not None

    noted = 0

    def mark(n: int) -> None:
        nonlocal noted
        noted = n

    drive(w, choose, Exploration("replay"), observe)
    return out
