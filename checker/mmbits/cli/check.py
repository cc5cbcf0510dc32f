"""mmbits check: is this bit free? A verdict over every config of a domain."""

from __future__ import annotations

from typing import Any

import click

from mmbits.cli.common import color_option, config_options, emit_json, finish, select, styled
from mmbits.errors import EXIT_BAD_INPUT, InputError, InvalidConfigError
from mmbits.proposal import STEPS


def _steps_help() -> str:
    return "lifecycle step: " + ", ".join(STEPS)


@click.command()
@click.argument("expr", required=False, metavar="[EXPR]")
@click.option("--word", metavar="STRUCT.FIELD",
              help="the word the bit goes in: ptdesc.pt_flags, ptdesc.__page_type, folio._flags_1, page.mapping, "
                   "page_memdesc.memdesc ...")
@click.option("--kind", metavar="KIND", help="page kind the bit is used on (kinds.yaml: pgtable, kernel-pgtable, "
                                             "slab, anon, file, zsmalloc, second, tail ...)")
@click.option("--as", "as_name", metavar="NAME", help="the name the proposal gives the bit (PT_kernel): its own "
                                                      "existing definition is not a collision")
@click.option("--set-at", metavar="STEP", help=_steps_help())
@click.option("--test-at", metavar="STEP", help=_steps_help())
@click.option("--clear-at", metavar="STEP", help=_steps_help())
@click.option("--proposal", "proposal_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="a proposal YAML file (expr, word, kind, set_at, ...); options override it")
@click.option("--define", "defines", multiple=True, metavar="NAME=EXPR",
              help="a macro the expression uses, as the patch defines it (repeatable)")
@click.option("--new-flag", "new_flags", multiple=True, metavar="NAME",
              help="the proposal adds NAME to enum pageflags (repeatable): NR_PAGEFLAGS grows")
@config_options(default_note="default: every valid config of --domain default")
@click.option("--static", "static_only", is_flag=True, help="static verdict only: do not run the lifecycle emulator")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--report", "report_dir", metavar="DIR", help="also write a report into DIR")
@click.option("--format", "report_format", type=click.Choice(["md", "html"]), default="md", show_default=True,
              help="report format for --report")
@color_option
def check(expr: str | None, word: str | None, kind: str | None, as_name: str | None, set_at: str | None,
          test_at: str | None, clear_at: str | None, proposal_file: str | None, defines: tuple[str, ...],
          new_flags: tuple[str, ...], preset: str | None, config_file: str | None, domain: str | None,
          sets: tuple[str, ...], static_only: bool, as_json: bool, report_dir: str | None,
          report_format: str) -> int:
    """Prove whether EXPR (C: BIT(NR_PAGEFLAGS), PG_referenced, 1 << 31, ...) is a free
    bit of --word for pages of --kind, over every valid config of a domain (default:
    the `default` domain) or one --preset/--config. Prints SAFE or UNSAFE with the
    findings grouped by kind, each with a counterexample config and the colliding thing.

    \b
    Examples:
      mmbits check 'BIT(NR_PAGEFLAGS)' --word ptdesc.pt_flags --kind kernel-pgtable
      mmbits check PG_referenced --as PT_kernel --word ptdesc.pt_flags --kind kernel-pgtable
      mmbits check 'BIT(0)' --word ptdesc.__page_type --kind kernel-pgtable
      mmbits check 4 --word page_memdesc.memdesc
      mmbits check 'ptdesc->pt_flags.f | PTDESC_KERNEL' --define PTDESC_KERNEL='BIT(0)'
    """
    from dataclasses import replace

    from mmbits.proposal import Proposal, load_proposal, validate
    from mmbits.prover import check as prove
    from mmbits.prover.expr import _RUNTIME, parse_define

    if report_dir is not None:
        try:
            from mmbits.report.api import check_output_dir, write_check_report
        except ImportError:
            raise click.UsageError("--report needs the report writer (mmbits.report.api), which is not "
                                   "available in this installation") from None
        check_output_dir(report_dir)  # a directory that cannot be written fails now, not after the proof
    else:
        write_check_report = None  # type: ignore[assignment]  # no --report: nothing to write

    base = load_proposal(proposal_file) if proposal_file else None
    if base is None and expr is None:
        raise click.UsageError("give EXPR or --proposal FILE")
    if base is None:
        base = Proposal(expr=expr or "", word=word or "")
    updates: dict[str, Any] = {k: v for k, v in (("expr", expr), ("word", word), ("kind", kind), ("name", as_name),
                                  ("set_at", set_at), ("test_at", test_at), ("clear_at", clear_at)) if v is not None}
    proposal = replace(base, **updates)
    if proposal.word:
        validate(proposal)
    elif not _RUNTIME.search(proposal.expr):
        raise click.UsageError("--word STRUCT.FIELD is required (unless EXPR is a condition on a descriptor word)")
    parsed = dict(parse_define(d) for d in defines)

    from mmbits.progress import Progress

    progress = Progress(None, "configs", "checking")
    try:
        sel = select(preset, config_file, domain, sets, default="domain")
        result = prove(proposal, config=sel.config, domain=sel.domain, source=sel.source, defines=parsed,
                       new_flags=new_flags, lifecycle=not static_only, progress=progress)
    except InvalidConfigError as exc:
        progress.abandon()
        return _invalid(exc, proposal, as_json)
    except BaseException:
        progress.abandon()
        raise
    progress.close(f"{result.configs_checked} configs ({result.groups} distinct cases)")
    data = result.to_json()
    written = []
    if write_check_report is not None and report_dir is not None:
        written = [str(p) for p in write_check_report(data, report_dir, report_format)]
        data["report_files"] = written
    if as_json:
        emit_json(data)
    else:
        from mmbits.prover.text import render

        click.echo(render(result, colour=True))  # click.echo strips the escapes unless --color says otherwise
        for path in written:
            click.echo(f"report: {path}")
    return finish(result.findings, data["verdict"])


def _invalid(exc: InputError, proposal: object, as_json: bool) -> int:
    """A config Kconfig refuses (or the kernel's #error rejects) is bad input: the
    verdict is UNKNOWN, one error line, exit 2; --json also prints the finding."""
    if as_json:
        from mmbits.findings import Finding, Verdict

        finding = Finding("invalid-config", str(exc.message))
        emit_json({"verdict": Verdict.UNKNOWN.value, "proposal": proposal.to_json(),  # type: ignore[attr-defined]
                   "checked": "", "configs_checked": 0, "findings": [finding.to_json()]})
    click.echo(f"mmbits: error: {styled('invalid-config', 'error')}: {exc}", err=True)
    return EXIT_BAD_INPUT
