"""The output contract every command keeps (README "Output contract"): --json
validates against the schema shipped in the package, findings are the one
finding object at the top level, verdicts are spelt SAFE/UNSAFE/UNKNOWN, and
the exit status follows the README's table, command by command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from mmbits.schemas import COMMANDS, load, validate

from conftest import DATA, REF_CONFIG

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PATCHES = ROOT / "tests" / "patch" / "data"
DUMPS = DATA / "dumps"


def _json_runs(ref_btf: Path, tmp_path: Path) -> dict[str, list[tuple[str, ...]]]:
    """`mmbits COMMAND ... --json` invocations, at least one per schema."""
    return {
        "show": [("show", "ptdesc", "--preset", "i386-pae-sparsemem")],
        "flags": [("flags", "--preset", "arm64-max"), ("flags", "--domain", "presets")],
        "overlay": [("overlay",)],
        "configs": [("configs",)],
        "check": [("check", "BIT(NR_PAGEFLAGS)", "--word", "ptdesc.pt_flags", "--kind", "kernel-pgtable",
                   "--preset", "x86_64-maxsmp"),
                  ("check", "BIT(NR_PAGEFLAGS)", "--word", "page.flags", "--preset", "i386-pae-sparsemem",
                   "--set", "LRU_GEN=y")],
        "patch": [("patch", str(PATCHES / "series-mixed.mbox"), "--preset", "x86_64-6.18")],
        "simulate": [("simulate", "--variant", "v6.19", "--only", "hot-remove", "--cpus", "1", "--ops", "1")],
        "decode": [("decode", str(DUMPS / "seed-004-willy-ptdesc-memdesc.txt"))],
        "report": [("report", "--format", "md", "--out", str(tmp_path / "r"))],
        "btf show": [("btf", "show", "page", "--btf", str(ref_btf)),
                     ("btf", "show", "page,enum pageflags", "--btf", str(ref_btf))],
        "btf verify": [("btf", "verify", "--btf", str(ref_btf), "--config", str(REF_CONFIG))],
        "btf import": [("btf", "import", "--btf", str(ref_btf), "--config", str(REF_CONFIG), "--out",
                        str(tmp_path / "imp")),
                       ("btf", "import", str(ref_btf), "--config", str(REF_CONFIG), "--kernel", "6.20")],
    }


def test_every_schema_is_valid_and_standalone() -> None:
    for command in COMMANDS:
        schema = load(command)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert "common.json" not in json.dumps(schema), command  # bundled: printable on its own


def test_every_command_json_follows_its_schema(cli, ref_btf: Path, tmp_path: Path) -> None:
    runs = _json_runs(ref_btf, tmp_path)
    assert set(runs) == set(COMMANDS), "a command with --json has no schema, or a schema no run"
    for command, invocations in runs.items():
        for args in invocations:
            r = cli(*args, "--json")
            assert r.code in (0, 1, 2), (args, r.err)
            doc = r.json()
            validate(command, doc)
            if isinstance(doc, dict) and command not in ("show", "btf show"):
                # the one finding object, at the top level of every result
                assert isinstance(doc["findings"], list), command
            if isinstance(doc, dict) and "verdict" in doc:
                assert doc["verdict"] in ("SAFE", "UNSAFE", "UNKNOWN"), (command, doc["verdict"])


def test_schema_rejects_what_the_contract_forbids() -> None:
    finding = {"kind": "leak", "severity": "error", "message": "m", "config": None, "where": None, "data": {}}
    good = {"pages": [], "findings": [dict(finding, data={"page": 0})]}
    validate("decode", good)
    for bad in ({**finding, "severity": "ERROR"}, {**finding, "where": "page.flags bit 3"},
                {k: v for k, v in finding.items() if k != "data"}):
        with pytest.raises(jsonschema.ValidationError):
            validate("decode", {"pages": [], "findings": [dict(bad, data={"page": 0})] if "data" in bad
                                else [bad]})
    with pytest.raises(jsonschema.ValidationError):
        validate("check", {"verdict": "unsafe", "proposal": {"expr": "1"}, "checked": "x",
                           "configs_checked": 1, "findings": []})


def test_mmbits_schema_prints_each_schema(cli) -> None:
    r = cli("schema", "btf", "verify")
    assert r.code == 0 and r.json() == load("btf verify")
    listed = cli("schema", "--list").out.split("\n")
    assert [x for x in listed if x] == list(COMMANDS)
    bad = cli("schema", "nosuch")
    assert bad.code == 2 and bad.out == "" and "no schema for 'nosuch'" in bad.err


# -- the exit rule, command by command ------------------------------------------

# (command, exit status) -> an invocation that must give it; None where the README
# table says the status cannot happen for that command. The facts behind each case
# are the ones the rest of the suite checks from their sources (arm64-max's
# LAST_CPUPID does not fit, page.buddy_since is in the 6.18 BTF only, ...).
def _exit_cases(ref_btf: Path, old_btf: Path, tmp_path: Path) -> dict[str, dict[int, tuple[str, ...] | None]]:
    missing = str(tmp_path / "missing.txt")
    return {
        "show": {0: ("show", "page"), 1: None, 2: ("show", "nosuch")},
        "flags": {0: ("flags", "--preset", "x86_64-6.18"), 1: ("flags", "--preset", "arm64-max"),
                  2: ("flags", "--preset", "nosuch")},
        "overlay": {0: ("overlay",), 1: ("overlay", "ptdesc", "--layout", str(_broken_ptdesc(tmp_path))),
                    2: ("overlay", "nosuch")},
        "configs": {0: ("configs",), 1: None, 2: ("configs", "--nosuch")},
        "check": {0: ("check", "PG_referenced", "--as", "PT_kernel", "--word", "ptdesc.pt_flags", "--kind",
                      "kernel-pgtable", "--preset", "x86_64-6.18"),
                  1: ("check", "BIT(NR_PAGEFLAGS)", "--word", "ptdesc.pt_flags", "--kind", "kernel-pgtable",
                      "--preset", "x86_64-maxsmp"),
                  2: ("check", "BIT(NR_PAGEFLAGS)", "--word", "page.flags", "--preset", "i386-pae-sparsemem",
                      "--set", "LRU_GEN=y")},
        "patch": {0: ("patch", str(PATCHES / "0004-merged-pt-kernel.patch"), "--preset", "x86_64-6.18"),
                  1: ("patch", str(PATCHES / "0007-nonatomic-set-bit.patch"), "--preset", "x86_64-6.18"),
                  2: ("patch", missing)},
        "simulate": {0: ("simulate", "--variant", "v6.19+fixes+hotplug", "--only", "hot-remove", "--cpus", "1",
                         "--ops", "1"),
                     1: ("simulate", "--variant", "v6.19", "--only", "hot-remove", "--cpus", "1",
                         "--ops", "1"),
                     2: ("simulate", "--only", "nosuch")},
        "decode": {0: ("decode", str(DUMPS / "syzbot-f2fs-meta-page.txt")),
                   # a real inconsistency: LKML 2504.1/11364, mapping not TAIL_MAPPING
                   1: ("decode", str(DUMPS / "lkml-2504.1-11364-hugetlb-tail.txt")),
                   2: ("decode", missing)},
        "report": {0: ("report", "--out", str(tmp_path / "r0")),
                   1: ("report", "--preset", "arm64-max", "--out", str(tmp_path / "r1")),
                   2: ("report", "--format", "pdf", "--out", str(tmp_path / "r2"))},
        "schema": {0: ("schema", "check"), 1: None, 2: ("schema", "nosuch")},
        "btf show": {0: ("btf", "show", "page", "--btf", str(ref_btf)), 1: None,
                     2: ("btf", "show", "nosuch_struct", "--btf", str(ref_btf))},
        # the Debian 6.12 BTF matches its own release exactly; read as 6.18 it differs
        "btf verify": {0: ("btf", "verify", "--btf", str(old_btf), "--config", str(DATA / "linux-6.12-amd64.config")),
                       1: ("btf", "verify", "--btf", str(old_btf), "--config", str(DATA / "linux-6.12-amd64.config"),
                           "--kernel", "6.18"),
                       2: ("btf", "verify", "--btf", missing, "--config", str(REF_CONFIG))},
        # the Debian 6.12 BTF imports as no change; the 6.18 vendor build adds one member before 6.19
        "btf import": {0: ("btf", "import", str(old_btf), "--config", str(DATA / "linux-6.12-amd64.config")),
                       1: ("btf", "import", str(ref_btf), "--config", str(REF_CONFIG), "--out", str(tmp_path / "imp")),
                       2: ("btf", "import", missing, "--config", str(REF_CONFIG), "--out", str(tmp_path / "imp2"))},
    }


def _broken_ptdesc(tmp_path: Path) -> Path:
    from test_overlay import BROKEN_PTDESC

    path = tmp_path / "ptdesc.yaml"
    path.write_text(BROKEN_PTDESC)
    return path


def _readme_exit_table() -> dict[str, dict[int, bool]]:
    """command -> {status: possible} from the README's exit status table."""
    text = README.read_text()
    section = text.split("### Exit status", 1)[1].split("\n### ", 1)[0]
    rows: dict[str, dict[int, bool]] = {}
    for line in section.splitlines():
        m = re.match(r"^\| `mmbits ([a-z ]+)` \|(.*)\|(.*)\|(.*)\|$", line)
        if m:
            rows[m.group(1).strip()] = {code: m.group(code + 2).strip() not in ("", "—", "-")
                                        for code in (0, 1, 2)}
    return rows


