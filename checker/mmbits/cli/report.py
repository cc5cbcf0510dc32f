"""mmbits report: the layout report (Markdown or one self-contained HTML page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mmbits.cli.common import color_option, config_options, emit_json, finding_line, finish, select


@click.command()
@config_options(domain=True, default_note="default: --preset x86_64-6.18")
@click.option("--out", "out_dir", default="reports", show_default=True, metavar="DIR",
              help="directory to write the report into")
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default="html", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="what was written, with paths (mmbits schema report)")
@color_option
def report(preset: str | None, config_file: str | None, domain: str | None, sets: tuple[str, ...], out_dir: str,
           fmt: str, as_json: bool) -> int:
    """Write the layout report of a config: every descriptor pahole-style, a byte
    map of struct page with all overlays side by side, the MATCH and bit rules
    with their status, the page->flags bit map of this config and of every
    preset, and the free bits across a domain (--domain, default 'default').
    HTML is one file with inline SVG and CSS (no script, no network); Markdown
    writes the pictures as .svg files beside it. File names carry the config and
    the domain. Prints the files written; exit 1 when a rule is broken or the
    flags word has a warning for the config."""
    from mmbits.progress import Progress
    from mmbits.report.api import check_output_dir, write_layout_report

    check_output_dir(out_dir)  # a directory that cannot be written fails before any work
    if domain:
        cfg = select(preset, config_file, None, sets).config if (preset or config_file) else None
        source, domain_name = "", domain
    else:
        sel = select(preset, config_file, None, sets)
        cfg, source, domain_name = sel.config, sel.source, "default"
    if cfg is None:
        from mmbits.kconfig.presets import preset as get_preset

        cfg = get_preset("x86_64-6.18")
    with Progress(1, "reports", "writing") as progress:
        paths = write_layout_report(out_dir, fmt, cfg, domain_name, source=source)
        progress.advance()
    found = _findings(cfg)
    if as_json:
        emit_json({"report": "layout", "format": fmt, "config": cfg.label(), "domain": domain_name,
                   "out": str(out_dir), "files": [_file(p) for p in paths],
                   "findings": [f.to_json() for f in found]})
    else:
        for p in paths:
            click.echo(click.style(str(p), fg="cyan"))
        for f in found:
            click.echo(finding_line(f))
    return finish(found)


def _file(path: Path) -> dict[str, Any]:
    return {"path": str(path), "type": path.suffix.lstrip("."), "bytes": path.stat().st_size}


def _findings(cfg: Any) -> list[Any]:
    """What the report shows as wrong for the config: broken overlay rules, flags-word warnings."""
    from mmbits.flags import report as flags_report
    from mmbits.flags.packing import compute
    from mmbits.layout.registry import DESCRIPTORS, layouts
    from mmbits.overlay import check_rules

    rules = [s.finding for s in check_rules(cfg, layouts(), list(DESCRIPTORS)) if not s.ok and s.finding]
    return rules + flags_report.findings(compute(cfg), cfg)
