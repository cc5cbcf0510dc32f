"""What other commands call to write a report: `mmbits check --report DIR`
and `mmbits simulate --report DIR` hand over their JSON-shaped result.

Every writer builds the whole report in memory first and then writes all of
its files or none (temporary files renamed into place at the end), so an error
leaves no partial file behind. It returns the paths written (the HTML page, or
the Markdown file followed by its SVG pictures). A report directory that cannot
be written is an InputError; commands call check_output_dir() before they start
work so that the user hears it at once.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from mmbits.errors import InputError
from mmbits.kconfig.config import Config
from mmbits.report.document import Document, render_html, render_markdown

FORMATS = ("html", "md")


def check_output_dir(out_dir: str | Path) -> Path:
    """Refuse, before any work is done, a report directory that cannot be written:
    DIR may be missing (it is created, like `mkdir DIR`), but then its parent must be an
    existing, writable directory. Raises InputError naming the path."""
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise InputError("report output is not a directory", file=str(out))
        if not os.access(out, os.W_OK | os.X_OK):
            raise InputError("report directory is not writable", file=str(out))
        return out
    parent = out.parent
    if not parent.exists():
        raise InputError(f"cannot create the report directory: {parent} does not exist", file=str(out))
    if not parent.is_dir():
        raise InputError(f"cannot create the report directory: {parent} is not a directory", file=str(out))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot create the report directory: {parent} is not writable", file=str(out))
    return out


def _write_all(out: Path, files: list[tuple[str, str]]) -> list[Path]:
    """Write every file or none: each goes to a temporary file beside it first and all
    are renamed into place at the end; on any failure the temporary files (and the
    directory, if this call created it) are removed and an InputError names the path."""
    check_output_dir(out)
    created = not out.exists()
    umask = os.umask(0)
    os.umask(umask)
    temps: list[tuple[str, Path]] = []
    done: list[Path] = []
    current = out
    try:
        if created:
            out.mkdir()
        for name, text in files:
            current = out / name
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=str(out))
            temps.append((tmp, current))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            # mkstemp makes 0600 files; give the report the mode a plain open() would
            os.chmod(tmp, 0o666 & ~umask)
        for tmp, path in temps:
            current = path
            os.replace(tmp, path)
            done.append(path)
    except OSError as exc:
        for tmp, _path in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if created:
            for path in done:
                with contextlib.suppress(OSError):
                    path.unlink()
            with contextlib.suppress(OSError):
                out.rmdir()
        raise InputError(f"cannot write the report: {exc.strerror or exc}", file=str(current)) from None
    return [path for _tmp, path in temps]


def write_document(doc: Document, out_dir: str | Path, fmt: str) -> list[Path]:
    """Render first, then write every file; nothing is written if rendering fails.
    Returns the HTML page, or the Markdown file followed by its SVG pictures."""
    if fmt not in FORMATS:
        raise InputError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    out = check_output_dir(out_dir)
    if fmt == "html":
        return _write_all(out, [(f"{doc.stem}.html", render_html(doc))])
    text, pictures = render_markdown(doc)
    files = [(f"{doc.stem}.md", text)] + [(name, svg + "\n") for name, svg in sorted(pictures.items())]
    return _write_all(out, files)


def write_layout_report(out_dir: str | Path, fmt: str = "html", config: Config | None = None,
                        domain: str | None = "default", source: str = "") -> list[Path]:
    """The layout report of `config` (default: the reference preset) with the free-bits chart of `domain`."""
    from mmbits.kconfig.presets import preset
    from mmbits.report.layout_report import build_layout_report

    cfg = config if config is not None else preset("x86_64-6.18")
    return write_document(build_layout_report(cfg, domain, source=source), out_dir, fmt)


def write_check_report(result: dict[str, Any], out_dir: str | Path, fmt: str) -> list[Path]:
    """The report of a `mmbits check` result dict (mmbits schema check)."""
    from mmbits.report.check_report import build_check_report

    return write_document(build_check_report(result), out_dir, fmt)


def write_simulation_report(result: dict[str, Any], out_dir: str | Path, fmt: str,
                            all_fields: bool = False) -> list[Path]:
    """The report of a `mmbits simulate` result dict (mmbits schema simulate), with the failing timeline;
    before/after tables list the changed fields only, unless `all_fields`."""
    from mmbits.report.sim_report import build_simulation_report

    return write_document(build_simulation_report(result, all_fields), out_dir, fmt)
