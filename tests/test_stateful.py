"""mmbits.stateful: the RuleBasedStateMachine base users subclass."""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from mmbits.stateful import DeferredFreeMachine

FAST = settings(max_examples=25, stateful_step_count=20, derandomize=True, deadline=None)
# a test that expects a failure needs it found, not shrunk
FIND = settings(FAST, phases=[Phase.explicit, Phase.generate])


class Upstream(DeferredFreeMachine):
    pass


class I386Upstream(DeferredFreeMachine):
    config = "i386-pae-sparsemem"


class Sync(DeferredFreeMachine):
    """Before the fix: kernel tables freed at once, no IOMMU invalidation."""

    variant = "sync"
    fail_on = ("iommu-use-after-free",)


class QueueBound(DeferredFreeMachine):
    """A user's own invariant on top of the base."""

    max_queued = 0

    @invariant()
    def queue_stays_short(self) -> None:
        if hasattr(self, "machine"):
            assert len(self.queued()) <= self.max_queued, f"{len(self.queued())} tables queued"


@pytest.mark.parametrize("machine", [Upstream, I386Upstream], ids=["x86_64", "i386"])
def test_upstream_is_clean(machine: type[DeferredFreeMachine]) -> None:
    run_state_machine_as_test(machine, settings=FAST)


def test_sync_design_is_caught_freeing_a_cached_table() -> None:
    with pytest.raises(AssertionError, match="iommu-use-after-free"):
        run_state_machine_as_test(Sync, settings=FIND)


def test_user_invariant_runs_on_the_emulated_queue() -> None:
    """The deferred path queues freed kernel tables: a bound of 0 must break."""
    with pytest.raises(AssertionError, match="tables queued"):
        run_state_machine_as_test(QueueBound, settings=FIND)
