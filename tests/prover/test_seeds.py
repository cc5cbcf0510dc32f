"""The seeds' proposals end to end through the CLI (shared/seeds/001*, 003*), over the
default domain, with the verdicts the reference docs give."""

from __future__ import annotations

from pathlib import Path

PROPOSALS = Path(__file__).parent.parent / "data" / "proposals"


def test_one_list_draft_bit_nr_pageflags_is_unsafe_and_names_configs(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("check", "BIT(NR_PAGEFLAGS)", "--word", "ptdesc.pt_flags", "--kind", "kernel-pgtable",
            "--as", "ASYNC_PGTABLE_FREE_DTOR", "--json")
    assert r.code == 1
    data = r.json()
    assert data["verdict"] == "UNSAFE" and data["configs_checked"] == 185856
    lru = next(f for f in data["findings"] if f["data"]["what"] == "page.flags bits 25-26 = LRU_REFS")
    # the counterexample: x86_64 MAXSMP-like with LRU_GEN (reference row B2)
    assert lru["config"].startswith("x86_64 NR_CPUS=8192 NODES_SHIFT=10")
    assert "LRU_GEN" in lru["config"] and (lru["where"]["struct"], lru["where"]["field"], lru["where"]["bit"]) == ("ptdesc", "pt_flags", 25)
    assert lru["data"]["config_symbols"]["LRU_GEN"] == 1
    # NR_PAGEFLAGS never reaches the word width in a config that builds: said as a note, not hidden
    shift = next(f for f in data["findings"] if f["kind"] == "undefined-shift" and f["severity"] == "note")
    assert "undefined once the count reaches 32" in shift["message"]
    assert "Not enough bits in page flags" in shift["message"]


def test_ptdesc_type_kernel_text_output(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("check", "BIT(0)", "--word", "ptdesc.__page_type", "--kind", "kernel-pgtable", "--as",
            "PTDESC_TYPE_KERNEL")
    assert r.code == 1
    first = r.out.splitlines()[0]
    assert first == "UNSAFE: PTDESC_TYPE_KERNEL = BIT(0) in ptdesc.__page_type (kernel-pgtable)"
    assert "always-true" in r.out and "checked 185856 configs" in r.out


def test_pt_kernel_is_safe_for_kernel_page_tables(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("check", "--proposal", str(PROPOSALS / "static_pt_kernel.yaml"))
    assert r.code == 0, r.out
    assert r.out.startswith("SAFE: PT_kernel = PG_referenced in ptdesc.pt_flags (kernel-pgtable)")
    assert "bit 2: PG_referenced" in r.out


def test_bitwise_or_condition_is_always_true(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("check", "ptdesc->some_field | PTDESC_KERNEL", "--define", "PTDESC_KERNEL=BIT(0)", "--json")
    assert r.code == 1
    (finding,) = r.json()["findings"]
    assert finding["kind"] == "always-true" and "did you mean `&`" in finding["message"]
    # `&` is a test, not always true; on __page_type the untyped UINT_MAX still makes it so
    r2 = cli("check", "ptdesc->__page_type & PTDESC_KERNEL", "--define", "PTDESC_KERNEL=BIT(0)",
             "--kind", "kernel-pgtable", "--json")
    data = r2.json()
    assert data["proposal"]["word"] == "ptdesc.__page_type"
    assert [f["data"]["what"] for f in data["findings"]] == ["page_type = 0xffffffff (UINT_MAX) on every untyped page"]


def test_lifecycle_steps_without_the_emulator_say_so(cli) -> None:  # type: ignore[no-untyped-def]
    import importlib.util

    r = cli("check", "--proposal", str(PROPOSALS / "pt_kernel.yaml"), "--preset", "x86_64-6.18", "--json")
    data = r.json()
    if importlib.util.find_spec("mmbits.emu.lifecycle") is None:
        assert data["lifecycle"] == "emulator missing"
        assert [f["kind"] for f in data["findings"]] == ["lifecycle-unchecked"]
        assert r.code == 0
    else:
        assert data["lifecycle"].startswith("checked on")
