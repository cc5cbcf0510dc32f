"""decode's block scanner (decode/scan.py) drops the log lines that cannot matter: the
reports it finds, with every field and line number, are the ones the line-by-line
reading finds, on every real report and on a log of them with the words of some raw:
lines wrapped onto the next line at a block boundary (read in tiny blocks)."""

from __future__ import annotations

from collections.abc import Iterable
from copy import copy
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from decode.dumps import DUMPS
from mmbits.decode.parse import DumpRecord, iter_records
from mmbits.decode.reading import source_lines
from mmbits.decode.scan import scan_blocks
from mmbits.errors import InputError
from mmbits.inputs import iter_text_blocks

REAL = sorted((DUMPS / "real").glob("*.txt"))


def _both(path: Path, block: int = 1 << 20) -> tuple[list[object], list[object]]:
    whole = list(iter_records(source_lines(path.read_text(encoding="utf-8")), str(path)))
    scanned = list(iter_records(scan_blocks(iter_text_blocks(str(path), "a log", block=block)), str(path)))
    return whole, scanned


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_the_scanner_finds_the_reports_line_by_line_reading_finds(path: Path) -> None:
    whole, scanned = _both(path)
    assert whole and scanned == whole


def test_wrapped_raw_words_across_blocks_and_context_lines_are_kept(tmp_path: Path) -> None:
    text = "\n\n".join(p.read_text(encoding="utf-8") for p in REAL[:6])
    # a mailer wrapped the words of each raw: line onto the next line
    wrapped = text.replace("raw: ", "raw:\n")
    log = tmp_path / "log.txt"
    log.write_text(wrapped, encoding="utf-8")
    for block in (1 << 20, 97, 4096):
        whole, scanned = _both(log, block)
        assert len(whole) >= 6 and scanned == whole


def test_crlf_colour_and_over_long_lines_read_alike(tmp_path: Path) -> None:
    """A log saved from a terminal on Windows: CRLF line ends, `dmesg --color=always` escapes,
    and one line longer than a log line may be (inputs.LIMIT_LOG_LINE: cut, not refused)."""
    from mmbits.inputs import LIMIT_LOG_LINE

    body = "\n".join(p.read_text(encoding="utf-8") for p in REAL[6:10])
    coloured = body.replace("raw: ", "\x1b[33mraw: \x1b[0m").replace("page:", "\x1b[1mpage:\x1b[0m")
    text = "x" * (LIMIT_LOG_LINE + 500) + "\n" + coloured.replace("\n", "\r\n")
    log = tmp_path / "log.txt"
    log.write_bytes(text.encode())
    whole = list(iter_records(scan_blocks(iter_text_blocks(str(log), "a log", block=1 << 20)), str(log)))
    for block in (1 << 12, 1 << 18):
        assert list(iter_records(scan_blocks(iter_text_blocks(str(log), "a log", block=block)), str(log))) == whole
    from mmbits.decode.reading import stream_source_lines
    from mmbits.inputs import iter_lines
    by_line = list(iter_records(stream_source_lines(iter_lines(str(log), "a log")), str(log)))
    assert len(whole) >= 4 and whole == by_line


# --- the scan against line-by-line reading on logs made to trip it -------------------------

