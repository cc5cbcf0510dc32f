"""What every subcommand shares: config selection, JSON output, the error
contract (one line, exit 2, never a traceback) and atomic output files."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from mmbits.errors import EXIT_BAD_INPUT, InputError

DEFAULT_PRESET = "x86_64-6.18"


def run(cli: click.Group, argv: list[str] | None) -> int:
    """Invoke the click app and turn every failure into one line + exit code."""
    try:
        rv = cli.main(args=argv, prog_name="mmbits", standalone_mode=False)
        return int(rv or 0)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("mmbits: aborted", err=True)
        return EXIT_BAD_INPUT
    except click.ClickException as exc:
        # usage errors: keep click's message, one line
        msg = exc.format_message().replace("\n", " ")
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        click.echo(f"mmbits: error: {msg}{hint}", err=True)
        return EXIT_BAD_INPUT
    except InputError as exc:
        click.echo(f"mmbits: error: {exc}", err=True)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # the reader went away (| head): stop quietly, and keep Python from
        # complaining when it flushes stdout at exit
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except KeyboardInterrupt:
        click.echo("mmbits: interrupted", err=True)
        return 130
    except RecursionError:
        click.echo("mmbits: error: input nested too deeply", err=True)
        return EXIT_BAD_INPUT
    except MemoryError:
        click.echo("mmbits: error: out of memory on this input", err=True)
        return EXIT_BAD_INPUT
    except Exception as exc:  # a bug, but the contract still holds: one line
        if os.environ.get("MMBITS_DEBUG"):
            raise
        click.echo(f"mmbits: internal error: {type(exc).__name__}: {exc} (set MMBITS_DEBUG=1 for a traceback)",
                   err=True)
        return EXIT_BAD_INPUT


# -- config selection -----------------------------------------------------

@dataclass
class Selection:
    """What the user asked to analyse: one config, or a domain of configs."""

    config: Any = None  # Config
    domain: Any = None  # Domain
    source: str = ""

    @property
    def is_domain(self) -> bool:
        return self.domain is not None


def parse_sets(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().removeprefix("CONFIG_")
        if not sep or not name:
            raise InputError(f"--set expects SYMBOL=VALUE, got {item!r}")
        out[name] = value
    return out


def select(preset: str | None, config: str | None, domain: str | None, sets: Sequence[str] = (),
           default: str = "preset") -> Selection:
    """Resolve --preset / --config / --domain (+ --set overrides) into a Selection."""
    from mmbits.kconfig.model import load_model

    given = [n for n, v in (("--preset", preset), ("--config", config), ("--domain", domain)) if v]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} are mutually exclusive")
    model = load_model()
    overrides = model.normalise(parse_sets(sets), where="--set ") if sets else {}
    if config:
        from mmbits.kconfig.dotconfig import config_from_file

        cfg, _dot = config_from_file(config, overrides, model)
        return Selection(config=cfg, source=config)
    if domain or (default == "domain" and not preset):
        if overrides:
            raise click.UsageError("--set applies to --preset or --config, not to a domain")
        from mmbits.kconfig.domain import load_domain

        name = domain or "default"
        return Selection(domain=load_domain(name), source=f"domain {name}")
    from mmbits.kconfig.presets import preset as get_preset

    name = preset or DEFAULT_PRESET
    cfg = get_preset(name)
    if overrides:
        values = dict(cfg.primary)
        values.update(overrides)
        suffix = ",".join(f"{k}={v}" for k, v in overrides.items())
        cfg = model.make(values, name=f"{name}+{suffix}")
    return Selection(config=cfg, source=name)


def config_options(domain: bool = True,
                   default_note: str = f"default: --preset {DEFAULT_PRESET}") -> Callable[[Callable[..., Any]],
                                                                                    Callable[..., Any]]:
    """--preset/--config/--domain/--set, added to a command."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        opts = [
            click.option("--preset", metavar="NAME", help=f"a named config (mmbits configs); {default_note}"),
            click.option("--config", "config_file", metavar="FILE",
                         help="a kernel .config (plain or gzip, e.g. /proc/config.gz)"),
            click.option("--set", "sets", multiple=True, metavar="SYM=VAL",
                         help="override a config symbol (repeatable), e.g. --set LRU_GEN=y"),
        ]
        if domain:
            opts.insert(2, click.option("--domain", metavar="NAME", help="every valid config of a domain"))
        for opt in reversed(opts):
            fn = opt(fn)
        return fn

    return deco


def layout_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--layout", "layout_files", multiple=True, metavar="FILE",
                        type=click.Path(dir_okay=False),
                        help="a layout YAML that replaces the shipped struct of the same name (repeatable)")(fn)


def layout_set(layout_files: Sequence[str] = ()) -> Any:
    from mmbits.layout.registry import layouts

    return layouts(overrides=tuple(Path(p) for p in layout_files))


# -- output -----------------------------------------------------------------

def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=False, default=_json_default))


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "to_json"):
        return obj.to_json()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write a file so that a failure never leaves a partial one behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, mode) as fh:
            fh.write(data)
        # mkstemp makes 0600 files; give the file the mode a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def heading(text: str) -> str:
    return click.style(text, bold=True)


# -- colour -------------------------------------------------------------------

COLOR_CHOICES = ("auto", "always", "never")


def color_enabled(choice: str, stream_is_tty: bool) -> bool:
    """`--color`: always/never as said; auto means a terminal and no NO_COLOR (no-color.org)."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    return stream_is_tty and not os.environ.get("NO_COLOR")


def _color_callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is None:  # not given here: keep what the group (or the default) decided
        if ctx.color is None:
            ctx.color = color_enabled("auto", sys.stdout.isatty())
        return
    ctx.color = color_enabled(value, sys.stdout.isatty())


def color_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--color auto|always|never. click.echo then strips or keeps the escapes that
    click.style (and our text renderers) put in, so renderers always style."""
    return click.option("--color", "--colour", type=click.Choice(COLOR_CHOICES), default=None, metavar="WHEN",
                        expose_value=False, is_eager=True, callback=_color_callback,
                        help="colour the text output: auto (a terminal, unless NO_COLOR is set), always, never")(fn)


def use_color() -> bool:
    """Whether the current command colours its output (for renderers that need to know)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.color is not None:
        return bool(ctx.color)
    return color_enabled("auto", sys.stdout.isatty())


SEVERITY_STYLE: dict[str, dict[str, Any]] = {
    "error": {"fg": "red", "bold": True}, "warning": {"fg": "yellow", "bold": True}, "note": {"fg": "cyan"},
    "SAFE": {"fg": "green", "bold": True}, "UNSAFE": {"fg": "red", "bold": True},
    "UNKNOWN": {"fg": "yellow", "bold": True},
}


def styled(text: str, key: str) -> str:
    """`text` in the colour of a severity or verdict (stripped by click.echo when colour is off)."""
    return click.style(text, **SEVERITY_STYLE.get(key, {}))


def finding_line(finding: Any) -> str:
    """Finding.line() with its level coloured."""
    line: str = finding.line()
    level, sep, rest = line.partition(":")
    return styled(level, str(finding.severity)) + sep + rest if sep else line


def finish(findings: Any, verdict: str | None = None) -> int:
    """The one exit rule (mmbits.findings.exit_code): 0, 1 on a warning or error, 2 on UNKNOWN."""
    from mmbits.findings import exit_code

    return exit_code(findings, verdict)
