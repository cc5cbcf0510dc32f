"""A report printed the usual way, read in one step: decode/scan.py's fast path.

Nearly every report in a log is printed the one way mm/debug.c prints it: a `page:`
line, then perhaps `head: order:...`, `memcg:`, `[anon |ksm ]flags:` and `page_type:`,
the `raw:` lines, perhaps `head:` word lines, and `page dumped because:`, one line after
the other. Passing those eight or so lines one by one through the scan (a SourceLine
each) and the parser's dispatch cost more than decoding the page. Here such a run of
lines is read straight from the scan's block into the DumpRecord the parser
(decode/parse.py records_with_next) would build from the same lines: each line's text is
strip_prefix()'s, each line is told and read by the parser's own helpers and under the
parser's own conditions for a report holding a `page:` line, in the order the kernel
prints them. The parser takes the record as it comes (`FusedReport`) and goes on from the
state those lines leave it in (a report that ended at its `page dumped because:` line), so
whatever follows in the log (another `head:` line, a stray `raw:` line) is read the usual way.

A run that differs in any way (a line between, a line in another order, a line the parser
would refuse or read otherwise, a line naming the release or arch while the context is
read) is not taken: its lines go the line-by-line way, which reads every form. Setting
MMBITS_DECODE_FUSED=0 in the environment (or `ENABLED` to False) turns the fast path off:
tests/decode/test_fused.py decodes every fixture and a log both ways and compares the bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from mmbits.decode.parse import (
    _HEX,
    _RAW_SEEN,
    _RAW_SEEN_MAX,
    DumpRecord,
    WordLine,
    _flags_line,
    _page_type_line,
    _parse_head_info,
    _parse_page_line,
    _printed,
    _words,
    page_line_kind,
    put_page_type,
)
from mmbits.decode.reading import strip_prefix
from mmbits.errors import InputError

ENABLED = os.environ.get("MMBITS_DECODE_FUSED", "") != "0"

# a memcg: line as the parser reads it (decode/parse.py, the `memcg` tag)
_MEMCG = re.compile(r"memcg:\s*([0-9a-fA-F]+)\s*$")
# the ASCII blanks other than space, tab and line end (CR, VT, FF and the separators
# str.strip() takes for blanks): a block holding one is read line by line
ODD_BLANKS = "\r\x0b\x0c\x1c\x1d\x1e\x1f"


def plain_blanks(text: str) -> bool:
    """`text` holds no blank but space, tab and line end (one C search per character)."""
    return not any(c in text for c in ODD_BLANKS)


def read_report(lines: list[str], at: int, number: int,
                relevant: Callable[[str], object] | None = None) -> tuple[int, DumpRecord] | None:
    """(index of its last line, the record) of the report whose `page:` line is lines[at]
    (input line number + at + 1), when it is printed the usual way; None otherwise.
    `relevant`: a test for a line the context reads (decode/context.py ContextWindow.feed):
    a run holding one is not taken, so the window sees it."""
    try:
        return _read(lines, at, number, relevant)
    except InputError:
        return None  # a line the parser would mark its report unreadable with: read line by line


def _read(lines: list[str], at: int, number: int, relevant: Callable[[str], object] | None
          ) -> tuple[int, DumpRecord] | None:
    text = strip_prefix(lines[at])
    if text[:5] != "page:" or (relevant is not None and _relevant(text, relevant)):
        return None
    rest = text[5:].strip()
    if page_line_kind(rest) != "page":
        return None
    lineno = number + at + 1
    rec = DumpRecord(start=lineno, end=lineno, page=_parse_page_line(rest, lineno, "<fused>"), page_line=lineno)
    raw: list[WordLine] = []
    head: list[WordLine] = []
    last_kind = "page"
    for k in range(at + 1, len(lines)):
        text = strip_prefix(lines[k])
        lineno = number + k + 1
        if not text or (relevant is not None and _relevant(text, relevant)):
            return None
        if text[:4] == "raw:":
            if raw and last_kind != "raw":
                return None  # the parser starts a new report here
            hit = _RAW_SEEN.get(text)
            if hit is not None:
                raw.append(WordLine(lineno, list(hit[0]), hit[1]))
            else:
                tokens = text[4:].split()
                if not tokens:
                    return None
                wl = _words(tokens, lineno, "<fused>", "raw:")
                raw.append(wl)
                if len(_RAW_SEEN) >= _RAW_SEEN_MAX:
                    _RAW_SEEN.clear()
                _RAW_SEEN[text] = (tuple(wl.words), wl.width)
            last_kind = "raw"
        elif text[:5] == "head:":
            rest = text[5:].strip()
            tokens = rest.split()
            if not tokens:
                return None
            if "order:" in rest:
                if raw or head or rec.head_info is not None:
                    return None
                rec.head_info = _parse_head_info(rest, lineno, "<fused>")
                rec.head_info_line = lineno
                last_kind = "head_info"
            elif raw and (_printed(tokens) or all(_HEX.match(t) for t in tokens)):
                head.append(_words(tokens, lineno, "<fused>", "head:"))
                last_kind = "head"
            else:
                return None
        elif text[:20] == "page dumped because:":
            if not raw or text.lower().endswith(("raw:", "head:")):
                return None  # (the line after one ending so is read whatever it holds: decode/scan.py)
            rec.reason = text.split(":", 1)[1].strip()
            rec.end = lineno
            rec.raw, rec.head = raw, head
            return k, rec
        elif raw:
            return None  # memcg:, flags: and page_type: come before the words
        elif text[:6] == "memcg:":
            m = _MEMCG.match(text)
            if m is None:
                return None
            rec.memcg = int(m.group(1), 16)
            rec.memcg_line = lineno
        elif text[:10] == "page_type:":
            page_type = _page_type_line(text)
            if page_type is None:
                return None
            put_page_type(rec, page_type, lineno)
        elif text[:6] == "flags:" or text[:5] == "anon " or text[:4] == "ksm ":
            flags = _flags_line(text)
            if flags is None:
                return None
            rec.flags_prefix, rec.flags_value, rec.flags_text, rec.cma = flags
            rec.flags_line = lineno
            last_kind = "flags"
        else:
            return None
        rec.end = lineno
    return None  # the block ends before the report does: read line by line


def _relevant(text: str, relevant: Callable[[str], object]) -> bool:
    """ContextWindow.feed's test for a line it keeps."""
    from mmbits.decode.context import _FIRST_CHARS

    return text[0] in _FIRST_CHARS and bool(relevant(text))
