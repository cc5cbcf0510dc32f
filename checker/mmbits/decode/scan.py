"""Skip the lines of a long log that cannot matter, without reading them closely.

A kernel log is mostly other messages (stack traces, register dumps, KASAN's
shadow bytes). Stripping every line's prefixes and handing it to the parser costs
more than decoding the reports, so once the log is known to hold dump_page output
the lines the parser reads are found by searching each block of the log, in C, for
the few substrings they must contain, and the rest are dropped unread:

- the lines the parser reads wherever they are (decode/parse.py `ANYWHERE_KEYS`:
  `raw:`, `page:`, `head:`, `page dumped because:`, `page does not match`) and the
  lines the context reads (decode/context.py `context_needles`);
- every line from a `page:` line through the first `raw:` line whose words the parser
  takes for sure (parse.printed_words): the parser reads the `PAGE_PART_KEYS` lines
  (`flags:`, `page_type:`, `memcg:`, `aops:`, `ino:`) only between a report's page:
  line and the raw: line that gives it words, so passing that stretch whole costs
  less than looking for those keys in the whole log (the stretch is usually nothing
  but them);
- the line after a word-less `raw:`/`head:` (a mailer wrapped its words onto the next
  line): what the parser did with a dropped line there (forget the missing words) is kept;
- every line before the first `raw:` line with words, while bare words may still be the
  whole input.

Passing a line the parser ignores is always safe (it reads the whole input the same
way), so every choice above errs towards passing. Prefixes are stripped from the kept
lines a block at a time (reading.strip_prefix_lines), and the lines are handed on in
(number, text) pairs made by zip, a block's worth joined by a C iterator, not a generator
step per line.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from itertools import chain

from mmbits.decode.context import context_needles
from mmbits.decode.parse import ANYWHERE_KEYS, printed_text, printed_words
from mmbits.decode.reading import (
    QP_LOOKAHEAD,
    Line,
    SourceLine,
    looks_quoted_printable,
    prefix_end,
    stream_source_lines,
    strip_prefix,
    strip_prefix_lines,
)


def scan_blocks(blocks: Iterable[str], context: bool = True) -> Iterator[Line]:
    """The kernel's lines that can matter, numbered as in the input, from blocks of a log's
    text (inputs.iter_text_blocks); quoted-printable mail goes the line-by-line way.
    Without `context` the lines only context.py reads (release, arch) are dropped too.
    Nothing is read before the first line is asked for."""
    return chain.from_iterable(_scanned(blocks, context))


def _scanned(blocks: Iterable[str], context: bool) -> Iterator[Iterable[Line]]:
    it = iter(blocks)
    head: list[str] = []
    held: list[str] = []
    for blk in it:
        held.append(blk)
        head.extend(blk.split("\n", QP_LOOKAHEAD)[:QP_LOOKAHEAD - len(head)])
        if len(head) >= QP_LOOKAHEAD:
            break
    if looks_quoted_printable("\n".join(head)):
        yield stream_source_lines(line for blk in chain(held, it) for line in blk.split("\n"))
        return
    del head
    yield from _filtered(chain(held, it), 0, context)


def scan_part(blocks: Iterable[str], lines_before: int, context: bool = True) -> Iterator[Line]:
    """scan_blocks() over a part of a plain (not quoted-printable) log that starts after
    `lines_before` lines, numbered as in the whole log (decode/parallel.py)."""
    return chain.from_iterable(_filtered(blocks, lines_before, context))


def _filtered(blocks: Iterable[str], number: int = 0, context: bool = True) -> Iterator[Iterable[Line]]:
    """The lines that can matter, a block's worth at a time. `number`: lines before the first block."""
    active = False  # dropping lines: a raw: line with words was read
    last = number  # the number of the last line passed on
    wrapped = False  # the previous block ended in a word-less raw:/head: line
    stretch = False  # the previous block ended inside a page: line's stretch (_runs)
    for text in blocks:
        first = 0  # the block's lines passed on before the first raw: line with words
        if not active:
            lines = text.split("\n")
            out: list[Line] = []
            for i, line in enumerate(lines):
                stripped = strip_prefix(line)
                last = number + i + 1
                out.append(SourceLine(last, stripped))
                if stripped[:4].lower() == "raw:" and stripped[4:].strip():
                    active, first = True, i + 1
                    stretch = not printed_words(stripped[4:].split())  # its report may have no words yet
                    break
            yield out
            if not active or first == len(lines):  # (the block's last line gave the first words)
                number += len(lines)
                wrapped = _wordless(lines[-1])
                continue
            text = "\n".join(lines[first:])
        if text.isascii():
            runs, count, stretch = _runs(text, context, stretch, wrapped and first == 0)
        else:  # every line: lowercasing text that is not ASCII could move the offsets
            stretch = True  # not looked at: whatever stretch it ends in stays open
            count = text.count("\n") + 1
            runs = [(0, count, text)]
        if runs:
            base = number + first + 1
            numbers = chain.from_iterable([range(base + at, base + at + n) for at, n, _ in runs])
            texts = strip_prefix_lines("\n".join([piece for _, _, piece in runs]))
            yield zip(numbers, texts, strict=True)
            at, n, _ = runs[-1]
            last = base + at + n - 1
        wrapped = _wordless(text[text.rfind("\n") + 1:])
        number += first + count
    if last < number:
        yield [SourceLine(number, "")]  # the last line's number: the last report's neighbourhood ends there


