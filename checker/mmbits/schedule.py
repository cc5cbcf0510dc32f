"""The schedule of a finding, typed: which thread ran, what it did, in order.

The emulator replays a failing interleaving and keeps every step (`simulate`,
the lifecycle half of `check`); the text printer, the reports and the test kit
read these fields, never the message text. JSON is made only at the edge
(`to_json`, through `Finding.to_json`), and read back here for what comes in as
JSON: a cached `check` answer or a `simulate --json` result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScheduleStep:
    """One step of a schedule: the thread that ran (`cpu0`, `worker`, `iommu`, `-` for the
    end-of-run checks), what it did, and what the emulator noted while it ran. `step` is
    None when only the choice of thread was kept (a lifecycle exploration without replay)."""

    thread: str
    step: str | None = None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        if self.step is None:
            return {"thread": self.thread}
        return {"thread": self.thread, "step": self.step, "notes": list(self.notes)}

    @classmethod
    def from_json(cls, obj: object) -> ScheduleStep:
        """A step from its JSON object, or a bare thread name."""
        if isinstance(obj, ScheduleStep):
            return obj
        if isinstance(obj, str):
            return cls(obj)
        if not isinstance(obj, Mapping):
            raise ValueError(f"a schedule step is an object, not {type(obj).__name__}")
        step = obj.get("step")
        notes = obj.get("notes") or ()
        return cls(str(obj.get("thread", "")), str(step) if step is not None else None,
                   tuple(str(n) for n in notes) if isinstance(notes, (list, tuple)) else ())


def steps_of(value: object) -> tuple[ScheduleStep, ...]:
    """A finding's `schedule` as typed steps, whether it is typed already or came as JSON;
    () for anything that is not a list of steps."""
    if not isinstance(value, (list, tuple)):
        return ()
    try:
        return tuple(ScheduleStep.from_json(s) for s in value)
    except ValueError:
        return ()


def typed_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Finding data read from JSON with its typed parts rebuilt (the schedule)."""
    out = dict(data)
    if "schedule" in out:
        steps = steps_of(out["schedule"])
        if steps or out["schedule"] in ([], ()):
            out["schedule"] = steps
    return out


def threads(steps: Iterable[ScheduleStep]) -> list[str]:
    """The thread choices of a schedule (what `--replay` takes), the IOMMU's walks left out:
    they follow from the steps, nobody chooses them."""
    return [s.thread for s in steps if s.thread != "iommu"]
