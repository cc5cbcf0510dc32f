"""mmbits btf show|verify|import: kernel BTF read by our own reader.

Start-up matters here (kernel developers compare this with pahole), so the
group imports only the BTF reader; YAML, the Kconfig model and the layout
registry load only in `verify` and `import`.
"""

from __future__ import annotations

import click

from mmbits.cli.common import _kernel_option as kernel_callback
from mmbits.cli.common import color_option

DEFAULT_BTF = "/sys/kernel/btf/vmlinux"

btf_option = click.option(
    "--btf", "btf_file", default=DEFAULT_BTF, show_default=True, metavar="FILE",
    help="raw BTF (/sys/kernel/btf/vmlinux, a .btf blob, .xz/.gz of one) or an ELF vmlinux with .BTF")
cache_option = click.option("--no-cache", is_flag=True,
                            help="do not read or write the index cache (see MMBITS_CACHE_DIR)")


@click.group()
@color_option
def btf() -> None:
    """Read kernel BTF: print types pahole-style, verify our layouts, import a kernel.

    The type index of a BTF file is cached under $MMBITS_CACHE_DIR (default
    $XDG_CACHE_HOME/mmbits or ~/.cache/mmbits), keyed by a hash of the BTF data (BLAKE2b-256);
    MMBITS_CACHE=off disables it. The directory is safe to delete.
    """


@btf.command()
@click.argument("names")
@btf_option
@click.option("--json", "as_json", is_flag=True,
              help='{"struct", "size", "members": [...]} per type (a list when several are named)')
@click.option("--hex", "hex_", is_flag=True, help="offsets and sizes in hex (pahole --hex)")
@cache_option
@color_option
def show(names: str, btf_file: str, as_json: bool, hex_: bool, no_cache: bool) -> int:
    """Print NAMES (comma-separated: page,folio or 'enum pageflags', 'union X',
    'typedef pgtable_t') as the kernel built them, the way pahole -C does
    (byte for byte, so the text is never coloured)."""
    from mmbits.btf import open_btf
    from mmbits.btf.render import lookup, parse_names, to_json, to_text

    queries = parse_names(names)
    b = open_btf(btf_file, use_cache=not no_cache)
    found = [lookup(b, q) for q in queries]  # every name resolves before anything is printed
    if as_json:
        from mmbits.cli.common import emit_json

        objs = [to_json(b, f) for f in found]
        emit_json(objs[0] if len(objs) == 1 else objs)
        return 0
    click.echo("\n".join(to_text(b, f, hex_) for f in found))
    return 0


@btf.command()
@btf_option
@click.option("--config", "config_file", required=True, metavar="FILE",
              help="the kernel's .config (plain or gzip, e.g. /proc/config.gz)")
@click.option("--set", "sets", multiple=True, metavar="SYM=VAL", help="override a config symbol (repeatable)")
@click.option("--kernel", metavar="VERSION", expose_value=False, callback=kernel_callback, is_eager=True,
              help="read the kernel as this release (default: the .config header's; without one, the "
                   "release whose layouts the BTF matches best)")
@click.option("--json", "as_json", is_flag=True, help='{"btf", "config", "layouts", "findings": [...]}')
@cache_option
@color_option
def verify(btf_file: str, config_file: str, sets: tuple[str, ...], as_json: bool, no_cache: bool) -> int:
    """Compare our layouts, resolved for --config, with the kernel's BTF: one
    finding per missing/extra member, offset/size/type difference, enum value
    difference and broken size assert. Exit 1 if there is a warning or error.
    The release is the .config header's (or --kernel); a .config without one
    gets the modelled release the BTF matches best, and the output says so."""
    from mmbits.btf import open_btf
    from mmbits.btf.verify import pick_release, verify_btf
    from mmbits.cli.common import finding_line, finish, requested_kernel, select

    sel = select(None, config_file, None, sets)
    b = open_btf(btf_file, use_cache=not no_cache)
    from mmbits.kconfig.dotconfig import parse_file

    if requested_kernel() is None and parse_file(config_file).kernel_version is None:
        report = pick_release(b, sel.config, config_file)
    else:
        report = verify_btf(b, sel.config, config_file)
    if as_json:
        from mmbits.cli.common import emit_json

        emit_json(report.to_json())
    else:
        lines = report.text().splitlines()
        text_of = {f.line(): finding_line(f) for f in report.findings}
        click.echo(click.style(lines[0], bold=True) if lines else "")
        for line in lines[1:]:
            click.echo(text_of.get(line, line))
    return finish(report.findings)


@btf.command("import")
@click.argument("btf_path", required=False, metavar="[BTF]")
@click.option("--btf", "btf_file", default=None, metavar="FILE", help="the BTF, as the argument (default: "
              f"{DEFAULT_BTF})")
@click.option("--kernel", metavar="VERSION", expose_value=False, callback=kernel_callback, is_eager=True,
              help="the release this BTF is (default: the .config header's); a new release is added to the model")
@click.option("--config", "config_file", default=None, metavar="FILE",
              help="the kernel's .config (default: .config beside the BTF, or /proc/config.gz for the running "
                   "kernel's BTF): which `if:` conditions hold for this build")
@click.option("--out", "out_dir", default=None, metavar="DIR",
              help="write the changed layout files into DIR (layouts/kernel updates the checkout in place); "
                   "without it, print the changes as a patch (git apply) and the summary on stderr")
@click.option("--json", "as_json", is_flag=True, help='{"release", "changes", "patch", "findings", ...}')
@cache_option
@color_option
def import_(btf_path: str | None, btf_file: str | None, config_file: str | None, out_dir: str | None,
            as_json: bool, no_cache: bool) -> int:
    """Write what this kernel changed into the layouts: members (and enum
    pageflags flags) it dropped gain `until: "RELEASE"`, ones it added are
    inserted with `since: "RELEASE"`; nothing else is touched. The edited
    layouts, resolved for the .config at RELEASE, are checked to equal the BTF
    (pahole-exact) and unchanged for every older release before anything is
    written. Other enum differences and refused names (not C identifiers) are
    listed for review (exit 1).

    \b
    mmbits btf import vmlinux --kernel 6.20 > 6.20.patch    (then git apply)
    mmbits btf import vmlinux --kernel 6.20 --out layouts/kernel"""
    import sys

    from mmbits.btf import open_btf
    from mmbits.btf.importer import default_config, import_btf
    from mmbits.cli.common import finish, requested_kernel

    if btf_path and btf_file:
        raise click.UsageError("give the BTF once: as the argument or as --btf")
    path = btf_path or btf_file or DEFAULT_BTF
    config_file = config_file or default_config(path)
    b = open_btf(path, use_cache=not no_cache)
    result = import_btf(b, config_file, requested_kernel())
    if out_dir is not None:
        from mmbits.outputs import write_set

        result.out = out_dir
        if result.files:
            write_set(out_dir, [(name, new) for name, (_old, new) in result.files.items()], label="import")
    if as_json:
        from mmbits.cli.common import emit_json

        emit_json(result.to_json())
    elif out_dir is not None:
        head, _, rest = result.text().partition("\n")
        click.echo(click.style(head, bold=True) + ("\n" + rest if rest else ""))
    else:
        click.echo(result.patch(), nl=False)
        click.echo(result.text(), file=sys.stderr)
    return finish(result.findings)
