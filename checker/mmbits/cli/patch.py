"""mmbits patch: scan a patch (or an mbox of them) for page descriptor bit problems."""

from __future__ import annotations

import re

import click

from mmbits.cli.common import color_option, config_options, emit_json, finish, select, styled

_LEVEL_LINE = re.compile(r"^(?:(?P<pre>\S+:\d+: ))?(?P<level>ERROR|WARNING|CHECK)(?=:)", re.M)
_STYLE_KEY = {"ERROR": "error", "WARNING": "warning", "CHECK": "note"}


def _colour(text: str) -> str:
    """checkpatch's level words in colour (click.echo strips them unless --color allows)."""
    return _LEVEL_LINE.sub(lambda m: (m.group("pre") or "") + styled(m.group("level"), _STYLE_KEY[m.group("level")]),
                           text)


@click.command()
@click.argument("patch_file", metavar="FILE|-")
@config_options(default_note="default: every valid config of --domain default")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--terse", is_flag=True, help="one line per finding: FILE:LINE: LEVEL:TYPE: message")
@color_option
def patch(patch_file: str, preset: str | None, config_file: str | None, domain: str | None,
          sets: tuple[str, ...], as_json: bool, terse: bool) -> int:
    """Check what a patch adds to page descriptor bit space: new #define X BIT(...)
    and enum entries in page-flags / pt_flags / page_type space, set_bit/test_bit/|=/&
    on descriptor words, `word | CONST` used as a condition (always true), a flag bit
    on a word where that bit is a packed field, non-atomic updates of a shared word.
    Each finding is proved over the config domain. Reads git format-patch output,
    plain diffs and mboxes with several patches (CRLF too).

    Output is checkpatch's: `LEVEL:TYPE: message`, `#N: FILE: path:line:`, the
    added line, `total: N errors, M warnings, K lines checked`. Exit 1 when an
    ERROR or WARNING is reported (CHECKs are notes). As a b4 per-patch check:
    `git config b4.prep-perpatch-check-cmd "mmbits patch --terse -"`."""
    from mmbits.inputs import LIMIT_PATCH, display_name, read_bytes
    from mmbits.patch import parse
    from mmbits.patch.output import checkpatch
    from mmbits.patch.output import terse as terse_text
    from mmbits.patch.scan import Scanner
    from mmbits.results import PatchResult

    source = display_name(patch_file)
    data = read_bytes(patch_file, LIMIT_PATCH, "a patch or mbox")
    patches = parse(data, source)
    sel = select(preset, config_file, domain, sets, default="domain")
    from mmbits.progress import Progress

    # on a terminal only: b4 runs this per patch and counts every stderr line as a failure
    with Progress(len(patches), "patches", "checking", summary=False) as progress:
        scanner = Scanner(sel.config, sel.domain, sel.source)  # one scanner: results shared across the series
        reports = []
        for one in patches:
            reports.append(scanner.scan(one))
            progress.advance()
    result = PatchResult(source, reports)
    if as_json:
        emit_json(result.to_json())
    elif terse:
        text = terse_text(reports)
        if text:
            click.echo(_colour(text))
    else:
        click.echo(_colour(checkpatch(reports, source)))
    # a proposal the engine could not prove is UNKNOWN (exit 2), never clean
    return finish(result.findings, "UNKNOWN" if any(r.unknown for r in reports) else None)
