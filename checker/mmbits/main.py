"""The console script's entry point.

Most commands go through click (mmbits.cli). `mmbits btf show` is what
kernel developers time against pahole, and importing click alone costs about
as much as pahole's whole run, so that one command, in its plain forms, is
parsed here without click; so is `decode LOG --kernel R --arch A` (click was a
fifth of a one-report decode's start-up). Anything unusual (help, unknown or repeated
options, bad input the fast path is not sure about) falls through to the
click path, which stays the reference behaviour; tests compare the two.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

FLAGS = {"--json": "as_json", "--hex": "hex_", "--no-cache": "no_cache"}


def _fast_btf_show(args: list[str]) -> int | None:
    """Run `btf show` without click, or return None to let click handle it."""
    names = None
    opts: dict[str, Any] = {"as_json": False, "hex_": False, "no_cache": False, "btf_file": "/sys/kernel/btf/vmlinux"}
    seen: set[str] = set()
    i = 0
    while i < len(args):
        a = args[i]
        if a in FLAGS and a not in seen:
            opts[FLAGS[a]] = True
        elif a == "--btf" and a not in seen and i + 1 < len(args) and not args[i + 1].startswith("-"):
            opts["btf_file"] = args[i + 1]
            i += 1
        elif a.startswith("--btf=") and "--btf" not in seen:
            opts["btf_file"] = a.split("=", 1)[1]
            a = "--btf"
        elif not a.startswith("-") and names is None:
            names = a
            a = "NAMES"
        else:
            return None
        seen.add(a)
        i += 1
    if names is None or not names.strip() or not opts["btf_file"]:
        return None
    from mmbits.btf import cache, open_btf
    from mmbits.btf.source import read_btf_bytes
    from mmbits.errors import EXIT_BAD_INPUT, InputError, Interrupted

    try:
        blob = read_btf_bytes(opts["btf_file"])
        use_cache = not opts["no_cache"] and cache.cache_dir() is not None
        key = out_key = None
        if use_cache:
            key = cache.blob_key(blob)
            if cache.output_cache_on():
                out_key = cache.output_key(key, names, f"json={opts['as_json']} hex={opts['hex_']}")
                out = cache.load_text(out_key)
                if out is not None:
                    return _write(out)
        from mmbits.btf.render import lookup, parse_names, to_json, to_text

        queries = parse_names(names)
        b = open_btf(opts["btf_file"], use_cache=use_cache, blob=blob, key=key)
        found = [lookup(b, q) for q in queries]
        if opts["as_json"]:
            import json

            objs = [to_json(b, f) for f in found]
            out = json.dumps(objs[0] if len(objs) == 1 else objs, indent=2)
        else:
            out = "\n".join(to_text(b, f, opts["hex_"]) for f in found)
    except InputError as exc:
        sys.stderr.write(f"mmbits: error: {exc}\n")
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, Interrupted):
        raise
    except Exception:
        return None  # let the click path report it under the usual contract
    if out_key is not None:
        cache.store_text(out_key, out)
    return _write(out)


def _fast_decode(args: list[str]) -> int | None:
    """Run `decode LOG [--kernel RELEASE] [--arch ARCH]`, its text to a file or a pipe, without
    click (mmbits.decode.command prints as the click command does), or return None to let
    click handle it: any other option, stdin, a terminal (colour), shell completion, a
    stream that is not UTF-8 (click would wrap it)."""
    given: dict[str, str] = {}
    file = None
    i = 0
    while i < len(args):
        name, eq, value = args[i].partition("=")
        if name in ("--kernel", "--arch") and name not in given:
            if not eq:
                if i + 1 == len(args):
                    return None
                i += 1
                value = args[i]
            if not value or value.startswith("-"):
                return None
            given[name] = value
        elif file is None and not args[i].startswith("-"):
            file = args[i]
        else:
            return None
        i += 1
    if file is None or os.environ.get("_MMBITS_COMPLETE") or not _plain_streams():
        return None
    from mmbits.console import run_guarded

    return run_guarded(lambda: _decode_plain(file, given.get("--kernel"), given.get("--arch")))


def _plain_streams() -> bool:
    """stdout and stderr are open UTF-8 text streams, stdout no terminal: what click.echo
    writes to unchanged and uncoloured."""
    streams = (sys.stdout, sys.stderr)
    try:
        if any(s is None for s in streams) or sys.stdout.isatty():
            return False
    except (OSError, ValueError):
        return False
    return all(str(getattr(s, "encoding", "")).lower().replace("-", "").replace("_", "") == "utf8"
               for s in streams)


def _decode_plain(file: str, kernel: str | None, arch: str | None) -> int:
    """cli/decode.py's decode() of FILE with only --kernel and --arch given."""
    from mmbits.console import GuardedStdout, failure_code

    try:
        from mmbits.collector import collector_paused

        # as cli/decode.py's decode(), the imports included: the collector's passes over the
        # modules' new objects, which outlive the run, were ~3% of a one-report decode
        with collector_paused(freeze_after=True):
            from mmbits.decode.command import decode_options, print_text
            from mmbits.findings import exit_code
            from mmbits.layout.registry import layouts

            lset = layouts(overrides=())
            lset.spec("page")
            code = exit_code(print_text(file, decode_options(lset, kernel, arch), not (kernel and arch), _echo))
        if isinstance(sys.stdout, GuardedStdout):
            sys.stdout.flush()
        return code
    except BaseException as exc:  # noqa: BLE001 (the contract's one line, or raised again: mmbits.console)
        return failure_code(exc)


