"""`mmbits btf show` stays light: no YAML, construct, hypothesis or emulator at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("yaml", "construct", "hypothesis", "mmbits.emu", "mmbits.kconfig", "mmbits.flags", "bitstring")


def test_btf_show_imports_nothing_heavy(ref_btf: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from mmbits.cli import cli\n"
        "from mmbits.cli.common import run\n"
        f"rc = run(cli, ['btf', 'show', 'page,folio,ptdesc,slab,zpdesc,ioptdesc', '--btf', {str(ref_btf)!r}])\n"
        "assert rc == 0, rc\n"
        "sys.stderr.write('\\n'.join(sorted(sys.modules)))\n"
    )
    env = dict(os.environ, MMBITS_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    loaded = set(r.stderr.split())
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == []
