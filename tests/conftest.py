"""Shared test setup: hypothesis profiles, data paths, an in-process CLI runner."""

from __future__ import annotations

import lzma
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from util.clirun import run_cli

pytest_plugins = ["pytester"]

# CI: bounded and deterministic. `--hypothesis-profile=fuzz` runs long locally.
settings.register_profile(
    "ci", max_examples=40, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.register_profile(
    "fuzz", max_examples=5000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# the BTF index cache must never touch the user's cache directory from tests
if "MMBITS_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["MMBITS_CACHE_DIR"] = tempfile.mkdtemp(prefix="mmbits-test-cache-")

DATA = Path(__file__).parent / "data"
REF_CONFIG = DATA / "linux-6.18-x86_64.config"
REF_PAHOLE = DATA / "linux-6.18-x86_64.pahole.txt"
OLD_CONFIG = DATA / "linux-6.12-amd64.config"
OLD_PAHOLE = DATA / "linux-6.12-amd64.pahole.txt"


def btf_blob(name: str, tmp_root: Path) -> Path:
    """Decompress a test BTF blob (stored .xz) once per session directory."""
    out = tmp_root / name
    if not out.exists():
        with lzma.open(DATA / f"{name}.xz") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return out


@pytest.fixture(scope="session")
def ref_btf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return btf_blob("linux-6.18-x86_64.btf", tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def old_btf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return btf_blob("linux-6.12-amd64.btf", tmp_path_factory.getbasetemp())


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache root of this test's own (every mmbits cache lives under it), caching on."""
    from mmbits import cachedir

    root = tmp_path / "cache"
    monkeypatch.setenv("MMBITS_CACHE_DIR", str(root))
    monkeypatch.delenv("MMBITS_CACHE", raising=False)
    cachedir._checked.clear()
    return root
