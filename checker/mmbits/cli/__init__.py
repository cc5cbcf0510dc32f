"""The `mmbits` console script.

Subcommands are imported only when run, so `mmbits btf show` does not pay
for YAML, construct or the emulator at start-up. Every command shares the same
error contract: bad input is one line on stderr and exit 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from mmbits import __version__
from mmbits.cli.common import color_option

# name -> (module, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "show": ("mmbits.cli.show", "show", "Print a resolved layout in pahole style."),
    "flags": ("mmbits.cli.flags", "flags", "The page->flags word: packed fields, page flags, free bits."),
    "overlay": ("mmbits.cli.overlay", "overlay", "Which descriptor fields cover each byte of a struct page; MATCH rules."),
    "configs": ("mmbits.cli.configs", "configs", "List presets and config domains."),
    "btf": ("mmbits.cli.btf", "btf", "Read kernel BTF: show, verify against our layouts, import."),
    "check": ("mmbits.cli.check", "check", "Prove whether a proposed bit is free, over a config domain."),
    "patch": ("mmbits.cli.patch", "patch", "Scan a patch for page descriptor bit problems (checkpatch style)."),
    "simulate": ("mmbits.cli.simulate", "simulate", "Run the allocator and deferred page-table free emulator."),
    "decode": ("mmbits.cli.decode", "decode", "Decode dump_page raw: lines from a bug report."),
    "report": ("mmbits.cli.report", "report", "Write Markdown/HTML reports with SVG bit maps."),
    "schema": ("mmbits.cli.schema", "schema", "Print the JSON Schema of a command's --json output."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (mod, _a, _h) in COMMANDS.items() if importlib.util.find_spec(mod) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        mod_name, attr, _ = entry
        if importlib.util.find_spec(mod_name) is None:
            return None
        command: click.Command = getattr(importlib.import_module(mod_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mmbits")
@color_option
def cli() -> None:
    """mmbits: bit-exact page descriptor layouts, a bit-collision prover and a
    deferred page-table free emulator for Linux mm developers.

    \b
    Exit status (every command):
      0  nothing at warning level or above (notes never change it)
      1  a warning or error finding (an UNSAFE verdict)
      2  bad input or usage, or an UNKNOWN verdict
    --json output follows `mmbits schema COMMAND`. Shell completion:
    eval "$(_MMBITS_COMPLETE=bash_source mmbits)" (zsh_source, fish_source).
    """


def main(argv: list[str] | None = None) -> None:
    from mmbits.cli.common import run

    sys.exit(run(cli, argv))
