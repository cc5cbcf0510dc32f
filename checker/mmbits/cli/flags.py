"""mmbits flags: the page->flags word of a config, or a summary over a domain."""

from __future__ import annotations

import click

from mmbits.cli.common import config_options, emit_json, select
from mmbits.errors import EXIT_OK


@click.command()
@config_options()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def flags(preset: str | None, config_file: str | None, domain: str | None, sets: tuple[str, ...],
          as_json: bool) -> int:
    """Packed fields (section, node, zone, last_cpupid, kasan tag, lru gen,
    lru refs), every page flag with its aliases and where they are valid, the
    free gap, and the kernel's own #error when the config cannot build.
    With --domain: a summary across every valid config of the domain."""
    from mmbits.flags import report
    from mmbits.flags.packing import compute

    sel = select(preset, config_file, domain, sets)
    if sel.is_domain:
        summary = report.summarise(sel.domain)
        if as_json:
            emit_json(summary.to_json())
        else:
            click.echo(report.summary_text(summary))
        return EXIT_OK
    word = compute(sel.config)
    if as_json:
        emit_json(report.to_json(word, sel.config))
    else:
        click.echo(report.text(word, sel.config))
    return EXIT_OK
