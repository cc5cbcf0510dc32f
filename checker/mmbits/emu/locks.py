"""init_mm's mmap_lock as an object of the model: an rwsem with readers, one
writer, and writers queued in arrival order (kernel/locking/rwsem.c: a
reader that finds a waiting writer waits too -- down_read() and
down_read_trylock() fail on RWSEM_FLAG_WAITERS -- so a writer is not starved).

A step that cannot take the lock does not run: the thread is blocked, and
`World.enabled()` leaves it out. When no thread can run and some still have
steps left, that is a deadlock (mmbits.emu.explore reports it with the
schedule that led there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmbits.emu.steps import Step, step

if TYPE_CHECKING:
    from mmbits.emu.machine import Machine

Steps = list[Step]


class LockSteps:
    """The lock steps every design has (mixed into mmbits.emu.design.Design)."""

    def can_run(self, m: Machine, thread: str, nxt: Step) -> bool:
        """Whether `thread` may run its next step now (False: it sleeps on a lock)."""
        st = m.st
        if nxt.name == "mmap_read_lock":
            return not st.mmap_writer and not st.mmap_waiters
        if nxt.name == "mmap_write_acquire":
            return not st.mmap_writer and not st.mmap_readers and st.mmap_waiters[:1] == (thread,)
        return True

    @staticmethod
    def lock_state(m: Machine) -> str:
        st = m.st
        held = (f"held for write by {st.mmap_writer}" if st.mmap_writer else
                f"held for read by {', '.join(st.mmap_readers)}" if st.mmap_readers else "free")
        waiting = f", writers queued: {', '.join(st.mmap_waiters)}" if st.mmap_waiters else ""
        return f"init_mm.mmap_lock {held}{waiting}"

    @step("mmap_read_lock")
    def st_mmap_read_lock(self, m: Machine, t: str) -> Steps:
        """mmap_read_lock(&init_mm) (runs only when can_run() allows it)."""
        m.st.mmap_readers = (*m.st.mmap_readers, t)
        m.note(f"mmap_read_lock(&init_mm): {self.lock_state(m)}")
        return []

    @step("mmap_read_unlock")
    def st_mmap_read_unlock(self, m: Machine, t: str) -> Steps:
        readers = list(m.st.mmap_readers)
        readers.remove(t)
        m.st.mmap_readers = tuple(readers)
        m.note(f"mmap_read_unlock(&init_mm): {self.lock_state(m)}")
        return []

    def mmap_read_trylock(self, m: Machine, t: str) -> bool:
        """mmap_read_trylock(&init_mm): fails on a writer or a queued writer."""
        st = m.st
        if st.mmap_writer or st.mmap_waiters:
            m.note(f"mmap_read_trylock(&init_mm) fails: {self.lock_state(m)}")
            return False
        st.mmap_readers = (*st.mmap_readers, t)
        m.note(f"mmap_read_trylock(&init_mm): {self.lock_state(m)}")
        return True

    @step("mmap_write_lock")
    def st_mmap_write_lock(self, m: Machine, t: str) -> Steps:
        """mmap_write_lock(&init_mm): take it, or queue and sleep."""
        st = m.st
        if not st.mmap_writer and not st.mmap_readers and not st.mmap_waiters:
            st.mmap_writer = t
            m.note(f"mmap_write_lock(&init_mm): {self.lock_state(m)}")
            return []
        st.mmap_waiters = (*st.mmap_waiters, t)
        m.note(f"mmap_write_lock(&init_mm) sleeps: {self.lock_state(m)}")
        return [Step("mmap_write_acquire")]

    @step("mmap_write_acquire")
    def st_mmap_write_acquire(self, m: Machine, t: str) -> Steps:
        st = m.st
        st.mmap_waiters = st.mmap_waiters[1:]
        st.mmap_writer = t
        m.note(f"mmap_write_lock(&init_mm) wakes with the lock: {self.lock_state(m)}")
        return []

    @step("mmap_write_unlock")
    def st_mmap_write_unlock(self, m: Machine, t: str) -> Steps:
        m.st.mmap_writer = ""
        m.note(f"mmap_write_unlock(&init_mm): {self.lock_state(m)}")
        return []