# statuses the README lists as possible that no data shipped in tests/data reaches
NO_SHIPPED_DATA = {("btf verify", 0)}


def test_exit_rule_per_command(cli, ref_btf: Path, old_btf: Path, tmp_path: Path) -> None:
    table = _readme_exit_table()
    cases = _exit_cases(ref_btf, old_btf, tmp_path)
    assert set(table) == set(cases), "the README's exit table and the tested commands differ"
    for command, by_code in cases.items():
        for code, args in by_code.items():
            possible = args is not None or (command, code) in NO_SHIPPED_DATA
            assert table[command][code] == possible, (command, code, "README table disagrees")
            if args is None:
                continue
            r = cli(*args)
            assert r.code == code, (command, args, r.code, r.out[-500:], r.err)
            if code == 2:
                assert r.err.strip() and "Traceback" not in r.err


def test_notes_never_change_the_exit_code() -> None:
    from mmbits.findings import Finding, exit_code

    note = Finding("obligation", "clear it on split", severity="note")
    warning = Finding("non-atomic", "plain read-modify-write", severity="warning")
    assert exit_code([note]) == 0 and exit_code([note, warning]) == 1
    assert exit_code([], "UNKNOWN") == 2 and exit_code([note], "SAFE") == 0


def test_ci_runs_the_readme_test_command() -> None:
    block = README.read_text().split("## Tests", 1)[1].split("```sh\n", 1)[1].split("\n```", 1)[0]
    assert block == "pip install '.[test]' && pytest -n auto"
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"\n{block}\n" in ci
    assert "export CI=true" in ci and "exit 1" in ci.split("could not install chromium", 1)[1].split("\n", 1)[0]


