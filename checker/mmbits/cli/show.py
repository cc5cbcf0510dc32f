"""mmbits show STRUCT: a resolved layout, pahole style or JSON."""

from __future__ import annotations

import click

from mmbits.cli.common import (
    color_option,
    config_options,
    emit_json,
    layout_options,
    layout_set,
    select,
)


@click.command()
@click.argument("struct")
@config_options(domain=False)
@layout_options
@click.option("--hex", "hex_", is_flag=True, help="offsets and sizes in hex (pahole --hex)")
@click.option("--json", "as_json", is_flag=True, help='{"struct", "size", "members": [...]}')
@color_option
def show(struct: str, preset: str | None, config_file: str | None, sets: tuple[str, ...],
         layout_files: tuple[str, ...], hex_: bool, as_json: bool) -> int:
    """Print STRUCT (page, folio, ptdesc, slab, zpdesc, ioptdesc, memdesc, ...)
    resolved for one config, the way pahole prints it."""
    from mmbits.layout.pahole import format_layout

    sel = select(preset, config_file, None, sets)
    lset = layout_set(layout_files)
    layout = lset.resolve(struct, sel.config)
    if as_json:
        emit_json(layout.to_json())
    else:
        click.echo(click.style(f"/* {sel.config.label()}: {sel.config.describe(lset.config_symbols(layout.struct))} */",
                               fg="cyan"))
        click.echo(format_layout(layout, hex_=hex_))
    return 0
