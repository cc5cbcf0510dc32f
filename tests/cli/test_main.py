"""The click-free fast paths of main.py (`btf show`, and `decode LOG --kernel R --arch A`) must behave
exactly like the click path: the same output, errors and exit status."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from decode.dumps import DUMPS


def _run(args: list[str], fast: bool) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if not fast:
        env["MMBITS_NO_FAST_PATH"] = "1"
    return subprocess.run([sys.executable, "-m", "mmbits", *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.mark.parametrize("extra", [[], ["--json"], ["--hex"], ["--no-cache", "--json"]])
def test_fast_path_equals_click(ref_btf, extra) -> None:
    args = ["btf", "show", "page,ptdesc,enum pagetype", "--btf", str(ref_btf), *extra]
    fast, slow = _run(args, True), _run(args, False)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert fast.returncode == 0 and "ptdesc" in fast.stdout


@pytest.mark.parametrize("args", [
    ["btf", "show", "nosuchtype"],
    ["btf", "show", "page", "--json", "--json"],  # unusual: falls back to click
    ["btf", "show", "--help"],
])
def test_errors_and_fallback_match(ref_btf, args) -> None:
    if "--help" not in args:
        args = [*args, "--btf", str(ref_btf)]
    fast, slow = _run(args, True), _run(args, False)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)


def test_fast_path_does_not_import_click(ref_btf) -> None:
    code = ("import sys; from mmbits.main import _fast_btf_show; "
            f"rc = _fast_btf_show(['page', '--btf', {str(ref_btf)!r}]); "
            "print(rc, 'click' in sys.modules, 'yaml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "0 False False"


# -- decode LOG --kernel R --arch A (main._fast_decode) --------------------------------

REAL_DUMPS = sorted((DUMPS / "real").glob("*.txt"))


def _log(tmp_path, prefix: str = "x86_64", copies: int = 1):
    """The real reports of one arch in one log (`copies` times over)."""
    body = "\n\n".join(p.read_text(encoding="utf-8") for p in REAL_DUMPS if p.name.startswith(prefix))
    log = tmp_path / f"{prefix}.log"
    log.write_text("\n\n".join([body] * copies), encoding="utf-8")
    return log


@pytest.mark.parametrize("extra", [["--kernel", "6.12", "--arch", "x86_64"], ["--kernel=6.12", "--arch=x86_64"],
                                   ["--kernel", "6.12"],  # the release only: the log's lines name the arch
                                   ["--kernel", "6.12", "--kernel", "6.13"]])  # unusual: falls back to click
def test_decode_fast_path_equals_click(tmp_path, extra) -> None:
    log = _log(tmp_path)
    fast, slow = _run(["decode", str(log), *extra], True), _run(["decode", str(log), *extra], False)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert "=== page" in fast.stdout


@pytest.mark.slow
def test_decode_fast_path_equals_click_in_two_processes(tmp_path) -> None:
    from mmbits.decode import parallel

    log = _log(tmp_path, copies=1 + parallel.SPLIT_MIN // len(_log(tmp_path).read_bytes()))
    args = ["decode", str(log), "--kernel", "6.12", "--arch", "x86_64"]
    assert parallel.plan(str(log)) is not None or (os.cpu_count() or 1) < 2
    fast, slow = _run(args, True), _run(args, False)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)


@pytest.mark.parametrize("args", [
    ["decode", "/nonexistent/log.txt", "--kernel", "6.12", "--arch", "x86_64"],
    ["decode", "LOG", "--kernel", "six", "--arch", "x86_64"],
    ["decode", "LOG", "--kernel"],
])
def test_decode_errors_match(tmp_path, args) -> None:
    log = _log(tmp_path)
    args = [str(log) if a == "LOG" else a for a in args]
    fast, slow = _run(args, True), _run(args, False)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert fast.returncode == 2


def test_decode_fast_path_does_not_import_click(tmp_path) -> None:
    log = _log(tmp_path)
    code = ("import sys; from mmbits.main import _fast_decode; "
            f"rc = _fast_decode([{str(log)!r}, '--kernel', '6.12', '--arch', 'x86_64']); "
            "sys.stderr.write(f'{rc} {\"click\" in sys.modules}\\n')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    rc, click_loaded = out.stderr.strip().splitlines()[-1].split()
    assert rc in ("0", "1") and click_loaded == "False"