def _echo(text: str) -> None:
    """click.echo(text, nl=False, color=True) to a plain stream: the text written, then flushed."""
    sys.stdout.write(text)
    sys.stdout.flush()


def _write(out: str) -> int:
    """Print; a reader that went away (| head) is not an error (exit 0, what the command had),
    an output that cannot be written (/dev/full) is one error line, exit 2."""
    try:
        sys.stdout.write(out + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        _to_devnull()
    except OSError as exc:
        _to_devnull()
        sys.stderr.write(f"mmbits: error: <stdout>: cannot write: {exc.strerror or exc}\n")
        return 2
    return 0


def _to_devnull() -> None:
    """Point fd 1 at /dev/null so the flush at exit has nowhere to fail."""
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), sys.stdout.fileno())
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


def _ignore_late_interrupts() -> None:
    """The command has finished and its exit code is decided: a Ctrl-C now must not turn it
    into a death by SIGINT (-2) while the interpreter shuts down (finalization restores
    SIG_DFL for Python-level handlers, but leaves SIG_IGN alone)."""
    import _signal  # type: ignore[import-not-found]  # not `signal`: errors.install_interrupt_handler
    import contextlib

    with contextlib.suppress(ValueError, OSError):
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)


def main(argv: list[str] | None = None) -> None:
    from mmbits.errors import EXIT_INTERRUPTED, Interrupted, install_interrupt_handler

    install_interrupt_handler()
    try:
        args = sys.argv[1:] if argv is None else list(argv)
        if args[:2] == ["btf", "show"] and not os.environ.get("MMBITS_NO_FAST_PATH"):
            rc = _fast_btf_show(args[2:])
            if rc is not None:
                sys.exit(rc)
        if args[:1] == ["decode"] and not os.environ.get("MMBITS_NO_FAST_PATH"):
            rc = _fast_decode(args[1:])
            if rc is not None:
                sys.exit(rc)
        from mmbits.cli import main as click_main

        click_main(args)
    except SystemExit:
        _ignore_late_interrupts()
        raise
    except (Interrupted, KeyboardInterrupt):
        # Ctrl-C on any path, the click-free one included: one line, 130, no traceback
        try:
            sys.stderr.write("mmbits: interrupted\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        _to_devnull()
        os._exit(EXIT_INTERRUPTED)