# what a hit is (the low bits of its place * 4 in _runs): a line to pass, a raw:/head: line
# (the line after it is passed too when it has no words), a page: line (its stretch is passed)
_LINE, _WORDY, _PAGE = 0, 1, 2


def _runs(text: str, context: bool, stretch: bool, wrapped: bool) -> tuple[list[tuple[int, int, str]], int, bool]:
    """The runs of lines of a block (its lines joined by "\\n") that the parser may read
    (see the module's docstring), as (index of the first line, number of lines, their
    text), the block's number of lines, and whether it ends inside a page: line's stretch;
    with `wrapped` the block's first line is one (the words of a word-less raw:/head: line
    ending the block before); with `stretch` the block starts inside a stretch. Each key's
    places are found with str.find, their lines by the line ends around them, and a run's
    lines are counted, in C."""
    low = text.lower()
    size = len(low)
    find, rfind = low.find, low.rfind
    places: dict[str, list[int]] = {}
    for key in ANYWHERE_KEYS:
        at = places[key] = []
        pos = find(key)
        while pos >= 0:
            at.append(pos)
            pos = find(key, pos + 1)
    pages, raws = places["page:"], places["raw:"]
    hits = [pos * 4 + _PAGE for pos in pages]
    hits += [pos * 4 + _WORDY for pos in raws]
    hits += [pos * 4 + _WORDY for pos in places["head:"]]
    hits += [pos * 4 for pos in places["page dumped because:"]]
    hits += [pos * 4 for pos in places["page does not match"]]
    if wrapped:
        hits.append(_LINE)
    if stretch:
        hits.append(_PAGE)  # the block starts inside a stretch: it runs from the first line
    if context:
        tfind = text.find
        for key in context_needles():
            pos = tfind(key)
            while pos >= 0:
                hits.append(pos * 4)
                pos = tfind(key, pos + 1)
    hits.sort()
    runs: list[tuple[int, int, str]] = []
    count = text.count
    start, stop = -1, -2  # the run being made: its first place and its end (the line end after it)
    # the place of the raw: line ending the last stretch (a page: before it is in that stretch),
    # the block's length when that stretch runs to the block's end
    covered = -1
    index = counted = 0  # the line of the place `counted`
    for hit in hits:
        pos, kind = hit >> 2, hit & 3
        if pos <= stop:  # inside the run
            if kind == _PAGE and pos > covered:  # a stretch of its own (it may end past the run)
                end, covered = _stretch_end(text, low, pos, raws)
                stop = max(stop, end)
            elif kind == _WORDY and pos != covered and stop < size and find("\n", pos) == stop \
                    and _no_words(low, pos, stop):  # on the run's last line, its words on the next
                stop = find("\n", stop + 1)
                if stop < 0:
                    stop = size
            continue
        line_start = rfind("\n", 0, pos) + 1
        if line_start != stop + 1:  # not the line after the run: the run ends
            if start >= 0:
                index += count("\n", counted, start)
                counted = start
                runs.append((index, count("\n", start, stop) + 1, text[start:stop]))
            start = line_start
        if kind == _PAGE:
            stop, covered = _stretch_end(text, low, pos, raws)
            continue
        stop = find("\n", pos)
        if stop < 0:
            stop = size
        elif kind == _WORDY and _no_words(low, pos, stop):
            stop = find("\n", stop + 1)  # and the next line, which holds its words
            if stop < 0:
                stop = size
    if start >= 0:
        index += count("\n", counted, start)
        counted = start
        runs.append((index, count("\n", start, stop) + 1, text[start:stop]))
    return runs, index + count("\n", counted) + 1, covered == size


def _no_words(low: str, pos: int, end: int) -> bool:
    """The raw:/head: at `pos` (its line ending at `end`) has nothing but blanks after it."""
    after = pos + (4 if low[pos] == "r" else 5)
    if after < end and low[after] not in _BLANKS:
        return False
    if after + 1 < end and low[after + 1] not in _BLANKS:
        return False  # (a word after one blank: the common case, told without a copy)
    return not low[after:end].strip(_BLANKS)


def _stretch_end(text: str, low: str, pos: int, raws: list[int]) -> tuple[int, int]:
    """(the line end after the first `raw:` line from `pos` on that gives its report words,
    that raw:'s place), or (the block's end, its length) when there is none: the stretch
    runs on into the next block."""
    r = bisect_left(raws, pos)  # (a raw: at `pos` itself only for a stretch open at the block's start)
    while r < len(raws):
        at = raws[r]
        if _gives_words(text, low, at):
            end = low.find("\n", at)
            return (end if end >= 0 else len(low)), at
        r += 1
    return len(low), len(low)


def _gives_words(text: str, low: str, pos: int) -> bool:
    """The line holding the `raw:` at `pos` is a raw: line (its text, prefix stripped, starts
    there) of words as dump_page prints them: the parser takes them into its report."""
    begin = low.rfind("\n", 0, pos) + 1
    end = low.find("\n", pos)
    if end < 0:
        end = len(low)
    if begin != pos and prefix_end(text, begin, end) != pos:
        return False
    return printed_text(text, pos + 4, end)


# what rstrip() takes as blanks at the end of a word-less raw:/head: line (_wordless)
_BLANKS = " \t\f\v\r\x1c\x1d\x1e\x1f"


def _wordless(line: str) -> bool:
    """A `raw:` or `head:` line whose words the mailer wrapped onto the next line."""
    return line.rstrip().lower().endswith(("raw:", "head:"))
