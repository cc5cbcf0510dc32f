"""The click-free fast path for `btf show` must behave exactly like the click path."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


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
