"""Kconfig dependencies: impossible configs are rejected with the reason, never laid out."""

from __future__ import annotations

import pytest

from mmbits.errors import InputError, InvalidConfigError
from mmbits.kconfig.model import load_model
from mmbits.kconfig.presets import preset, preset_names


@pytest.mark.parametrize("name", preset_names())
def test_presets_are_valid(name: str) -> None:
    cfg = preset(name)
    assert load_model().violations(cfg) == []


@pytest.mark.parametrize(
    "values, reason",
    [
        # reference page-flags-layout.md section 6.2 and test cases 9-11
        ({"ARCH": "x86_64", "KASAN_SW_TAGS": 1}, "HAVE_ARCH_KASAN_SW_TAGS"),
        ({"ARCH": "i386", "NUMA": 1, "NODES_SHIFT": 3, "SPARSEMEM": 1}, "NUMA depends on X86_64"),
        ({"ARCH": "i386", "X86_PAE": 1, "SPARSEMEM": 1, "LRU_GEN": 1}, "LRU_GEN depends on 64BIT"),
        ({"ARCH": "arm32", "SPARSEMEM": 1, "LRU_GEN": 1}, "LRU_GEN depends on 64BIT"),
        ({"ARCH": "x86_64", "NUMA_BALANCING": 1, "NUMA": 0, "NODES_SHIFT": 0}, "NUMA_BALANCING"),
        ({"ARCH": "x86_64", "MEMORY_FAILURE": 1, "X86_MCE": 0}, "X86_MCE"),
        ({"ARCH": "x86_64", "HIGHMEM": 1}, "32-bit"),
        ({"ARCH": "x86_64", "SPARSEMEM_VMEMMAP": 0}, "SPARSEMEM_VMEMMAP"),
        ({"ARCH": "x86_64", "MEM_PROFILING_COMPRESSED": 1}, "MEM_ALLOC_PROFILING"),
    ],
)
def test_invalid_configs(values: dict, reason: str) -> None:
    with pytest.raises(InvalidConfigError) as exc:
        load_model().make(values, name="t")
    assert reason in str(exc.value)


def test_unknown_symbol_suggests() -> None:
    with pytest.raises(InputError, match="did you mean LRU_GEN"):
        load_model().normalise({"LRU_GNE": "y"})


def test_fixed_symbol_cannot_be_set() -> None:
    with pytest.raises(InputError, match="fixed by the arch"):
        load_model().normalise({"64BIT": "n"})


def test_derived_symbols() -> None:
    m = load_model()
    cfg = m.make({"ARCH": "x86_64", "DEBUG_SPINLOCK": 1})
    assert cfg["ALLOC_SPLIT_PTLOCKS"] == 1  # spinlock_t outgrows a long
    assert m.make({"ARCH": "i386"})["BITS_PER_LONG"] == 32
    assert m.make({"ARCH": "arm64", "NR_CPUS": 4096})["NR_CPUS_BITS"] == 12


def test_the_model_and_the_flag_data_are_read_once_however_asked_for() -> None:
    """`load_model()` and `load_model(DEFAULT_KERNEL)` are one parse (a check asked both
    ways and parsed kconfig.yaml twice); likewise the flag data built on it."""
    from mmbits.flags.data import load_flag_data
    from mmbits.paths import DEFAULT_KERNEL

    assert load_model() is load_model(DEFAULT_KERNEL)
    assert load_flag_data() is load_flag_data(DEFAULT_KERNEL)
