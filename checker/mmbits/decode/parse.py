"""Find dump_page() output in a kernel log (or bare raw words) and split it into reports.

Real logs wrap every line in prefixes (`[  12.345678][ T123] `, `<4>`,
`Oct 20 01:16:35 host kernel: `, mail quoting `> `) and interleave other
messages; dump_page itself prints `page:`, `head: order:...`, `memcg:`,
`flags:`, `page_type:`, `raw:`, `head:` and `page dumped because:` lines.
Everything else is skipped. A line that is recognisably dump_page output but
cannot be read (a `raw:` word that is not hex, mixed word widths) is bad input
and raises one InputError naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from itertools import repeat

from mmbits.byvalue import EqualByValue
from mmbits.decode.reading import Line, SourceLine, source_lines, strip_prefix
from mmbits.errors import InputError

__all__ = ["DumpRecord", "WordLine", "parse_dump", "parse_lines", "strip_prefix"]

_HEX = re.compile(r"^(?:0x)?([0-9a-fA-F]+)$")
_KV = re.compile(r"(?<![A-Za-z_])([A-Za-z_]++):\s*(\(null\)|\(____ptrval____\)|\S+)")
_FLAGS = re.compile(r"^(?:(anon|ksm)\s+)?flags:\s*(0x[0-9a-fA-F]+|[0-9a-fA-F]+)\((.*)\)(\s+CMA)?\s*$")
_PAGE_TYPE_NEW = re.compile(r"^page_type:\s*([0-9a-fA-F]{1,2})\((.*)\)\s*$")
_PAGE_TYPE_OLD = re.compile(r"^page_type:\s*(0x[0-9a-fA-F]+)\((.*)\)\s*$")


class WordLine(EqualByValue):
    line: int
    words: list[int]
    width: int  # hex digits per word: 8 (32-bit) or 16 (64-bit)

    _SHOWN = ("line", "words", "width")

    def __init__(self, line: int, words: list[int], width: int) -> None:
        self.line = line
        self.words = words
        self.width = width

    def _fields(self) -> tuple[object, ...]:
        return (self.line, self.words, self.width)


class DumpRecord(EqualByValue):
    """One dump_page() report as printed: the kernel's lines and the raw words."""

    start: int = 0
    end: int = 0
    page: dict[str, object] | None = None  # refcount, mapcount, mapping (text), index, pfn
    page_line: int | None = None
    head_info: dict[str, int] | None = None
    head_info_line: int | None = None
    memcg: int | None = None
    memcg_line: int | None = None
    flags_prefix: str = ""  # "anon" | "ksm" | ""
    flags_value: int | None = None
    flags_text: str | None = None  # what is inside the parentheses
    flags_line: int | None = None
    cma: bool = False
    page_type_byte: int | None = None
    page_type_name: str | None = None
    page_type_full: int | None = None  # older kernels print the whole word
    page_type_line: int | None = None
    raw: list[WordLine]
    head: list[WordLine]
    reason: str | None = None
    poisoned_line: int | None = None  # "page:... is uninitialized and poisoned"
    not_faithful: bool = False  # "page does not match folio"
    notes: list[str]  # aops:/ino: lines and the like
    bare: bool = False  # words given without any dump_page text
    error: InputError | None = None  # the first line of the report that could not be read

    _SHOWN = ("start", "end", "page", "page_line", "head_info", "head_info_line", "memcg", "memcg_line",
              "flags_prefix", "flags_value", "flags_text", "flags_line", "cma", "page_type_byte",
              "page_type_name", "page_type_full", "page_type_line", "raw", "head", "reason", "poisoned_line",
              "not_faithful", "notes", "bare", "error")

    def __init__(self, start: int = 0, end: int = 0, page: dict[str, object] | None = None,
                 page_line: int | None = None, head_info: dict[str, int] | None = None,
                 head_info_line: int | None = None, memcg: int | None = None, memcg_line: int | None = None,
                 flags_prefix: str = "", flags_value: int | None = None, flags_text: str | None = None,
                 flags_line: int | None = None, cma: bool = False, page_type_byte: int | None = None,
                 page_type_name: str | None = None, page_type_full: int | None = None,
                 page_type_line: int | None = None, raw: list[WordLine] | None = None,
                 head: list[WordLine] | None = None, reason: str | None = None,
                 poisoned_line: int | None = None, not_faithful: bool = False, notes: list[str] | None = None,
                 bare: bool = False, error: InputError | None = None) -> None:
        self.start = start
        self.end = end
        self.page = page
        self.page_line = page_line
        self.head_info = head_info
        self.head_info_line = head_info_line
        self.memcg = memcg
        self.memcg_line = memcg_line
        self.flags_prefix = flags_prefix
        self.flags_value = flags_value
        self.flags_text = flags_text
        self.flags_line = flags_line
        self.cma = cma
        self.page_type_byte = page_type_byte
        self.page_type_name = page_type_name
        self.page_type_full = page_type_full
        self.page_type_line = page_type_line
        self.raw = [] if raw is None else raw
        self.head = [] if head is None else head
        self.reason = reason
        self.poisoned_line = poisoned_line
        self.not_faithful = not_faithful
        self.notes = [] if notes is None else notes
        self.bare = bare
        self.error = error

    def _fields(self) -> tuple[object, ...]:
        return (self.start, self.end, self.page, self.page_line, self.head_info, self.head_info_line,
                self.memcg, self.memcg_line, self.flags_prefix, self.flags_value, self.flags_text,
                self.flags_line, self.cma, self.page_type_byte, self.page_type_name, self.page_type_full,
                self.page_type_line, self.raw, self.head, self.reason, self.poisoned_line, self.not_faithful,
                self.notes, self.bare, self.error)

    def check(self) -> None:
        """Raise the error of an unreadable line of this report, if there was one."""
        if self.error is not None:
            raise self.error

    def raw_words(self) -> list[int]:
        return [w for wl in self.raw for w in wl.words]

    def head_words(self) -> list[int]:
        return [w for wl in self.head for w in wl.words]

    @property
    def width(self) -> int | None:
        lines = self.raw or self.head
        return lines[0].width if lines else None

    def has_content(self) -> bool:
        return bool(self.raw or self.head or self.page is not None or self.poisoned_line is not None
                    or self.error is not None)

    def raw_span(self) -> tuple[int, int] | None:
        if not self.raw:
            return None
        return self.raw[0].line, self.raw[-1].line


