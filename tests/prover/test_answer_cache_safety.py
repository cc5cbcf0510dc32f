"""The `check` answer cache follows the same rules as the BTF cache (issue #16): a planted
symlink or someone else's entry is never read, entries are 0600, and a special file
given as input is not hashed (the run reads it with its own bounds)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mmbits.prover import cache as answers


def test_entries_are_private_and_bound_to_their_key(private_cache: Path) -> None:
    key = answers.key_of({"expr": "BIT(3)"}, {})
    assert key is not None
    answers.store(key, {"verdict": "SAFE"})
    entry = private_cache / "check" / f"{key}.json"
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE((private_cache / "check").stat().st_mode) == 0o700
    assert answers.load(key) == {"verdict": "SAFE"}
    other = answers.key_of({"expr": "BIT(4)"}, {})
    assert other is not None
    os.replace(entry, private_cache / "check" / f"{other}.json")  # a swapped entry
    assert answers.load(other) is None


def test_a_symlinked_entry_is_not_followed(private_cache: Path, tmp_path: Path) -> None:
    key = answers.key_of({"expr": "BIT(5)"}, {})
    assert key is not None
    answers.store(key, {"verdict": "SAFE"})
    entry = private_cache / "check" / f"{key}.json"
    target = tmp_path / "elsewhere.json"
    os.replace(entry, target)
    entry.symlink_to(target)
    assert answers.load(key) is None
    entry.unlink()
    entry.symlink_to("/dev/zero")
    assert answers.load(key) is None


def test_special_input_files_are_not_hashed(private_cache: Path) -> None:
    assert answers.key_of({"expr": "BIT(1)"}, {"proposal": "/dev/zero"}) is None
