"""decode's block scanner (decode/scan.py) drops the log lines that cannot matter: the
reports it finds, with every field and line number, are the ones the line-by-line
reading finds, on every real report and on a log of them with the words of some raw:
lines wrapped onto the next line at a block boundary (read in tiny blocks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from decode.dumps import DUMPS
from mmbits.decode.parse import iter_records
from mmbits.decode.reading import source_lines
from mmbits.decode.scan import scan_blocks
from mmbits.inputs import iter_line_blocks

REAL = sorted((DUMPS / "real").glob("*.txt"))


def _both(path: Path, block: int = 1 << 20) -> tuple[list[object], list[object]]:
    whole = list(iter_records(source_lines(path.read_text(encoding="utf-8")), str(path)))
    scanned = list(iter_records(scan_blocks(iter_line_blocks(str(path), "a log", block=block)), str(path)))
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
    whole = list(iter_records(scan_blocks(iter_line_blocks(str(log), "a log", block=1 << 20)), str(log)))
    for block in (1 << 12, 1 << 18):
        assert list(iter_records(scan_blocks(iter_line_blocks(str(log), "a log", block=block)), str(log))) == whole
    from mmbits.decode.reading import stream_source_lines
    from mmbits.inputs import iter_lines
    by_line = list(iter_records(stream_source_lines(iter_lines(str(log), "a log")), str(log)))
    assert len(whole) >= 4 and whole == by_line
