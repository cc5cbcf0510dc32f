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

The table has a fixed size (twice the state bound, at most 2^21 slots: 20
MB); a state that finds no free slot within a few probes is kept in the
process's own table, where the others cannot see it (they may explore it
again: slower, never unsound).
"""

from __future__ import annotations

import mmap
import os
import pickle
import select
import signal
import time
from typing import Any

from mmbits.emu.canonical import QueueKey
from mmbits.emu.explore import (
    WORKER,
    Exploration,
    Progress,
    QueueOrderObserved,
    Visited,
    World,
    _Frame,
    count_paths,
    keyed,
    resume,
    search,
)

# a look-up gives up on the shared table after this many occupied slots
PROBES = 64
MAX_SLOTS = 1 << 21
MIN_SLOTS = 1 << 16


class SharedVisited:
    """explore.Visited over memory shared by forked processes: per slot the
    state's fingerprint (0: empty) and its sleep set as a bit mask of thread
    names; a counter of the states claimed; one lock."""

    def __init__(self, names: list[str], max_states: int, root: int) -> None:
        import multiprocessing

        slots = MIN_SLOTS
        while slots < 2 * max_states and slots < MAX_SLOTS:
            slots <<= 1
        self.mask = slots - 1
        self._maps = [mmap.mmap(-1, slots * 8), mmap.mmap(-1, slots * 2), mmap.mmap(-1, 16)]
        self.keys = memoryview(self._maps[0]).cast("q")
        self.sleeps = memoryview(self._maps[1]).cast("H")
        self.counter = memoryview(self._maps[2]).cast("q")
        self.lock = multiprocessing.get_context("fork").Lock()
        self.bits = {name: 1 << i for i, name in enumerate(names)}
        self.names = names
        self.sets: dict[int, frozenset[str]] = {}
        # the states that found no free slot: this process's own
        self.overflow = Visited(root)
        self.root = root
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
                    self.counter[1] += 1
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
        """The states claimed by every process (one found in two overflows twice)."""
        return int(self.counter[0])

    def own(self) -> set[int]:
        """The states this process keeps apart (no free slot)."""
        return {fp for fp in self.overflow.table if fp != self.root}

    def distinct(self, owns: list[set[int]]) -> int:
        """The distinct states claimed, given each process's own()."""
        return int(self.counter[1]) + len(set().union(*owns))

    def close(self) -> None:
        for view in (self.keys, self.sleeps, self.counter):
            view.release()
        for m in self._maps:
            m.close()


BUSY, IDLE, GIVEN, DONE = 0, 1, 2, 3


class Share:
    """explore.Sharing between the processes: per process its state in
    shared memory (BUSY; IDLE: asking for work; GIVEN: work is on its way;
    DONE) and a pipe it reads handed-over transitions from. A busy search
    looks every few transitions for an idle one and gives it the last pending
    transition of its shallowest state (the largest subtree left) with the
    footprints asleep there; the idle one replays the schedule to that state
    and explores from it. All are done when none is busy or about to be, and
    nothing is left in a pipe (a giver writes before it can become idle)."""

    def __init__(self, jobs: int, table: SharedVisited) -> None:
        self._map = mmap.mmap(-1, 8 * jobs)
        self.state = memoryview(self._map).cast("q")
        self.pipes = [os.pipe() for _ in range(jobs)]
        self.lock = table.lock
        self.me = 0
        self.root: World | None = None
        self.ex: Exploration | None = None
        self.children: list[int] = []  # in the first process: the forked ones
        self.fds = [fd for pair in self.pipes for fd in pair]  # open in this process
        self.parent = os.getpid()

    def start(self, me: int, root: World, ex: Exploration) -> None:
        """In process `me`: keep its own pipe (its write end too: the pipe never
        reads as ended when the others exit) and the others' write ends."""
        self.me, self.root, self.ex = me, root, ex
        for j, (rfd, _wfd) in enumerate(self.pipes):
            if j != me:
                os.close(rfd)
        self.fds = [self.pipes[me][0]] + [wfd for _rfd, wfd in self.pipes]

    def offer(self, stack: list[_Frame]) -> None:
        if self.me and os.getppid() != self.parent:
            raise RuntimeError("the first exploring process is gone")
        state = self.state
        for j in range(len(state)):
            if j == self.me or state[j] != IDLE:
                continue
            fr = next((f for f in stack if f.next < len(f.todo)), None)
            if fr is None:
                return
            with self.lock:
                if state[j] != IDLE:
                    continue
                state[j] = GIVEN
            name = fr.todo.pop()
            sleep = {**fr.sleep, **fr.done}
            data = pickle.dumps((fr.sched, name, sleep), protocol=pickle.HIGHEST_PROTOCOL)
            _write_all(self.pipes[j][1], len(data).to_bytes(8, "little") + data)

    def work(self) -> _Frame | None:
        state, me = self.state, self.me
        rfd = self.pipes[me][0]
        state[me] = IDLE
        while True:
            ready, _w, _x = select.select([rfd], [], [], 0.002)
            if me and os.getppid() != self.parent:  # the first process is gone (killed): stop
                state[me] = DONE
                return None
            for j, pid in enumerate(self.children, start=1):  # the first process: a dead one never finishes
                if state[j] != DONE and pid and os.waitpid(pid, os.WNOHANG)[0]:
                    self.children[j - 1] = 0  # reaped
                    if state[j] != DONE:
                        raise RuntimeError("the second exploring process died")
            if not ready and all(state[j] in (IDLE, DONE) for j in range(len(state)) if j != me):
                # nobody can give any more; a giver wrote before it became idle
                ready, _w, _x = select.select([rfd], [], [], 0)
                if not ready:
                    state[me] = DONE
                    return None
            if ready:
                size = int.from_bytes(_read_all(rfd, 8), "little")
                sched, name, sleep = pickle.loads(_read_all(rfd, size))
                state[me] = BUSY
                assert self.root is not None and self.ex is not None
                return resume(self.root, sched, name, sleep, self.ex)

    def finish(self) -> None:
        """This search stops (done or cut short): never wait for it."""
        self.state[self.me] = DONE

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.state.release()
        self._map.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_all(fd: int, size: int) -> bytes:
    parts = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            raise EOFError("a handed-over transition was cut off")
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def exhaustive_parallel(world: World, jobs: int, max_states: int = 200_000, progress: Progress | None = None,
                        reduce: bool = True, handed_only: bool = False, canonical: bool = True) -> Exploration:
    """explore.exhaustive(world, ...) by `jobs` processes (this one and
    jobs - 1 forked ones) sharing the table of visited states and handing
    pending transitions to each other; the same states, end states and
    findings (see the module docstring). `handed_only`: the forked processes
    start with nothing and explore only what is handed to them (tests).
    `canonical`: the visited-state key of explore.exhaustive (mmbits.emu.canonical)."""
    names = sorted({*world.threads, WORKER})
    if jobs < 2 or not hasattr(os, "fork") or len(names) > 16:
        from mmbits.emu.explore import exhaustive

        return exhaustive(world, max_states, progress, reduce=reduce, canonical=canonical)
    return keyed(lambda w, merge: _parallel(w, jobs, max_states, progress, reduce, handed_only, merge), world,
                 canonical)


