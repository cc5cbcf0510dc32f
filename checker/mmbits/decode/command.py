"""`mmbits decode`'s text output, without click: a big log file in two processes
(decode/parallel.py), anything else in one, each page's text written as it comes.

Why a module of its own: the command's plain form (`decode LOG --kernel R --arch A`, text
to a file or pipe) is run by main.py without importing click, which cost a fifth of the
start-up of a one-report decode; the click command (cli/decode.py) prints through the same
functions, so the two print the same bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmbits.decode.model import Decoded, Unreadable
    from mmbits.decode.reading import Line
    from mmbits.findings import Finding
    from mmbits.kconfig.config import Config
    from mmbits.layout.registry import LayoutSet


def decode_options(lset: LayoutSet, kernel: str | None, arch: str | None, *, config: Config | None = None,
                   bits: int | None = None, big: bool | None = None, kind: str | None = None,
                   struct: str = "page") -> dict[str, Any]:
    """decode_stream()'s options as the command gives them, from its click form (cli/decode.py)
    and from main.py's plain one alike."""
    return {"config": config, "bits": bits, "big": big, "kind": kind, "struct": struct, "lset": lset,
            "kernel": kernel, "arch": arch}


def print_text(file: str, options: dict[str, Any], context: bool, write: Callable[[str], None],
               colour: Callable[[str], str] | None = None) -> list[Finding]:
    """Every page of `file` ("-": stdin) decoded with `options` (decode/api.py decode_stream's)
    and its text passed to `write`, styled by `colour` when given; the findings that decide
    the exit code. `context`: the lines naming the release and arch are read."""
    from mmbits.decode.api import decode_stream, rarely_collected
    from mmbits.decode.reading import stream_input

    if colour is None:
        from mmbits.decode import parallel

        cut = parallel.plan(file)
        if cut is not None:
            from mmbits.inputs import display_name

            shown = display_name(file)

            def pages_of(lines: Iterator[Line], **part: Any) -> Iterator[Decoded | Unreadable]:
                return rarely_collected(decode_stream(lines, file=shown, **options, **part))

            return parallel.write_text(file, cut, pages_of, page_texts(), keep_worst, write, context)
    lines, name = stream_input(file, context)
    return write_text(rarely_collected(decode_stream(lines, file=name, **options)), write, colour,
                      held=file != "-")


def write_text(pages: Iterator[Decoded | Unreadable], write: Callable[[str], None],
               colour: Callable[[str], str] | None = None, held: bool = False) -> list[Finding]:
    """Each page's text as soon as it is decoded (from a file: a megabyte at a time,
    decode/batch.py; stdin, which may be a live log, a page at a time); the findings that
    decide the exit code."""
    from mmbits.decode.batch import CHUNK, TextBatch

    worst: list[Finding] = []
    page_text = page_texts()
    batch = TextBatch(write, CHUNK if held else 0)
    try:
        for i, dec in enumerate(pages):
            text = page_text(dec)
            batch.add_page(colour(text) if colour is not None else text, not i)
            if not worst:
                keep_worst(worst, dec.findings)
    finally:
        batch.flush()
    return worst


def page_texts() -> Callable[[Decoded | Unreadable], str]:
    """A page's text, the modules imported once (an import statement per page cost about a
    percent of the page)."""
    from mmbits.decode.model import Unreadable
    from mmbits.decode.render import render

    def page_text(dec: Decoded | Unreadable) -> str:
        return dec.render() if isinstance(dec, Unreadable) else render(dec)

    return page_text


def keep_worst(worst: list[Finding], findings: list[Finding]) -> None:
    """Keep one warning-or-error finding (all the exit code needs), not every page's."""
    if worst:
        return
    from mmbits.findings import exit_code

    worst.extend([f for f in findings if exit_code([f])][:1])