# a substring of every line the parser reads, lowercased (page:, page does not match folio,
# page_type:, page dumped because:, raw:, head:, memcg:, flags:, aops:, ino:). The parser
# reads the PAGE_PART_KEYS lines (flags:, page_type:, memcg:, aops:/ino:) only between a
# report's page: line and the first raw: line it takes words from (before that raw: line
# its page is known and its words are not); decode/scan.py passes every line of that stretch
# and drops the others with none of the ANYWHERE_KEYS unread, once bare words are no longer
# the input
ANYWHERE_KEYS = ("raw:", "page:", "head:", "page dumped because:", "page does not match")
PAGE_PART_KEYS = ("flags:", "page_type:", "memcg:", "aops:", "ino:")
DUMP_KEYS = ANYWHERE_KEYS + PAGE_PART_KEYS
_HEX_FIRST = frozenset("0123456789abcdefABCDEF")
# the first characters of every line dump_page prints (page:, head:, raw:, memcg:, flags:,
# anon/ksm flags:, page_type:, aops:, ino:, page does not match folio) and of bare words
_DUMP_FIRST = frozenset("prhmfakiPRHMFAKI") | _HEX_FIRST


# a line of words as dump_page prints them: all 16 or all 8 hex digits, one space apart
_PRINTED = {16: re.compile(r"[0-9a-fA-F]{16}(?: [0-9a-fA-F]{16})*"), 8: re.compile(r"[0-9a-fA-F]{8}(?: [0-9a-fA-F]{8})*")}


# a raw: (or head: words) line's text -> its words and width: a log repeats raw: lines
# (poisons, zero words, the same page dumped again) and a kind of folio its head: words,
# each read once; emptied when full
_RAW_SEEN: dict[str, tuple[tuple[int, ...], int]] = {}
_RAW_SEEN_MAX = 1 << 12


