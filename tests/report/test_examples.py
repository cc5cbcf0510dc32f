"""The committed example reports under reports/ match what the code writes now.

If this fails after a deliberate change to the layouts or the report code,
regenerate them: `python -m mmbits.report.examples reports`."""

from __future__ import annotations

from pathlib import Path

from mmbits.report.examples import write_examples

REPORTS = Path(__file__).resolve().parents[2] / "reports"


def test_committed_examples_are_current(tmp_path):
    written = write_examples(tmp_path)
    assert written
    for path in written:
        committed = REPORTS / path.name
        assert committed.exists(), f"{path.name} is not committed; run python -m mmbits.report.examples reports"
        assert committed.read_bytes() == path.read_bytes(), (
            f"reports/{path.name} is stale; run python -m mmbits.report.examples reports")
        # nothing that changes between runs or machines: no paths, no wall-clock figures
        text = path.read_text()
        assert str(tmp_path) not in text and str(REPORTS.parent) not in text, path.name
        assert '"seconds"' not in text and "states_per_second" not in text, path.name
    # and nothing is left over from an example that was renamed or removed
    stale = sorted({p.name for p in REPORTS.iterdir() if p.is_file()} - {p.name for p in written})
    assert not stale, f"reports/ holds files no example writes: {stale}"
