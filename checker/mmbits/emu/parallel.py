"""Exhaustive exploration by several forked processes sharing one table of
visited states: the second core explores while the first does.

Why this way: splitting the search into subtrees at a shallow depth gives
processes subtrees that overlap almost entirely (two CPUs' interleavings meet
again after a few steps), so each would explore most states. Here every
process runs the same depth-first search with sleep sets and state caching
(explore.search) from the initial state, the order in which it takes each
state's transitions rotated by its number, so the searches start apart; and
the table that says which states were explored, and with which sleep set, is
one table in memory shared by the processes (anonymous shared mmap, one lock
around each look-up). A state is claimed by the first process that reaches
it; the others prune it. So no state is explored twice (only again, for the
transitions asleep at its first visit and awake at a later one, as in one
process: `revisits`), and a process finishes when everything it reaches is
claimed -- the work divides itself without a queue.

Soundness, the same argument as one process's: a state in the table with
sleep set S will have every transition not in S explored from it (by the
process that claimed it or that lowered S), whatever the order in which
processes do it; a process prunes a state only when its own sleep set
contains S (explore.Visited.visit); the state graph is acyclic (each step
consumes a step of a program), so no process waits for a state another one
is still exploring. tests/emu/test_por.py compares the merged result with
one process's and with every schedule played out.

What is merged: states (each counted by the process that claimed it: the
sum is the distinct states), transitions, pruned, slept, revisits, end
states (union), findings (each kept with its best schedule, the same rule
as one process's; between equal ones the smaller schedule), the state graph
for counting schedules. The schedule shown for a finding can differ from one
process's (another shortest one): which process reaches it first depends on
timing.

The table has a fixed size (twice the state bound, at most 2^22 slots: 40
MB); a state that finds no free slot within a few probes is kept in the
process's own table, where the others cannot see it (they may explore it
again: slower, never unsound).
"""

from __future__ import annotations

import mmap
import os
import pickle
import signal
import time
from typing import Any

from mmbits.emu.explore import WORKER, Exploration, Progress, Visited, World, count_paths, search

# a look-up gives up on the shared table after this many occupied slots
PROBES = 64
MAX_SLOTS = 1 << 22


class SharedVisited:
    """explore.Visited over memory shared by forked processes: per slot the
    state's fingerprint (0: empty) and its sleep set as a bit mask of thread
    names; a counter of the states claimed; one lock."""

    def __init__(self, names: list[str], max_states: int, root: int) -> None:
        import multiprocessing

        slots = 1 << 16
        while slots < 2 * max_states and slots < MAX_SLOTS:
            slots <<= 1
        self.mask = slots - 1
        self._maps = [mmap.mmap(-1, slots * 8), mmap.mmap(-1, slots * 2), mmap.mmap(-1, 8)]
        self.keys = memoryview(self._maps[0]).cast("q")
        self.sleeps = memoryview(self._maps[1]).cast("H")
        self.counter = memoryview(self._maps[2]).cast("q")
        self.lock = multiprocessing.get_context("fork").Lock()
        self.bits = {name: 1 << i for i, name in enumerate(names)}
        self.names = names
        self.sets: dict[int, frozenset[str]] = {}
        # the states that found no free slot: this process's own
        self.overflow = Visited(root)
        self.visit(root, frozenset())

    def _set(self, bits: int) -> frozenset[str]:
        out = self.sets.get(bits)
        if out is None:
            out = self.sets[bits] = frozenset(n for n in self.names if self.bits[n] & bits)
        return out

    def visit(self, fp: int, asleep: frozenset[str]) -> frozenset[str] | None:
        """As explore.Visited.visit, the look-up and the update one step under the lock."""
        key = fp or 1
        bits = 0
        for name in asleep:
            bits |= self.bits[name]
        keys, sleeps, mask = self.keys, self.sleeps, self.mask
        i = (key ^ (key >> 29)) & mask
        with self.lock:
            for _ in range(PROBES):
                k = keys[i]
                if k == 0:
                    keys[i] = key
                    sleeps[i] = bits
                    self.counter[0] += 1
                    return None
                if k == key:
                    before = sleeps[i]
                    awake = before & ~bits
                    if awake:
                        sleeps[i] = before & bits
                    return self._set(awake)
                i = (i + 1) & mask
            out = self.overflow.visit(fp, asleep)
            if out is None:
                self.counter[0] += 1
            return out

    def count(self) -> int:
        return int(self.counter[0])

    def close(self) -> None:
        for view in (self.keys, self.sleeps, self.counter):
            view.release()
        for m in self._maps:
            m.close()


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def exhaustive_parallel(world: World, jobs: int, max_states: int = 200_000, progress: Progress | None = None,
                        reduce: bool = True) -> Exploration:
    """explore.exhaustive(world, ...) by `jobs` processes (this one and
    jobs - 1 forked ones) sharing the table of visited states; the same
    states, end states and findings (see the module docstring)."""
    names = sorted({*world.threads, WORKER})
    if jobs < 2 or not hasattr(os, "fork") or len(names) > 16:
        from mmbits.emu.explore import exhaustive

        return exhaustive(world, max_states, progress, reduce=reduce)
    start = time.perf_counter()
    root = world.fingerprint()
    table = SharedVisited(names, max_states, root)
    children: list[tuple[int, int]] = []
    try:
        for turn in range(1, jobs):
            children.append(_fork(world, table, max_states, reduce, turn))
        ex = Exploration("exhaustive", reduced=reduce, states=1)
        search(world, ex, table, max_states, progress, reduce=reduce)
        per = [ex.states]
        while children:
            pid, fd = children.pop(0)
            sub = _collect(pid, fd)
            per.append(sub.states)
            ex.absorb(sub)
    finally:
        for pid, fd in children:  # this process failed or was interrupted: stop the others
            os.close(fd)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        table.close()
    ex.processes = per
    ex.schedules = count_paths(ex.graph, root)
    ex.graph = {}
    ex.seconds = time.perf_counter() - start
    return ex


def _fork(world: World, table: SharedVisited, max_states: int, reduce: bool, turn: int) -> tuple[int, int]:
    """Start process number `turn`: its search, then its Exploration pickled
    into a pipe (or the error that stopped it); never returns in the child."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid:
        os.close(wfd)
        return pid, rfd
    code = 1
    try:
        os.close(rfd)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the first process handles ^C and stops this one
        sub = Exploration("exhaustive", reduced=reduce)
        payload: Any
        try:
            search(world, sub, table, max_states, None, reduce=reduce, turn=turn)
            sub.last_events = []
            payload = sub
        except Exception as exc:  # noqa: BLE001 - handed to the first process, which raises it
            payload = f"{type(exc).__name__}: {exc}"
        with os.fdopen(wfd, "wb") as out:
            pickle.dump(payload, out, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    finally:
        os._exit(code)


def _collect(pid: int, fd: int) -> Exploration:
    """A forked process's Exploration (read before waiting: the pipe would fill)."""
    with os.fdopen(fd, "rb") as inp:
        data = inp.read()
    _pid, status = os.waitpid(pid, 0)
    sub = pickle.loads(data) if data else None
    if not isinstance(sub, Exploration):
        why = sub if isinstance(sub, str) else f"exit status {status}"
        raise RuntimeError(f"the second exploring process failed ({why})")
    return sub
