"""One error type for bad input, so every front end can print one line and exit 2.

The CLI promises "one clear error line naming the file and the problem, exit 2,
never a traceback": anything a user can get wrong is raised as InputError and
nothing else is caught.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

MAX_MESSAGE = 400  # an error line longer than this has a value in it nobody reads whole


def clip(value: object, limit: int = 80) -> str:
    """`value` as text, cut in the middle with an ellipsis past `limit` characters, so a
    100 MB word or a 200 KB identifier in bad input gives a short error line."""
    text = str(value)
    if len(text) <= limit:
        return text
    keep = max(limit - 1, 2)
    return f"{text[: keep - keep // 3]}…{text[len(text) - keep // 3:]}"


class InputError(Exception):
    """Bad user input: a file, an option value, an expression."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        return f"{where}{clip(self.message, MAX_MESSAGE)}"


class Interrupted(BaseException):
    """Ctrl-C, raised by mmbits' own SIGINT handler. Not a KeyboardInterrupt, so click does
    not turn it into "Aborted!" (exit 1/2): the CLI prints `mmbits: interrupted`, exits 130,
    and every `except BaseException` cleanup (temp files, temp dirs) still runs."""


class OutputError(InputError):
    """Standard output or an output file cannot be written (disk full, /dev/full, EROFS):
    one error line, exit 2, like bad input."""


def install_interrupt_handler() -> None:
    """Make SIGINT raise Interrupted (main thread of the console script only)."""
    # the C module under `signal`: importing `signal` converts its constants to enums
    # (~3 M instructions, 1% of a one-report decode) for a return value not used here
    import _signal  # type: ignore[import-not-found]  # (no stub: the C half of signal)
    import contextlib

    def handler(signum: int, frame: object) -> None:
        raise Interrupted()

    with contextlib.suppress(ValueError, OSError):  # not the main thread, or no signals here
        _signal.signal(_signal.SIGINT, handler)


class InvalidConfigError(InputError):
    """A configuration Kconfig would refuse (a dependency fails)."""

    def __init__(self, message: str, *, failed: list[str] | None = None, file: str | None = None):
        super().__init__(message, file=file)
        self.failed = failed or []
