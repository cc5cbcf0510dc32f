"""decode_text(): every report in a kernel log, decoded."""

from __future__ import annotations

from collections.abc import Iterable

from mmbits.decode.decoder import Decoded, decode_record
from mmbits.decode.parse import parse_dump
from mmbits.kconfig.config import Config
from mmbits.layout.registry import LayoutSet


def decode_text(text: str | Iterable[str], *, file: str = "<stdin>", config: Config | None = None, bits: int | None = None,
                big: bool | None = None, kind: str | None = None, struct: str = "page",
                lset: LayoutSet | None = None) -> list[Decoded]:
    """Parse `text` (dump_page output or bare raw words) and decode every struct page in it."""
    out: list[Decoded] = []
    for record in parse_dump(text, file):
        out.extend(decode_record(record, len(out) + 1, config=config, bits=bits, big=big, kind=kind,
                                 struct=struct, lset=lset, file=file))
    return out
