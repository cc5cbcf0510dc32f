"""One error type for bad input, so every front end can print one line and exit 2.

The CLI promises "one clear error line naming the file and the problem, exit 2,
never a traceback": anything a user can get wrong is raised as InputError and
nothing else is caught.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2


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
        return f"{where}{self.message}"


class InvalidConfigError(InputError):
    """A configuration Kconfig would refuse (a dependency fails)."""

    def __init__(self, message: str, *, failed: list[str] | None = None, file: str | None = None):
        super().__init__(message, file=file)
        self.failed = failed or []
