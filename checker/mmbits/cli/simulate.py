"""mmbits simulate: run a deferred page-table free design on the emulator."""

from __future__ import annotations

from typing import Any

import click

from mmbits.cli.common import color_option, config_options, emit_json, finish, parse_sets, select
from mmbits.emu.variants import PROPOSAL_BASE, VARIANTS
from mmbits.errors import EXIT_OK, InputError

# emulator switches that are not Kconfig inputs (kconfig.yaml derives them)
EMULATOR_SYMBOLS = {"ASYNC_KERNEL_PGTABLE_FREE"}


def _split_sets(sets: tuple[str, ...]) -> tuple[list[str], dict[str, bool]]:
    parsed = parse_sets(sets)
    kconfig, emu = [], {}
    for item in sets:
        name = item.partition("=")[0].strip().removeprefix("CONFIG_")
        if name in EMULATOR_SYMBOLS:
            value = parsed[name].strip().lower()
            if value not in ("y", "n", "1", "0", "yes", "no", "on", "off"):
                raise InputError(f"--set {name}: expected y or n, got {parsed[name]!r}")
            emu[name] = value in ("y", "1", "yes", "on")
        else:
            kconfig.append(item)
    return kconfig, emu


def _config(preset: str | None, config_file: str | None, sets: list[str]) -> Any:
    """The config, with IOMMU_SVA=y added where Kconfig allows it unless the
    user set IOMMU_SVA: the emulator's question is what an SVA device does."""
    from mmbits.errors import InvalidConfigError

    user_sva = any(s.partition("=")[0].strip().removeprefix("CONFIG_") == "IOMMU_SVA" for s in sets)
    if not user_sva:
        try:
            return select(preset, config_file, None, [*sets, "IOMMU_SVA=y"]).config
        except InvalidConfigError:
            pass
    return select(preset, config_file, None, sets).config


@click.command()
@click.option("--variant", default="v6.19", type=click.Choice(list(VARIANTS)), show_default=True,
              help="the deferred-free design to run (--list shows them)")
@click.option("--list", "list_variants", is_flag=True, help="list the variants, one line each, and exit")
@click.option("--proposal", "proposal_file", type=click.Path(dir_okay=False), metavar="FILE",
              help=f"a marking proposal (as for `mmbits check`) plugged into {PROPOSAL_BASE}")
@config_options(domain=False)
@click.option("--cpus", type=click.IntRange(1, 8), default=2, show_default=True, help="CPU threads")
@click.option("--ops", type=click.IntRange(1, 32), default=3, show_default=True,
              help="operations per CPU (huge-pmd, huge-pud, hot-remove, cpa, user-pte in turn)")
@click.option("--only", multiple=True, metavar="OP",
              help="run only these operations (repeatable); kasan-shadow, cpa-pud and hot-remove-boot run only "
                   "when named")
@click.option("--worker-per-page", is_flag=True,
              help="the worker frees one list entry per step, as its loop does (default: the batch in one step)")
@click.option("--explore", "mode", type=click.Choice(["auto", "exhaustive", "random", "sequential"]), default="auto",
              show_default=True, help="auto: exhaustive up to 8 operations in all, random above")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of --explore random")
@click.option("--schedules", type=click.IntRange(1, 1_000_000), default=200, show_default=True,
              help="schedules of --explore random")
@click.option("--max-states", type=click.IntRange(10, 50_000_000), default=250_000, show_default=True,
              help="bound of --explore exhaustive")
@click.option("--reduction/--no-reduction", default=True, show_default=True,
              help="partial-order reduction (sleep sets) in --explore exhaustive; off, only state hashing prunes")
@click.option("--persistent-sets", "persistent", is_flag=True,
              help="with --reduction, run only a persistent set of threads from each state (dynamic partial-order "
                   "reduction): fewer states where CPUs' steps rarely interact (2 x 4 huge-pmd: about half), more "
                   "CPU per state and more memory")
@click.option("--jobs", type=click.IntRange(0, 16), default=0, show_default=True,
              help="processes sharing an exhaustive exploration (0: two from 2 x 3 operations on, when this process "
                   "may use two CPUs and the load average leaves more than one idle; not with --persistent-sets)")
@click.option("--replay", "replay_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="play one schedule: a `simulate --json` result (its --finding) or a JSON list of threads")
@click.option("--finding", "finding_index", type=click.IntRange(0), default=0, show_default=True,
              help="which finding's schedule --replay plays")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--brief", is_flag=True, help="findings without their schedules and page bytes")
@click.option("--all", "show_all", is_flag=True,
              help="show in full the findings that only follow an earlier error (consequences)")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="also write a report into DIR")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True,
              help="report format")