# a log's reports of one kernel repeat their flags: and page_type: lines: each read once
@lru_cache(maxsize=4096)
def _flags_line(line: str) -> tuple[str, int, str, bool] | None:
    """(anon/ksm prefix, value, the names inside the parentheses, CMA) of a flags: line."""
    m = _FLAGS.match(line)
    if m is None:
        return None
    return m.group(1) or "", int(m.group(2), 16), m.group(3), bool(m.group(4))


@lru_cache(maxsize=4096)
def _page_type_line(line: str) -> tuple[int | None, int | None, str] | None:
    """(the whole word as older kernels print it, or the top byte as newer ones do, the
    name) of a page_type: line; None when it is neither form."""
    m = _PAGE_TYPE_OLD.match(line)
    if m:
        return int(m.group(1), 16), None, m.group(2)
    m = _PAGE_TYPE_NEW.match(line)
    if m:
        return None, int(m.group(1), 16), m.group(2)
    return None


def page_line_kind(rest: str) -> str | None:
    """What a `page:` line (its text after the tag) starts: "poisoned" (the kernel found
    the struct page uninitialized), "page" (a report's page line: `refcount:`, or `count:`
    as older kernels print it), or None (a `page:` line of something else). Either kind ends the report
    before it; decode/parallel.py cuts a log only where this says "page"."""
    if "uninitialized and poisoned" in rest:
        return "poisoned"
    if "refcount:" in rest or "count:" in rest:
        return "page"
    return None


def printed_words(tokens: list[str]) -> bool:
    """The tokens are words as dump_page prints them (all 8 or all 16 hex digits): a raw:
    line of them always gives its report words (decode/scan.py relies on it)."""
    fast = _PRINTED.get(len(tokens[0])) if tokens else None
    return fast is not None and fast.fullmatch(" ".join(tokens)) is not None


# printed_words' rule over a line's text as it stands, blanks between and after the words as
# split() takes them (those before, by _BLANKS_RUN: each pattern starts with what it needs,
# so no search over blanks backtracks)
_PRINTED_TEXT = re.compile(r"(?:[0-9a-fA-F]{16}(?:\s++[0-9a-fA-F]{16})*+|[0-9a-fA-F]{8}(?:\s++[0-9a-fA-F]{8})*+)\s*+")
_BLANKS_RUN = re.compile(r"\s*+")


def printed_text(text: str, start: int, end: int) -> bool:
    """printed_words(text[start:end].split()), without the copy, the split and the join
    (decode/scan.py asks it of a raw: line inside a block of the log)."""
    m = _BLANKS_RUN.match(text, start, end)
    return _PRINTED_TEXT.fullmatch(text, m.end() if m else start, end) is not None


def _words(tokens: list[str], lineno: int, file: str, what: str) -> WordLine:
    if printed_words(tokens):
        return WordLine(lineno, list(map(int, tokens, repeat(16))), len(tokens[0]))
    words: list[int] = []
    width = None
    for tok in tokens:
        m = _HEX.match(tok)
        if not m:
            raise InputError(f"{what} line has a word that is not hex: {tok!r}", file=file, line=lineno)
        digits = m.group(1)
        if len(digits) not in (8, 16):
            raise InputError(f"{what} word {tok!r} has {len(digits)} hex digits; dump_page prints 8 (32-bit) or "
                             f"16 (64-bit)", file=file, line=lineno)
        if width is not None and len(digits) != width:
            raise InputError(f"{what} line mixes {width}- and {len(digits)}-digit words", file=file, line=lineno)
        width = len(digits)
        words.append(int(digits, 16))
    return WordLine(lineno, words, width or 0)


def _read_words(line: str, tokens: list[str], lineno: int, file: str, what: str) -> WordLine:
    """_words() of a raw: or head: line, kept by the line's text for the next time it is seen."""
    wl = _words(tokens, lineno, file, what)
    if len(_RAW_SEEN) >= _RAW_SEEN_MAX:
        _RAW_SEEN.clear()
    _RAW_SEEN[line] = (tuple(wl.words), wl.width)
    return wl


