"""BTF tests: every test gets its own cache directory, so no test reads or writes the user's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def btf_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("MMBITS_CACHE_DIR", str(cache))
    monkeypatch.delenv("MMBITS_CACHE", raising=False)
    return cache


@pytest.fixture(scope="session")
def ref_blob(ref_btf: Path) -> bytes:
    return ref_btf.read_bytes()
