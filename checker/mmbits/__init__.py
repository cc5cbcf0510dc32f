"""mmbits: proofs about bits in Linux page descriptors.

Kept import-light on purpose: the console script and the pytest plugin import
this package at start-up, so nothing heavy may be imported here.

When this package is imported as the program (`mmbits ...` or `python -m mmbits`),
a Ctrl-C from here on must be `mmbits: interrupted`, exit 130, never a traceback,
including during the first, slow imports before `mmbits.main.main()` installs the
handler that lets cleanups run. So the first thing done is a minimal SIGINT handler
(the builtin `_signal`, no imports that cost anything) that prints that line and
exits. A library import (the pytest plugin, `import mmbits`) changes no handler.
"""

__version__ = "0.1.0"


def _guard_early_interrupts() -> None:
    import sys

    argv0 = sys.argv[0] if getattr(sys, "argv", None) else ""
    orig = list(getattr(sys, "orig_argv", []))
    as_module = argv0 == "-m" and any(a == "-m" and b == "mmbits" for a, b in zip(orig, orig[1:], strict=False))
    if not as_module and argv0.rsplit("/", 1)[-1] != "mmbits":
        return
    import _signal  # type: ignore[import-not-found]  # the C module: `signal` would import enum
    import os

    def interrupted(signum: int, frame: object) -> None:
        try:
            os.write(2, b"mmbits: interrupted\n")
        finally:
            os._exit(130)

    try:  # noqa: SIM105 - contextlib would be one more import inside the window guarded here
        _signal.signal(_signal.SIGINT, interrupted)
    except (ValueError, OSError):  # not the main thread: nothing to guard
        pass


_guard_early_interrupts()
del _guard_early_interrupts