def _is_bare_hex(text: str) -> bool:
    if text[:1] not in _HEX_FIRST:
        return False
    tokens = text.split()
    return bool(tokens) and len(tokens[0]) in (8, 10, 16, 18) and all(_HEX.match(t) and len(_HEX.match(t).group(1)) in (8, 16) for t in tokens)  # type: ignore[union-attr]


# the page: line as dump_page prints it (mm/debug.c __dump_folio: the hashed page pointer or
# none, then refcount, mapcount, mapping, index, pfn), read by one match; any other form the
# general way below (the same fields the same way: _KV's values, int() of each)
# (linear on any line: the pointer is taken only from the start of a run of hex digits, whole)
_PAGE_LINE = re.compile(r"(?:(?<![0-9a-f])[0-9a-f]++ ++)?refcount:(-?[0-9]++) mapcount:(-?[0-9]++) "
                        r"mapping:([0-9a-f]++) index:(0x[0-9a-f]++) pfn:(0x[0-9a-f]++)")


def _parse_page_line(rest: str, lineno: int, file: str) -> dict[str, object]:
    m = _PAGE_LINE.fullmatch(rest)
    if m is not None:
        refcount, mapcount, mapping, index, pfn = m.groups()
        return {"refcount": int(refcount, 10), "mapcount": int(mapcount, 10), "mapping": mapping,
                "index": int(index, 0), "pfn": int(pfn, 0)}
    out: dict[str, object] = {}
    for key, value in _KV.findall(rest):
        out[key] = value
    page: dict[str, object] = {}
    for key in ("refcount", "count", "mapcount"):
        if key in out:
            try:
                page["refcount" if key == "count" else key] = int(str(out[key]), 10)
            except ValueError:
                raise InputError(f"page: line has a bad {key} {out[key]!r}", file=file, line=lineno) from None
    if "mapping" in out:
        page["mapping"] = str(out["mapping"])
    for key in ("index", "pfn"):
        if key in out:
            try:
                page[key] = int(str(out[key]), 0) if str(out[key]).startswith("0x") else int(str(out[key]), 16)
            except ValueError:
                raise InputError(f"page: line has a bad {key} {out[key]!r}", file=file, line=lineno) from None
    if "refcount" not in page:
        raise InputError("page: line without refcount:/count:", file=file, line=lineno)
    return page


# a head: line's fields (its text after the folio's address, which no field is read from) ->
# what they say: a log's folios of one kind print the same fields; emptied when full
_HEAD_INFO_SEEN: dict[str, dict[str, int]] = {}
_HEX_RUN = re.compile(r"[0-9a-fA-F]+")
_MEMCG = re.compile(r"memcg:\s*([0-9a-fA-F]+)\s*$")


def _parse_head_info(rest: str, lineno: int, file: str) -> dict[str, int]:
    space = rest.find(" ") if rest[:1] in _HEX_FIRST else -1
    key = rest[space:] if space > 0 and _HEX_RUN.fullmatch(rest, 0, space) else rest
    seen = _HEAD_INFO_SEEN.get(key)
    if seen is not None:
        return dict(seen)
    info: dict[str, int] = {}
    for field, value in _KV.findall(rest):
        if field in ("order", "mapcount", "entire_mapcount", "nr_pages_mapped", "pincount", "compound_mapcount",
                   "compound_pincount"):
            try:
                info[field] = int(value, 10)
            except ValueError:
                raise InputError(f"head: line has a bad {field} {value!r}", file=file, line=lineno) from None
    if len(_HEAD_INFO_SEEN) >= 1 << 10:
        _HEAD_INFO_SEEN.clear()
    _HEAD_INFO_SEEN[key] = dict(info)
    return info


def parse_dump(text: str, file: str = "<stdin>") -> list[DumpRecord]:
    """Every dump_page() report in `text`, in order; bare hex words if there is none."""
    return parse_lines(source_lines(text), file)


def parse_lines(lines: list[SourceLine], file: str = "<stdin>") -> list[DumpRecord]:
    """Every dump_page() report in the kernel's lines, in order; bare hex words if there is none.
    The first unreadable line raises (the streamed form leaves that to its caller)."""
    records = list(iter_records(lines, file))
    for record in records:
        record.check()
    return records


