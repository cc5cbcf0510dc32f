"""mmbits decode: dump_page() raw words -> struct page fields, kind, overlay, findings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from mmbits.cli.common import (
    color_option,
    config_options,
    finish,
    json_default,
    layout_options,
    layout_set,
    select,
    use_color,
)
from mmbits.decode.command import keep_worst

if TYPE_CHECKING:
    from mmbits.decode.model import Decoded, Unreadable
    from mmbits.findings import Finding


@click.command()
@click.argument("file", required=False, default="-")
@config_options(domain=False, default_note="default: inferred from the kernel's flags: line", kernel=False)
@layout_options
@click.option("--bits", type=click.Choice(["32", "64"]), help="word size (default: from the words' width)")
@click.option("--endian", type=click.Choice(["little", "big"]), help="byte order (default: little, or the config's)")
@click.option("--kernel", metavar="RELEASE", help="the kernel release that printed the dump, e.g. 6.12 (default: "
              "from the report's CPU: ... tainted line)")
@click.option("--arch", metavar="ARCH", help="the architecture (x86_64, i386, arm64, arm32, riscv64, powerpc32, "
              "powerpc64, s390x, parisc32, ...; default: from Hardware name:/register lines or pointers)")
@click.option("--kind", metavar="KIND", help="force the page kind (pgtable, slab, iommu-pgtable ...) instead of "
              "inferring it from the bytes")
@click.option("--as", "struct", default="page", metavar="STRUCT",
              help="decode the words as another struct page layout, e.g. page_sep (memdesc next to compound_head)")
@click.option("--json", "as_json", is_flag=True, help='{"pages": [...], "findings": [...]} (mmbits schema decode), '
              "written page by page")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="one JSON object per line and page, its findings inside "
              "(a log of any length in bounded memory)")
@color_option
def decode(file: str, preset: str | None, config_file: str | None, sets: tuple[str, ...],
           layout_files: tuple[str, ...], bits: str | None, endian: str | None, kernel: str | None,
           arch: str | None, kind: str | None, struct: str, as_json: bool, as_jsonl: bool) -> int:
    """Decode dump_page() output from a bug report (FILE, or - for stdin):
    `page:`, `flags:`, `page_type:`, `raw:` and `head:` lines with their log
    prefixes, or bare raw words. Prints every field of struct page with all its
    union names, the page kind and the overlay valid for it, the flags word split
    into fields and named flags, poison values and tagged pointers, and where the
    kernel's own lines disagree with the raw words. Without --preset/--config the
    config is inferred from the kernel's flags: line. Exit 1 when something is
    inconsistent or disagrees with the kernel, 0 otherwise. The log is read and
    the pages are printed as they come: memory holds one report, not the log."""
    from mmbits.collector import collector_paused

    # no cycles worth a pass while the model loads and pages decode (api.rarely_collected); what
    # survives (the model, the memos) frozen after: the pass the end of the paused work would
    # set off, and the one at exit, walked every object the run kept (a tenth of a long log's run)
    with collector_paused(freeze_after=True):
        return _decode(file, preset, config_file, sets, layout_files, bits, endian, kernel, arch, kind, struct,
                       as_json, as_jsonl)


def _decode(file: str, preset: str | None, config_file: str | None, sets: tuple[str, ...],
            layout_files: tuple[str, ...], bits: str | None, endian: str | None, kernel: str | None,
            arch: str | None, kind: str | None, struct: str, as_json: bool, as_jsonl: bool) -> int:
    """decode's work (decode() sets the garbage collector around it)."""
    from mmbits.decode.api import decode_stream, rarely_collected
    from mmbits.decode.reading import stream_input

    if as_json and as_jsonl:
        raise click.UsageError("--json and --jsonl: give one")
    cfg = None
    if preset or config_file or sets:
        cfg = select(preset, config_file, None, sets).config
    lset = layout_set(layout_files)
    lset.spec(struct)
    context = not (kernel and arch)  # the lines naming the release and arch are read
    from mmbits.decode.command import decode_options

    options = decode_options(lset, kernel, arch, config=cfg, bits=int(bits) if bits else None,
                             big=None if endian is None else endian == "big", kind=kind, struct=struct)
    if not as_json and not as_jsonl:
        from mmbits.decode.command import print_text

        # color=True when not colouring too: there are no escapes to strip (the input's were
        # removed when read), and stripping would scan every page again
        return finish(print_text(file, options, context, lambda s: click.echo(s, nl=False, color=True),
                                 _colour if use_color() else None))
    lines, name = stream_input(file, context)
    pages = rarely_collected(decode_stream(lines, file=name, **options))
    return finish(_write_json(pages) if as_json else _write_jsonl(pages))


def _write_jsonl(pages: Iterator[Decoded | Unreadable]) -> list[Finding]:
    """One line per page: the page's JSON with its findings inside."""
    from mmbits.decode.model import Unreadable
    from mmbits.decode.output import to_json

    worst: list[Finding] = []
    for dec in pages:
        click.echo(json.dumps(dec.to_json() if isinstance(dec, Unreadable) else to_json(dec), default=json_default))
        keep_worst(worst, dec.findings)
    return worst


def _write_json(pages: Iterator[Decoded | Unreadable]) -> list[Finding]:
    """The DecodeResult JSON document (mmbits schema decode), written a page at a time:
    only the findings list, which the document puts after the pages, is held."""
    from mmbits.results import decoded_page_json

    findings: list[dict[str, Any]] = []
    worst: list[Finding] = []
    number = -1
    for number, dec in enumerate(pages):  # noqa: B007 (number is read after the loop)
        if not number:  # written with the first page: an input with no page is one error line, no output
            click.echo('{\n  "pages": [', nl=False)
        page = decoded_page_json(dec, number, findings)
        text = json.dumps(page, indent=2, default=json_default).replace("\n", "\n    ")
        click.echo(("," if number else "") + "\n    " + text, nl=False)
        keep_worst(worst, dec.findings)
    if number < 0:
        click.echo('{\n  "pages": [', nl=False)
    tail = json.dumps(findings, indent=2, default=json_default).replace("\n", "\n  ")
    click.echo(f"\n  ],\n  \"findings\": {tail}\n}}")
    return worst


def _colour(text: str) -> str:
    """Headings bold and finding levels in colour (only when --color allows: click.echo
    would strip them again, and styling a long log costs more than decoding it)."""
    import re

    from mmbits.cli.common import styled

    text = re.sub(r"^(\S.*:)$", lambda m: click.style(m.group(1), bold=True), text, flags=re.M)
    return re.sub(r"\b(ERROR|WARNING|NOTE)(?=:)", lambda m: styled(m.group(1), m.group(1).lower()), text)