def test_help_lists_every_command_with_its_purpose(cli) -> None:
    from mmbits.cli import COMMANDS as CLI_COMMANDS

    out = cli("--help").out
    for name, (_mod, _attr, purpose) in CLI_COMMANDS.items():
        assert re.search(rf"^\s+{name}\s+{re.escape(purpose.split()[0])}", out, re.M), name


def test_shell_completion_as_documented(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    assert "_MMBITS_COMPLETE=bash_source mmbits" in README.read_text()
    env = dict(os.environ, _MMBITS_COMPLETE="bash_source")
    script = subprocess.run([sys.executable, "-m", "mmbits"], env=env, capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert script.returncode == 0 and "complete " in script.stdout and "_MMBITS_COMPLETE" in script.stdout
    env.update(_MMBITS_COMPLETE="bash_complete", COMP_WORDS="mmbits sim", COMP_CWORD="1")
    words = subprocess.run([sys.executable, "-m", "mmbits"], env=env, capture_output=True, text=True,
                           cwd=tmp_path, timeout=60)
    assert "simulate" in words.stdout
    # preset names come from the shipped presets.yaml
    env.update(COMP_WORDS="mmbits show --preset i386-pae", COMP_CWORD="3")
    names = subprocess.run([sys.executable, "-m", "mmbits"], env=env, capture_output=True, text=True,
                           cwd=tmp_path, timeout=60)
    assert "plain,i386-pae-sparsemem" in names.stdout.splitlines()


def test_schema_doc_is_current() -> None:
    from mmbits.schemas import markdown

    doc = ROOT / "docs" / "json-schemas.md"
    assert doc.read_text() == markdown(), "docs/json-schemas.md is stale: python -m mmbits.schemas > docs/json-schemas.md"
