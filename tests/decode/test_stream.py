"""decode reads a log as a stream (issue 16): a report is decoded before the rest of the
log is read, one unreadable report does not stop the others once pages are out, and
the streamed JSON forms are whole documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from decode.dumps import DUMPS
from mmbits.decode.api import decode_stream
from mmbits.decode.model import Decoded, Unreadable
from mmbits.decode.reading import SourceLine, source_lines
from mmbits.errors import InputError

from util.clirun import assert_clean_error

# a real report (x86_64 6.13-rc1, KASAN on a buddy page; source in real/INDEX.md)
REAL = DUMPS / "real" / "x86_64-6.13rc1-kasan-buddy-order10-no-page-owner.txt"


def _body() -> str:
    return "\n".join(ln for ln in REAL.read_text().splitlines() if not ln.startswith("#")) + "\n"


class _Broken(Exception):
    """The rest of the log could not be read (raised by the test's reader)."""


def _then_fail(lines: list[SourceLine], after: int) -> Iterator[SourceLine]:
    yield from lines[:after]
    raise _Broken


def test_a_report_is_decoded_before_the_rest_is_read() -> None:
    one = source_lines(_body())
    two = source_lines(_body() + _body())
    # the first report's lines, the second report's first line (its page: line) and the
    # one after it are all decode_stream may read before it gives the first page
    first_page = next(i for i, s in enumerate(two) if i >= len(one) - 1 and s.text.startswith("page:"))
    pages = decode_stream(_then_fail(two, first_page + 2))
    dec = next(pages)
    assert isinstance(dec, Decoded) and dec.record.start == next(s.number for s in one if s.text.startswith("page:"))
    with pytest.raises(_Broken):
        next(pages)


def test_an_unreadable_report_after_the_first_page_is_said_in_place(cli, tmp_path: Path) -> None:
    bad = "page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x1\nraw: zzzz\n"
    log = tmp_path / "log.txt"
    log.write_text(_body() + bad + _body())
    r = cli("decode", str(log))
    assert r.code == 1, r.err  # the unreadable report is a warning; the two real ones decode
    assert r.out.count("=== page ") == 3 and "not decoded: " in r.out and "not hex: 'zzzz'" in r.out
    assert r.err == ""
    pages = list(decode_stream(source_lines(log.read_text())))
    assert [type(p) for p in pages] == [Decoded, Unreadable, Decoded]


def test_an_unreadable_first_report_is_one_error_line(cli, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x1\nraw: zzzz\n" + _body())
    assert_clean_error(cli("decode", str(log)))
    assert_clean_error(cli("decode", str(log), "--json"))
    with pytest.raises(InputError):
        list(decode_stream(source_lines(log.read_text()), keep_going=False))


def test_streamed_json_and_jsonl_are_whole_documents(cli, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text(_body() * 3)
    whole = cli("decode", str(log), "--json")
    doc = json.loads(whole.out)
    assert len(doc["pages"]) == 3
    assert all(doc["findings"][i]["data"]["page"] == n for n, p in enumerate(doc["pages"]) for i in p["findings"])
    lines = cli("decode", str(log), "--jsonl")
    assert lines.code == whole.code
    rows = [json.loads(ln) for ln in lines.out.splitlines()]
    assert [r["input_lines"] for r in rows] == [p["input_lines"] for p in doc["pages"]]
    assert_clean_error(cli("decode", str(log), "--json", "--jsonl"))
