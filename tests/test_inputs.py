"""inputs.iter_line_blocks reads a log as iter_lines does: the same lines, cut at the same
length, `\r` line ends and colour codes dropped, undecodable bytes replaced, whatever the
block size (its common path tells an ASCII block's longest line from the decoded lines)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mmbits.inputs import iter_line_blocks, iter_lines

_PIECES = [b"raw: 4000000000010200", b"x" * 40, b"\r", b"\x1b[1m", b"\xc3\xa9", b"\xff", b" ", b"page:", b"\n", b"\n",
           b"\r\n"]


@given(st.lists(st.sampled_from(_PIECES), max_size=80).map(b"".join), st.sampled_from([16, 64, 1 << 12]),
       st.sampled_from([8, 50, 1 << 16]))
# an over-long line whose line end is the last byte of a read: the lines after it are still read
@example(b"raw: 4000000000010200raw: 4000000000010200\r\x1b[1m\nraw: 4000000000010200", 16, 8)
def test_blocks_hold_the_lines_iter_lines_reads(tmp_path_factory: pytest.TempPathFactory, data: bytes, block: int,
                                                line_limit: int) -> None:
    log: Path = tmp_path_factory.mktemp("blocks") / "log"
    log.write_bytes(data)
    from mmbits.inputs import strip_ansi

    by_line = [strip_ansi(line.rstrip("\r\n")) for line in iter_lines(str(log), "a log", line_limit=line_limit)]
    blocks = [line for blk in iter_line_blocks(str(log), "a log", line_limit=line_limit, block=block) for line in blk]
    assert blocks == by_line


@given(st.lists(st.sampled_from(_PIECES), max_size=80).map(b"".join), st.sampled_from([16, 64, 1 << 12]),
       st.sampled_from([8, 50, 1 << 16]))
def test_text_blocks_are_the_line_blocks_joined(tmp_path_factory: pytest.TempPathFactory, data: bytes, block: int,
                                                line_limit: int) -> None:
    """Each text block is one line block's lines joined by "\\n", and no block is empty."""
    from mmbits.inputs import iter_text_blocks

    log: Path = tmp_path_factory.mktemp("blocks") / "log"
    log.write_bytes(data)
    texts = list(iter_text_blocks(str(log), "a log", line_limit=line_limit, block=block))
    lines = [blk for blk in iter_line_blocks(str(log), "a log", line_limit=line_limit, block=block) if blk]
    assert texts == ["\n".join(blk) for blk in lines]


def test_no_line_is_longer_than_the_limit_when_every_stretch_holds_a_line_end() -> None:
    from mmbits.inputs import _short_lines

    assert _short_lines(b"aaa\nbbb\naaaa\n", 8)
    assert not _short_lines(b"a" * 8 + b"\n", 8)  # a line of 8 may be told too long (then measured), never the reverse
    assert not _short_lines(b"a" * 9 + b"\n", 8)  # a line of 9 where 8 is the limit: said
    assert not _short_lines(b"\n" + b"a" * 9 + b"\n", 8)
