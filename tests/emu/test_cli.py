"""mmbits simulate: verdicts and exit codes, the JSON schema, the config
switches, and the bad-input contract."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from util.clirun import assert_clean_error, run_cli

PROPOSALS = Path(__file__).parent.parent / "data" / "proposals"
SMALL = ("--cpus", "1", "--ops", "2")


def test_fixed_design_is_safe() -> None:
    r = run_cli("simulate", "--variant", "v6.19+fixes", *SMALL)
    assert r.code == 0, r.err
    assert "verdict: SAFE" in r.out
    assert "IOMMU_SVA" in r.out  # switched on where Kconfig allows it


def test_sync_is_unsafe_with_schedule_and_bytes() -> None:
    r = run_cli("simulate", "--variant", "sync", "--cpus", "1", "--ops", "1")
    assert r.code == 1
    assert "ERROR:iommu-use-after-free:" in r.out
    assert "schedule (" in r.out and "raw: " in r.out and "verdict: UNSAFE" in r.out


def test_list_names_every_variant() -> None:
    r = run_cli("simulate", "--list")
    assert r.code == 0
    names = [line.split()[0] for line in r.out.splitlines()]
    assert names[:4] == ["v6.19", "v6.19+vmemmap-fix", "v6.19+cpa-mark", "v6.19+fixes"]
    assert {"sync", "two-lists", "three-lists", "page-type-bit0-sketch", "page-type-bit0-baolu"} <= set(names)


def test_json_schema() -> None:
    r = run_cli("simulate", "--variant", "v6.19", "--only", "hot-remove", "--cpus", "1", "--ops", "1", "--json")
    assert r.code == 1
    doc = r.json()
    assert isinstance(doc, dict)
    assert {"verdict", "variant", "config", "explored", "findings", "machine", "workload"} <= set(doc)
    assert doc["verdict"] == "UNSAFE" and doc["variant"] == "v6.19"
    assert {"mode", "states", "transitions", "schedules", "complete", "seconds"} <= set(doc["explored"])
    (leak,) = [f for f in doc["findings"] if f["kind"] == "leak"]
    assert {"kind", "message", "config", "where", "data"} <= set(leak)
    assert leak["data"]["pages"] == 511
    assert {"schedule", "before", "after"} <= set(leak["data"])


def test_random_with_seed() -> None:
    r = run_cli("simulate", "--variant", "v6.19+vmemmap-fix", "--explore", "random", "--seed", "3", "--schedules", "5",
                "--json")
    assert r.code == 1
    assert r.json()["explored"]["mode"] == "random" and r.json()["explored"]["seed"] == 3


def test_async_switch_and_sva_off() -> None:
    r = run_cli("simulate", "--set", "ASYNC_KERNEL_PGTABLE_FREE=n", "--cpus", "1", "--ops", "1", "--json")
    assert r.code == 1 and r.json()["machine"]["async_kernel_pgtable_free"] is False
    r = run_cli("simulate", "--variant", "sync", "--set", "IOMMU_SVA=n", "--cpus", "1", "--ops", "1")
    assert r.code == 0, r.out


def test_other_preset() -> None:
    r = run_cli("simulate", "--preset", "i386-pae-sparsemem", *SMALL, "--json")
    assert r.code == 0
    assert r.json()["machine"]["sizeof_page"] == 40 and r.json()["machine"]["iommu_sva"] is False


def test_proposal() -> None:
    r = run_cli("simulate", "--proposal", str(PROPOSALS / "ptdesc_type_kernel.yaml"), "--cpus", "1", "--ops", "1",
                "--json")
    assert r.code == 1
    doc = r.json()
    assert doc["variant"] == "proposal" and doc["proposal"]["word"] == "ptdesc.__page_type"
    assert "wiped-before-test" in {f["kind"] for f in doc["findings"]}


def test_bad_input() -> None:
    assert_clean_error(run_cli("simulate", "--variant", "nope"))
    assert_clean_error(run_cli("simulate", "--proposal", "/nonexistent/p.yaml"))
    assert_clean_error(run_cli("simulate", "--proposal", str(PROPOSALS / "pt_kernel.yaml"), "--variant", "sync"))
    assert_clean_error(run_cli("simulate", "--preset", "no-such-preset"))
    assert_clean_error(run_cli("simulate", "--set", "ASYNC_KERNEL_PGTABLE_FREE=maybe"))
    assert_clean_error(run_cli("simulate", "--only", "defrag"))
    assert_clean_error(run_cli("simulate", "--cpus", "0"))
    assert_clean_error(run_cli("simulate", "--proposal", str(PROPOSALS / "memdesc_type4.yaml")))


def test_bad_proposal_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("expr: BIT(3\nword: ptdesc.pt_flags\nset_at: mark\n")
    assert_clean_error(run_cli("simulate", "--proposal", str(bad)))
    bad.write_text("expr: BIT(3)\nword: ptdesc.no_such_word\nset_at: mark\n")
    assert_clean_error(run_cli("simulate", "--proposal", str(bad)))


def test_report(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    r = run_cli("simulate", "--variant", "v6.19+vmemmap-fix", "--only", "cpa", *SMALL, "--report", str(out),
                "--format", "md")
    if importlib.util.find_spec("mmbits.report.api") is None:
        assert_clean_error(r)
        return
    assert r.code == 1, r.err
    assert any(p.suffix == ".md" for p in out.iterdir())


def test_replay_a_finding(tmp_path: Path) -> None:
    first = run_cli("simulate", "--variant", "v6.19+vmemmap-fix", "--only", "cpa", *SMALL, "--json")
    path = tmp_path / "run.json"
    path.write_text(first.out)
    again = run_cli("simulate", "--variant", "v6.19+vmemmap-fix", "--only", "cpa", *SMALL, "--replay", str(path), "--json")
    assert again.code == 1
    assert again.json()["explored"]["mode"] == "replay"
    assert [f["where"] for f in again.json()["findings"]] == [f["where"] for f in first.json()["findings"]]
    wrong = tmp_path / "wrong.json"
    wrong.write_text('["worker"]')
    assert_clean_error(run_cli("simulate", "--replay", str(wrong)))
    wrong.write_text("{not json")
    assert_clean_error(run_cli("simulate", "--replay", str(wrong)))


def test_cut_short_exploration_is_unknown() -> None:
    """A bounded exhaustive run that found nothing proves nothing: text, JSON and exit 2 say so."""
    args = ("simulate", "--variant", "v6.19+fixes", "--only", "huge-pmd", "--cpus", "2", "--ops", "2",
            "--max-states", "50")
    r = run_cli(*args)
    assert r.code == 2 and "verdict: UNKNOWN" in r.out and "stopped at its bound" in r.out
    doc = run_cli(*args, "--json").json()
    assert doc["verdict"] == "UNKNOWN" and doc["explored"]["cut_short"] is True
    # two processes stop at the bound they share
    two = run_cli(*args, "--jobs", "2", "--json")
    doc = two.json()
    assert two.code == 2 and doc["explored"]["cut_short"] is True and len(doc["explored"]["processes"]) == 2
    assert doc["explored"]["states"] <= 50 + 1


def test_ptdump_variants_run_their_own_small_workload() -> None:
    """Without --cpus/--ops/--only a walker variant explores its walk and one
    promotion of the walked range completely; exit codes follow the verdicts."""
    race = run_cli("simulate", "--variant", "ptdump-race", "--json")
    doc = race.json()
    assert race.code == 1 and doc["explored"]["complete"] and doc["workload"]["cpus"] == 1
    assert [f["kind"] for f in doc["findings"]] == ["walker-use-after-free"]
    assert run_cli("simulate", "--variant", "ptdump-fixed").code == 0
    both = run_cli("simulate", "--variant", "ptdump-arm64-both")
    assert both.code == 1 and "ERROR:deadlock:" in both.out



def test_persistent_sets_find_the_deadlock() -> None:
    """--persistent-sets explores fewer states and still reaches ptdump-arm64-both's deadlock."""
    plain = run_cli("simulate", "--variant", "ptdump-arm64-both", "--json")
    both = run_cli("simulate", "--variant", "ptdump-arm64-both", "--persistent-sets", "--json")
    assert both.code == 1 and plain.code == 1
    doc = both.json()
    assert doc["explored"]["reduction"]["persistent_sets"] and doc["explored"]["complete"]
    assert doc["explored"]["states"] < plain.json()["explored"]["states"]
    assert {f["kind"] for f in doc["findings"]} == {f["kind"] for f in plain.json()["findings"]} >= {"deadlock"}


