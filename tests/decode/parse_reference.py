"""A frozen copy of decode/parse.py's records_with_next as it was at 7962683/ea37192
(before its per-line dispatch was made cheaper), with the helpers it calls: the property
test in test_parse.py holds the current parser to it, line for line, on any input.
It is the reference, not a second parser: it changes only with a change of what the parser
does (made in both, in one commit), never to make a speed change pass."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from itertools import repeat

from mmbits.decode.parse import DumpRecord, WordLine
from mmbits.decode.reading import Line
from mmbits.errors import InputError

_HEX = re.compile(r"^(?:0x)?([0-9a-fA-F]+)$")
_KV = re.compile(r"(?<![A-Za-z_])([A-Za-z_]++):\s*(\(null\)|\(____ptrval____\)|\S+)")
_FLAGS = re.compile(r"^(?:(anon|ksm)\s+)?flags:\s*(0x[0-9a-fA-F]+|[0-9a-fA-F]+)\((.*)\)(\s+CMA)?\s*$")
_PAGE_TYPE_NEW = re.compile(r"^page_type:\s*([0-9a-fA-F]{1,2})\((.*)\)\s*$")
_PAGE_TYPE_OLD = re.compile(r"^page_type:\s*(0x[0-9a-fA-F]+)\((.*)\)\s*$")


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
# the text before the colon of the lines read below (lowercased; flags: lines end in "flags")
_TAGS = frozenset({"page", "raw", "head", "memcg", "page_type", "page dumped because", "aops", "ino"})
# the first characters of every line dump_page prints (page:, head:, raw:, memcg:, flags:,
# anon/ksm flags:, page_type:, aops:, ino:, page does not match folio) and of bare words
_DUMP_FIRST = frozenset("prhmfakiPRHMFAKI") | _HEX_FIRST


# a line of words as dump_page prints them: all 16 or all 8 hex digits, one space apart
_PRINTED = {16: re.compile(r"[0-9a-fA-F]{16}(?: [0-9a-fA-F]{16})*"), 8: re.compile(r"[0-9a-fA-F]{8}(?: [0-9a-fA-F]{8})*")}


# a raw: line's text -> its words and width: a log repeats raw: lines (poisons, zero words,
# the same page dumped again), each read once; emptied when full
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
    for key, value in _KV.findall(rest):
        if key in ("order", "mapcount", "entire_mapcount", "nr_pages_mapped", "pincount", "compound_mapcount",
                   "compound_pincount"):
            try:
                info[key] = int(value, 10)
            except ValueError:
                raise InputError(f"head: line has a bad {key} {value!r}", file=file, line=lineno) from None
    if len(_HEAD_INFO_SEEN) >= 1 << 10:
        _HEAD_INFO_SEEN.clear()
    _HEAD_INFO_SEEN[key] = dict(info)
    return info


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
                    wl = _words(tokens, lineno, file, "raw:")
                    cur.raw.append(wl)
                    if len(_RAW_SEEN) >= _RAW_SEEN_MAX:
                        _RAW_SEEN.clear()
                    _RAW_SEEN[line] = (tuple(wl.words), wl.width)
                if not cur.start:  # touch(lineno, "raw"), inline: the commonest line
                    touch(lineno)
                cur.end, last_kind = lineno, "raw"
                continue
            if tag == "head":
                rest = line[5:].strip()
                tokens = rest.split()
                if not tokens:
                    pending = "head"
                    touch(lineno)
                    continue
                if "order:" in rest:
                    if cur.head_info is not None and cur.has_content():
                        finish()
                    cur.head_info = _parse_head_info(rest, lineno, file)
                    cur.head_info_line = lineno
                    touch(lineno, "head_info")
                    continue
                if (cur.raw or cur.head or cur.page is not None) and (
                        printed_words(tokens) or all(_HEX.match(t) for t in tokens)):
                    cur.head.append(_words(tokens, lineno, file, "head:"))
                    touch(lineno, "head")
                continue
            if tag is not None and tag not in _TAGS and not tag.endswith("flags") \
                    and not tag.startswith("page does not match folio"):
                if bare_blocks[-1]:
                    bare_blocks.append([])
                continue
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
            if line[:25].lower() == "page does not match folio":
                finish()
                cur.not_faithful = True
                touch(lineno)
                continue
            if tag == "memcg":
                m = _MEMCG.match(line)
                if m and cur.page is not None and not cur.raw:
                    cur.memcg = int(m.group(1), 16)
                    cur.memcg_line = lineno
                    touch(lineno)
                continue
            flags = _flags_line(line) if tag is not None and tag.endswith("flags") else None
            if flags is not None:
                if cur.page is None or cur.raw:
                    # some other subsystem's flags: line (dump_vma prints one too)
                    continue
                cur.flags_prefix, cur.flags_value, cur.flags_text, cur.cma = flags
                cur.flags_line = lineno
                touch(lineno, "flags")
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
                touch(lineno)
                continue
            if tag == "page dumped because":
                if cur.has_content():
                    cur.reason = line.split(":", 1)[1].strip()
                    touch(lineno, "reason")
                continue
            if tag in ("aops", "ino") and cur.page is not None and not cur.raw:
                cur.notes.append(line)
                continue
            if _is_bare_hex(line):
                if not seen_record:
                    bare_blocks[-1].append(_words(line.split(), lineno, file, "word"))
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
