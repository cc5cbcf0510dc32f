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

from collections.abc import Iterable, Iterator
from itertools import chain

from mmbits.decode.context import context_needles
from mmbits.decode.parse import DUMP_KEYS
from mmbits.decode.reading import (
    QP_LOOKAHEAD,
    SourceLine,
    looks_quoted_printable,
    stream_source_lines,
    strip_prefix,
)


def scan_blocks(blocks: Iterable[list[str]], context: bool = True) -> Iterator[SourceLine]:
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


def scan_part(blocks: Iterable[list[str]], lines_before: int, context: bool = True) -> Iterator[SourceLine]:
    """scan_blocks() over a part of a plain (not quoted-printable) log that starts after
    `lines_before` lines, numbered as in the whole log (decode/parallel.py)."""
    return _filtered(blocks, lines_before, context)


def _filtered(blocks: Iterable[list[str]], number: int = 0, context: bool = True) -> Iterator[SourceLine]:
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
        found = _picks(blk, first, context)
        picked: list[int] | range = range(first, len(blk)) if found is None else found
        if found is not None and wrapped and first == 0 and (not picked or picked[0] != 0):
            found.insert(0, 0)
        if picked:
            last = number + picked[-1] + 1
            yield from [SourceLine(number + i + 1, strip_prefix(blk[i])) for i in picked]
        wrapped = bool(blk) and _wordless(blk[-1])
        number += len(blk)
    if last < number:
        yield SourceLine(number, "")  # the last line's number: the last report's neighbourhood ends there


def _picks(lines: list[str], first: int, context: bool = True) -> list[int] | None:
    """The indices (from `first`) of the lines holding a key or a needle, and of the line
    after a word-less `raw:`/`head:` (its words wrapped onto the next line); None when the
    block is not ASCII (lowercasing could move the offsets). Each key's places are found
    with str.find, and their lines by counting the line ends between them, in C."""
    block = lines[first:]
    text = "\n".join(block)
    if not text.isascii():
        return None
    low = text.lower()
    hits: list[int] = []
    for source, keys in ((low, DUMP_KEYS), (text, context_needles() if context else ())):
        for key in keys:
            find = source.find
            pos = find(key)
            while pos >= 0:
                hits.append(pos)
                pos = find(key, pos + 1)
    # the lines after a word-less raw:/head: line: a raw:/head: with nothing but blanks after it
    find = low.find
    for key in ("raw:", "head:"):
        pos = find(key)
        while pos >= 0:
            end = find("\n", pos)
            if not low[pos + len(key):end if end >= 0 else None].strip(_BLANKS):
                hits.append(end + 1 if end >= 0 else len(low) + 1)  # the next line's first place (past the end: no line)
            pos = find(key, pos + 1)
    hits.sort()
    picked: list[int] = []
    count = text.count
    index, counted, end = first, 0, -1  # the line of the place `counted`; the end of the last line picked
    for pos in hits:
        if pos <= end:  # on the line just picked
            continue
        if pos > len(text):
            break
        index += count("\n", counted, pos)
        counted = pos
        picked.append(index)
        end = find("\n", pos)
        if end < 0:
            end = len(text)
    return picked


# what rstrip() takes as blanks at the end of a word-less raw:/head: line (_wordless)
_BLANKS = " \t\f\v\r\x1c\x1d\x1e\x1f"


def _wordless(line: str) -> bool:
    """A `raw:` or `head:` line whose words the mailer wrapped onto the next line."""
    return line.rstrip().lower().endswith(("raw:", "head:"))
