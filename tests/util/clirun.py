"""Run the CLI in-process for tests, and the bad-input contract as an assertion."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code = code
        self.out = out
        self.err = err

    def json(self) -> object:
        return json.loads(self.out)


def run_cli(*args: str) -> CliResult:
    """Run `mmbits ARGS` in-process and capture stdout, stderr, exit status."""
    from mmbits.cli import cli
    from mmbits.cli.common import run

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run(cli, list(args))
    return CliResult(code, out.getvalue(), err.getvalue())


def assert_clean_error(result: CliResult) -> None:
    """The bad-input contract: exit 2, one line on stderr, no traceback, nothing on stdout."""
    assert result.code == 2, (result.code, result.out, result.err)
    lines = [ln for ln in result.err.splitlines() if ln.strip()]
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    assert "internal error" not in result.err, result.err
    assert result.out == ""
