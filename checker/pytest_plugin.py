"""pytest plugin (entry point `pytest11: pagebits`): fixtures for page
descriptor tests, selectable per run and per test.

    def test_ptdesc_fits(pagebits_layout):
        assert pagebits_layout("ptdesc").size <= pagebits_layout("page").size

    @pytest.mark.pagebits_preset("i386-pae-sparsemem")
    def test_on_i386(pagebits_config): ...

    @pytest.mark.pagebits_variant("sync", npages=512)
    def test_sync_frees_at_once(pagebits_machine): ...

    pytest --pagebits-preset arm64-max        # or --pagebits-config /proc/config.gz

Assertions that print what `pagebits check` would are in pagebits.testing;
hypothesis strategies in pagebits.strategies; a RuleBasedStateMachine base
for the allocator and the deferred free in pagebits.stateful.

This module is imported at every pytest start-up, so it imports nothing from
pagebits at module level: fixtures load the engine only when a test asks for
them (bench/bench_plugin_startup.py measures the cost).
"""

from __future__ import annotations

from typing import Any

import pytest

DEFAULT_PRESET = "x86_64-6.18"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pagebits", "pagebits page descriptor fixtures")
    group.addoption("--pagebits-config", metavar="FILE", default=None,
                    help="kernel .config (plain or gzip) for the pagebits_* fixtures")
    group.addoption("--pagebits-preset", metavar="NAME", default=None,
                    help=f"named pagebits config for the pagebits_* fixtures (default {DEFAULT_PRESET})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "pagebits_preset(name): run this test's pagebits fixtures on a preset")
    config.addinivalue_line("markers", "pagebits_config(path): run this test's pagebits fixtures on a .config")
    config.addinivalue_line("markers", "pagebits_set(**symbols): override config symbols for this test")
    config.addinivalue_line("markers", "pagebits_variant(name, **machine_options): deferred-free design "
                            "(pagebits simulate --variant) and Machine options (npages, sva, async_free) "
                            "for pagebits_machine")


def _selected_config(request: pytest.FixtureRequest) -> Any:
    from pagebits.errors import InputError
    from pagebits.kconfig.model import load_model

    preset_mark = request.node.get_closest_marker("pagebits_preset")
    config_mark = request.node.get_closest_marker("pagebits_config")
    set_mark = request.node.get_closest_marker("pagebits_set")
    try:
        if config_mark is not None:
            from pagebits.kconfig.dotconfig import config_from_file

            cfg, _ = config_from_file(config_mark.args[0])
        elif preset_mark is not None:
            from pagebits.kconfig.presets import preset

            cfg = preset(preset_mark.args[0])
        elif request.config.getoption("--pagebits-config"):
            from pagebits.kconfig.dotconfig import config_from_file

            cfg, _ = config_from_file(request.config.getoption("--pagebits-config"))
        else:
            from pagebits.kconfig.presets import preset

            cfg = preset(request.config.getoption("--pagebits-preset") or DEFAULT_PRESET)
        if set_mark is not None and set_mark.kwargs:
            model = load_model()
            values = dict(cfg.primary)
            values.update(model.normalise(set_mark.kwargs, where="pagebits_set: "))
            cfg = model.make(values, name=f"{cfg.label()}+" + ",".join(f"{k}={v}" for k, v in set_mark.kwargs.items()))
    except InputError as exc:
        problem = str(exc)
    else:
        return cfg
    pytest.fail(f"pagebits: {problem}", pytrace=False)


@pytest.fixture
def pagebits_config(request: pytest.FixtureRequest) -> Any:
    """The Config selected by marker, command-line option, or the default preset."""
    return _selected_config(request)


class LayoutGetter:
    """pagebits_layout("ptdesc") or pagebits_layout["ptdesc"]: resolved for the test's config."""

    def __init__(self, config: Any):
        self.config = config

    def __call__(self, struct: str) -> Any:
        from pagebits.errors import InputError
        from pagebits.layout.registry import layouts

        try:
            return layouts().resolve(struct, self.config)
        except InputError as exc:
            problem = str(exc)
        pytest.fail(f"pagebits: {problem}", pytrace=False)

    __getitem__ = __call__


@pytest.fixture
def pagebits_layout(pagebits_config: Any) -> LayoutGetter:
    """Resolved layouts for the selected config: pagebits_layout("page")."""
    return LayoutGetter(pagebits_config)


@pytest.fixture
def pagebits_flags(pagebits_config: Any) -> Any:
    """The page->flags word (FlagsWord) of the selected config."""
    from pagebits.flags.packing import compute

    return compute(pagebits_config)


@pytest.fixture
def pagebits_machine(pagebits_config: Any, request: pytest.FixtureRequest) -> Any:
    """A fresh emulator (pagebits.emu.Machine) on the selected config, running
    the design of the pagebits_variant marker (default: upstream)."""
    from pagebits.emu.machine import Machine
    from pagebits.errors import InputError

    mark = request.node.get_closest_marker("pagebits_variant")
    variant = mark.args[0] if mark is not None and mark.args else "upstream"
    options = dict(mark.kwargs) if mark is not None else {}
    try:
        return Machine(pagebits_config, variant, **options)
    except InputError as exc:
        problem = str(exc)
    except TypeError as exc:  # an option Machine does not take
        problem = f"pagebits_variant: {exc}"
    pytest.fail(f"pagebits: {problem}", pytrace=False)
