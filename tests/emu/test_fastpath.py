"""The emulator's fast paths change what a transition costs, never what it
does: exploring with them visits the same states, takes the same
transitions, reaches the same end states and finds the same findings as the
reference paths they replace (Memory.cow = False: every clone copies every
byte of the struct pages; Memory.fast_words = False: list words go through
read_at/write_at; Memory.incremental / MState.incremental = False: the
shadow's hash and the state's dict hashes recomputed at every fingerprint;
QueueKey.remember = False: the deferred-free queue walked at every key). The expected values are the reference path's own
results on the same workload, in the same process."""

from __future__ import annotations

from typing import Any

import pytest

from mmbits.emu.canonical import QueueKey
from mmbits.emu.explore import Exploration, exhaustive
from mmbits.emu.machine import MState
from mmbits.emu.memo import StepMemo
from mmbits.emu.memory import Memory
from mmbits.emu.simulate import Setup

from .helpers import sva


def _explore(setup: Setup) -> Exploration:
    return exhaustive(setup.world(), max_states=50_000)


def _summary(ex: Exploration) -> dict[str, Any]:
    return {"states": ex.states, "transitions": ex.transitions, "pruned": ex.pruned, "slept": ex.slept,
            "revisits": ex.revisits, "schedules": ex.schedules, "complete": ex.complete,
            "terminals": ex.terminals, "found": {k: len(s) for k, (_ev, s) in ex.found.items()},
            "follows": dict(ex.follows)}


@pytest.mark.parametrize(("variant", "only", "ops", "per_page"), [
    ("v6.19", ("cpa", "hot-remove"), 1, False),
    ("v6.19", (), 1, True),
    ("v6.19+fixes+hotplug", ("huge-pmd",), 2, False),
    ("ptdump-race", (), 1, False),
    ("ptdump-arm64-both", (), 1, False),
])
def test_fast_paths_explore_what_the_reference_paths_explore(monkeypatch: pytest.MonkeyPatch, variant: str,
                                                            only: tuple[str, ...], ops: int,
                                                            per_page: bool) -> None:
    from mmbits.emu.variants import VARIANTS

    setup = Setup(sva(), variant, cpus=2, ops=ops, only=only or VARIANTS[variant].default_only,
                  worker_per_page=per_page)
    # every step executed (not replayed by the step memo, tests/emu/test_memo.py): the fast paths run
    monkeypatch.setattr(StepMemo, "enabled", False)
    fast = _summary(_explore(setup))
    with monkeypatch.context() as mp:
        mp.setattr(Memory, "cow", False)
        mp.setattr(Memory, "fast_words", False)
        mp.setattr(Memory, "incremental", False)
        mp.setattr(MState, "incremental", False)
        mp.setattr(QueueKey, "remember", False)
        reference = _summary(_explore(setup))
    assert reference["complete"] and reference["transitions"] > 0
    assert fast == reference
