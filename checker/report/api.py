"""What other commands call to write a report: `pagebits check --report DIR`
and `pagebits simulate --report DIR` hand over their JSON-shaped result.

Every writer builds the whole report in memory first and writes each file
atomically, so an error leaves no partial file behind. It returns the paths
written (the HTML page, or the Markdown file followed by its SVG pictures).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pagebits.cli.common import atomic_write
from pagebits.errors import InputError
from pagebits.kconfig.config import Config
from pagebits.report.document import Document, render_html, render_markdown

FORMATS = ("html", "md")


def _publish(path: Path, text: str) -> None:
    """atomic_write, then the mode a normally created file gets (mkstemp makes it 0600)."""
    atomic_write(path, text)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def write_document(doc: Document, out_dir: str | Path, fmt: str) -> list[Path]:
    """Render first, then write every file; nothing is written if rendering fails."""
    if fmt not in FORMATS:
        raise InputError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError("report output is not a directory", file=str(out))
    if fmt == "html":
        html = render_html(doc)
        path = out / f"{doc.stem}.html"
        _publish(path, html)
        return [path]
    text, pictures = render_markdown(doc)
    written = []
    for name, svg in sorted(pictures.items()):
        _publish(out / name, svg + "\n")
        written.append(out / name)
    path = out / f"{doc.stem}.md"
    _publish(path, text)
    return [path, *written]


def write_layout_report(out_dir: str | Path, fmt: str = "html", config: Config | None = None,
                        domain: str | None = "default", source: str = "") -> list[Path]:
    """The layout report of `config` (default: the reference preset) with the free-bits chart of `domain`."""
    from pagebits.kconfig.presets import preset
    from pagebits.report.layout_report import build_layout_report

    cfg = config if config is not None else preset("x86_64-6.18")
    return write_document(build_layout_report(cfg, domain, source=source), out_dir, fmt)


def write_check_report(result: dict[str, Any], out_dir: str, fmt: str) -> list[Path]:
    """The report of a `pagebits check` result dict (issue 4's JSON schema)."""
    from pagebits.report.check_report import build_check_report

    return write_document(build_check_report(result), out_dir, fmt)


def write_simulation_report(result: dict[str, Any], out_dir: str, fmt: str) -> list[Path]:
    """The report of a `pagebits simulate` result dict (issue 5's JSON schema), with the failing timeline."""
    from pagebits.report.sim_report import build_simulation_report

    return write_document(build_simulation_report(result), out_dir, fmt)
