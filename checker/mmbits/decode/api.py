"""decode_text() / decode_stream(): every report in a kernel log, decoded."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from mmbits.decode.context import ContextWindow, given_context, merge
from mmbits.decode.decoder import Decoded, decode_record
from mmbits.decode.model import Unreadable
from mmbits.decode.parse import records_with_next
from mmbits.decode.reading import Line, source_lines
from mmbits.errors import InputError
from mmbits.kconfig.config import Config
from mmbits.layout.registry import LayoutSet


def decode_text(text: str, *, file: str = "<stdin>", config: Config | None = None, bits: int | None = None,
                big: bool | None = None, kind: str | None = None, struct: str = "page",
                lset: LayoutSet | None = None, kernel: str | None = None, arch: str | None = None) -> list[Decoded]:
    """Parse `text` (dump_page output or bare raw words) and decode every struct page in it."""
    out = []
    for dec in decode_stream(source_lines(text), file=file, config=config, bits=bits, big=big, kind=kind,
                             struct=struct, lset=lset, kernel=kernel, arch=arch, keep_going=False):
        assert isinstance(dec, Decoded)
        out.append(dec)
    return out


def decode_stream(lines: Iterable[Line], *, file: str = "<stdin>", config: Config | None = None,
                  bits: int | None = None, big: bool | None = None, kind: str | None = None,
                  struct: str = "page", lset: LayoutSet | None = None, kernel: str | None = None,
                  arch: str | None = None, keep_going: bool = True, first_line: int = 0,
                  stop_line: int | None = None, printed_before: bool = False) -> Iterator[Decoded | Unreadable]:
    """Every struct page in the kernel's lines, decoded as soon as its report is read:
    memory holds one report and the few lines around it that may name the kernel.

    Each report's kernel release and architecture come from the lines between it
    and its neighbours (the CPU:/Hardware name:/register lines of the same oops),
    unless the user said them (`kernel` "6.12", `arch`): what the user says wins.

    A report that cannot be read raises its InputError while nothing has been yielded
    (the caller has printed nothing: one error line); after that, with `keep_going`,
    it is yielded as Unreadable and the log goes on.

    A part of a log (decode/parallel.py): the reports starting before `first_line` are read
    for the neighbourhood of the next one but neither decoded nor yielded, the stream stops
    at the first report starting at or after `stop_line`, and with `printed_before` an
    earlier part has printed pages (an unreadable first report is yielded, not raised);
    page numbers then count from this part's first page."""
    given = given_context(kernel, arch)
    window = ContextWindow()
    last_end = 0
    number = 0
    # the user named both: no line of the log is asked (and the window is not fed)
    fixed = given if given is not None and given.version is not None and given.arch is not None else None
    for record, next_start in records_with_next(lines if fixed is not None else window.feed(lines), file,
                                                     None if fixed is not None else window.started):
        if stop_line is not None and record.start >= stop_line:
            return
        if record.start < first_line:
            last_end = record.end
            window.drop_through(last_end)
            continue
        if fixed is not None:
            context = fixed
        else:
            lo = last_end + 1
            hi = next_start - 1 if next_start is not None else window.last
            width = record.width
            wbits = bits or (64 if width == 16 else 32 if width == 8 else None)
            context = merge(window.context(lo, hi, record.start, record.end, wbits), given)
        try:
            record.check()
            decoded = decode_record(record, number + 1, config=config, bits=bits, big=big, kind=kind,
                                    struct=struct, lset=lset, file=file, context=context)
        except InputError as exc:
            if not keep_going or (number == 0 and not printed_before):
                raise
            if exc.file is None:
                exc.file = file
            number += 1
            yield Unreadable(number, record, exc)
        else:
            for dec in decoded:
                number += 1
                yield dec
        last_end = record.end
        if fixed is None:  # (with both given the window is not fed)
            window.drop_through(last_end)


# pages between two collections of the young objects while a log is decoded
_COLLECT_EVERY = 4096


def rarely_collected(pages: Iterator[Decoded | Unreadable]) -> Iterator[Decoded | Unreadable]:
    """`pages`, with Python's cyclic garbage collector run every few thousand pages instead
    of every 700 allocations. Decoding makes no reference cycles (what it frees, reference
    counting frees), but a long log makes millions of objects and the collector's automatic
    passes over them, the memos' entries and the loaded model took a sixth of the time.
    The collector is switched back on when the pages end or the consumer stops."""
    import gc

    from mmbits.collector import collector_paused

    with collector_paused():
        for i, dec in enumerate(pages, 1):
            yield dec
            if not i % _COLLECT_EVERY:
                gc.collect(1)  # anything cyclic made since the last pass (nothing older is freed here)

