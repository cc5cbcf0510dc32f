"""ruff-clean is part of the standard; the suite enforces it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    dirs = [str(ROOT / d) for d in ("checker", "tests", "bench", "examples") if (ROOT / d).is_dir()]
    out = subprocess.run([ruff, "check", "--no-cache", *dirs], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
