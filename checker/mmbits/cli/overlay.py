"""mmbits overlay: the byte map of a struct page and the MATCH / bit rules."""

from __future__ import annotations

import click

from mmbits.cli.common import (
    color_option,
    config_options,
    emit_json,
    finding_line,
    finish,
    heading,
    layout_options,
    layout_set,
    select,
)


@click.command()
@click.argument("structs", nargs=-1)
@config_options(domain=False)
@layout_options
@click.option("--all", "show_all", is_flag=True, help="list every rule, not only the broken ones")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output (mmbits schema overlay)")
@color_option
def overlay(structs: tuple[str, ...], preset: str | None, config_file: str | None, sets: tuple[str, ...],
            layout_files: tuple[str, ...], show_all: bool, as_json: bool) -> int:
    """Which fields of which descriptor cover each byte of a struct page (and
    each bit of the flags and page_type words), then every MATCH assert, size
    assert and bit rule. STRUCTS picks descriptors (default: page folio ptdesc
    slab zpdesc ioptdesc). Exit 1 when a rule is broken."""
    from mmbits.flags.packing import compute
    from mmbits.layout.registry import DESCRIPTORS
    from mmbits.overlay import byte_map, check_rules, page_type_bits

    sel = select(preset, config_file, None, sets)
    lset = layout_set(layout_files)
    names = [s.removeprefix("struct ").strip() for s in structs] or list(DESCRIPTORS)
    for n in names:
        lset.spec(n)  # unknown struct -> clean error
    if "page" not in names:
        names.insert(0, "page")
    cfg = sel.config
    rows = byte_map(cfg, names, lset)
    statuses = check_rules(cfg, lset, names)
    word = compute(cfg)
    broken = [s for s in statuses if not s.ok]
    found = [s.finding for s in broken if s.finding]
    if as_json:
        emit_json({
            "config": cfg.label(),
            "page_size": lset.resolve("page", cfg).size,
            "bytes": [{"start": r.start, "end": r.end - 1, "cells": r.cells} for r in rows],
            "flags_bits": [{"bit": b, "owner": word.owner(b)} for b in range(word.bits)],
            "page_type_bits": [{"lsb": lo, "msb": hi, "meaning": m} for lo, hi, m in page_type_bits(cfg)],
            "rules": [{"rule": s.rule, "ok": s.ok, "detail": s.detail} for s in statuses],
            "findings": [f.to_json() for f in found],
        })
        return finish(found)
    page_size = lset.resolve("page", cfg).size
    click.echo(heading(f"struct page overlays for {cfg.label()} (sizeof(struct page) = {page_size})"))
    for r in rows:
        click.echo(f"[{r.start}-{r.end - 1}]")
        width = max(len(c) for c in r.cells)
        for col, cell in r.cells.items():
            click.echo(f"  {col:<{width}}  {' | '.join(cell) if cell else '-'}")
    click.echo()
    click.echo(heading("page->flags bits (high to low)"))
    run_start = word.bits - 1
    for b in range(word.bits - 1, -2, -1):
        if b >= 0 and b < word.bits - 1 and _group(word, b) == _group(word, b + 1):
            continue
        if b < word.bits - 1:
            lo = b + 1
            name = _group(word, lo)
            click.echo(f"  {run_start:>2}-{lo:<2} {name}" if run_start != lo else f"  {lo:>2}    {name}")
        run_start = b
    click.echo()
    click.echo(heading("page_type bits"))
    for lo, hi, meaning in page_type_bits(cfg):
        click.echo(f"  {hi:>2}-{lo:<2} {meaning}")
    click.echo()
    ok = len(statuses) - len(broken)
    click.echo(heading(f"rules: {ok} hold, {len(broken)} broken"))
    for s in statuses:
        if show_all or not s.ok:
            mark = click.style("ok  ", fg="green") if s.ok else click.style("FAIL", fg="red", bold=True)
            click.echo(f"  {mark} {s.rule}: {s.detail}")
    for f in found:
        click.echo(finding_line(f))
    return finish(found)


def _group(word: object, bit: int) -> str:
    owner = str(word.owner(bit))  # type: ignore[attr-defined]
    if " bit " in owner:
        return owner.split(" bit ")[0]
    if owner.startswith("PG_"):
        flag = word.flag(owner)  # type: ignore[attr-defined]
        aliases = ", ".join(f"{a.name} ({a.valid_for()})" for a in flag.aliases) if flag else ""
        return owner + (f" = {aliases}" if aliases else "")
    return owner
