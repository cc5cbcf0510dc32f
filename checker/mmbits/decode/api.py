"""decode_text(): every report in a kernel log, decoded."""

from __future__ import annotations

from mmbits.decode.context import context_for, given_context, merge
from mmbits.decode.decoder import Decoded, decode_record
from mmbits.decode.parse import parse_lines
from mmbits.decode.reading import source_lines
from mmbits.kconfig.config import Config
from mmbits.layout.registry import LayoutSet


def decode_text(text: str, *, file: str = "<stdin>", config: Config | None = None, bits: int | None = None,
                big: bool | None = None, kind: str | None = None, struct: str = "page",
                lset: LayoutSet | None = None, kernel: str | None = None, arch: str | None = None) -> list[Decoded]:
    """Parse `text` (dump_page output or bare raw words) and decode every struct page in it.

    Each report's kernel release and architecture come from the lines between it
    and its neighbours (the CPU:/Hardware name:/register lines of the same oops),
    unless the user said them (`kernel` "6.12", `arch`): what the user says wins."""
    given = given_context(kernel, arch)
    lines = source_lines(text)
    records = parse_lines(lines, file)
    out: list[Decoded] = []
    for i, record in enumerate(records):
        lo = records[i - 1].end + 1 if i else 1
        hi = records[i + 1].start - 1 if i + 1 < len(records) else (lines[-1].number if lines else 0)
        width = record.width
        wbits = bits or (64 if width == 16 else 32 if width == 8 else None)
        if given is not None and given.version is not None and given.arch is not None:
            context = given
        else:
            context = merge(context_for(lines, lo, hi, record.start, record.end, wbits), given)
        out.extend(decode_record(record, len(out) + 1, config=config, bits=bits, big=big, kind=kind,
                                 struct=struct, lset=lset, file=file, context=context))
    return out
