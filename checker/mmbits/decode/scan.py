"""Skip the lines of a long log that cannot matter, without reading them closely.

A kernel log is mostly other messages (stack traces, register dumps, KASAN's
shadow bytes). Stripping every line's prefixes and handing it to the parser costs
more than decoding the reports, so once the log is known to hold dump_page output
each raw line is first tested for the few substrings any line the parser reads
(decode/parse.py `DUMP_KEYS`) or the context reads (decode/context.py
`context_needles`) must contain; the rest are dropped unread. What the parser did
with a dropped line (forget a `raw:` line's missing words, end a block of bare
words) is kept: the line after a word-less `raw:`/`head:` is always passed, and
nothing is dropped before the first `raw:` line with words, while bare words may
still be the whole input.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate, chain, repeat, starmap
from operator import add

from mmbits.decode import fused
from mmbits.decode.context import context_needles
from mmbits.decode.parse import DUMP_KEYS, FusedLines, FusedReport
from mmbits.decode.reading import (
    QP_LOOKAHEAD,
    SourceLine,
    looks_quoted_printable,
    stream_source_lines,
    strip_prefix,
)


def scan_blocks(blocks: Iterable[list[str]], context: bool = True) -> Iterator[SourceLine | FusedReport]:
    """The kernel's lines that can matter, numbered as in the input, from blocks of raw
    lines (inputs.iter_line_blocks); quoted-printable mail goes the line-by-line way.
    Without `context` the lines only context.py reads (release, arch) are dropped too."""
    it = iter(blocks)
    head: list[str] = []
    held: list[list[str]] = []
    for blk in it:
        held.append(blk)
        head.extend(blk[:QP_LOOKAHEAD - len(head)])
        if len(head) >= QP_LOOKAHEAD:
            break
    if looks_quoted_printable("\n".join(head)):
        yield from stream_source_lines(chain.from_iterable(chain(held, it)))
        return
    del head
    yield from _filtered(chain(held, it), 0, context)


def scan_part(blocks: Iterable[list[str]], lines_before: int, context: bool = True
              ) -> Iterator[SourceLine | FusedReport]:
    """scan_blocks() over a part of a plain (not quoted-printable) log that starts after
    `lines_before` lines, numbered as in the whole log (decode/parallel.py)."""
    return _filtered(blocks, lines_before, context)


def _filtered(blocks: Iterable[list[str]], number: int = 0, context: bool = True
              ) -> Iterator[SourceLine | FusedReport]:
    # number: lines before the block
    active = False  # dropping lines: a raw: line with words was read
    last = number  # the number of the last line passed on
    wrapped = False  # the previous block ended in a word-less raw:/head: line
    for blk in blocks:
        first = 0
        if not active:
            for i, line in enumerate(blk):
                text = strip_prefix(line)
                last = number + i + 1
                yield SourceLine(last, text)
                if text[:4].lower() == "raw:" and text[4:].strip():
                    active, first = True, i + 1
                    break
            else:
                number += len(blk)
                continue
        found = _picks(blk, first, context, number, wrapped and first == 0)
        picked: list[int | FusedReport] | range = range(first, len(blk)) if found is None else found
        if picked:
            last = picked[-1].number if isinstance(picked[-1], FusedReport) else number + picked[-1] + 1
            yield from [SourceLine(number + i + 1, strip_prefix(blk[i])) if isinstance(i, int) else i for i in picked]
        wrapped = bool(blk) and _wordless(blk[-1])
        number += len(blk)
    if last < number:
        yield SourceLine(number, "")  # the last line's number: the last report's neighbourhood ends there


def _picks(lines: list[str], first: int, context: bool = True, number: int = 0, wrapped: bool = False
           ) -> list[int | FusedReport] | None:
    """The indices (from `first`) of the lines holding a key or a needle, and of the line
    after a word-less `raw:`/`head:` (its words wrapped onto the next line: line 0 when
    `wrapped`), in order; a report decode/fused.py reads at once is there as one FusedReport
    instead of its lines (`number`: lines before the block). None when the block is not
    ASCII (lowercasing could move the offsets)."""
    block = lines[first:]
    text = "\n".join(block)
    if not text.isascii():
        return None
    low = text.lower()
    runs = _runs(lines, first, text, low, number, context) if fused.ENABLED else []
    if not runs:
        keyed, wordless = _hits(block, text, low, context)
        found = sorted(set(keyed).union([i + 1 for i in wordless if i + 1 < len(block)]))
        picked: list[int | FusedReport] = [first + i for i in found]
        if wrapped and (not found or found[0] != 0):
            picked.insert(0, 0)
        return picked
    # the lines between the runs, searched as one text: a run's lines are not searched again
    gaps: list[tuple[int, int]] = []
    at = first
    for start, end, _report in runs:
        if start > at:
            gaps.append((at, start))
        at = end + 1
    if at < len(lines):
        gaps.append((at, len(lines)))
    where = list(chain.from_iterable(starmap(range, gaps)))  # a gap line's index in `lines`
    gap = [lines[i] for i in where]
    gap_text = "\n".join(gap)
    keyed, wordless = _hits(gap, gap_text, gap_text.lower(), context)
    wanted = {where[i] for i in keyed}
    covered = {start for start, _end, _report in runs}  # a run's page: line ends any wrapping before it
    wanted.update(n for n in (where[i] + 1 for i in wordless) if n < len(lines) and n not in covered)
    if wrapped and runs[0][0] != 0:
        wanted.add(0)
    out: list[int | FusedReport] = []
    lo = 0
    found = sorted(wanted)
    for start, _end, report in runs:
        j = bisect_left(found, start, lo)
        out.extend(found[lo:j])
        out.append(report)
        lo = j
    out.extend(found[lo:])
    return out


def _hits(block: list[str], text: str, low: str, context: bool) -> tuple[list[int], list[int]]:
    """(the lines of `block` holding a key or a needle, the word-less `raw:`/`head:` lines):
    each key's places are found with str.find and turned into line indices by one
    bisection each, in C."""
    # where each line starts in `text`: line i holds the places from starts[i] to starts[i + 1] - 1
    starts = list(accumulate(map(add, map(len, block), repeat(1)), initial=0))
    hits: list[int] = []
    for source, keys in ((low, DUMP_KEYS), (text, context_needles() if context else ())):
        for key in keys:
            find = source.find
            pos = find(key)
            while pos >= 0:
                hits.append(pos)
                pos = find(key, pos + 1)
    # the word-less raw:/head: lines (rare: found in C, not tested per line)
    ends = [m.start() for m in _LINE_END_COLON.finditer(low) if low.endswith(("raw", "head"), 0, m.start())]
    return ([i - 1 for i in set(map(bisect_right, repeat(starts), hits))],
            [i - 1 for i in map(bisect_right, repeat(starts), ends)])


def _runs(lines: list[str], first: int, text: str, low: str, number: int, context: bool
          ) -> list[tuple[int, int, FusedReport]]:
    """The reports from `first` on that decode/fused.py reads at once: (first line, last
    line, the report), in order; none in a block holding blanks strip() reads otherwise."""
    if "page:" not in low or not fused.plain_blanks(text):
        return []
    starts = list(accumulate(map(add, map(len, lines[first:]), repeat(1)), initial=0))
    places: list[int] = []
    pos = low.find("page:")
    while pos >= 0:
        places.append(pos)
        pos = low.find("page:", pos + 1)
    relevant = _context_test() if context else None
    runs: list[tuple[int, int, FusedReport]] = []
    end = -1
    for at in sorted({first + i - 1 for i in map(bisect_right, repeat(starts), places)}):
        if at <= end:
            continue
        got = fused.read_report(lines, at, number, relevant)
        if got is not None:
            end, record = got
            runs.append((at, end, FusedReport(record.end, FusedLines(record, lines, at, number))))
    return runs


def _context_test() -> Callable[[str], object]:
    """decode/context.py ContextWindow.feed's search for the lines it keeps."""
    from mmbits.decode.context import _needles

    return _needles().search


# a line ending in a colon (and blanks), as rstrip() sees blanks: the candidates for _wordless
# found in one search over a block (an alternation in front would try every position)
_LINE_END_COLON = re.compile(r":[ \t\f\v\r\x1c-\x1f]*$", re.M)


def _wordless(line: str) -> bool:
    """A `raw:` or `head:` line whose words the mailer wrapped onto the next line."""
    return line.rstrip().lower().endswith(("raw:", "head:"))
