"""mmbits patch: scan a patch (or an mbox of them) for page descriptor bit problems."""

from __future__ import annotations

import click

from mmbits.cli.common import config_options, emit_json, select
from mmbits.errors import EXIT_FINDINGS, EXIT_OK


@click.command()
@click.argument("patch_file", metavar="FILE|-")
@config_options(default_note="default: every valid config of --domain default")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--terse", is_flag=True, help="one line per finding: FILE:LINE: LEVEL:TYPE: message")
def patch(patch_file: str, preset: str | None, config_file: str | None, domain: str | None,
          sets: tuple[str, ...], as_json: bool, terse: bool) -> int:
    """Check what a patch adds to page descriptor bit space: new #define X BIT(...)
    and enum entries in page-flags / pt_flags / page_type space, set_bit/test_bit/|=/&
    on descriptor words, `word | CONST` used as a condition (always true), a flag bit
    on a word where that bit is a packed field, non-atomic updates of a shared word.
    Each finding is proved over the config domain. Reads git format-patch output,
    plain diffs and mboxes with several patches (CRLF too).

    Output is checkpatch's: `LEVEL:TYPE: message`, `#N: FILE: path:line:`, the
    added line, `total: N errors, M warnings, K lines checked`. Exit 1 when anything
    is reported."""
    from mmbits.inputs import LIMIT_PATCH, display_name, read_bytes
    from mmbits.patch import parse, scan_patches
    from mmbits.patch.output import checkpatch, to_json
    from mmbits.patch.output import terse as terse_text

    source = display_name(patch_file)
    data = read_bytes(patch_file, LIMIT_PATCH, "a patch or mbox")
    patches = parse(data, source)
    sel = select(preset, config_file, domain, sets, default="domain")
    reports = scan_patches(patches, config=sel.config, domain=sel.domain, source=sel.source)
    if as_json:
        emit_json(to_json(reports, source))
    elif terse:
        text = terse_text(reports)
        if text:
            click.echo(text)
    else:
        click.echo(checkpatch(reports, source))
    found = any(r.count("ERROR") or r.count("WARNING") for r in reports)
    return EXIT_FINDINGS if found else EXIT_OK
