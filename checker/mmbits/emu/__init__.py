"""The allocator + deferred kernel page-table free emulator.

Struct pages are real bytes read and written through the resolved layouts;
on them run a buddy allocator, kernel page tables, the deferred-free design
of a variant (or a user's marking proposal) and an IOMMU doing SVA, with the
CPUs and the worker explored as interleaving threads.

- `Machine(config, variant)`: the machine and its Python API (mmbits.emu.machine)
- `mmbits.emu.simulate.simulate(config, variant, ...)`: a whole run, JSON-ready
- `VARIANTS`: the designs by CLI name (mmbits.emu.variants)
- `mmbits.emu.lifecycle.run_proposal(proposal, config)`: lifecycle findings for `check`
"""

from __future__ import annotations

from typing import Any

__all__ = ["Machine", "VARIANTS"]


def __getattr__(name: str) -> Any:
    # lazy: importing mmbits.emu must stay cheap for the CLI and the plugin
    if name == "Machine":
        from mmbits.emu.machine import Machine

        return Machine
    if name == "VARIANTS":
        from mmbits.emu.variants import VARIANTS

        return VARIANTS
    raise AttributeError(name)
