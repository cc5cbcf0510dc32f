"""pytest plugin (entry point `pytest11: mmbits`): fixtures for page
descriptor tests, selectable per run and per test.

    def test_ptdesc_fits(mmbits_layout):
        assert mmbits_layout("ptdesc").size <= mmbits_layout("page").size

    @pytest.mark.mmbits_preset("i386-pae-sparsemem")
    def test_on_i386(mmbits_config): ...

    @pytest.mark.mmbits_variant("sync", npages=512)
    def test_sync_frees_at_once(mmbits_machine): ...

    pytest --mmbits-preset arm64-max        # or --mmbits-config /proc/config.gz

Assertions that print what `mmbits check` would are in mmbits.testing;
hypothesis strategies in mmbits.strategies; a RuleBasedStateMachine base
for the allocator and the deferred free in mmbits.stateful.

This module is imported at every pytest start-up, so it imports nothing from
mmbits at module level: fixtures load the engine only when a test asks for
them (bench/bench_plugin_startup.py measures the cost).
"""

from __future__ import annotations

from typing import Any

import pytest

DEFAULT_PRESET = "x86_64-6.18"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mmbits", "mmbits page descriptor fixtures")
    group.addoption("--mmbits-config", metavar="FILE", default=None,
                    help="kernel .config (plain or gzip) for the mmbits_* fixtures")
    group.addoption("--mmbits-preset", metavar="NAME", default=None,
                    help=f"named mmbits config for the mmbits_* fixtures (default {DEFAULT_PRESET})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mmbits_preset(name): run this test's mmbits fixtures on a preset")
    config.addinivalue_line("markers", "mmbits_config(path): run this test's mmbits fixtures on a .config")
    config.addinivalue_line("markers", "mmbits_set(**symbols): override config symbols for this test")
    config.addinivalue_line("markers", "mmbits_variant(name, **machine_options): deferred-free design "
                            "(mmbits simulate --variant) and Machine options (npages, sva, async_free) "
                            "for mmbits_machine")


def _selected_config(request: pytest.FixtureRequest) -> Any:
    from mmbits.errors import InputError
    from mmbits.kconfig.model import load_model

    preset_mark = request.node.get_closest_marker("mmbits_preset")
    config_mark = request.node.get_closest_marker("mmbits_config")
    set_mark = request.node.get_closest_marker("mmbits_set")
    try:
        if config_mark is not None:
            from mmbits.kconfig.dotconfig import config_from_file

            cfg, _ = config_from_file(config_mark.args[0])
        elif preset_mark is not None:
            from mmbits.kconfig.presets import preset

            cfg = preset(preset_mark.args[0])
        elif request.config.getoption("--mmbits-config"):
            from mmbits.kconfig.dotconfig import config_from_file

            cfg, _ = config_from_file(request.config.getoption("--mmbits-config"))
        else:
            from mmbits.kconfig.presets import preset

            cfg = preset(request.config.getoption("--mmbits-preset") or DEFAULT_PRESET)
        if set_mark is not None and set_mark.kwargs:
            model = load_model()
            values = dict(cfg.primary)
            values.update(model.normalise(set_mark.kwargs, where="mmbits_set: "))
            cfg = model.make(values, name=f"{cfg.label()}+" + ",".join(f"{k}={v}" for k, v in set_mark.kwargs.items()))
    except InputError as exc:
        problem = str(exc)
    else:
        return cfg
    pytest.fail(f"mmbits: {problem}", pytrace=False)


@pytest.fixture
def mmbits_config(request: pytest.FixtureRequest) -> Any:
    """The Config selected by marker, command-line option, or the default preset."""
    return _selected_config(request)


class LayoutGetter:
    """mmbits_layout("ptdesc") or mmbits_layout["ptdesc"]: resolved for the test's config."""

    def __init__(self, config: Any):
        self.config = config

    def __call__(self, struct: str) -> Any:
        from mmbits.errors import InputError
        from mmbits.layout.registry import layouts

        try:
            return layouts().resolve(struct, self.config)
        except InputError as exc:
            problem = str(exc)
        pytest.fail(f"mmbits: {problem}", pytrace=False)

    __getitem__ = __call__


@pytest.fixture
def mmbits_layout(mmbits_config: Any) -> LayoutGetter:
    """Resolved layouts for the selected config: mmbits_layout("page")."""
    return LayoutGetter(mmbits_config)


@pytest.fixture
def mmbits_flags(mmbits_config: Any) -> Any:
    """The page->flags word (FlagsWord) of the selected config."""
    from mmbits.flags.packing import compute

    return compute(mmbits_config)


MAX_NPAGES = 1 << 20  # 64 MB of 64-byte struct pages; the emulator's tests use a few hundred


@pytest.fixture
def mmbits_machine(mmbits_config: Any, request: pytest.FixtureRequest) -> Any:
    """A fresh emulator (mmbits.emu.Machine) on the selected config, running
    the design of the mmbits_variant marker (default: v6.19+fixes+hotplug, every known hole closed)."""
    from mmbits.emu.machine import Machine
    from mmbits.errors import InputError

    mark = request.node.get_closest_marker("mmbits_variant")
    variant = mark.args[0] if mark is not None and mark.args else "v6.19+fixes+hotplug"
    options = dict(mark.kwargs) if mark is not None else {}
    npages = options.get("npages")
    if npages is not None and (not isinstance(npages, int) or not 1 <= npages <= MAX_NPAGES):
        # 10**12 struct pages would be a raw MemoryError (64 TB of emulated struct pages)
        pytest.fail(f"mmbits: mmbits_variant: npages={str(npages)[:40]} is not between 1 and {MAX_NPAGES} "
                    "(each emulated page is a real struct page in memory)", pytrace=False)
    try:
        return Machine(mmbits_config, variant, **options)
    except InputError as exc:
        problem = str(exc)
    except MemoryError:
        problem = f"mmbits_variant: not enough memory for npages={npages}"
    except TypeError as exc:  # an option Machine does not take
        problem = f"mmbits_variant: {exc}"
    pytest.fail(f"mmbits: {problem}", pytrace=False)
