"""Write a set of output files (a report and its SVGs, the YAML files of `btf import`)
so that readers see the old set or the new one, never a mix, and a failure or a kill
leaves nothing half-written.

How: every new file is written into a temp directory beside the targets
(`DIR/.mmbits-SET.XXXX/`, same filesystem, so renames are atomic). Every target
is checked before anything is replaced (a directory in the way is refused up
front). Then a `COMMIT` file listing the moves is written into the temp dir:
that is the commit point. The files are renamed into place and the temp dir is
removed. A run killed before COMMIT leaves the old set and a temp dir; one
killed after it leaves a temp dir with COMMIT, and the next writer into DIR
finishes the moves (roll forward) before removing it. Every OSError on an output
path becomes one OutputError naming the path (exit 2).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mmbits.errors import OutputError, clip

PREFIX = ".mmbits-"
COMMIT = "COMMIT"


def _error(exc: OSError, path: Path | str) -> OutputError:
    return OutputError(f"cannot write: {exc.strerror or type(exc).__name__}", file=clip(str(path), 200))


def recover(out: Path) -> None:
    """Finish (after COMMIT) or drop (before it) what a killed writer left in `out`."""
    try:
        entries = [p for p in out.iterdir() if p.name.startswith(PREFIX) and p.is_dir() and not p.is_symlink()]
    except OSError:
        return
    for tmp in entries:
        commit = tmp / COMMIT
        if commit.is_file():
            for name in commit.read_text(encoding="utf-8").splitlines():
                src = tmp / name
                if name and "/" not in name and src.exists():
                    with contextlib.suppress(OSError):
                        os.replace(src, out / name)
        shutil.rmtree(tmp, ignore_errors=True)


def write_set(out_dir: str | Path, files: Sequence[tuple[str, str | bytes]], *, label: str = "output") -> list[Path]:
    """Write every (name, content) into `out_dir` (created if missing) as one set."""
    out = Path(out_dir)
    try:
        if out.exists() and not out.is_dir():
            raise OutputError("exists and is not a directory", file=clip(str(out), 200))
        created = not out.exists()
        if created:
            out.mkdir()
    except OSError as exc:
        raise _error(exc, out) from None
    recover(out)
    for name, _ in files:
        target = out / name
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise _error(exc, target) from None
        if stat.S_ISDIR(st.st_mode):
            raise OutputError("is a directory; the new file cannot replace it", file=clip(str(target), 200))
    umask = os.umask(0)
    os.umask(umask)
    tmp: Path | None = None
    current: Path = out
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{label}.", dir=out))
        for name, content in files:
            current = out / name
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            with open(tmp / name, "wb") as fh:
                fh.write(data)
            os.chmod(tmp / name, 0o666 & ~umask)  # what a plain open() would have made
        current = out
        commit = tmp / f".{COMMIT}"
        commit.write_text("".join(f"{name}\n" for name, _ in files), encoding="utf-8")
        os.replace(commit, tmp / COMMIT)  # the commit point
        for name, _ in files:
            current = out / name
            os.replace(tmp / name, out / name)
    except OSError as exc:
        if tmp is not None and not (tmp / COMMIT).exists():
            shutil.rmtree(tmp, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):
                    out.rmdir()
        raise _error(exc, current) from None
    except BaseException:  # Ctrl-C: before COMMIT drop the new set, after it finish it
        if tmp is not None:
            recover(out)
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    return [out / name for name, _ in files]
