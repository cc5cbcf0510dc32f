"""Turn what people paste into the kernel's own lines, each with its input line number.

Reports arrive as whole emails (quoted-printable, `> ` quoting, CRLF),
dmesg with `[  123.456]` timestamps and `[  T1234]` caller ids, syslog and
journald prefixes, `| ` pipes from log viewers and ANSI colours from
terminals. Everything after this module sees only the kernel's text and the
line number it came from, so every page can say which input lines it used.
Reading the bytes (files, stdin) is kept here too, in one small function,
so a caller that must bound the input (size limits, streaming) wraps it.
"""

from __future__ import annotations

import re
import sys
from collections import namedtuple
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import TYPE_CHECKING, NamedTuple

from mmbits.errors import InputError

# log prefixes, repeated: mail quoting, log-viewer pipes, printk timestamps and
# caller ids ([  12.345678], [ T123], [  C1]), syslog levels (<4>), syslog and
# journald "Mon DD HH:MM:SS host kernel:", ISO-8601 syslog stamps, "kernel:"
_PREFIX = re.compile(
    r"^(?:\s*(?:>+\s?|\|\s|<\d+>|\[[^\]]*\]"
    r"|[A-Z][a-z]{2}\s+\d+\s+\d\d:\d\d:\d\d\s+\S+\s+kernel:"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*\s+\S+\s+kernel:"
    r"|kernel:))+\s*"
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_QP_ESCAPE = re.compile(r"=([0-9A-F]{2})")
_QP_HINT = re.compile(r"(?im)^content-transfer-encoding:\s*quoted-printable\s*$")


# a line of the kernel's text as the decoder reads it: (its number in the input, 1-based,
# its text), a SourceLine or the plain pair a long log's scan hands on (decode/scan.py)
Line = tuple[int, str]

# a collections.namedtuple at run time, typed as a NamedTuple for mypy: typing.NamedTuple reads
# each field's annotation (a string here) with compile(), and a process's first compile()
# builds the ast module's node classes (~21 M instructions for the 11 of a decode's start-up)
if TYPE_CHECKING:
    class SourceLine(NamedTuple):
        """One line of the kernel's text and where it started in the input (1-based); a named
        tuple, since a long log makes one per line it keeps."""

        number: int
        text: str
else:
    SourceLine = namedtuple("SourceLine", ["number", "text"])


# every prefix above starts with one of these; a line starting otherwise has none
_PREFIX_FIRST = frozenset(" \t>|<[k0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def strip_prefix(line: str) -> str:
    """The kernel's text of one log line: colours and every log/mail prefix removed."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if not line or line[0] not in _PREFIX_FIRST:
        return line.strip()
    line = line.rstrip("\r\n")
    m = _PREFIX.match(line)  # (sub() would search the rest of the line for a second one, in vain)
    return (line[m.end():] if m is not None else line).strip()


# _PREFIX for many lines at once: each line of a text joined by "\n" (and one before the
# first), its prefix and the blanks after it removed as strip_prefix() removes them: the same
# alternatives, kept inside their line ([^\S\n] for \s, [^\]\n] for [^\]]), tried only where
# strip_prefix() tries them (the line starts with one of _PREFIX_FIRST)
_PREFIXES = re.compile(
    r"\n(?=[ \t>|<\[k0-9A-Z])(?:[^\S\n]*(?:>+[^\S\n]?|\|[^\S\n]|<\d+>|\[[^\]\n]*\]"
    r"|[A-Z][a-z]{2}[^\S\n]+\d+[^\S\n]+\d\d:\d\d:\d\d[^\S\n]+\S+[^\S\n]+kernel:"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*[^\S\n]+\S+[^\S\n]+kernel:"
    r"|kernel:))+[^\S\n]*"
)
_LINE_END_CR = re.compile(r"\r+\n")
_PREFIX_AT = re.compile(_PREFIX.pattern.removeprefix("^"))  # _PREFIX from a place inside a text (match() anchors it)


def strip_prefix_lines(text: str) -> list[str]:
    """[strip_prefix(line) for line in text.split("\n")], with one pass of C over the whole
    text instead of a regular expression call per line (decode/scan.py's lines of a long log).
    Colour codes, which strip_prefix removes first, and text that is not ASCII go line by line."""
    if "\x1b" in text or not text.isascii():
        return [strip_prefix(line) for line in text.split("\n")]
    text = "\n" + text
    if "\r" in text:
        text = _LINE_END_CR.sub("\n", text + "\n")[:-1]  # strip_prefix drops a line's trailing \r first
    lines = _PREFIXES.sub("\n", text).split("\n")
    del lines[0]
    return list(map(str.strip, lines))


def prefix_end(text: str, begin: int, end: int) -> int:
    """Where the kernel's text of the line text[begin:end] starts, as strip_prefix() finds it
    (its prefix and the blanks before the text skipped); -1 when the line holds a colour code
    (strip_prefix removes those first, moving what follows)."""
    while end > begin and text[end - 1] in "\r\n":
        end -= 1  # strip_prefix drops the line end first
    if text.find("\x1b", begin, end) >= 0:
        return -1
    if begin < end and text[begin] in _PREFIX_FIRST:
        m = _PREFIX_AT.match(text, begin, end)
        if m is not None:
            return m.end()
    while begin < end and text[begin].isspace():
        begin += 1
    return begin


def looks_quoted_printable(text: str) -> bool:
    """A mail body in quoted-printable: its header says so, or soft breaks and =3D escapes show it."""
    if _QP_HINT.search(text):
        return True
    lines = text.splitlines()
    soft = sum(1 for ln in lines if ln.endswith("=") and not ln.endswith("=="))
    return soft >= 2 and "=3D" in text


def _qp_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Quoted-printable decoded: soft line breaks joined (numbered by their first line)."""
    start: int | None = None
    parts: list[str] = []
    for number, line in enumerate(lines, start=1):
        if start is None:
            start = number
        if line.endswith("=") and not line.endswith("=="):
            parts.append(line[:-1])
            continue
        parts.append(line)
        joined = "".join(parts)
        yield start, _QP_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), joined)
        start, parts = None, []
    if parts and start is not None:
        yield start, "".join(parts)


def source_lines(text: str) -> list[SourceLine]:
    """The input's lines with prefixes removed (blank lines kept, so numbers stay the input's)."""
    raw = text.splitlines()
    numbered = _qp_lines(raw) if looks_quoted_printable(text) else enumerate(raw, start=1)
    return [SourceLine(number, strip_prefix(line)) for number, line in numbered]


# how much of a streamed log is looked at to tell quoted-printable mail from a plain log
# (the header or the first soft breaks come early in a mail)
QP_LOOKAHEAD = 2000


def stream_source_lines(raw: Iterable[str]) -> Iterator[SourceLine]:
    """source_lines() over lines read one at a time (memory: the look-ahead, then one line).
    Quoted-printable is recognised from the first lines."""
    from mmbits.inputs import strip_ansi

    it = iter(raw)
    head = [strip_ansi(line.rstrip("\r\n")) for line in islice(it, QP_LOOKAHEAD)]
    rest = (strip_ansi(line.rstrip("\r\n")) for line in it)
    qp = looks_quoted_printable("\n".join(head))
    head.reverse()
    lines = chain(_drain(head), rest)
    numbered = _qp_lines(lines) if qp else enumerate(lines, start=1)
    for number, line in numbered:
        yield SourceLine(number, strip_prefix(line))


def _drain(reversed_lines: list[str]) -> Iterator[str]:
    """The look-ahead lines in order, each let go once read."""
    while reversed_lines:
        yield reversed_lines.pop()


def stream_input(path: str, context: bool = True) -> tuple[Iterator[Line], str]:
    """(the kernel's lines, name) of a file or stdin ('-'), read as they are used: a log of
    any size (up to mmbits.inputs.LIMIT_LOG) is decoded holding one report. The same
    checks as read_input (a terminal on stdin, /dev/zero, FIFOs, directories, over-long lines).
    The lines that cannot matter are dropped unread (decode/scan.py); without `context`
    (the user gave both the release and the arch) so are the lines that only name them."""
    from mmbits.decode.scan import scan_blocks
    from mmbits.inputs import display_name, iter_text_blocks

    _refuse_terminal(path)
    return scan_blocks(iter_text_blocks(path, "a kernel log", block=_BLOCK), context), display_name(path)


# bytes read at a time: big enough that a block's scan (decode/scan.py) is a few C-speed passes,
# small enough that the block's text, its lowercased copy and its lines stay a few MB
_BLOCK = 1 << 18


def _refuse_terminal(path: str) -> None:
    if path == "-" and sys.stdin is not None and not sys.stdin.closed and sys.stdin.isatty():
        raise InputError("reading the report from stdin, but stdin is a terminal: paste into a file "
                         "and pass its name, or pipe the report in (… | mmbits decode -)", file="<stdin>")


def read_input(path: str) -> tuple[str, str]:
    """(text, name) of a file, or of stdin for '-'; a terminal on stdin is a usage error,
    not a silent wait for input nobody is going to type. The read is bounded
    (mmbits.inputs: /dev/zero, a FIFO, a directory or a closed stdin is one error line)
    and terminal colour codes (`dmesg --color=always`) are dropped."""
    from mmbits.inputs import LIMIT_LOG, display_name, read_text, strip_ansi

    _refuse_terminal(path)
    text = read_text(path, LIMIT_LOG, "a kernel log", errors="replace")
    return strip_ansi(text), display_name(path)
