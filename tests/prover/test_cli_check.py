"""`mmbits check` on the command line: schema, exit codes, the bad-input contract."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from util.clirun import assert_clean_error


def test_json_schema(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("check", "BIT(NR_PAGEFLAGS)", "--word", "page.flags", "--preset", "x86_64-maxsmp", "--json")
    assert r.code == 1
    data = r.json()
    assert set(data) >= {"verdict", "configs_checked", "findings", "proposal", "configs_unsafe"}
    assert data["verdict"] == "UNSAFE" and data["configs_checked"] == 1
    for f in data["findings"]:
        assert set(f) >= {"kind", "message", "config", "where"}
        assert f["config"] == "x86_64-maxsmp"
    safe = cli("check", "PG_referenced", "--as", "PT_kernel", "--word", "ptdesc.pt_flags", "--kind",
               "kernel-pgtable", "--domain", "arm64", "--json")
    assert safe.code == 0 and safe.json()["verdict"] == "SAFE" and safe.json()["configs_checked"] == 40320


@pytest.mark.parametrize("args, message", [
    (["BIT(PG_refrenced)", "--word", "page.flags"], "did you mean PG_referenced"),
    (["BIT(0)", "--word", "ptdesc.pt_flag"], "did you mean pt_flags"),
    (["BIT(0)", "--word", "ptdsc.pt_flags"], "did you mean ptdesc"),
    (["BIT(0)", "--word", "ptdesc"], "STRUCT.FIELD"),
    (["BIT(0)", "--word", "page.flags", "--kind", "pgtabel"], "did you mean pgtable"),
    (["BIT(0)", "--word", "page.flags", "--set-at", "nowhere"], "unknown step"),
    (["BIT((0)", "--word", "page.flags"], "expected ')'"),
    (["BIT(0)"], "--word"),
    (["--word", "page.flags"], "EXPR or --proposal"),
    (["BIT(0)", "--word", "page.flags", "--define", "oops"], "NAME=EXPR"),
    (["BIT(0)", "--word", "page.flags", "--domain", "nope"], "unknown domain"),
    (["BIT(0)", "--word", "page.flags", "--proposal", "/nonexistent/p.yaml"], "p.yaml"),
])
def test_bad_input_is_one_line_and_exit_2(cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    r = cli("check", *args)
    assert_clean_error(r)
    assert message in r.err


def test_malformed_proposal_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "p.yaml"
    p.write_text("expr: BIT(0)\nword: ptdesc.pt_flags\nkind: [1, 2\n")
    r = cli("check", "--proposal", str(p))
    assert_clean_error(r)
    assert str(p) in r.err


def test_invalid_config_text_mode(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("check", "BIT(0)", "--word", "page.flags", "--preset", "x86_64-6.18", "--set", "KASAN_SW_TAGS=y")
    assert_clean_error(r)
    assert "invalid-config" in r.err and "KASAN_SW_TAGS" in r.err


def test_report_or_a_clean_usage_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "rep"
    r = cli("check", "BIT(NR_PAGEFLAGS)", "--word", "page.flags", "--preset", "x86_64-maxsmp", "--report", str(out))
    if importlib.util.find_spec("mmbits.report.api") is None:
        assert_clean_error(r)
        assert "--report" in r.err
        return
    assert r.code == 1, r.err
    written = [ln.split(": ", 1)[1] for ln in r.out.splitlines() if ln.startswith("report: ")]
    assert written and all(Path(w).is_file() for w in written)
    assert "UNSAFE" in Path(written[0]).read_text()


def test_the_answer_cache(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The same question twice: the second answer is read back, identical; MMBITS_CACHE=off
    or a corrupt entry means a fresh proof; an UNKNOWN answer is never kept."""
    monkeypatch.setenv("MMBITS_CACHE_DIR", str(tmp_path))
    args = ("check", "PG_head", "--word", "ptdesc.pt_flags", "--kind", "pgtable", "--preset", "x86_64-6.18")
    first = cli(*args, "--json")
    again = cli(*args, "--json")
    assert first.code == again.code == 1 and first.json() == again.json()
    entries = list((tmp_path / "check").glob("*.json"))
    assert len(entries) == 1
    assert "answer cached" in cli(*args).out
    monkeypatch.setenv("MMBITS_CACHE", "off")
    assert "answer cached" not in cli(*args).out
    monkeypatch.delenv("MMBITS_CACHE")
    entries[0].write_text("{not json")
    fresh = cli(*args)
    assert fresh.code == 1 and "answer cached" not in fresh.out
    # another question is another entry
    assert cli("check", "PG_head", "--word", "ptdesc.pt_flags", "--kind", "anon", "--preset", "x86_64-6.18").code == 1
    assert len(list((tmp_path / "check").glob("*.json"))) == 2
