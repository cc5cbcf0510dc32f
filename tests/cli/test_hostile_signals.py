"""Issue #16, signals and pipes, on real processes: Ctrl-C gives one line
`mmbits: interrupted` and exit 130 on every path (the click-free `btf show` one too),
a reader that goes away (`| head -c 10`) gives the exit code the command would have
had, and an unwritable stdout (/dev/full) gives one error line and exit 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "tests" / "data" / "dumps" / "deepin-896-arm64-6.6-swapcache-hwpoison.txt"


def _mmbits(*args: str, **kw: object) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.pop("MMBITS_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "mmbits", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=str(ROOT), **kw)  # type: ignore[call-overload]


def _interrupt_while_reading(tmp_path: Path, args_for: object) -> tuple[int, list[str], bytes]:
    """Start mmbits reading a FIFO whose writer never writes, Ctrl-C it once it waits."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer that stays silent
    try:
        proc = _mmbits(*args_for(str(fifo)))  # type: ignore[operator]
        deadline = time.monotonic() + 20
        # wait until the child has the FIFO open (its fd shows up in /proc), then interrupt
        while time.monotonic() < deadline and not _has_open(proc.pid, fifo):
            time.sleep(0.05)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        os.close(writer)
    return proc.returncode, [ln for ln in err.decode().splitlines() if ln.strip()], out


def _has_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


@pytest.mark.parametrize("args", [
    lambda f: ["btf", "show", "page", "--btf", f],  # the click-free fast path
    lambda f: ["patch", f],
    lambda f: ["decode", f],
    lambda f: ["check", "--proposal", f],
], ids=["btf-show-fast", "patch", "decode", "check"])
def test_ctrl_c_is_one_line_and_130(tmp_path: Path, args: object) -> None:
    code, err, out = _interrupt_while_reading(tmp_path, args)
    assert code == 130, (code, err)
    assert err == ["mmbits: interrupted"]
    assert out == b""


def test_ctrl_c_during_report_leaves_no_partial_files(tmp_path: Path) -> None:
    out_dir = tmp_path / "report"
    proc = _mmbits("report", "--out", str(out_dir), "--domain", "default")
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 130:
        assert [ln for ln in err.decode().splitlines() if ln.strip()] == ["mmbits: interrupted"]
        leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert leftovers == [], leftovers  # no report, no half report, no temp file
    else:  # finished before the signal: a whole report
        assert proc.returncode in (0, 1), err


@pytest.mark.parametrize(("args", "code"), [
    (["show", "page"], 0),
    # a real inconsistency (LKML 2504.1/11364: mapping not TAIL_MAPPING) exits 1 under the exit rule
    (["decode", str(ROOT / "tests" / "data" / "dumps" / "lkml-2504.1-11364-hugetlb-tail.txt")], 1),
    # the 6.18 vendor build's import (one member since 6.18, a release before the newest: exit 1)
    (["btf", "import", str(ROOT / "tests/data/linux-6.18-x86_64.btf.xz"), "--config",
      str(ROOT / "tests/data/linux-6.18-x86_64.config"), "--json"], 1),
])
def test_broken_pipe_keeps_the_commands_exit_code(args: list[str], code: int) -> None:
    # issue #16: `show ... | head -c 10` exited 1 ("findings") through click's EPIPE handling
    proc = _mmbits(*args)
    assert proc.stdout is not None
    proc.stdout.read(10)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, (proc.returncode, err)
    assert err == b""


def test_broken_pipe_fast_path(tmp_path: Path, ref_btf: Path) -> None:
    proc = _mmbits("btf", "show", "page,folio,ptdesc,slab", "--btf", str(ref_btf), "--no-cache")
    assert proc.stdout is not None
    proc.stdout.read(10)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and err == b""