# lines of every kind the parser reads, in the forms that change what it does with the
# lines after them: a page: line starting a report (or not), word-less and unreadable raw:
# lines, raw: words that are not printed the kernel's way, the PAGE_PART_KEYS lines the scan
# passes only inside a page: line's stretch, bare words, and lines of other messages
_KERNEL_LINES = [
    "page:ffffea0004015800 refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x100560",
    "page:00000000c0ffee00 refcount:0 mapcount:-128 mapping:0000000000000000 index:0x1 pfn:0x2",
    "page:ffffea0000000040 is uninitialized and poisoned",
    "The buggy address belongs to the physical page:",
    "page does not match folio",
    "head:ffffea0004015800 order:3 compound_mapcount:0 compound_pincount:0",
    "head: order:2 mapcount:0 entire_mapcount:0 nr_pages_mapped:0 pincount:0",
    "memcg:ffff888100c8a000",
    "anon flags: 0x17fffe000020838(uptodate|dirty|lru|owner_2|swapbacked|node=0|zone=2)",
    "flags: 0x4000000000010200(slab|head|zone=1)",
    "flags: 0x200(workingset|zone=0)",
    "page_type: f2(table)",
    "page_type: 0xffffff7f(buddy)",
    "aops:shmem_aops ino:1b dentry name:\"x\"",
    "ino:42",
    "raw: 4000000000010200 0000000000000000 dead000000000122 ffff8881002c4d80",
    "raw: 0000000000000000 0000000080160016 00000001ffffffff 0000000000000000",
    "raw: 00001000 ed741470 ed741470 00000000",
    "raw: 0x4000000000010200 0x0000000000000000",
    "raw: 4000000000010200 zzzz",
    "raw: 12345",
    "raw:",
    "raw:   ",
    "head:",
    "head: 4000000000010200 0000000000000000 dead000000000122 ffff8881002c4d80",
    "4000000000010200 0000000000000000 dead000000000122 ffff8881002c4d80",
    "00001000 ed741470",
    "page dumped because: nonzero mapcount",
    "RAW: 4000000000010200 0000000000000000",
    "Flags: 0x200(zone=0)",
    "CPU: 1 PID: 8 Comm: kworker/u4:0 Not tainted 6.1.129 #0",
    "Hardware name: QEMU Standard PC (Q35 + ICH9, 2009)",
    "BUG: Bad page state in process swapper  pfn:100560",
    "Call Trace:",
    " dump_stack_lvl+0x4d/0x70",
    "",
    "   ",
    "x raw: 4000000000010200",
    "caf\u00e9 flags: 0x200(zone=0)",
]
_PREFIXES = ["", "", "", "[  12.345678][ T1234] ", "<4>", "Aug 29 18:08:22 host kernel: ", "> ", "kernel: ",
             "\x1b[33m", "  "]


@st.composite
def _logs(draw: st.DrawFn) -> str:
    lines = draw(st.lists(st.tuples(st.sampled_from(_PREFIXES), st.sampled_from(_KERNEL_LINES)),
                          min_size=1, max_size=60))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return end.join(p + t for p, t in lines) + draw(st.sampled_from(["", end]))


def _without_error(record: DumpRecord) -> DumpRecord:
    out = copy(record)
    out.error = None
    return out


_PAGE = "page:ffffea0004015800 refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x100560"
_RAW = "raw: 4000000000010200 0000000000000000 dead000000000122 ffff8881002c4d80"


@given(_logs(), st.sampled_from([64, 257, 1 << 12, 1 << 20]), st.booleans())
# a raw: line whose words cannot be read does not end the page: line's stretch: the flags:
# line after it is still the report's
@example(f"{_RAW}\n{_PAGE}\nraw: 4000000000010200 zzzz\nflags: 0x200(workingset|zone=0)\n{_RAW}", 1 << 20, False)
@example(f"{_RAW}\n{_PAGE}\nraw: 0x4000000000010200 0x0\nmemcg:ffff888100c8a000\n{_RAW}", 64, False)
# the second of two word-less raw: lines: its words are on the line after it
@example(f"{_RAW}\npage does not match folio\nraw:\nraw:\n00001000 ed741470\n{_PAGE}", 64, False)
# the log's first words on the last line of a block
@example(f"{_PAGE}\npage dumped because: x\nraw: 0x4000000000010200 0x0000000000000000", 64, False)
def test_scanned_logs_read_as_every_line_read_one_by_one(tmp_path_factory: pytest.TempPathFactory, text: str,
                                                         block: int, context: bool) -> None:
    """Whatever the order of the lines, the reports (every field, every line number) and the
    errors are those of reading every line, in blocks of any size, with or without the lines
    only the context reads."""
    log = tmp_path_factory.mktemp("scan") / "log.txt"
    log.write_bytes(text.encode())
    from mmbits.decode.reading import stream_source_lines
    from mmbits.inputs import iter_lines

    def records(lines: Iterable[tuple[int, str]]) -> list[object]:
        try:  # (an unreadable line's error, which compares by identity, as its text)
            return [(_without_error(r), str(r.error)) for r in iter_records(lines, str(log))]
        except InputError as exc:
            return [str(exc)]

    whole = records(stream_source_lines(iter_lines(str(log), "a log")))
    scanned = records(scan_blocks(iter_text_blocks(str(log), "a log", block=block), context))
    assert scanned == whole
