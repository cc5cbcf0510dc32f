"""mmbits schema COMMAND: the JSON Schema every `COMMAND --json` output follows."""

from __future__ import annotations

import click

from mmbits.cli.common import color_option, emit_json
from mmbits.errors import EXIT_OK


@click.command()
@click.argument("command", nargs=-1, required=False)
@click.option("--list", "list_only", is_flag=True, help="list the commands that have a schema")
@color_option
def schema(command: tuple[str, ...], list_only: bool) -> int:
    """Print the JSON Schema (draft 2020-12) of `mmbits COMMAND --json`, e.g.
    `mmbits schema check`, `mmbits schema btf verify`. The schemas ship in the
    package (mmbits/schemas/) and the test suite validates every command's
    output against them."""
    from mmbits.schemas import COMMANDS, load

    if list_only or not command:
        for name in COMMANDS:
            click.echo(name)
        return EXIT_OK
    emit_json(load(" ".join(command)))
    return EXIT_OK
