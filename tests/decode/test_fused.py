"""decode/fused.py reads a usual report's lines at once: the parser must get from it exactly
the records (and the context window exactly the lines) the line-by-line way gives, and
`mmbits decode` must print the same bytes. Each log here is read both ways (the fast path
on and off) and compared: every real report and every fixture, joined into one log as
they are and behind the log prefixes people paste, and the forms the fast path must
leave to the parser or hand back to it (a `page does not match folio` line or a
`head: order:` line before the page: line, a word-less `raw:` line, `head:` and `raw:`
lines after `page dumped because:`, a line between, CR line ends, a line naming the arch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from decode.dumps import DUMPS
from mmbits.decode import fused
from mmbits.decode.api import decode_stream
from mmbits.decode.model import Decoded
from mmbits.decode.output import to_json
from mmbits.decode.parse import FusedReport, records_with_next
from mmbits.decode.reading import stream_input
from mmbits.decode.render import render

FIXTURES = sorted((DUMPS / "real").glob("*.txt")) + sorted(DUMPS.glob("*.txt"))


def _body(path: Path) -> str:
    return "\n".join(ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#"))


# the usual report (x86_64 6.13-rc1, KASAN on a buddy page; its source in real/INDEX.md), by line
_USUAL = _body(DUMPS / "real" / "x86_64-6.13rc1-kasan-buddy-order10-no-page-owner.txt")
_PAGE = next(ln for ln in _USUAL.splitlines() if ln.startswith("page:"))
_REPORT = _USUAL[_USUAL.index(_PAGE):_USUAL.index("\n", _USUAL.index("page dumped because:"))]


def _odd_forms() -> list[str]:
    """Reports around the usual one that the fast path must leave alone or hand back."""
    words = next(ln for ln in _REPORT.splitlines() if ln.startswith("raw:"))
    return [_USUAL.replace(_REPORT, form) for form in (  # the lines naming the release and arch kept around it
        "page does not match folio\n" + _REPORT,
        "head: order:2 mapcount:0 entire_mapcount:0 nr_pages_mapped:0 pincount:0\n" + _REPORT,
        "raw:\n" + _REPORT,
        _REPORT + "\nhead: " + words[5:] + "\nhead: order:1 mapcount:0",
        _REPORT + "\n" + words,
        _REPORT.replace("\nraw:", "\nsome other message\nraw:", 1),
        _REPORT.replace("\n", "\r\n"),
        _REPORT + "\nRIP: 0010:folio_unlock+0x43/0x50",
        _REPORT.replace("page dumped because:", "page dumped because: raw:"),
        _REPORT.replace("\nraw:", "\nRAW:", 1),
    )]


def _prefixed(text: str, k: int) -> str:
    """The report behind log prefixes: printk timestamps and caller ids, syslog, mail quoting."""
    forms = ("[  {i}.000000] ", "[  {i}.1][ T42] ", "Aug 29 18:08:{i:02d} host kernel: ", "> ", "<4>[{i}] ",
             "  ", "[broken ")
    return "\n".join(forms[(i + k) % len(forms)].format(i=i % 60) + ln for i, ln in enumerate(text.splitlines()))


def _log(tmp_path: Path) -> Path:
    bodies = [_body(p) for p in FIXTURES]
    parts = bodies + [_prefixed(b, k) for k, b in enumerate(bodies)] + _odd_forms() + [_USUAL] * 3
    log = tmp_path / "log.txt"
    log.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return log


def _read(path: Path, context: bool, monkeypatch: pytest.MonkeyPatch, on: bool) -> tuple[list[object], int]:
    """(the records with the next report's first line, how many came read at once)."""
    monkeypatch.setattr(fused, "ENABLED", on)
    lines = list(stream_input(str(path), context)[0])
    records = [(repr(r), nxt) for r, nxt in records_with_next(iter(lines), str(path))]
    return records, sum(isinstance(item, FusedReport) for item in lines)


def _pages(path: Path, context: bool, monkeypatch: pytest.MonkeyPatch, on: bool) -> list[str]:
    monkeypatch.setattr(fused, "ENABLED", on)
    kw = {} if context else {"kernel": "6.12", "arch": "x86_64"}
    out = []
    for dec in decode_stream(stream_input(str(path), context)[0], file=str(path), **kw):  # type: ignore[arg-type]
        out.append(render(dec) + repr(to_json(dec)) if isinstance(dec, Decoded) else dec.render())
    return out


@pytest.mark.parametrize("context", [True, False], ids=["context read", "release and arch given"])
def test_the_fast_path_gives_the_parser_what_the_lines_give(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             context: bool) -> None:
    log = _log(tmp_path)
    slow, none = _read(log, context, monkeypatch, False)
    fast, taken = _read(log, context, monkeypatch, True)
    assert none == 0 and taken > len(FIXTURES)  # the fast path read most reports
    assert fast == slow


@pytest.mark.parametrize("context", [True, False], ids=["context read", "release and arch given"])
def test_the_pages_are_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, context: bool) -> None:
    """The decoded pages (text and JSON) of the usual report in several forms, both ways."""
    log = tmp_path / "log.txt"
    log.write_text("\n\n".join([_USUAL, *_odd_forms(), _prefixed(_USUAL, 1), _prefixed(_USUAL, 2), _USUAL]) + "\n")
    assert _read(log, context, monkeypatch, True)[1] >= 5
    assert _pages(log, context, monkeypatch, True) == _pages(log, context, monkeypatch, False)


@pytest.mark.slow
@pytest.mark.parametrize("context", [True, False], ids=["context read", "release and arch given"])
def test_every_page_is_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, context: bool) -> None:
    """Every fixture's pages in the joined log, both ways (slow: each kernel's config inferred)."""
    log = _log(tmp_path)
    assert _pages(log, context, monkeypatch, True) == _pages(log, context, monkeypatch, False)


def test_each_fixture_reads_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for path in FIXTURES:
        log = tmp_path / path.name
        log.write_text(path.read_text(encoding="utf-8") * 2, encoding="utf-8")  # two reports: the second taken
        for context in (True, False):
            assert _read(log, context, monkeypatch, True)[0] == _read(log, context, monkeypatch, False)[0], path.name
