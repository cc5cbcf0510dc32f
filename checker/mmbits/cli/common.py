"""What every subcommand shares: config selection, JSON output, the error
contract (one line, exit 2, never a traceback) and atomic output files."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from mmbits.console import GuardedStdout, failure_code, run_guarded
from mmbits.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    InputError,
)

DEFAULT_PRESET = "x86_64-6.18"


def run(cli: click.Group, argv: list[str] | None) -> int:
    """Invoke the click app and turn every failure into one line + exit code."""
    return run_guarded(lambda: _run(cli, argv), _say)


def _say(line: str) -> None:
    click.echo(line, err=True)


def _run(cli: click.Group, argv: list[str] | None) -> int:
    try:
        rv = cli.main(args=argv, prog_name="mmbits", standalone_mode=False)
        if isinstance(sys.stdout, GuardedStdout):
            sys.stdout.flush()
        return int(rv or 0)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            click.echo("mmbits: interrupted", err=True)
            return EXIT_INTERRUPTED
        click.echo("mmbits: aborted", err=True)
        return EXIT_BAD_INPUT
    except click.ClickException as exc:
        # usage errors: keep click's message, one line
        msg = exc.format_message().replace("\n", " ")
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        click.echo(f"mmbits: error: {msg}{hint}", err=True)
        return EXIT_BAD_INPUT
    except BaseException as exc:  # noqa: BLE001 (the contract's one line, or raised again: mmbits.console)
        return failure_code(exc, _say)


# -- config selection -----------------------------------------------------

class Selection:
    """What the user asked to analyse: one config, or a domain of configs. (A plain class:
    every command imports it, and a dataclass compiles its methods at import.)"""

    __slots__ = ("config", "domain", "source")

    def __init__(self, config: Any = None, domain: Any = None, source: str = ""):
        self.config = config  # Config
        self.domain = domain  # Domain
        self.source = source

    def __repr__(self) -> str:
        return f"Selection(config={self.config!r}, domain={self.domain!r}, source={self.source!r})"

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


def _kernel_option(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """--kernel is read by select(), so commands need no parameter for it."""
    if value is not None:
        ctx.meta["mmbits.kernel"] = value


def requested_kernel() -> str | None:
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get("mmbits.kernel") if ctx is not None else None


def select(preset: str | None, config: str | None, domain: str | None, sets: Sequence[str] = (),
           default: str = "preset", kernel: str | None = None) -> Selection:
    """Resolve --preset / --config / --domain (+ --set, --kernel) into a Selection.

    The kernel release is a config symbol (VERSION): --kernel sets it; a
    .config's header gives it otherwise (a release outside the model is an
    error unless --kernel is given); presets carry their own; a domain spans
    what it declares. `Config.version_from` says which, for the output.
    """
    from mmbits.kconfig.model import load_model
    from mmbits.kconfig.release import release_name

    given = [n for n, v in (("--preset", preset), ("--config", config), ("--domain", domain)) if v]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} are mutually exclusive")
    model = load_model()
    kernel = kernel if kernel is not None else requested_kernel()
    raw_sets = parse_sets(sets) if sets else {}
    if kernel is not None:
        import re

        raw_sets["VERSION"] = kernel
        # 6.12.117 also names the stable sublevel; a bare 6.12 means its newest stable
        sub = re.match(r"^v?\d+\.\d+\.(\d+)", kernel.strip())
        raw_sets["SUBLEVEL"] = str(min(int(sub.group(1)), 999)) if sub else "999"
    overrides = model.normalise(raw_sets, where="--kernel " if set(raw_sets) <= {"VERSION", "SUBLEVEL"} else "--set ") \
        if raw_sets else {}
    if config:
        from mmbits.kconfig.dotconfig import config_from_file

        cfg, _dot = config_from_file(config, overrides, model)
        return Selection(config=cfg, source=config)
    if domain or (default == "domain" and not preset):
        if set(overrides) - {"VERSION", "SUBLEVEL"}:
            raise click.UsageError("--set applies to --preset or --config, not to a domain")
        from mmbits.kconfig.domain import load_domain

        name = domain or "default"
        dom = load_domain(name)
        if "VERSION" in overrides:
            dom = dom.at_release(int(overrides["VERSION"]))
            name = f"{name} at Linux {release_name(int(overrides['VERSION']))}"
        return Selection(domain=dom, source=f"domain {name}")
    from mmbits.kconfig.presets import preset as get_preset

    name = preset or DEFAULT_PRESET
    cfg = get_preset(name)
    if overrides:
        values = dict(cfg.primary)
        values.update(overrides)
        suffix = ",".join(f"{k}={release_name(int(v)) if k == 'VERSION' else v}" for k, v in overrides.items()
                          if k != "SUBLEVEL" or int(v) != 999)
        cfg = model.make(values, name=f"{name}+{suffix}")
        cfg.version_from = (f"Linux {release_name(cfg.kernel)} (--kernel)" if "VERSION" in overrides
                            else f"Linux {release_name(cfg.kernel)} (preset {name})")
    else:
        cfg.version_from = f"Linux {release_name(cfg.kernel)} (preset {name})"
    return Selection(config=cfg, source=name)


def _complete_presets(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of --preset: the shipped preset names (read only when completing)."""
    from mmbits.kconfig.presets import preset_names

    return [n for n in preset_names() if n.startswith(incomplete)]


def _complete_domains(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    from mmbits.kconfig.domain import domain_names

    return [n for n in domain_names() if n.startswith(incomplete)]


def config_options(domain: bool = True,
                   default_note: str = f"default: --preset {DEFAULT_PRESET}",
                   kernel: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--preset/--config/--domain/--set/--kernel, added to a command (`decode` reads its
    own --kernel: the release that printed the dump)."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        opts = [
            click.option("--preset", metavar="NAME", help=f"a named config (mmbits configs); {default_note}",
                         shell_complete=_complete_presets),
            click.option("--config", "config_file", metavar="FILE",
                         help="a kernel .config (plain or gzip, e.g. /proc/config.gz)"),
            click.option("--set", "sets", multiple=True, metavar="SYM=VAL",
                         help="override a config symbol (repeatable), e.g. --set LRU_GEN=y"),
            click.option("--kernel", metavar="VERSION", expose_value=False, callback=_kernel_option,
                         is_eager=True,
                         help="kernel release to model, e.g. 6.12 (default: a .config's header, a preset's "
                              "own, else the newest modelled; `mmbits configs` lists them)"),
        ]
        if not kernel:
            opts.pop()
        if domain:
            opts.insert(2, click.option("--domain", metavar="NAME", help="every valid config of a domain",
                                        shell_complete=_complete_domains))
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
    click.echo(json.dumps(obj, indent=2, sort_keys=False, default=json_default))


def json_default(obj: Any) -> Any:
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
    import tempfile  # only when a file is written: an import that costs a new question ~8 ms

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
