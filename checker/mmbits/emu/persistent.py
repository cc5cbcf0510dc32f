"""Exhaustive exploration that explores, at each state, only a persistent set
of threads: stateful dynamic partial-order reduction with sleep sets.

Why: state hashing alone still runs every thread from every state, and sleep
sets only skip transitions, never states; most interleavings of two CPUs'
operations reach states no other order reaches only through steps that do not
interact. Dynamic partial-order reduction (Flanagan & Godefroid, POPL 2005)
starts each state with one thread and adds another only when a step executed
later on the path races with an earlier one of another thread: their
footprints (mmbits.emu.footprint) conflict and nothing orders them. Every
end state (finished or deadlocked) and every sequence of dependent steps is
still reached, so every finding is: a step's events depend only on what it
reads, and a reordering of independent steps leaves what each reads alone.

The pitfalls of combining this with state caching, and what is done here:

- A state reached again is not explored again, so races between the steps of
  its subtree and the steps on the current path would be missed. Each state
  keeps a summary (after Yang, Chen, Gopalakrishnan, Kirby, SPIN 2008): per
  thread, the union of the footprints of the steps of its explored subtree
  that no earlier step of the subtree races with (the others' races were
  settled inside the subtree, whatever the path to it); reaching it again,
  every step on the path that conflicts with a thread's summary and does not
  happen before that thread's last step gets that thread as a backtrack
  point (every such step, not only the last: the summary has lost the order
  inside the subtree, so the conservative choice).
- Sleep sets: a state explored with sleep set S is reused only when reached
  with a sleep set containing S; otherwise it is explored again as a new
  node (it ran no thread of S, which may be awake now).
- Ignoring (a thread postponed forever round a cycle) cannot happen: every
  step consumes a step of some thread's program, so the state graph is
  acyclic, and a state is reused only once its subtree is complete.
- A thread that never runs on a path -- blocked at a deadlock, or stopped by
  a crash (a BUG ends the run) -- has its pending step treated as dependent
  on every step, so the orders in which it would have run first are
  explored; a summary carries that as a footprint that conflicts with all.
- A backtrack point at a state where the racing thread cannot run (a lock
  it waits on, the worker with no work) adds every thread that can run there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from mmbits.emu.explore import WORKER, Exploration, Progress, World, advance, count_paths, end
from mmbits.emu.footprint import Footprint

# a thread's summary: the union of the footprints of its steps in a subtree
Summary = dict[str, Footprint]


def _everything() -> Footprint:
    """The footprint of a step that never ran (blocked, or cut off by a
    crash): assumed to conflict with every other step."""
    fp = Footprint()
    fp.crashed = True
    return fp


EVERYTHING = _everything()


@dataclass
class _Node:
    """A state on the depth-first path: its world, the threads that can run,
    the backtrack set (threads to run from it), those done with their
    footprints, its sleep set, and the step being explored from it (the
    event at this depth, with its vector clock: for each thread, the depth
    of that thread's last step that happens before it)."""

    world: World
    sched: tuple[str, ...]
    key: int
    sleep: dict[str, Footprint]
    enabled: list[str]
    back: set[str] = field(default_factory=set)
    done: dict[str, Footprint] = field(default_factory=dict)
    # steps in the subtree no later step of the subtree races with (the summary to keep)
    exposed: list[tuple[str, Footprint]] = field(default_factory=list)
    edges: dict[str, int | None] = field(default_factory=dict)
    thread: str | None = None
    foot: Footprint | None = None
    clock: dict[str, int] = field(default_factory=dict)


def _summarise(exposed: tuple[tuple[str, Footprint], ...]) -> Summary:
    """Per thread, the union of its exposed steps' footprints (each once)."""
    per: dict[str, dict[int, Footprint]] = {}
    for thread, fp in exposed:
        per.setdefault(thread, {})[id(fp)] = fp
    return {thread: Footprint.union(list(feet.values())) for thread, feet in per.items()}


class _Search:
    def __init__(self, world: World, max_states: int, progress: Progress | None) -> None:
        self.ex = Exploration("exhaustive", reduced=True, persistent=True)
        self.max_states = max_states
        self.progress = progress
        self.stack: list[_Node] = []
        # state -> [sleep set, summary] of each completed exploration of it; the
        # summary is kept as the exposed steps and made into unions when reused
        self.visited: dict[int, list[list[Any]]] = {}
        self.seen: set[int] = set()
        # end states reached -> the threads blocked there (a deadlock)
        self.ends: dict[int, frozenset[str]] = {}
        # state -> thread -> child state (None: an end, a crash) for counting schedules
        self.graph: dict[int, dict[str, int | None]] = {}
        self.root = world.fingerprint()
        self.world = world

    # -- happens-before and races ------------------------------------------------------------
    def _clock_of(self, thread: str, below: int) -> dict[str, int]:
        """The vector clock of `thread`'s last step on the path above depth `below`."""
        for j in range(below - 1, -1, -1):
            nd = self.stack[j]
            if nd.thread == thread:
                return nd.clock
        return {}

    def _backtrack(self, j: int, thread: str) -> None:
        """Run `thread` from the state at depth j too (every thread that can
        run there when it cannot)."""
        nd = self.stack[j]
        if thread in nd.enabled:
            nd.back.add(thread)
        else:
            nd.back.update(nd.enabled)

    def _expose(self, above: int, thread: str, fp: Footprint) -> None:
        """A step (or a summary of steps) of `thread` that no step after depth
        `above` races with: part of the summary of every state on the path
        below that depth (what a later visit of that state must race against
        the path that leads there)."""
        item = (thread, fp)  # one tuple shared by every state it is exposed to
        for d in range(above + 1, len(self.stack)):
            self.stack[d].exposed.append(item)

    def _event(self, n: int, thread: str, fp: Footprint) -> None:
        """The step of `thread` at depth n ran with footprint fp: its clock,
        and a backtrack point at the last earlier step it races with (FG05:
        dependent, of another thread, not happening before `thread`)."""
        stack = self.stack
        prev = self._clock_of(thread, n)
        clock = dict(prev)
        raced = -1
        for j in range(n - 1, -1, -1):
            e = stack[j]
            if e.thread == thread or e.foot is None or not e.foot.conflicts(fp):
                continue
            if raced < 0 and j > prev.get(e.thread or "", -1):
                self._backtrack(j, thread)
                raced = j
            for t, v in e.clock.items():
                if v > clock.get(t, -1):
                    clock[t] = v
        clock[thread] = n
        stack[n].clock = clock
        self._expose(raced, thread, fp)

    def _pending(self, threads: frozenset[str]) -> None:
        """Threads whose next step never runs on this path (a deadlock, a
        crash): that step conflicts with anything, so the last step of
        another thread not ordered before it races with it."""
        depth = len(self.stack)
        for q in sorted(threads):
            prev = self._clock_of(q, depth)
            raced = -1
            for j in range(depth - 1, -1, -1):
                e = self.stack[j]
                if e.thread is not None and e.thread != q and j > prev.get(e.thread, -1):
                    self._backtrack(j, q)
                    raced = j
                    break
            self._expose(raced, q, EVERYTHING)

    def _summary_races(self, summary: Summary) -> None:
        """A reused state's subtree against the path: every step on it that
        conflicts with a thread's summary and does not happen before that
        thread's last step on the path gets the thread as a backtrack point
        (the summary has lost the order inside the subtree, so not only the
        last such step); the states below the first such step see the
        summary as exposed."""
        depth = len(self.stack)
        for q, fp in summary.items():
            prev = self._clock_of(q, depth)
            lowest = -1
            for j in range(depth - 1, -1, -1):
                e = self.stack[j]
                if e.thread is None or e.thread == q or j <= prev.get(e.thread, -1):
                    continue
                if e.foot is not None and e.foot.conflicts(fp):
                    self._backtrack(j, q)
                    lowest = j
            self._expose(lowest, q, fp)

    # -- the search -------------------------------------------------------------------------
    def _open(self, w: World, sched: tuple[str, ...], key: int, sleep: dict[str, Footprint]) -> _Node | None:
        """A state reached. Reused (None) when explored before with no larger
        sleep set -- its summary's races recorded -- or an end state reached before (its blocked threads' races
        again); an end state's checks; or a new node with its first awake
        thread to run (none: every thread that can run is asleep)."""
        ex = self.ex
        blocked = self.ends.get(key)
        if blocked is not None:
            ex.pruned += 1
            self._pending(blocked)
            return None
        names = frozenset(sleep)
        for entry in self.visited.get(key, ()):
            if entry[0] <= names:
                ex.pruned += 1
                if isinstance(entry[1], tuple):
                    entry[1] = _summarise(entry[1])
                self._summary_races(entry[1])
                return None
        if key in self.seen:
            ex.revisits += 1
        else:
            self.seen.add(key)
            ex.count_state(self.max_states, self.progress,
                           lambda: sum(len(nd.back) - len(nd.done) for nd in self.stack))
        ex.max_depth = max(ex.max_depth, len(sched))
        enabled = w.enabled()
        if not enabled:
            end(w, ex, sched)
            self.graph.setdefault(key, {})["-"] = None
            blocked = frozenset(w.blocked()) if not w.m.st.crashed else frozenset()
            self.ends[key] = blocked
            self._pending(blocked)
            return None
        nd = _Node(w, sched, key, sleep, enabled)
        self.graph.setdefault(key, {})
        awake = [n for n in enabled if n not in sleep]
        ex.slept += len(enabled) - len(awake)
        if not awake:  # sleep-set blocked: complete as it is
            self.visited.setdefault(key, []).append([names, {}])
            return None
        nd.back.add(awake[0])
        return nd

    def _close(self, nd: _Node) -> None:
        """A node's subtree is complete: remember it with its exposed steps
        (made into a summary if the state is reached again), count the threads
        that could run and were not run."""
        self.visited.setdefault(nd.key, []).append([frozenset(nd.sleep), tuple(nd.exposed)])
        self.ex.skipped += sum(1 for n in nd.enabled if n not in nd.done and n not in nd.sleep)

    def run(self) -> Exploration:
        ex = self.ex
        start = time.perf_counter()
        stack = self.stack
        first = self._open(self.world, (), self.root, {})
        if first is not None:
            stack.append(first)
        while stack and not ex.cut_short:
            nd = stack[-1]
            if nd.thread is not None:
                assert nd.foot is not None
                nd.done[nd.thread] = nd.foot
                nd.thread = None
            todo = [n for n in nd.enabled if n in nd.back and n not in nd.done and n not in nd.sleep]
            if not todo:
                stack.pop()
                self._close(nd)
                continue
            name = todo[0]
            child = nd.world.clone()
            foot = Footprint()
            path = advance(child, name, ex, nd.sched, foot)
            nd.thread, nd.foot = name, foot
            n = len(stack) - 1
            self._event(n, name, foot)
            edges = self.graph.setdefault(nd.key, {})
            if child.m.st.crashed:
                edges[name] = None
                pending = {q for q, prog in child.threads.items() if prog and q != name}
                if child.m.st.work_pending and name != WORKER:
                    pending.add(WORKER)
                self._pending(frozenset(pending))
                foot.freeze()
                continue
            sleep = {z: zf for z, zf in (*nd.sleep.items(), *nd.done.items()) if not zf.conflicts(foot)}
            foot.freeze()  # kept from now on (done, sleep sets, summaries): compact
            key = child.fingerprint()
            edges[name] = key
            sub = self._open(child, path, key, sleep)
            if sub is not None:
                stack.append(sub)
        ex.schedules = count_paths(self.graph, self.root)
        ex.seconds = time.perf_counter() - start
        return ex


def exhaustive_persistent(world: World, max_states: int = 200_000, progress: Progress | None = None) -> Exploration:
    """Every end state and finding of the exhaustive search, exploring a
    persistent set of threads at each state (see the module docstring)."""
    return _Search(world, max_states, progress).run()