@color_option
def simulate(variant: str, list_variants: bool, proposal_file: str | None, preset: str | None, config_file: str | None,
             sets: tuple[str, ...], cpus: int, ops: int, only: tuple[str, ...], worker_per_page: bool, mode: str,
             seed: int,
             schedules: int, max_states: int, reduction: bool, persistent: bool, jobs: int, replay_file: str | None,
             finding_index: int, as_json: bool,
             brief: bool, show_all: bool, report_dir: str | None, fmt: str) -> int:
    """Run the page allocator and the deferred kernel page-table free system
    of a design on bit-exact struct pages, with CPUs, the worker and an IOMMU
    doing SVA interleaving, and report what goes wrong (iommu-use-after-free,
    use-after-free, double-free, leak, list-corruption, bad-page-at-free,
    stale-after-free, wiped-before-test, wrong-table, memdesc-clobbered,
    managed-count),
    each with the schedule that reaches it.

    IOMMU_SVA is switched on where Kconfig allows it (--set IOMMU_SVA=n to
    turn it off); --set ASYNC_KERNEL_PGTABLE_FREE=y|n forces the deferred path.
    Exit status: 0 SAFE, 1 a warning or error finding (UNSAFE), 2 bad input."""
    from mmbits.emu.simulate import simulate as run

    if list_variants:
        width = max(len(name) for name in VARIANTS)
        for name, cls in VARIANTS.items():
            click.echo(f"{name:{width}}  {cls.title}")
        return EXIT_OK
    proposal = None
    if proposal_file is not None:
        given = click.get_current_context().get_parameter_source("variant")
        if given is not None and given.name != "DEFAULT":
            raise click.UsageError(f"--proposal plugs into {PROPOSAL_BASE}; it cannot be combined with --variant")
        variant = PROPOSAL_BASE
        from mmbits.proposal import load_proposal

        proposal = load_proposal(proposal_file)
    if VARIANTS[variant].default_only and not only:
        # a walker variant's own workload: its walk and one promotion of the walked range,
        # explored completely, unless --cpus/--ops/--only ask for more
        ctx = click.get_current_context()
        for name in ("cpus", "ops"):
            source = ctx.get_parameter_source(name)
            if source is None or source.name == "DEFAULT":
                cpus, ops = (1, ops) if name == "cpus" else (cpus, 1)
    if persistent and jobs > 1:
        raise click.UsageError("--persistent-sets explores in one process: --jobs must be 0 or 1 with it")
    kconfig_sets, emu = _split_sets(sets)
    config = _config(preset, config_file, kconfig_sets)
    if only:
        from mmbits.emu.workload import SETUP

        unknown = [o for o in only if o not in SETUP]
        if unknown:
            raise InputError(f"--only: unknown operation {unknown[0]!r} (known: {', '.join(SETUP)})")
    report_api = _report_api(report_dir) if report_dir else None
    schedule = None
    if replay_file:
        schedule, recorded = _read_schedule(replay_file, finding_index)
        if recorded.get("worker_per_page") is True and not worker_per_page:
            # the schedule's worker steps are loop iterations: replayed on the batch worker
            # they would name steps that do not exist, so the run's own setting is taken
            click.echo(f"mmbits: replay: --worker-per-page taken from {replay_file}'s workload", err=True)
            worker_per_page = True

    from mmbits.progress import Progress

    if mode == "random":
        progress = Progress(schedules, "schedules", "exploring")
    else:  # states: the bound is all we know before the run (the emulator may refine it)
        progress = Progress(max_states, "states", "exploring", estimate=True)
    try:
        result = run(config, variant, proposal=proposal, cpus=cpus, ops=ops, mode=mode, seed=seed,
                     schedules=schedules, max_states=max_states,
                     async_free=emu.get("ASYNC_KERNEL_PGTABLE_FREE"), only=only, progress=progress,
                     schedule=schedule, reduce=reduction, worker_per_page=worker_per_page,
                     persistent=persistent, jobs=jobs)
    except BaseException:
        progress.abandon()
        raise
    data: dict[str, Any] = result.to_json()  # the typed SimulationResult; JSON only here, at the edge
    explored = data.get("explored") or {}
    progress.close(f"{explored.get('states', 0)} states, {explored.get('transitions', 0)} transitions, "
                   f"{explored.get('pruned', 0)} pruned, "
                   + (f"{explored['reduction']['slept']} slept, " if (explored.get("reduction") or {}).get("sleep_sets")
                      else "") + f"{explored.get('schedules', 0)} schedules"
                   + (f" by {len(explored['processes'])} processes" if explored.get("processes") else "")
                   + (" (cut short at --max-states: UNKNOWN)" if explored.get("cut_short") else ""))
    written = []
    if report_api is not None and report_dir is not None:
        written = [str(p) for p in report_api(data, report_dir, fmt)]
    if as_json:
        emit_json({**data, "report_files": written} if written else data)
    else:
        from mmbits.emu.text import render

        click.echo(_colour(render(result, verbose=not brief, full=show_all)))
        for path in written:
            click.echo(f"report: {path}")
    return finish(result.findings, result.verdict)


def _colour(text: str) -> str:
    """Verdict and finding levels in colour (stripped unless --color allows)."""
    import re

    from mmbits.cli.common import styled

    text = re.sub(r"\b(SAFE|UNSAFE|UNKNOWN)\b", lambda m: styled(m.group(1), m.group(1)), text)
    return re.sub(r"^(\s*)(ERROR|WARNING|NOTE)(?=:)", lambda m: m.group(1) + styled(m.group(2), m.group(2).lower()),
                  text, flags=re.M)


def _read_schedule(path: str, finding: int) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The schedule, and the workload the file records (empty for a bare list of threads)."""
    import json

    from mmbits.emu.simulate import schedule_from_json
    from mmbits.inputs import LIMIT_JSON, read_text

    text = read_text(path, LIMIT_JSON, "a --replay schedule")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}", file=path) from None
    workload = doc.get("workload") if isinstance(doc, dict) else None
    return schedule_from_json(doc, finding, path), workload if isinstance(workload, dict) else {}


def _report_api(report_dir: str) -> Any:
    try:
        from mmbits.report.api import check_output_dir, write_simulation_report
    except (ImportError, AttributeError):
        raise click.UsageError("--report needs the report engine (mmbits.report.api.write_simulation_report), "
                               "which this installation does not have") from None
    check_output_dir(report_dir)  # a directory that cannot be written fails now, not after the run
    return write_simulation_report
