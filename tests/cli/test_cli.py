"""The foundation commands as a user runs them, and the bad-input contract."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REF_CONFIG
from util.clirun import assert_clean_error


def test_flags_reference_kernel(cli) -> None:
    r = cli("flags", "--preset", "x86_64-6.18")
    assert r.code == 0
    assert "bits 34-24  free gap     11 bits" in r.out
    assert "PT_kernel" in r.out


def test_flags_json_schema(cli) -> None:
    d = cli("flags", "--preset", "x86_64-maxsmp", "--json").json()
    assert {"word_bits", "nr_pageflags", "fields", "free_bits", "last_cpupid_in_flags", "flags"} <= set(d)
    assert d["word_bits"] == 64 and d["nr_pageflags"] == 25 and d["free_bits"] == []
    assert {f["name"] for f in d["fields"]} == {"node", "zone", "last_cpupid", "lru_gen", "lru_refs"}
    ref = next(f for f in d["flags"] if f["name"] == "PG_referenced")
    assert ref["bit"] == 2 and {"name": "PT_kernel", "valid_for": "kernel-pgtable (head page)"} in ref["aliases"]


def test_flags_arm64_max_reports_miscount_and_growth(cli) -> None:
    d = cli("flags", "--preset", "arm64-max", "--json").json()
    assert d["last_cpupid_in_flags"] is False
    assert d["nr_unused_pageflag_bits_kernel"] == -8 and d["true_gap_bits"] == 12
    assert d["page_size"] == 80
    assert {f["kind"] for f in d["findings"]} >= {"field-out-of-word", "miscount"}


def test_flags_cannot_build(cli) -> None:
    d = cli("flags", "--preset", "x86_64-maxsmp", "--set", "KASAN_GENERIC=y", "--json").json()
    assert d["errors"] == []
    r = cli("flags", "--config", str(REF_CONFIG), "--set", "LRU_GEN=y")
    assert r.code == 0 and "LRU_GEN" in r.out


def test_flags_domain(cli) -> None:
    d = cli("flags", "--domain", "default", "--json").json()
    assert d["configs"] == 185856
    assert d["min_static_gap"] == 0 and d["zero_static_gap"]["count"] > 0
    assert d["last_cpupid_out_of_word"]["count"] > 0
    assert sum(d["static_gap_histogram"].values()) + d["cannot_build"]["count"] == d["configs"]
    assert set(d["per_arch"]) == {"x86_64", "i386", "arm64", "arm32"}


def test_show_json_and_hex(cli) -> None:
    d = cli("show", "ptdesc", "--preset", "i386-pae-sparsemem", "--json").json()
    assert d["struct"] == "ptdesc" and d["size"] == 36
    assert all(set(m) >= {"name", "offset", "size", "type"} for m in d["members"])
    r = cli("show", "struct page", "--hex")
    assert r.code == 0 and "/*  0x30   0x4 */" in r.out


def test_configs_listing(cli) -> None:
    r = cli("configs", "--json")
    names = {p["name"] for p in r.json()["presets"]}
    assert {"x86_64-6.18", "i386-pae-sparsemem", "arm64-max", "arm32-sparsemem"} <= names


@pytest.mark.parametrize("args, needle", [
    (("flags", "--preset", "nope"), "unknown preset"),
    (("flags", "--preset", "x86_64-6.18", "--domain", "default"), "mutually exclusive"),
    (("flags", "--config", "/nonexistent/.config"), "cannot read"),
    (("flags", "--set", "KASAN_SW_TAGS=y"), "HAVE_ARCH_KASAN_SW_TAGS"),
    (("flags", "--set", "LRU_GNE=y"), "did you mean LRU_GEN"),
    (("flags", "--set", "NR_CPUS"), "SYMBOL=VALUE"),
    (("show", "pgae"), "did you mean page"),
    (("show",), "Missing argument"),
    (("overlay", "nosuch"), "no layout for struct"),
    (("flags", "--domain", "nosuch"), "unknown domain"),
    (("nosuchcommand",), "No such command"),
])
def test_bad_input_is_one_line(cli, args, needle) -> None:
    r = cli(*args)
    assert_clean_error(r)
    assert needle in r.err


def test_binary_config_file(cli, tmp_path) -> None:
    p = tmp_path / "x.config"
    p.write_bytes(b"\x00\x01\x02ELF")
    assert_clean_error(cli("flags", "--config", str(p)))


def test_console_script_end_to_end() -> None:
    """The installed entry point, as CI and users run it."""
    out = subprocess.run([sys.executable, "-m", "mmbits", "flags", "--preset", "x86_64-6.18", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert '"nr_pageflags": 24' in out.stdout
    bad = subprocess.run([sys.executable, "-m", "mmbits", "show", "page", "--config", "/nope"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_no_command_declares_an_option_twice() -> None:
    """Two `--kernel` options on decode (the config one and the dump's release) made newer
    click print a UserWarning on every run, breaking the one-error-line contract."""
    import importlib

    import click

    from mmbits.cli import COMMANDS

    def walk(cmd: click.Command, path: str) -> list[str]:
        seen: dict[str, int] = {}
        for p in cmd.params:
            for opt in getattr(p, "opts", []):
                seen[opt] = seen.get(opt, 0) + 1
        dupes = [f"{path} {opt}" for opt, n in seen.items() if n > 1]
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                dupes += walk(sub, f"{path} {name}")
        return dupes

    dupes: list[str] = []
    for name, (mod, attr, _help) in COMMANDS.items():
        dupes += walk(getattr(importlib.import_module(mod), attr), name)
    assert dupes == []
