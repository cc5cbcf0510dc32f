"""`mmbits patch` as a b4 per-patch check (README "As a per-patch check in b4").

b4 is not a test dependency; this test calls the check exactly the way b4 does
(mricon/b4, src/b4/__init__.py, LoreMessage.run_local_check, v0.14+): the
configured `b4.prep-perpatch-check-cmd` string is split with shlex, run once per
patch in the top of the git tree with the patch piped through stdin; each stdout
line containing `ERROR:` fails the patch, any other stdout line warns, any stderr
line fails, and no output with exit 0 passes. b4's documentation (config.rst,
b4.prep-perpatch-check-cmd): "The command is run once for each patch to check.
The patch file to check is piped through stdin."
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "A U Thor", "GIT_AUTHOR_EMAIL": "author@example.org",
           "GIT_COMMITTER_NAME": "A U Thor", "GIT_COMMITTER_EMAIL": "author@example.org",
           "GIT_AUTHOR_DATE": "2025-08-27T10:00:00Z", "GIT_COMMITTER_DATE": "2025-08-27T10:00:00Z",
           "HOME": str(repo), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def _added_lines(patch: Path, path: str) -> list[str]:
    """The lines a test-data patch adds to `path` (the one-list draft of seeds/001)."""
    out, inside = [], False
    for line in patch.read_text().splitlines():
        if line.startswith("diff --git"):
            inside = line.endswith(f" b/{path}")
        elif inside and line.startswith("+") and not line.startswith("+++"):
            out.append(line[1:])
    return out


def _series(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A git tree with two patches: a comment (clean), then the one-list draft's
    `#define ASYNC_PGTABLE_FREE_DTOR BIT(NR_PAGEFLAGS)` and its use."""
    repo = tmp_path / "linux"
    (repo / "mm").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "master")
    source = repo / "mm" / "pgtable-generic.c"
    source.write_text("// SPDX-License-Identifier: GPL-2.0\n#include <linux/mm.h>\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    source.write_text(source.read_text() + "/* kernel page tables are freed through pagetable_free() */\n")
    _git(repo, "commit", "-q", "-am", "mm: say how kernel page tables are freed")
    draft = _added_lines(DATA / "0001-one-list-async-pgtable-free-dtor.patch", "mm/pgtable-generic.c")
    assert any("BIT(NR_PAGEFLAGS)" in line for line in draft)
    source.write_text(source.read_text() + "\n".join(draft) + "\n")
    _git(repo, "commit", "-q", "-am", "mm: Defer kernel page table freeing through one list")
    out = tmp_path / "series"
    names = _git(repo, "format-patch", "-o", str(out), "HEAD~2").split()
    return repo, [Path(n) for n in names]


def _b4_run_local_check(cmd: str, patch: Path, topdir: Path) -> list[tuple[str, str]]:
    """b4's per-patch check, as LoreMessage.run_local_check does it."""
    sp = shlex.shlex(cmd, posix=True)
    sp.whitespace_split = True
    args = list(sp)
    proc = subprocess.run(args, input=patch.read_bytes(), cwd=topdir, capture_output=True)
    name = Path(args[0]).name
    report = []
    out = proc.stdout.strip()
    for line in out.decode(errors="replace").split("\n") if out else []:
        report.append(("fail" if "ERROR:" in line else "warning", f"{name}: {line.removeprefix('-:')}"))
    err = proc.stderr.strip()
    for line in err.decode(errors="replace").split("\n") if err else []:
        report.append(("fail", f"{name}: {line.removeprefix('-:')}"))
    if not out and not err:
        report.append(("fail" if proc.returncode else "success", f"{name}: exit {proc.returncode}"))
    return report


def test_b4_prep_check_flags_only_the_bad_patch(tmp_path: Path) -> None:
    repo, patches = _series(tmp_path)
    assert len(patches) == 2
    # what the README tells users to configure, with this interpreter's mmbits
    cmd = f"{shlex.quote(sys.executable)} -m mmbits patch --terse --preset x86_64-6.18 -"
    clean = _b4_run_local_check(cmd, patches[0], repo)
    assert [flag for flag, _ in clean] == ["success"], clean
    bad = _b4_run_local_check(cmd, patches[1], repo)
    assert "fail" in {flag for flag, _ in bad}, bad
    # checkpatch's terse form: FILE:LINE: LEVEL:TYPE: message, the line as in the tree; on
    # x86_64-6.18 BIT(NR_PAGEFLAGS) is the first bit past the page flags: unallocated
    line = next(text for flag, text in bad if flag == "fail")
    m = re.search(r"(mm/pgtable-generic\.c):(\d+): ERROR:UNALLOCATED_BIT: ASYNC_PGTABLE_FREE_DTOR = "
                  r"BIT\(NR_PAGEFLAGS\)", line)
    assert m, line
    added_at = (repo / "mm" / "pgtable-generic.c").read_text().splitlines().index(
        next(ln for ln in (repo / "mm" / "pgtable-generic.c").read_text().splitlines()
             if "#define ASYNC_PGTABLE_FREE_DTOR" in ln)) + 1
    assert int(m.group(2)) == added_at
