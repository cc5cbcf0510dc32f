"""A big log decoded in two processes (decode/parallel.py) prints byte for byte what one
process prints, with the same exit status: page numbers counted on across the cut, the
first report after the cut given the same neighbourhood (release and arch lines), an
unreadable report in the second part said where it is, and the second part's findings
deciding the exit status when the first part has none."""

from __future__ import annotations

from pathlib import Path

import pytest

from decode.dumps import DUMPS
from mmbits.decode import parallel

from util.clirun import CliResult, run_cli

REAL = sorted(p for p in (DUMPS / "real").glob("*.txt") if not p.name.startswith("um-"))


def _body(path: Path) -> str:
    return "\n".join(ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#"))


def _both(log: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[CliResult, CliResult]:
    monkeypatch.setattr(parallel, "SPLIT_MIN", 0)
    monkeypatch.setattr(parallel, "FORK_AFTER", 3)  # the child forked while the parent is decoding
    monkeypatch.setenv("MMBITS_DECODE_JOBS", "1")
    assert parallel.plan(str(log)) is None
    one = run_cli("decode", str(log), *args)
    monkeypatch.delenv("MMBITS_DECODE_JOBS")
    assert parallel.plan(str(log)) is not None  # the log is cut: two processes decode it
    two = run_cli("decode", str(log), *args)
    return one, two


@pytest.mark.parametrize("order", ["sorted", "reversed"])
def test_two_processes_print_what_one_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: str) -> None:
    bodies = [_body(p) for p in (REAL if order == "sorted" else REAL[::-1])]
    # a report whose raw: line is not hex, in the second half: said in place, the log goes on
    bad = bodies[0].replace("raw: ", "raw: zz", 1)
    assert bad != bodies[0]
    log = tmp_path / "log.txt"
    log.write_text("\n\n".join(bodies + [bad] + bodies[:5]) + "\n", encoding="utf-8")
    one, two = _both(log, monkeypatch)
    assert one.code == two.code == 1
    assert "not decoded:" in one.out
    assert one.out.count("=== page ") > len(REAL)
    assert two.out == one.out
    assert two.err == one.err


def test_given_kernel_and_arch_and_a_clean_first_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The exit status comes from the second part's findings when the first part has none."""
    x86 = [p for p in REAL if p.name.startswith("x86_64-")]
    clean, noisy = [], []
    for p in x86:
        (noisy if run_cli("decode", str(p), "--kernel", "6.12", "--arch", "x86_64").code else clean).append(p)
    assert clean and noisy
    log = tmp_path / "log.txt"
    log.write_text("\n\n".join([_body(p) for p in clean] * 4 + [_body(noisy[0])]) + "\n", encoding="utf-8")
    one, two = _both(log, monkeypatch, "--kernel", "6.12", "--arch", "x86_64")
    assert one.code == two.code == 1
    assert two.out == one.out


def test_quoted_printable_mail_stays_in_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The decision to join soft line breaks is made once, from the log's first lines: a
    mail is not cut (the second part would not know it is quoted-printable)."""
    monkeypatch.setattr(parallel, "SPLIT_MIN", 0)
    body = "\n\n".join(_body(p) for p in REAL)
    log = tmp_path / "mail.txt"
    log.write_text("Content-Transfer-Encoding: quoted-printable\n\n" + body + "\n", encoding="utf-8")
    assert parallel.plan(str(log)) is None
    plain = tmp_path / "log.txt"
    plain.write_text(body + "\n", encoding="utf-8")
    assert parallel.plan(str(plain)) is not None


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_the_childs_text_is_copied_with_its_numbers_counted_on_whatever_the_read_size(
        monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """parallel._copy reads the child's text a chunk at a time: a page number cut by a chunk
    end, a chunk with no number and text after the last number come out as one read would."""
    import io
    import re
    from array import array

    pages = [f"\n=== page {n} (input lines {n}-{n + 4}) ===\nbody {'x' * (n * 13 % 90)} é\n" for n in range(1, 40)]
    text = "".join(pages) + "trailing text"
    marks = array("q")
    for m in re.finditer(r"=== page (\d+)", text):
        marks.extend((m.start(1), len(m.group(1))))
    expected = re.sub(r"=== page (\d+)", lambda m: f"=== page {int(m.group(1)) + 995}", text)
    monkeypatch.setattr(parallel, "CHUNK", chunk)
    out: list[str] = []
    parallel._copy(io.StringIO(text), io.BytesIO(marks.tobytes()), 995, out.append)
    assert "".join(out) == expected
