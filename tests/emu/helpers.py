"""Shared setup of the emulator tests: configs with an SVA device bound."""

from __future__ import annotations

from functools import cache
from typing import Any

from mmbits.errors import InvalidConfigError
from mmbits.kconfig.config import Config
from mmbits.kconfig.model import load_model
from mmbits.kconfig.presets import preset

REF = "x86_64-6.18"


@cache
def sva(name: str = REF) -> Config:
    """The preset with IOMMU_SVA=y where Kconfig allows it (what `simulate` runs)."""
    base = preset(name)
    values = dict(base.primary)
    values["IOMMU_SVA"] = 1
    try:
        return load_model().make(values, name=f"{name}+IOMMU_SVA")
    except InvalidConfigError:
        return base


def simulate_json(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """mmbits.emu.simulate.simulate(), as the JSON document the CLI prints."""
    from mmbits.emu.simulate import simulate

    return simulate(*args, **kwargs).to_json()


@cache
def debug_vm(name: str = REF) -> Config:
    """The preset with DEBUG_VM=y: CHECK_PAGES on, so free_page_is_bad() runs."""
    values = dict(preset(name).primary)
    values["DEBUG_VM"] = 1
    return load_model().make(values, name=f"{name}+DEBUG_VM")


def kinds(result: dict) -> set[str]:
    return {f["kind"] for f in result["findings"]}


def primary(result: dict) -> list[dict]:
    """Findings no earlier error led to on their schedule."""
    return [f for f in result["findings"] if not (f.get("data") or {}).get("follows")]
