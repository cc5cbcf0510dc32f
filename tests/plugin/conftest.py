"""Shared by the plugin tests: the engine is imported once, before any in-process inner run."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def _engine_imported_once() -> None:
    """Import what the inner runs use before them: pytester drops every module an
    in-process run imports when it ends, and a second run would import yaml and the
    loaders afresh while the data caches still hold objects of the first import."""
    import yaml  # noqa: F401

    import mmbits.emu.machine  # noqa: F401
    import mmbits.flags.packing  # noqa: F401
    import mmbits.kconfig.presets  # noqa: F401
    import mmbits.layout.registry  # noqa: F401
    import mmbits.pytest_plugin  # noqa: F401
    import mmbits.testing  # noqa: F401
    import mmbits.yamlio  # noqa: F401