def iter_records(lines: Iterable[Line], file: str = "<stdin>") -> Iterator[DumpRecord]:
    """parse_lines() as a stream: each report is yielded as soon as the line that starts the
    next one (or the end) is read, so a log of any length is parsed holding one report."""
    for record, _next in records_with_next(lines, file):
        yield record


def records_with_next(lines: Iterable[Line], file: str = "<stdin>",
                      on_start: Callable[[int], None] | None = None
                      ) -> Iterator[tuple[DumpRecord, int | None]]:
    """(report, first line of the next report or None at the end): the lines between the two
    are the report's neighbourhood (decode/context.py), all read when it is yielded.
    Bare hex words are kept only while no dump_page text has been seen (they are the
    input only when there is none). `on_start(line)` is told each report's first line as
    soon as it is read (decode/context.py ContextWindow.started)."""
    records: list[DumpRecord] = []  # finished, not yet yielded (at most one)
    seen_record = False
    cur = DumpRecord()
    last_kind = ""  # the previous dump line of the current record
    pending: str | None = None  # "raw" / "head" line that had no words (wrapped by a mailer)
    bare_blocks: list[list[WordLine]] = [[]]

    def finish() -> None:
        """Close the current report; a report without content keeps its pending notes."""
        nonlocal cur, last_kind, seen_record, bare_blocks
        if not cur.has_content():
            return
        records.append(cur)
        if not seen_record:
            seen_record, bare_blocks = True, [[]]
        cur = DumpRecord()
        last_kind = ""

    def touch(lineno: int, kind: str | None = None) -> None:
        """The report reaches this line; `kind` is what the line was, for the next one."""
        nonlocal last_kind
        if not cur.start:
            cur.start = lineno
            if on_start is not None:
                on_start(lineno)
        cur.end = lineno
        if kind is not None:
            last_kind = kind

    for lineno, line in lines:  # (number, text)
        if records:
            yield records.pop(), cur.start
        try:
            if not line:
                pending = None
                if bare_blocks[-1]:
                    bare_blocks.append([])
                continue
            if pending and _is_bare_hex(line):
                wl = _words(line.split(), lineno, file, f"{pending}:")
                (cur.raw if pending == "raw" else cur.head).append(wl)
                touch(lineno, pending)
                pending = None
                continue
            pending = None
            if line[0] not in _DUMP_FIRST:
                if bare_blocks[-1]:
                    bare_blocks.append([])
                continue
            # what comes before the first colon, lowercased: every line below but `page does
            # not match folio` and bare words is told by it, and a line with a colon is not bare
            # words; the commonest (raw:, then head:) are told first
            colon = line.find(":")
            tag = line[:colon].lower() if colon >= 0 else None
            if tag == "raw":
                if (cur.raw and last_kind != "raw") or cur.reason is not None:
                    finish()
                hit = _RAW_SEEN.get(line)
                if hit is not None:  # the same words on an earlier line: read once
                    cur.raw.append(WordLine(lineno, list(hit[0]), hit[1]))
                else:
                    tokens = line[4:].split()
                    if not tokens:
                        pending = "raw"
                        touch(lineno, "raw")
                        continue
                    cur.raw.append(_read_words(line, tokens, lineno, file, "raw:"))
                if not cur.start:  # touch(lineno, "raw"), inline: the commonest line
                    touch(lineno)
                cur.end, last_kind = lineno, "raw"
                continue
            if tag == "head":
                rest = line[5:].strip()
                if not rest:  # (stripped: no words)
                    pending = "head"
                    touch(lineno)
                    continue
                if "order:" in rest:
                    if cur.head_info is not None and cur.has_content():
                        finish()
                    cur.head_info = _parse_head_info(rest, lineno, file)
                    cur.head_info_line = lineno
                    if not cur.start:  # touch(lineno, "head_info"), inline as below
                        touch(lineno)
                    cur.end, last_kind = lineno, "head_info"
                    continue
                if not (cur.raw or cur.head or cur.page is not None):
                    continue
                hit = _RAW_SEEN.get(line)
                if hit is not None:  # the same words on an earlier head: line: read once
                    cur.head.append(WordLine(lineno, list(hit[0]), hit[1]))
                else:
                    tokens = rest.split()
                    if not (printed_words(tokens) or all(_HEX.match(t) for t in tokens)):
                        continue
                    cur.head.append(_read_words(line, tokens, lineno, file, "head:"))
                if not cur.start:  # touch(lineno, "head"), inline
                    touch(lineno)
                cur.end, last_kind = lineno, "head"
                continue
            # the other tags, each told by its own test (one branch each; a line none takes,
            # or a tag's line its branch leaves, ends a block of bare words); touch(lineno,
            # kind) inline: `touch(lineno)` only for a report's first line
            if tag == "page":
                rest = line[5:].strip()
                kind = page_line_kind(rest)
                if kind == "poisoned":
                    finish()
                    cur.poisoned_line = lineno
                    touch(lineno, "page")
                    continue
                if kind == "page":
                    finish()
                    cur.page = _parse_page_line(rest, lineno, file)
                    cur.page_line = lineno
                    touch(lineno, "page")
                continue
            if tag == "page dumped because":
                if cur.has_content():
                    cur.reason = line[colon + 1:].strip()
                    if not cur.start:
                        touch(lineno)
                    cur.end, last_kind = lineno, "reason"
                continue
            if tag == "memcg":
                m = _MEMCG.match(line)
                if m and cur.page is not None and not cur.raw:
                    cur.memcg = int(m.group(1), 16)
                    cur.memcg_line = lineno
                    if not cur.start:
                        touch(lineno)
                    cur.end = lineno
                continue
            if tag == "page_type":
                if cur.page is None or cur.raw:
                    continue
                page_type = _page_type_line(line)
                if page_type is None:
                    raise InputError(f"cannot read the page_type: line {line!r}", file=file, line=lineno)
                full, byte, name = page_type
                if full is not None:
                    cur.page_type_full = full
                else:
                    cur.page_type_byte = byte
                cur.page_type_name = name
                cur.page_type_line = lineno
                if not cur.start:
                    touch(lineno)
                cur.end = lineno
                continue
            # (a colon in the first 25 characters is not this line)
            if (colon < 0 or colon >= 25) and line[:25].lower() == "page does not match folio":
                finish()
                cur.not_faithful = True
                touch(lineno)
                continue
            if tag is None:
                if _is_bare_hex(line):
                    if not seen_record:
                        bare_blocks[-1].append(_words(line.split(), lineno, file, "word"))
                    continue
            elif tag.endswith("flags"):
                flags = _flags_line(line)
                if flags is not None:
                    if cur.page is None or cur.raw:
                        # some other subsystem's flags: line (dump_vma prints one too)
                        continue
                    cur.flags_prefix, cur.flags_value, cur.flags_text, cur.cma = flags
                    cur.flags_line = lineno
                    if not cur.start:
                        touch(lineno)
                    cur.end, last_kind = lineno, "flags"
                    continue
            elif tag in ("aops", "ino") and cur.page is not None and not cur.raw:
                cur.notes.append(line)
                continue
            if bare_blocks[-1]:
                bare_blocks.append([])
        except InputError as exc:
            # one unreadable line spoils its report, not the log: the report carries the
            # error (decode/api.py raises it, or says it in the output once pages were printed)
            if cur.error is None:
                cur.error = exc
            touch(lineno)
            pending = None
    finish()
    if records:
        yield records.pop(), None
    if seen_record:
        return
    out = []
    for block in bare_blocks:
        if not block:
            continue
        widths = {wl.width for wl in block}
        if len(widths) > 1:
            raise InputError("raw words of different widths (8 and 16 hex digits) in one block",
                             file=file, line=block[0].line)
        out.append(DumpRecord(start=block[0].line, end=block[-1].line, raw=block, bare=True))
    if not out:
        raise InputError("no dump_page output (page:/raw: lines) and no raw hex words found", file=file)
    for i, record in enumerate(out):
        yield record, out[i + 1].start if i + 1 < len(out) else None
