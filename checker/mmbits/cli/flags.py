"""mmbits flags: the page->flags word of a config, or a summary over a domain."""

from __future__ import annotations

import click

from mmbits.cli.common import color_option, config_options, emit_json, finish, select


@click.command()
@config_options()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@color_option
def flags(preset: str | None, config_file: str | None, domain: str | None, sets: tuple[str, ...],
          as_json: bool) -> int:
    """Packed fields (section, node, zone, last_cpupid, kasan tag, lru gen,
    lru refs), every page flag with its aliases and where they are valid, the
    free gap, and the kernel's own #error when the config cannot build.
    With --domain: a summary across every valid config of the domain.
    Exit 1 when a warning is reported (a field out of the word, a miscount)."""
    from mmbits.flags import report
    from mmbits.flags.packing import compute

    sel = select(preset, config_file, domain, sets)
    if sel.is_domain:
        from mmbits.progress import Progress

        with Progress(sel.domain.size(), "configs", "summarising") as progress:
            summary = report.summarise(sel.domain, progress=progress.advance)
        if as_json:
            emit_json({**summary.to_json(), "findings": []})
        else:
            click.echo(_colour(report.summary_text(summary)))
        return 0  # a summary of counts: its findings are per config (mmbits flags --preset/--config)
    word = compute(sel.config)
    found = report.findings(word, sel.config)
    if as_json:
        emit_json(report.to_json(word, sel.config))
    else:
        click.echo(_colour(report.text(word, sel.config)))
    return finish(found)


def _colour(text: str) -> str:
    """The first line bold, finding levels in colour (stripped unless --color allows)."""
    import re

    from mmbits.cli.common import styled

    head, _, rest = text.partition("\n")
    rest = re.sub(r"^(\s*)(ERROR|WARNING|NOTE)(?=:)", lambda m: m.group(1) + styled(m.group(2), m.group(2).lower()),
                  rest, flags=re.M)
    return click.style(head, bold=True) + ("\n" + rest if rest else "")
