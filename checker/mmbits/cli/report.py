"""mmbits report: the layout report (Markdown or one self-contained HTML page)."""

from __future__ import annotations

import click

from mmbits.cli.common import config_options, select
from mmbits.errors import EXIT_OK


@click.command()
@config_options(domain=True, default_note="default: --preset x86_64-6.18")
@click.option("--out", "out_dir", default="reports", show_default=True, metavar="DIR",
              help="directory to write the report into")
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default="html", show_default=True)
def report(preset: str | None, config_file: str | None, domain: str | None, sets: tuple[str, ...], out_dir: str,
           fmt: str) -> int:
    """Write the layout report of a config: every descriptor pahole-style, a byte
    map of struct page with all overlays side by side, the MATCH and bit rules
    with their status, the page->flags bit map of this config and of every
    preset, and the free bits across a domain (--domain, default 'default').
    HTML is one file with inline SVG and CSS (no script, no network); Markdown
    writes the pictures as .svg files beside it. Prints the files written."""
    from mmbits.report.api import write_layout_report

    if domain:
        sel_cfg = select(preset, config_file, None, sets).config if (preset or config_file) else None
        paths = write_layout_report(out_dir, fmt, sel_cfg, domain)
    else:
        sel = select(preset, config_file, None, sets)
        paths = write_layout_report(out_dir, fmt, sel.config, "default", source=sel.source)
    for p in paths:
        click.echo(str(p))
    return EXIT_OK
