"""The console script's side of the error contract, without click: the guarded stdout and
the one line (and exit status) each failure gets. The click path (cli/common.py run) and
the click-free paths of main.py (`decode` of a log with its plain options) share it, so
both say and exit the same on the same failure."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any

from mmbits.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    InputError,
    Interrupted,
    OutputError,
    clip,
)


class GuardedStdout:
    """The console script's sys.stdout. When the reader goes away (`| head`), the rest of
    the output goes to /dev/null and the command runs to its end, so it exits with the
    code it would have had; any other write error (/dev/full, a full disk) is OutputError:
    one line, exit 2."""

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            self._silence()
            return len(text)
        except OSError as exc:
            raise OutputError(f"cannot write: {exc.strerror or exc}", file="<stdout>") from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._silence()
            with contextlib.suppress(OSError):
                self._stream.flush()
        except OSError as exc:
            self._discard()
            raise OutputError(f"cannot write: {exc.strerror or exc}", file="<stdout>") from None

    def _silence(self) -> None:
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def _discard(self) -> None:
        """Drop what could not be written, so the flush at exit does not fail again."""
        self._silence()
        with contextlib.suppress(OSError):
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def say(line: str) -> None:
    """One line on stderr, as click.echo(line, err=True) writes it."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def run_guarded(call: Callable[[], int], echo: Callable[[str], None] = say) -> int:
    """`call()` with sys.stdout guarded (GuardedStdout) and flushed after: a write that
    fails at the end is one line and exit 2 too."""
    guard = None
    if sys.stdout is not None and sys.stdout is sys.__stdout__:
        guard = sys.stdout = GuardedStdout(sys.stdout)
    code = call()
    if guard is not None:
        try:
            guard.flush()
        except OutputError as exc:
            echo(f"mmbits: error: {exc}")
            code = EXIT_BAD_INPUT
    return code


def failure_code(exc: BaseException, echo: Callable[[str], None] = say) -> int:
    """The exit status of a command that raised `exc`, its one line said; raised again when
    it is no failure of the command (SystemExit) or MMBITS_DEBUG asks for the traceback."""
    if isinstance(exc, (Interrupted, KeyboardInterrupt)):
        echo("mmbits: interrupted")
        return EXIT_INTERRUPTED
    if isinstance(exc, InputError):
        echo(f"mmbits: error: {exc}")
        return EXIT_BAD_INPUT
    if isinstance(exc, BrokenPipeError):
        # the reader went away (| head): stop quietly, and keep Python from
        # complaining when it flushes stdout at exit
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    if isinstance(exc, RecursionError):
        echo("mmbits: error: input nested too deeply")
        return EXIT_BAD_INPUT
    if isinstance(exc, MemoryError):
        echo("mmbits: error: out of memory on this input")
        return EXIT_BAD_INPUT
    if not isinstance(exc, Exception) or os.environ.get("MMBITS_DEBUG"):
        raise exc
    if isinstance(exc, OSError):
        # an output path that cannot be written (ENOSPC, EROFS, ENAMETOOLONG, a directory
        # in the way): the file and the reason, one line
        where = f"{clip(exc.filename, 200)}: " if exc.filename else ""
        echo(f"mmbits: error: {where}{exc.strerror or type(exc).__name__}")
        return EXIT_BAD_INPUT
    # a bug, but the contract still holds: one line
    echo(f"mmbits: internal error: {type(exc).__name__}: {clip(exc, 300)} (set MMBITS_DEBUG=1 for a traceback)")
    return EXIT_BAD_INPUT


