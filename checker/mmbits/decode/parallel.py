"""Decode a big log file in two processes, printing exactly what one process prints.

A long log is decoded a report at a time, and nearly all of the time is Python work
per line and per report, so a second core halves the wall time. The file is cut
between two reports near its middle: at a `page: refcount:...` line, which starts a
new report whatever the parser held before (decode/parse.py `finish()`). The parent
decodes the reports before the cut and prints them as they come; a forked child reads
the file from the report before the cut (so the first report after it has the same
neighbourhood, decode/context.py, as in one process), decodes the rest into a
temporary file and says how many pages it wrote, where their numbers are and its
worst finding. The parent then copies that file after its own pages with the page
numbers counted on from its own. Memory stays that of one report per process; the
child's text waits on disk, not in memory.

What cannot be cut this way is decoded in one process: stdin, a small file,
quoted-printable mail (decided from the whole log's first lines), a file past the
input limit (one process reports it), no `page:` line near the middle, one CPU, or
MMBITS_DECODE_JOBS=1.
"""

from __future__ import annotations

import os
import sys
from array import array
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from mmbits.byvalue import ByValue
from mmbits.cpus import usable_cpus
from mmbits.decode.batch import CHUNK, TextBatch
from mmbits.decode.parse import page_line_kind
from mmbits.decode.reading import QP_LOOKAHEAD, Line, looks_quoted_printable, strip_prefix
from mmbits.errors import InputError

if TYPE_CHECKING:
    from mmbits.decode.model import Decoded, Unreadable
    from mmbits.findings import Finding

# below this size one process is faster: the second process's fork and its first
# decodes of each page shape cost more than the half of the log it takes
SPLIT_MIN = 2 << 20
# the parent forks the child after printing this many pages: the child starts with what the
# first pages taught the memos (the config inferred per kernel, the releases that fit a
# report naming none, the layouts), which a log's later reports mostly repeat
FORK_AFTER = 64
# how far past the middle a `page:` line is looked for
_WINDOW = 1 << 20


class Cut(ByValue):
    """Where the second process starts: the report before the cut (byte offset and the
    lines before it) and the input line of the first report it prints."""

    offset: int
    lines_before: int
    line: int

    _SHOWN = ("offset", "lines_before", "line")

    def __init__(self, offset: int, lines_before: int, line: int) -> None:
        self.offset = offset
        self.lines_before = lines_before
        self.line = line

    def _fields(self) -> tuple[object, ...]:
        return (self.offset, self.lines_before, self.line)


def plan(path: str) -> Cut | None:
    """The cut of a log file worth decoding in two processes, or None for one."""
    from mmbits.inputs import LIMIT_LOG, LIMIT_LOG_LINE

    if path == "-" or not hasattr(os, "fork") or os.environ.get("MMBITS_DECODE_JOBS", "") == "1" or usable_cpus() < 2:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None  # one process reports it
    import stat

    if not stat.S_ISREG(st.st_mode) or not SPLIT_MIN <= st.st_size <= LIMIT_LOG:
        return None
    try:
        if _quoted_printable(path):
            return None
        return _cut(path, st.st_size, LIMIT_LOG_LINE)
    except (OSError, InputError):
        return None  # one process reports it


def _quoted_printable(path: str) -> bool:
    """Whether the log's first lines, read as decode reads them, look like quoted-printable
    mail (decode/scan.py decides it from the same lines, so both processes read one way)."""
    from mmbits.decode.reading import _BLOCK
    from mmbits.inputs import iter_line_blocks

    head: list[str] = []
    for blk in iter_line_blocks(path, "a kernel log", block=_BLOCK):
        head.extend(blk[:QP_LOOKAHEAD - len(head)])
        if len(head) >= QP_LOOKAHEAD:
            break
    return looks_quoted_printable("\n".join(head))


def _cut(path: str, size: int, line_limit: int) -> Cut | None:
    """The cut at the first report starting after the middle of the file."""
    with open(path, "rb") as fh:
        mid = size // 2
        fh.seek(mid)
        data = fh.read(_WINDOW)
        starts = _report_starts(data, line_limit)
        if starts is None:
            return None
        first, second = starts
        fh.seek(0)
        before = 0
        left = mid + first
        while left > 0:
            chunk = fh.read(min(left, 1 << 22))
            if not chunk:
                return None
            before += chunk.count(b"\n")
            left -= len(chunk)
    between = data.count(b"\n", first, second)
    return Cut(mid + first, before, before + between + 1)


def _report_starts(data: bytes, line_limit: int) -> tuple[int, int] | None:
    """The offsets in `data` (read from the middle of the log) of the first two lines
    that start a report with a `page:` line, after the first line end; None when there
    are not two, or a line between is longer than the reader keeps."""
    pos = data.find(b"\n") + 1
    if not pos:
        return None
    found: list[int] = []
    while len(found) < 2:
        end = data.find(b"\n", pos)
        if end < 0 or end - pos > line_limit:
            return None
        line = data[pos:end]
        if b"age:" in line or b"AGE:" in line:
            from mmbits.inputs import strip_ansi

            text = strip_prefix(strip_ansi(line.decode("utf-8", "replace").rstrip("\r")))
            if text[:5].lower() == "page:" and page_line_kind(text[5:].strip()) == "page":
                found.append(pos)
        pos = end + 1
    return found[0], found[1]


PagesOf = Callable[..., Iterator["Decoded | Unreadable"]]


