"""mmbits configs: the named presets and config domains."""

from __future__ import annotations

import click

from mmbits.cli.common import color_option, emit_json


@click.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output (mmbits schema configs)")
@color_option
def configs(as_json: bool) -> int:
    """List presets (with what they set) and domains (with their sizes)."""
    from mmbits.kconfig.domain import domain_names, load_domain
    from mmbits.kconfig.presets import preset, preset_info, preset_names

    presets = []
    for name in preset_names():
        cfg = preset(name)
        presets.append({"name": name, "doc": preset_info(name).doc, "config": cfg.describe()})
    domains = []
    spans: dict[str, str] = {}
    for name in domain_names():
        dom = load_domain(name)
        domains.append({"name": name, "doc": dom.doc, "configs": dom.size(), "combinations": dom.raw_size()})
        spans[name] = _span(dom.releases())
    if as_json:
        emit_json({"presets": presets, "domains": domains, "findings": []})
        return 0
    click.echo(click.style("presets", bold=True))
    for p in presets:
        click.echo("  " + click.style(f"{p['name']:<26}", fg="cyan") + f" {p['doc']}")
        click.echo(f"  {'':<26} {p['config']}")
    click.echo(click.style("domains", bold=True))
    for d in domains:
        click.echo("  " + click.style(f"{d['name']:<26}", fg="cyan") + f" {d['configs']} valid configs of {d['combinations']} combinations: {d['doc']}")
        click.echo(f"  {'':<26} Linux {spans[str(d['name'])]}")
    from mmbits.kconfig.model import load_model

    model = load_model()
    click.echo(click.style("kernels", bold=True))
    click.echo(f"  Linux {_span(list(model.releases))} (--kernel VERSION; default Linux "
               f"{_span([int(model.symbols['VERSION'].default)])}; --domain 6.12 is the default domain at 6.12)")
    click.echo(f"  architectures: {', '.join(model.archs)}")
    return 0


def _span(releases: list[int]) -> str:
    from mmbits.kconfig.release import release_name

    return ", ".join(release_name(r) for r in releases)