def test_two_processes_explore_the_same_states() -> None:
    """--jobs 2 (mmbits.emu.parallel) against --jobs 1: the same distinct states, end states
    and finding kinds and verdict; the JSON says how the states were split, none twice."""
    from mmbits.schemas import validate

    args = ("simulate", "--variant", "v6.19", "--only", "huge-pmd", "--only", "cpa", "--cpus", "2", "--ops", "2",
            "--json")
    one, two = run_cli(*args, "--jobs", "1"), run_cli(*args, "--jobs", "2")
    assert one.code == two.code == 1
    a, b = one.json(), two.json()
    validate("simulate", b)
    assert "processes" not in a["explored"] and len(b["explored"]["processes"]) == 2
    for key in ("states", "end_states", "complete"):
        assert a["explored"][key] == b["explored"][key], key
    assert sum(b["explored"]["processes"]) == b["explored"]["states"] and b["explored"]["explored_twice"] == 0
    assert {f["kind"] for f in a["findings"]} == {f["kind"] for f in b["findings"]} >= {"iommu-use-after-free"}
    assert_clean_error(run_cli(*args, "--jobs", "2", "--persistent-sets"))  # one process only


def test_default_jobs_follow_the_free_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """--jobs 0: two processes for the default workload only when two CPUs may be used and the
    load average leaves more than one idle; one for small workloads and persistent sets."""
    import os

    from mmbits import cpus
    from mmbits.emu.simulate import auto_jobs

    monkeypatch.setattr(cpus, "usable_cpus", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.3, 0.3, 0.3))
    assert auto_jobs(6) == 2
    assert auto_jobs(4) == 1 and auto_jobs(6, persistent=True) == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert auto_jobs(6) == 1
    monkeypatch.setattr(cpus, "usable_cpus", lambda: 1)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert auto_jobs(6) == 1


