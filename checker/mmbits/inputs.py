"""Bounded reads of every file (or stdin) a user hands to mmbits.

A layout, a proposal, a patch, a dump, a --replay schedule or a .config can be
/dev/zero, a FIFO, a directory, a 10 GB log or a closed stdin. Each read here is
streamed in chunks and stops one byte past its limit, so memory never grows past
the limit; a regular file's size is checked with fstat before anything is read.
Every refusal is one InputError that names the file and, for size, the limit.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from mmbits.errors import InputError, clip

STDIN = "-"
STDIN_NAME = "<stdin>"
CHUNK = 1 << 16

# limits per kind of input: generous for real data, small enough that a hostile
# input is refused in well under a second and a few tens of MB
MB = 1 << 20
LIMIT_YAML = 4 * MB  # the largest shipped layout file is ~60 KB
LIMIT_PATCH = 32 * MB  # a long mbox series; linux-next's whole daily diff is ~20 MB
LIMIT_JSON = 16 * MB  # a --replay schedule
LIMIT_CONFIG = 32 * MB  # an allyesconfig .config is ~300 KB
LIMIT_LOG_LINE = 64 * 1024  # one line of a kernel log; longer lines are not dump_page output
LIMIT_LOG = 64 * MB  # a whole log, streamed line by line (a busy machine's dmesg of a day is ~50 MB)


# terminal colour/cursor sequences (CSI ... final byte) that a coloured `dmesg` or a
# terminal copy leaves in a log; possessive runs keep it linear on hostile lines
_ANSI = re.compile(r"\x1b\[[0-9;?]*+[ -/]*+[@-~]|\x1b[@-Z\\-_]")


def strip_ansi(line: str) -> str:
    return _ANSI.sub("", line) if "\x1b" in line else line


def human(limit: int) -> str:
    """A size limit as people write it: 4 MB, 64 KB, 512 bytes."""
    if limit >= MB and limit % MB == 0:
        return f"{limit // MB} MB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} KB"
    return f"{limit} bytes"


def display_name(path: str) -> str:
    return STDIN_NAME if path == STDIN else clip(path, 200)


def _too_large(name: str, limit: int, what: str) -> InputError:
    return InputError(f"larger than {human(limit)}, the limit for {what}", file=name)


def _stdin_binary(name: str) -> BinaryIO:
    stream = sys.stdin
    if stream is None or getattr(stream, "closed", False):
        raise InputError("standard input is closed", file=name)
    buffer: BinaryIO | None = getattr(stream, "buffer", None)
    if buffer is None:  # a text-only replacement (tests, embedding): encode what it gives
        import io

        return io.BytesIO(stream.read().encode("utf-8", "surrogateescape"))
    return buffer


def _open_checked(path: str, limit: int, what: str) -> int:
    """An fd for `path` that is a readable non-directory within `limit` when regular."""
    name = display_name(path)
    try:
        # O_NONBLOCK: opening a FIFO nobody writes to returns at once instead of hanging
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=name) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError("is a directory, not a file", file=name)
        if stat.S_ISREG(st.st_mode) and st.st_size > limit:
            raise _too_large(name, limit, what)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: str, limit: int, what: str) -> bytes:
    """All of `path` (or stdin for "-"), refused past `limit` bytes without reading on."""
    name = display_name(path)
    if path == STDIN:
        return _read_stream(_stdin_binary(name), name, limit, what)
    fd = _open_checked(path, limit, what)
    with os.fdopen(fd, "rb", buffering=0) as fh:
        return _read_stream(fh, name, limit, what)


def _read_stream(fh: BinaryIO, name: str, limit: int, what: str) -> bytes:
    parts: list[bytes] = []
    total = 0
    with _reading(name):
        while True:
            chunk = fh.read(min(CHUNK, limit + 1 - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
            if total > limit:
                raise _too_large(name, limit, what)
    return b"".join(parts)


@contextmanager
def _reading(name: str) -> Iterator[None]:
    """What a read can raise, as one line naming the input: a directory, an OS error, or a
    read on a closed stream (ValueError; standard input closed under us)."""
    try:
        yield
    except IsADirectoryError:
        raise InputError("is a directory, not a file", file=name) from None
    except OSError as exc:
        raise _read_error(exc, name) from None
    except ValueError:
        raise InputError("standard input is closed", file=name) from None


def _read_error(exc: OSError, name: str) -> InputError:
    import errno

    if exc.errno == errno.EBADF and name == STDIN_NAME:
        return InputError("standard input is closed", file=name)
    return InputError(f"cannot read: {exc.strerror or exc}", file=name)


def read_text(path: str, limit: int, what: str, *, errors: str = "strict") -> str:
    """`read_bytes` decoded as UTF-8; a decoding error names the file and the byte."""
    raw = read_bytes(path, limit, what)
    try:
        return raw.decode("utf-8", errors)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=display_name(path)) from None


def iter_lines(path: str, what: str, *, limit: int = LIMIT_LOG,
               line_limit: int = LIMIT_LOG_LINE) -> Iterator[str]:
    """The lines of a log of any length, one at a time (memory: one line).

    A line longer than `line_limit` is cut to the limit (a log line that long is
    not what mmbits reads); bytes that are not UTF-8 are replaced."""
    name = display_name(path)
    if path == STDIN:
        yield from _iter_stream(_stdin_binary(name), name, limit, line_limit, what)
        return
    fd = _open_checked(path, limit, what)
    with os.fdopen(fd, "rb") as fh:
        yield from _iter_stream(fh, name, limit, line_limit, what)


def _iter_stream(fh: BinaryIO, name: str, limit: int, line_limit: int, what: str) -> Iterator[str]:
    total = 0
    with _reading(name):
        while True:
            line = fh.readline(line_limit + 1)
            if not line:
                return
            total += len(line)
            if len(line) > line_limit and not line.endswith(b"\n"):
                # skip the rest of the over-long line without holding it
                while total <= limit:
                    rest = fh.readline(CHUNK)
                    total += len(rest)
                    if not rest or rest.endswith(b"\n"):
                        break
                line = line[:line_limit] + b"\n"
            if total > limit:
                raise _too_large(name, limit, what)
            yield line.decode("utf-8", "replace")


def iter_line_blocks(path: str, what: str, *, limit: int = LIMIT_LOG, line_limit: int = LIMIT_LOG_LINE,
                     block: int = MB, offset: int = 0) -> Iterator[list[str]]:
    """iter_lines()' lines a block of about `block` bytes at a time, each without its line
    end (`\r` and `\n` dropped): the same cuts, replacements and limits, for a reader that
    would otherwise pay a call per line (memory: one block). A file may be read from
    `offset` (a line start) on: a part of a log read by another process."""
    for blk in _blocks(path, what, limit, line_limit, block, offset):
        yield blk.split("\n") if isinstance(blk, str) else blk


def iter_text_blocks(path: str, what: str, *, limit: int = LIMIT_LOG, line_limit: int = LIMIT_LOG_LINE,
                     block: int = MB, offset: int = 0) -> Iterator[str]:
    """iter_line_blocks()' blocks, each as its lines joined by "\n" (a block holds one line
    or more): a reader that searches the text (decode/scan.py) takes a block as it was read
    instead of its lines split and joined again."""
    for blk in _blocks(path, what, limit, line_limit, block, offset):
        if isinstance(blk, str):
            yield blk
        elif blk:
            yield "\n".join(blk)


def _blocks(path: str, what: str, limit: int, line_limit: int, block: int, offset: int
            ) -> Iterator[str | list[str]]:
    name = display_name(path)
    if path == STDIN:
        yield from _iter_blocks(_stdin_binary(name), name, limit, line_limit, what, block)
        return
    fd = _open_checked(path, limit, what)
    with os.fdopen(fd, "rb") as fh:
        if offset:
            fh.seek(offset)
        yield from _iter_blocks(fh, name, limit, line_limit, what, block)


def _iter_blocks(fh: BinaryIO, name: str, limit: int, line_limit: int, what: str, block: int
                 ) -> Iterator[str | list[str]]:
    """A block's lines, or in the common case (nothing to cut or clean) the text they make
    joined by "\n" (its line end left out)."""
    total = 0  # bytes before `rest`
    rest = b""
    skipping = False  # inside an over-long line: its first line_limit bytes are in rest
    with _reading(name):
        while True:
            chunk = fh.read(block)
            if skipping:
                nl = chunk.find(b"\n")
                if chunk and nl < 0:
                    total += len(chunk)
                    if total > limit:
                        raise _too_large(name, limit, what)
                    continue
                # the over-long line ends here (or at the end of input): kept cut at the limit
                total += len(rest) + (nl + 1 if chunk else 0)
                if total > limit:
                    raise _too_large(name, limit, what)
                yield [_decode_line(rest[:line_limit])]
                rest, skipping = b"", False
                if not chunk:
                    return
                chunk = chunk[nl + 1:]
                if not chunk:  # the line end was the read's last byte: read on (an empty read is the end)
                    continue
            data = rest + chunk if rest else chunk
            if not chunk:
                if data:
                    if total + len(data) > limit:
                        raise _too_large(name, limit, what)
                    yield [_decode_line(data[:line_limit])]
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if len(data) > line_limit:
                    rest, skipping = data[:line_limit], True
                    total += len(data) - line_limit
                else:
                    rest = data
                continue
            body, rest = data[:cut], data[cut:]
            if len(rest) > line_limit:
                total += len(rest) - line_limit
                rest, skipping = rest[:line_limit], True
            if total + cut <= limit and (len(body) <= line_limit or _short_lines(body, line_limit)):
                # the common case: no line of the block is cut
                total += cut
                yield _decoded(body)
                continue
            parts = body.split(b"\n")
            parts.pop()  # after the last line end
            if total + cut > limit or len(body) > line_limit and max(map(len, parts)) > line_limit:
                cut_lines: list[str] = []
                for part in parts:
                    total += len(part) + 1
                    if total > limit:
                        yield cut_lines
                        raise _too_large(name, limit, what)
                    cut_lines.append(_decode_line(part[:line_limit]))
                yield cut_lines
                continue
            total += cut
            yield _decoded(body)


def _decoded(body: bytes) -> str | list[str]:
    """A block of whole lines (`body` ends in a line end) as text: the lines joined by "\\n"
    as read, or the lines themselves where `\\r` line ends or colour codes are dropped."""
    text = body.decode("utf-8", "replace")
    if "\r" not in text and "\x1b" not in text:
        return text[:-1]
    lines = text.split("\n")
    lines.pop()  # after the last line end
    return [strip_ansi(ln.rstrip("\r")) for ln in lines]


def _short_lines(body: bytes, line_limit: int) -> bool:
    """No line of `body` is longer than `line_limit`: every stretch of line_limit // 2 + 1
    bytes (from the start, one after another) holds a line end, so no two line ends are
    more than line_limit + 1 apart. False may be wrong (the caller then measures each line),
    True never is."""
    step = line_limit // 2 + 1
    find = body.find
    return all(find(b"\n", at, at + step) >= 0 for at in range(0, len(body), step))


def _decode_line(raw: bytes) -> str:
    return strip_ansi(raw.decode("utf-8", "replace").rstrip("\r\n"))


def decompress_whole(data: bytes, name: str, limit: int, what: str) -> bytes:
    """Decompress one whole gzip or xz stream, refusing what zcat/xzcat would complain
    about and what they would silently accept: a stream cut short (no end marker or
    trailer), a second gzip member or xz stream, trailing bytes. One stream is what
    /proc/config.gz and a .btf.xz are; concatenation is refused rather than guessed at."""
    import lzma
    import zlib

    gz = data[:2] == b"\x1f\x8b"
    kind = "gzip" if gz else "xz"
    dec: Any = zlib.decompressobj(16 + zlib.MAX_WBITS) if gz else lzma.LZMADecompressor()
    try:
        out = dec.decompress(data, limit + 1)
    except (zlib.error, lzma.LZMAError, EOFError) as exc:
        raise InputError(f"bad {kind} data: {clip(exc, 120)}", file=name) from None
    if len(out) > limit:
        raise InputError(f"decompresses to more than {human(limit)}, the limit for {what}", file=name)
    if not dec.eof:
        raise InputError(f"{kind} stream is truncated (no end of stream)", file=name)
    if dec.unused_data:
        extra = "a second gzip member" if gz and dec.unused_data[:2] == b"\x1f\x8b" else (
            "a second xz stream" if dec.unused_data[:6] == b"\xfd7zXZ\x00" else "trailing bytes")
        raise InputError(f"{len(dec.unused_data)} bytes after the end of the {kind} stream ({extra}); "
                         "only one stream is read", file=name)
    return bytes(out)
