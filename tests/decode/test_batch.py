"""TextBatch.add_page: pages as decode prints them (a blank line between two, a line end after
each), written a batch at a time, or each page at once with limit 0 (stdin, a live log)."""

from __future__ import annotations

from mmbits.decode.batch import TextBatch


def test_pages_are_separated_by_a_blank_line_and_held_until_the_limit() -> None:
    written: list[str] = []
    batch = TextBatch(written.append, limit=12)
    batch.add_page("one", True)  # 4 characters held
    batch.add_page("two", False)  # 9
    assert written == []
    batch.add_page("three", False)  # 16: past the limit, written
    assert written == ["one\n\ntwo\n\nthree\n"]
    batch.add_page("four", False)
    batch.flush()
    batch.flush()  # nothing held: nothing written
    assert written == ["one\n\ntwo\n\nthree\n", "\nfour\n"]


def test_limit_zero_writes_each_page_at_once() -> None:
    written: list[str] = []
    batch = TextBatch(written.append, limit=0)
    batch.add_page("a", True)
    batch.add_page("b", False)
    assert written == ["a\n", "\nb\n"]