def _parallel(world: World, jobs: int, max_states: int, progress: Progress | None, reduce: bool,
              handed_only: bool, merge: bool) -> Exploration:
    """exhaustive_parallel() with the queue's orders merged or not (`merge`)."""
    names = sorted({*world.threads, WORKER})
    world.canon = QueueKey.of(world) if merge else None
    start = time.perf_counter()
    root = world.key()
    table = SharedVisited(names, max_states, root)
    share = Share(jobs, table)
    children: dict[int, int] = {}
    try:
        for turn in range(1, jobs):
            pid, fd = _fork(world, table, share, max_states, reduce, -1 if handed_only else turn)
            children[pid] = fd
        ex = Exploration("exhaustive", reduced=reduce, states=1, queue_order=world.canon is not None)
        share.start(0, world.clone(), ex)
        share.children = list(children)
        cpu = time.process_time()
        try:
            search(world, ex, table, max_states, progress, reduce=reduce, share=share)
        finally:
            share.finish()
        ex.process_cpu = [time.process_time() - cpu]
        per, owns = [ex.states], [table.own()]
        for pid in list(children):
            sub, own = _collect(pid, children.pop(pid))
            per.append(sub.states)
            owns.append(own)
            ex.absorb(sub)
            ex.process_cpu += sub.process_cpu
        ex.states = table.distinct(owns)
        ex.twice = sum(per) - ex.states
    finally:
        for pid, fd in children.items():  # this process failed or was interrupted: stop the others
            os.close(fd)
            _reap(pid, kill=True)
        share.close()
        table.close()
    ex.processes = per
    ex.schedules = count_paths(ex.graph, root)
    ex.graph = {}
    ex.seconds = time.perf_counter() - start
    return ex


def _fork(world: World, table: SharedVisited, share: Share, max_states: int, reduce: bool,
          turn: int) -> tuple[int, int]:
    """Start process number `turn` (-1: number 1, starting with nothing): its
    search, then its Exploration and its own states pickled into a pipe (or
    the error that stopped it); never returns in the child."""
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
            share.start(abs(turn), world.clone(), sub)
            cpu = time.process_time()
            search(world, sub, table, max_states, None, reduce=reduce, turn=abs(turn), share=share,
                   begin=turn > 0)
            sub.process_cpu = [time.process_time() - cpu]
            sub.last_events = []
            payload = (sub, table.own())
        except Exception as exc:  # noqa: BLE001 - handed to the first process, which raises it
            payload = f"{type(exc).__name__}: {exc}"
        finally:
            share.finish()
        with os.fdopen(wfd, "wb") as out:
            pickle.dump(payload, out, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    finally:
        os._exit(code)


def _collect(pid: int, fd: int) -> tuple[Exploration, set[int]]:
    """A forked process's Exploration and own states (read before waiting: the pipe would fill)."""
    with os.fdopen(fd, "rb") as inp:
        data = inp.read()
    status = _reap(pid)
    got = pickle.loads(data) if data else None
    if not isinstance(got, tuple):
        why = got if isinstance(got, str) else f"exit status {status}"
        if why.startswith(QueueOrderObserved.__name__):
            raise QueueOrderObserved(why)
        raise RuntimeError(f"the second exploring process failed ({why})")
    return got


def _reap(pid: int, kill: bool = False) -> int | None:
    """Wait for a forked process (killed first with `kill`); None if it was reaped already."""
    try:
        if kill:
            os.kill(pid, signal.SIGKILL)
        return os.waitpid(pid, 0)[1]
    except (ChildProcessError, ProcessLookupError):
        return None
