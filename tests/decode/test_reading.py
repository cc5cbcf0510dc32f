"""Every form a report is pasted in reads as the same kernel lines.

Each form is made from a real report (tests/data/dumps/real) the way mail
clients, dmesg, journald and terminals change it; the decode of the pasted
form must give the same words and the same agreement with the kernel's
lines as the plain report, and say which input lines each page came from.
"""

from __future__ import annotations

import io
import quopri
import sys
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mmbits.decode.api import decode_text
from mmbits.decode.reading import read_input, source_lines
from mmbits.errors import InputError

REAL = Path(__file__).resolve().parents[1] / "data" / "dumps" / "real"
REPORT = "x86_64-6.6rc1-hpe-badpte-buddy-kernel-prefix.txt"


def _plain() -> str:
    return "\n".join(ln for ln in (REAL / REPORT).read_text(encoding="utf-8").splitlines()
                     if not ln.startswith("#"))


def _summary(text: str) -> list[tuple[list[int], list[tuple[str, str]]]]:
    return [(d.words, [(c.item, c.status) for c in d.checks]) for d in decode_text(text)]


def _dmesg(text: str) -> str:
    return "\n".join(f"[  {100 + i}.{i:06d}][  T{1234 + i}] {ln.removeprefix(' kernel: ')}"
                     for i, ln in enumerate(text.splitlines()))


def _quoted_printable_mail(text: str) -> str:
    body = quopri.encodestring(("x" * 90 + " = padding to force soft breaks\n" + text).encode()).decode()
    return ("From: syzbot <syzbot@syzkaller.appspotmail.com>\nSubject: [syzbot] BUG: Bad page map\n"
            "Content-Type: text/plain; charset=\"UTF-8\"\nContent-Transfer-Encoding: quoted-printable\n\n" + body)


FORMS = {
    "dmesg timestamps and caller ids": _dmesg,
    "mail quoting": lambda t: "\n".join("> " + ln for ln in t.splitlines()),
    "nested quoting": lambda t: "\n".join(">> " + ln for ln in t.splitlines()),
    "CRLF": lambda t: t.replace("\n", "\r\n"),
    "ANSI colours": lambda t: "\n".join(f"\x1b[33m{ln}\x1b[0m" for ln in t.splitlines()),
    "log viewer pipes": lambda t: "\n".join("| " + ln for ln in t.splitlines()),
    "ISO syslog": lambda t: "\n".join("2023-12-19T10:11:12.123456+00:00 host kernel: " + ln.removeprefix(" kernel: ")
                                      for ln in t.splitlines()),
    "quoted-printable mail": _quoted_printable_mail,
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_pasted_forms_decode_like_the_plain_report(form):
    plain = _plain()
    assert _summary(FORMS[form](plain)) == _summary(plain)


def test_several_dumps_each_say_their_lines():
    plain = _plain()
    text = plain + "\n\nsome other log line\n" + plain
    pages = decode_text(text)
    assert len(pages) == 2
    n = len(plain.splitlines())
    first, second = pages[0].record, pages[1].record
    assert first.end < second.start and second.start > n + 2
    assert text.splitlines()[first.start - 1].lstrip().startswith("kernel: page:")


def test_quoted_printable_keeps_input_line_numbers():
    lines = source_lines("Content-Transfer-Encoding: quoted-printable\n\nraw: 00=\n00 page=3Dx\nend\n")
    assert [(ln.number, ln.text) for ln in lines][2:] == [(3, "raw: 0000 page=x"), (5, "end")]


def test_stdin_terminal_is_a_clear_error(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty(""))
    with pytest.raises(InputError, match="stdin is a terminal"):
        read_input("-")
    monkeypatch.setattr(sys, "stdin", io.StringIO("raw: 0000000000000000\n"))
    assert read_input("-") == ("raw: 0000000000000000\n", "<stdin>")


# --- prefixes stripped a block at a time, and where a line's text starts -------------------

_PREFIX_PIECES = ["[  12.345678]", "[ T123]", "[  C1]", "<4>", "<12>", "> ", ">>", "| ", "kernel:",
                  "Aug 29 18:08:22 host kernel:", "Oct  1 01:02:03 h-1 kernel:", "2024-08-29T18:08:22.1+00:00 h kernel:",
                  " ", "\t", "\x0b", "\x0c", "\x1c", "\x1f", "\r", "[", "]", "<", "|", ">", "k", "A", "Aug", "1", "x",
                  "raw: 4000000000010200", "raw:", "page:", "\x1b[1m", "\u00e9"]


@given(st.lists(st.lists(st.sampled_from(_PREFIX_PIECES), max_size=8).map("".join), min_size=1, max_size=6))
@example(["|\r", "kOct  1 01:02:03 h-1 kernel:\x0b\x0c"])  # a line's \r goes before its prefix is read
@example(["   Aug 29 18:08:22 host kernel:\x0c", "[ 1.0] raw: 4000000000010200  "])
def test_prefixes_stripped_a_block_at_a_time_as_line_by_line(lines: list[str]) -> None:
    from mmbits.decode.reading import strip_prefix, strip_prefix_lines

    assert strip_prefix_lines("\n".join(lines)) == [strip_prefix(line) for line in lines]


@given(st.lists(st.sampled_from(_PREFIX_PIECES), max_size=8).map("".join), st.sampled_from(["", "x y\n"]),
       st.sampled_from(["", "\nnext"]))
def test_a_line_s_text_starts_where_strip_prefix_finds_it(line: str, before: str, after: str) -> None:
    from mmbits.decode.reading import prefix_end, strip_prefix

    text = before + line + after
    at = prefix_end(text, len(before), len(before) + len(line))
    if "\x1b" in line:
        assert at == -1
    else:
        assert text[at:len(before) + len(line)].strip() == strip_prefix(line)
