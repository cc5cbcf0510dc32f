"""`mmbits check/simulate --report DIR`: the files written and named on stdout, and a
directory that cannot be written refused with one error line, exit 2, before any work
and without leaving a file behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmbits.errors import InputError
from mmbits.report import api
from report.results import SIM_UNSAFE

from util.clirun import assert_clean_error, run_cli

CHECK = ("check", "BIT(NR_PAGEFLAGS)", "--word", "ptdesc.pt_flags", "--kind", "kernel-pgtable",
         "--preset", "x86_64-maxsmp")
SIMULATE = ("simulate", "--variant", "v6.19", "--only", "hot-remove", "--cpus", "1", "--ops", "1")


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the proof or the emulator runs: a bad --report must stop first."""
    import mmbits.emu.simulate
    import mmbits.prover

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("the command ran before refusing its --report directory")

    monkeypatch.setattr(mmbits.prover, "check", boom)
    monkeypatch.setattr(mmbits.emu.simulate, "simulate", boom)


def _bad_dirs(tmp_path: Path) -> dict[str, Path]:
    afile = tmp_path / "afile"
    afile.write_text("x")
    return {"missing parent": tmp_path / "missing" / "rep", "parent is a file": afile / "rep"}


@pytest.mark.parametrize("command", [CHECK, SIMULATE], ids=["check", "simulate"])
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_unwritable_report_dir_is_one_error_line(tmp_path: Path, no_work: None, command: tuple[str, ...],
                                                 fmt: str) -> None:
    for why, target in _bad_dirs(tmp_path).items():
        r = run_cli(*command, "--report", str(target), "--format", fmt)
        assert_clean_error(r)
        assert str(target) in r.err and "report directory" in r.err, (why, r.err)
        assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_report_dir_that_is_a_file(tmp_path: Path, no_work: None) -> None:
    target = tmp_path / "afile"
    target.write_text("x")
    r = run_cli(*CHECK, "--report", str(target))
    assert_clean_error(r)
    assert "not a directory" in r.err and target.read_text() == "x"


def test_read_only_parent(tmp_path: Path, no_work: None, monkeypatch: pytest.MonkeyPatch) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    # root writes into a read-only directory anyway: make access() answer as for a user
    real_access = os.access
    monkeypatch.setattr(api.os, "access", lambda p, mode: False if Path(p) == ro else real_access(p, mode))
    try:
        for command in (CHECK, SIMULATE):
            r = run_cli(*command, "--report", str(ro / "rep"))
            assert_clean_error(r)
            assert "not writable" in r.err and list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)


def test_write_failure_leaves_no_partial_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Markdown report is several files: a failure on the second rename removes the
    first one and the directory the writer created."""
    real = os.replace
    calls = []

    def flaky(src: str, dst: object) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(api.os, "replace", flaky)
    out = tmp_path / "rep"
    with pytest.raises(InputError, match="cannot write the report: No space left on device"):
        api.write_simulation_report(SIM_UNSAFE, out, "md")
    assert len(calls) == 2 and not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_check_and_simulate_name_the_files_they_wrote(tmp_path: Path) -> None:
    r = run_cli(*CHECK, "--report", str(tmp_path / "c"), "--format", "html")
    assert r.code == 1, r.err
    (line,) = [ln for ln in r.out.splitlines() if ln.startswith("report: ")]
    page = Path(line.removeprefix("report: "))
    assert page.parent == tmp_path / "c" and "UNSAFE" in page.read_text()
    r = run_cli(*SIMULATE, "--report", str(tmp_path / "s"), "--json")
    assert r.code == 1, r.err
    files = [Path(p) for p in r.json()["report_files"]]  # type: ignore[index]
    assert files[0].suffix == ".md" and all(p.is_file() for p in files)
    assert "page(s) leaked" in files[0].read_text()
