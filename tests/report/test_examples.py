"""The committed example reports under reports/ match what the code writes now.

If this fails after a deliberate change to the layouts or the report code,
regenerate them: `python -m pagebits.report.examples reports`."""

from __future__ import annotations

from pathlib import Path

from pagebits.report.examples import write_examples

REPORTS = Path(__file__).resolve().parents[2] / "reports"


def test_committed_examples_are_current(tmp_path):
    written = write_examples(tmp_path)
    assert written
    for path in written:
        committed = REPORTS / path.name
        assert committed.exists(), f"{path.name} is not committed; run python -m pagebits.report.examples reports"
        assert committed.read_bytes() == path.read_bytes(), (
            f"reports/{path.name} is stale; run python -m pagebits.report.examples reports")
