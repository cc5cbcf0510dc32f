"""mmbits decode: dump_page() raw words -> struct page fields, kind, overlay, findings."""

from __future__ import annotations

import click

from mmbits.cli.common import (
    color_option,
    config_options,
    emit_json,
    finish,
    layout_options,
    layout_set,
    select,
)


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
@click.option("--json", "as_json", is_flag=True, help='{"pages": [...], "findings": [...]} (mmbits schema decode)')
@color_option
def decode(file: str, preset: str | None, config_file: str | None, sets: tuple[str, ...],
           layout_files: tuple[str, ...], bits: str | None, endian: str | None, kernel: str | None,
           arch: str | None, kind: str | None, struct: str, as_json: bool) -> int:
    """Decode dump_page() output from a bug report (FILE, or - for stdin):
    `page:`, `flags:`, `page_type:`, `raw:` and `head:` lines with their log
    prefixes, or bare raw words. Prints every field of struct page with all its
    union names, the page kind and the overlay valid for it, the flags word split
    into fields and named flags, poison values and tagged pointers, and where the
    kernel's own lines disagree with the raw words. Without --preset/--config the
    config is inferred from the kernel's flags: line. Exit 1 when something is
    inconsistent or disagrees with the kernel, 0 otherwise."""
    from mmbits.decode.api import decode_text
    from mmbits.decode.reading import read_input
    from mmbits.decode.render import render
    from mmbits.results import DecodeResult

    text, name = read_input(file)
    cfg = None
    if preset or config_file or sets:
        cfg = select(preset, config_file, None, sets).config
    lset = layout_set(layout_files)
    lset.spec(struct)
    pages = decode_text(text, file=name, config=cfg, bits=int(bits) if bits else None,
                        big=None if endian is None else endian == "big", kind=kind, struct=struct, lset=lset,
                        kernel=kernel, arch=arch)
    result = DecodeResult(pages)
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(_colour("\n\n".join(render(d, len(pages)) for d in pages)))
    return finish(result.findings)


def _colour(text: str) -> str:
    """Headings bold and finding levels in colour (only when --color allows: click.echo
    would strip them again, and styling a long log costs more than decoding it)."""
    import re

    from mmbits.cli.common import styled, use_color

    if not use_color():
        return text

    text = re.sub(r"^(\S.*:)$", lambda m: click.style(m.group(1), bold=True), text, flags=re.M)
    return re.sub(r"\b(ERROR|WARNING|NOTE)(?=:)", lambda m: styled(m.group(1), m.group(1).lower()), text)