@pytest.mark.parametrize("args", [["show", "page"], ["decode", str(DUMP)], ["configs"],
                                  ["btf", "import", str(ROOT / "tests/data/linux-6.18-x86_64.btf.xz"), "--config",
                                   str(ROOT / "tests/data/linux-6.18-x86_64.config")]])
def test_dev_full_is_one_error_line_exit_2(args: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "mmbits", *args], stdout=full, stderr=subprocess.PIPE, cwd=str(ROOT), timeout=60)
    err = [ln for ln in proc.stderr.decode().splitlines() if ln.strip()]
    assert proc.returncode == 2, (proc.returncode, err)
    assert len(err) == 1 and "<stdout>" in err[0] and "No space left" in err[0], err


def test_dev_full_fast_path(ref_btf: Path) -> None:
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "mmbits", "btf", "show", "page", "--btf", str(ref_btf)],
                              stdout=full, stderr=subprocess.PIPE, timeout=60)
    err = [ln for ln in proc.stderr.decode().splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(err) == 1 and "<stdout>" in err[0], err


def _interrupt_after_import(args: list[str], delay: float, entry: str) -> tuple[int, list[str], bytes]:
    """Run mmbits with PYTHONPROFILEIMPORTTIME=1 and Ctrl-C it `delay` seconds after the
    `mmbits` package has been imported (the importtime line for it is the anchor): the
    interpreter's own start-up before that is not ours to guard, everything after is."""
    import threading

    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1", MMBITS_CACHE="off")
    env.pop("MMBITS_DEBUG", None)
    script = Path(sys.executable).with_name("mmbits")
    cmd = [str(script), *args] if entry == "script" else [sys.executable, "-m", "mmbits", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(ROOT))
    assert proc.stderr is not None and proc.stdout is not None
    err: list[str] = []
    anchor = threading.Event()

    def drain() -> None:  # importtime writes a lot: keep the pipe empty
        for raw in proc.stderr:  # type: ignore[union-attr]
            line = raw.decode(errors="replace").rstrip("\n")
            if line.startswith("import time:"):
                if line.rstrip().endswith("| mmbits"):
                    anchor.set()
            elif line.strip():
                err.append(line)
        anchor.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    assert anchor.wait(30), "mmbits never started"
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out = proc.stdout.read()
    code = proc.wait(timeout=60)
    reader.join(10)
    return code, err, out


def _assert_interrupted_or_done(code: int, err: list[str], out: bytes) -> None:
    if code == 0:  # it finished before the signal: its normal output, no trace of the signal
        assert not any("Traceback" in ln or "interrupted" in ln for ln in err), err
        return
    assert (code, err, out) == (130, ["mmbits: interrupted"], b""), (code, err, out[:200])


FIRST_IMPORTS = [["show", "page"], ["btf", "show", "page", "--btf", str(ROOT / "tests/data/linux-6.18-x86_64.btf.xz")]]


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2])
@pytest.mark.parametrize("args", FIRST_IMPORTS, ids=["click-path", "btf-show-fast-path"])
def test_ctrl_c_during_the_first_imports(args: list[str], delay: float) -> None:
    """Ctrl-C while the CLI is still importing (click, the command modules, the BTF reader)."""
    _assert_interrupted_or_done(*_interrupt_after_import(args, delay, "script"))


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["script", "module"])
@pytest.mark.parametrize("delay", [0.0, 0.01, 0.02, 0.04, 0.08, 0.12, 0.16, 0.24, 0.32, 0.5, 0.8])
@pytest.mark.parametrize("args", [*FIRST_IMPORTS, ["btf", "import", str(ROOT / "tests/data/linux-6.12-amd64.btf.xz"),
                                                   "--config", str(ROOT / "tests/data/linux-6.12-amd64.config")]],
                         ids=["click-path", "btf-show-fast-path", "btf-import"])
def test_ctrl_c_at_every_delay(args: list[str], delay: float, entry: str) -> None:
    _assert_interrupted_or_done(*_interrupt_after_import(args, delay, entry))
