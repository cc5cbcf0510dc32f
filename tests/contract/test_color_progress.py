"""--color on every command, NO_COLOR, and the shared progress helper."""

from __future__ import annotations

import io

import pytest

from mmbits.progress import Progress

from conftest import REF_CONFIG

ESC = "\x1b["

# one text-output invocation per command (btf show stays pahole-identical: never coloured)
TEXT_RUNS = [
    ("show", "ptdesc"),
    ("flags", "--preset", "arm64-max"),
    ("overlay", "--all"),
    ("configs",),
    ("check", "BIT(NR_PAGEFLAGS)", "--word", "ptdesc.pt_flags", "--kind", "kernel-pgtable", "--preset",
     "x86_64-maxsmp"),
    ("patch", "--terse", "tests/patch/data/0007-nonatomic-set-bit.patch", "--preset", "x86_64-6.18"),
    ("simulate", "--variant", "v6.19", "--only", "hot-remove", "--cpus", "1", "--ops", "1", "--brief"),
    ("decode", "tests/data/dumps/syzbot-f2fs-meta-page.txt"),
]


@pytest.mark.parametrize("args", TEXT_RUNS, ids=[a[0] for a in TEXT_RUNS])
def test_color_always_never_and_no_color(cli, monkeypatch, args) -> None:
    always = cli(*args, "--color", "always")
    assert ESC in always.out, args
    never = cli(*args, "--color", "never")
    assert ESC not in never.out and never.code == always.code
    assert _timeless(never.out) == _timeless(_strip(always.out))
    monkeypatch.setenv("NO_COLOR", "1")
    assert ESC not in cli(*args).out  # auto: not a terminal here, and NO_COLOR
    assert ESC in cli("--color", "always", *args).out  # the group option, before the command


def test_btf_import_colours_its_heading(cli, ref_btf, tmp_path) -> None:
    args = ("btf", "import", "--btf", str(ref_btf), "--config", str(REF_CONFIG), "--out", str(tmp_path / "imp"))
    assert ESC in cli(*args, "--color", "always").out
    assert ESC not in cli(*args, "--color", "never").out


def test_btf_verify_colours_its_findings(cli, old_btf) -> None:
    r = cli("btf", "verify", "--btf", str(old_btf), "--config", str(REF_CONFIG).replace("6.18-x86_64", "6.12-amd64"),
            "--kernel", "6.18", "--color", "always")
    assert f"{ESC}33" in r.out or f"{ESC}31" in r.out  # yellow warning / red error levels


def _timeless(text: str) -> str:
    """Output with wall-clock figures masked and check's cache note dropped (the second of
    two identical runs is answered from the cache)."""
    import re

    return re.sub(r"\d+(\.\d+)? (s\b|states/s)", "N", text).replace(", answer cached", "")


def _strip(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_summary_when_not_a_terminal() -> None:
    err = io.StringIO()
    p = Progress(4, "configs", "checking", stream=err, delay=0)
    for _ in range(4):
        p.advance()
    p.close()
    assert err.getvalue().startswith("mmbits: checking: 4 configs in ") and err.getvalue().count("\n") == 1


def test_progress_on_a_terminal_shows_the_true_denominator_and_clears() -> None:
    err = _Tty()
    p = Progress(1000, "states", "exploring", estimate=True, stream=err, delay=0)
    p.update(250)
    assert "250/~1000 states (~25%)" in err.getvalue()
    p.close()
    assert err.getvalue().endswith("\r")  # the line is wiped, nothing is left behind


def test_progress_without_summary_is_silent_off_a_terminal() -> None:
    err = io.StringIO()  # what b4 gives `mmbits patch`: every stderr line would fail the patch
    with Progress(2, "patches", "checking", stream=err, delay=0, summary=False) as p:
        p.advance()
        p.advance()
    assert err.getvalue() == ""


def test_progress_is_silent_for_short_runs_and_failures() -> None:
    err = io.StringIO()
    with Progress(3, "reports", "writing", stream=err):
        pass
    assert err.getvalue() == ""  # under a second
    err2 = io.StringIO()
    with pytest.raises(RuntimeError), Progress(3, "reports", "writing", stream=err2, delay=0):
        raise RuntimeError("bad input")
    assert err2.getvalue() == ""  # the error is the one line
