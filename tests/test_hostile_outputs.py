"""Issue #16, atomic output sets (mmbits.outputs): the old set or the new one, never a mix;
a directory in the way is refused before anything is replaced; a writer killed before its
commit point leaves the old set (its temp dir is removed by the next run), one killed after
it is rolled forward by the next run; long paths are one error line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mmbits.errors import InputError, OutputError
from mmbits.outputs import COMMIT, PREFIX, recover, write_set

from util.clirun import assert_clean_error, run_cli

OLD = [("r.md", "old md\n"), ("r-1.svg", "old 1\n"), ("r-2.svg", "old 2\n")]
NEW = [("r.md", "new md\n"), ("r-1.svg", "new 1\n"), ("r-2.svg", "new 2\n")]


def _contents(d: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in d.iterdir() if p.is_file()}


def test_directory_in_the_way_replaces_nothing(tmp_path: Path) -> None:
    # issue #16: `report` exited 2 after already replacing the .md and an SVG
    write_set(tmp_path, OLD)
    (tmp_path / "r-2.svg").unlink()
    (tmp_path / "r-2.svg").mkdir()
    with pytest.raises(OutputError, match="r-2.svg: is a directory"):
        write_set(tmp_path, NEW)
    assert _contents(tmp_path) == {"r.md": "old md\n", "r-1.svg": "old 1\n"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(PREFIX)]


@pytest.mark.parametrize("committed", [False, True])
def test_kill_leaves_old_or_new_set_and_next_run_cleans(tmp_path: Path, committed: bool) -> None:
    """SIGKILL a writer at a chosen point (a real child process): before COMMIT the old set
    stays; after it, recover() (run by every writer) finishes the new set."""
    write_set(tmp_path, OLD)
    hook = "commit" if committed else "write"
    code = f"""
import os, signal
import mmbits.outputs as o
real = os.replace
def replace(src, dst):
    if {hook!r} == "commit" and str(dst).endswith("r-1.svg"):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst)
os.replace = replace
real_open = open
import builtins
def opener(path, mode="r", *a, **k):
    if {hook!r} == "write" and "w" in mode and str(path).endswith("r-2.svg"):
        os.kill(os.getpid(), signal.SIGKILL)
    return real_open(path, mode, *a, **k)
builtins.open = opener
o.write_set({str(tmp_path)!r}, {NEW!r})
"""
    proc = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    temps = [p for p in tmp_path.iterdir() if p.name.startswith(PREFIX)]
    assert len(temps) == 1 and (temps[0] / COMMIT).exists() == committed
    if not committed:
        assert _contents(tmp_path) == dict(OLD)
    recover(tmp_path)
    assert _contents(tmp_path) == dict(NEW if committed else OLD)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(PREFIX)]


def test_report_errors_are_one_line(tmp_path: Path) -> None:
    r = run_cli("report", "--out", str(tmp_path / ("x" * 300)), "--preset", "x86_64-6.18")
    assert_clean_error(r)
    (tmp_path / "rep").mkdir()
    target = tmp_path / "rep"
    r = run_cli("report", "--out", str(target), "--preset", "x86_64-6.18", "--format", "md")
    assert r.code == 0, r.err
    first = _contents(target)
    md = next(n for n in first if n.endswith(".md"))
    svg = next(n for n in first if n.endswith(".svg"))
    (target / svg).unlink()
    (target / svg).mkdir()
    r = run_cli("report", "--out", str(target), "--preset", "x86_64-6.18", "--format", "md")
    assert_clean_error(r)
    assert (target / md).read_text() == first[md]


def test_unwritable_output_is_one_output_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        target = Path("/proc/version")  # even root cannot create files under it
    else:
        target = tmp_path / "ro"
        target.mkdir(mode=0o500)
    with pytest.raises(InputError):
        write_set(target / "sub", NEW)