def write_text(path: str, cut: Cut, pages_of: PagesOf, page_text: Callable[[Decoded | Unreadable], str],
               keep_worst: Callable[[list[Finding], list[Finding]], None], write: Callable[[str], None],
               context: bool = True) -> list[Finding]:
    """Every page's text, in input order, the second part decoded by a child process;
    the findings that decide the exit code (both parts'). `write` prints and flushes
    (click.echo without a line end): nothing buffered is copied into the child. `context`:
    the lines naming the release and arch are read (reading.stream_input)."""
    import pickle  # (here, not at the top: a log decoded in one process never needs them)
    import tempfile

    from mmbits.decode.reading import stream_input

    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="surrogatepass", newline="") as text_file, \
            tempfile.TemporaryFile("w+b") as marks_file:
        pid, rfd = 0, -1

        def start() -> None:
            """Fork the child, which decodes the second part and never returns."""
            nonlocal pid, rfd
            sys.stdout.flush()  # nothing buffered is copied into the child
            rfd, wfd = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(rfd)
                _child(path, cut, pages_of, page_text, keep_worst, text_file, marks_file, wfd, context)
            os.close(wfd)

        batch = TextBatch(write)  # pages not written yet (decode/batch.py)
        try:
            worst: list[Finding] = []
            count = 0
            for dec in pages_of(stream_input(path, context)[0], stop_line=cut.line):
                batch.add_page(page_text(dec), not count)
                count += 1
                if not worst:
                    keep_worst(worst, dec.findings)
                if count == FORK_AFTER:
                    start()
            if not pid:
                start()
            batch.flush()
            with os.fdopen(rfd, "rb") as status:
                rfd = -1
                report = status.read()
            os.waitpid(pid, 0)
            pid = 0
            if not report:
                raise RuntimeError("the second decode process died without a word")
            state, payload = pickle.loads(report)
            if state != "ok":
                raise RuntimeError(f"the second decode process failed: {payload}")
            _copy(text_file, marks_file, count, write)
            if not worst:
                keep_worst(worst, payload)
            return worst
        finally:
            batch.flush()
            if rfd >= 0:
                os.close(rfd)
            if pid:
                import signal

                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def _child(path: str, cut: Cut, pages_of: PagesOf, page_text: Callable[[Decoded | Unreadable], str],
           keep_worst: Callable[[list[Finding], list[Finding]], None], text_file: IO[str], marks_file: IO[bytes],
           wfd: int, context: bool) -> None:
    """Decode the second part into text_file: each page's text as one process would print
    it (every page here follows another, so each starts with a blank line), and in
    marks_file where each page's number sits (characters into the text, digits)."""
    import pickle

    code = 0
    try:
        from mmbits.decode.reading import _BLOCK
        from mmbits.decode.scan import scan_part
        from mmbits.inputs import iter_text_blocks

        lines: Iterator[Line] = scan_part(
            iter_text_blocks(path, "a kernel log", block=_BLOCK, offset=cut.offset), cut.lines_before, context)
        worst: list[Finding] = []
        marks = array("q")
        at = 0
        batch = TextBatch(text_file.write)  # a megabyte at a time, as the parent prints
        for dec in pages_of(lines, first_line=cut.line, printed_before=True):
            text = page_text(dec)
            head = f"=== page {dec.number}"
            if not text.startswith(head):
                raise RuntimeError(f"page {dec.number}'s text does not start with its number")
            marks.append(at + 1 + len("=== page "))
            marks.append(len(head) - len("=== page "))
            batch.add_page(text, False)
            at += len(text) + 2
            if not worst:
                keep_worst(worst, dec.findings)
        batch.flush()
        text_file.flush()
        marks.tofile(marks_file)
        marks_file.flush()
        from mmbits.cachedir import save_now

        save_now()  # what this part computed for the stores, its solved configs too (os._exit runs no atexit handler)
        status: tuple[str, Any] = ("ok", worst)
    except BaseException as exc:  # noqa: BLE001 (said to the parent, which raises it)
        status, code = ("error", f"{type(exc).__name__}: {exc}"), 1
    try:
        os.write(wfd, pickle.dumps(status))
    finally:
        os._exit(code)


def _copy(text_file: IO[str], marks_file: IO[bytes], before: int, write: Callable[[str], None]) -> None:
    """The child's text after the parent's pages, each page number counted on by `before`.
    The text is read a megabyte at a time and cut at the numbers in memory: a read per page
    (two, with its number) cost a tenth of the parent's whole run after the child's end."""
    marks = array("q")
    marks_file.seek(0)
    marks.frombytes(marks_file.read())
    text_file.seek(0)
    read = text_file.read
    buf, base, pos = read(CHUNK), 0, 0  # buf holds the text from character `base` on; pos: written up to
    pieces: list[str] = []
    held = 0
    for k in range(0, len(marks), 2):
        at, digits = marks[k] - base, marks[k + 1]
        while at + digits > len(buf):  # the number is not all read: keep what follows its start
            more = read(CHUNK)
            if not more:
                raise RuntimeError("the second decode process's text ends before its last page number")
            cut = max(pos, min(at, len(buf)))
            pieces.append(buf[pos:cut])
            buf, base, pos, at = buf[cut:] + more, base + cut, 0, at - cut
        pieces.append(buf[pos:at])
        pieces.append(str(int(buf[at:at + digits]) + before))
        held += at + digits - pos
        pos = at + digits
        if held >= CHUNK:  # written a megabyte at a time, not a page
            write("".join(pieces))
            pieces, held = [], 0
    pieces.append(buf[pos:])
    write("".join(pieces))
    while True:
        rest = read(CHUNK)
        if not rest:
            break
        write(rest)