def test_release_before_the_deferred_free_is_refused() -> None:
    """The deferred kernel page-table free exists from 6.18 (emulator.yaml
    since:): an older release, asked for or read from a preset, is one error
    line naming the release, exit 2 -- with --json too."""
    for args in (("--kernel", "6.12"), ("--preset", "amd64-6.12"), ("--preset", "amd64-6.12", "--json")):
        r = run_cli("simulate", *args)
        assert_clean_error(r)
        assert "Linux 6.12" in r.err and "--kernel 6.18" in r.err


def test_opt_in_operation_and_worker_per_page() -> None:
    """--only names an opt-in operation (collapse_pud_page, set_memory.c v6.19:
    both split tables unmarked, freed at once); --worker-per-page is in the JSON."""
    r = run_cli("simulate", "--variant", "v6.19", "--only", "cpa-pud", "--cpus", "1", "--ops", "1",
                "--worker-per-page", "--json", "--brief")
    assert r.code == 1, r.err
    doc = r.json()
    assert doc["workload"]["worker_per_page"] is True and doc["workload"]["plan"] == {"cpu0": ["cpa-pud#0"]}
    assert {f["where"]["detail"] for f in doc["findings"]} == {"__free_pages: CPA split PMD table",
                                                               "__free_pages: CPA split PTE table"}


def test_replay_takes_worker_per_page_from_the_run(tmp_path: Path) -> None:
    """A --worker-per-page run's schedule replays on the worker it was found with, said on stderr."""
    first = run_cli("simulate", "--variant", "v6.19", "--only", "cpa-pud", "--cpus", "1", "--ops", "1",
                    "--worker-per-page", "--json", "--brief")
    path = tmp_path / "run.json"
    path.write_text(first.out)
    again = run_cli("simulate", "--variant", "v6.19", "--only", "cpa-pud", "--cpus", "1", "--ops", "1",
                    "--replay", str(path), "--json")
    assert again.code == 1, again.err
    assert again.json()["workload"]["worker_per_page"] is True
    assert "--worker-per-page taken from" in again.err and str(path) in again.err
    assert again.json()["findings"][0]["where"] == first.json()["findings"][0]["where"]


def test_operation_off_in_this_config_names_its_condition() -> None:
    """kasan-shadow exists on x86_64 only with KASAN and MEMORY_HOTPLUG (emulator.yaml, after
    mm/kasan/init.c kasan_remove_zero_shadow()): the error says so, not that the arch lacks it."""
    r = run_cli("simulate", "--only", "kasan-shadow", "--cpus", "1", "--ops", "1")
    assert_clean_error(r)
    assert "needs KASAN && MEMORY_HOTPLUG" in r.err and "exists on arch" not in r.err


def test_too_many_boot_tables_is_a_clean_error() -> None:
    assert_clean_error(run_cli("simulate", "--only", "hot-remove-boot", "--cpus", "1", "--ops", "8",
                               "--explore", "sequential"))
