"""The on-disk domain index (kconfig.index) may make a check faster, never different:
a cold cache, a warm cache and no cache give the same groups and the same `check`
JSON; an edited layout file misses; a damaged, swapped or planted entry is ignored."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmbits.flags.packing import INPUT_SYMBOLS
from mmbits.kconfig import index
from mmbits.kconfig.domain import DomainPart, load_domain
from mmbits.paths import layouts_root


def _fresh(name: str) -> list[DomainPart]:
    """The domain's parts without their in-process memo (size, components)."""
    return [DomainPart(p.name, p.arch, p.vary, p.sets, p.model) for p in load_domain(name).parts]


def _groups(parts: list[DomainPart], relevant: tuple[str, ...]) -> list[tuple[int, dict[str, object], dict[str, object]]]:
    return [(g.count, g.config.primary, dict(g.config)) for p in parts for g in p.groups(relevant)]


@pytest.mark.parametrize("relevant", [INPUT_SYMBOLS, ("ARCH",), ("NR_CPUS_BITS", "SPINLOCK_SIZE")])
def test_cold_warm_and_off_give_the_same_groups(private_cache: Path, monkeypatch: pytest.MonkeyPatch,
                                               relevant: tuple[str, ...]) -> None:
    cold = _groups(_fresh("arm32"), relevant)
    entries = sorted((private_cache / "domain").glob("*.json"))
    assert entries, "the cold run wrote no index"
    warm = _groups(_fresh("arm32"), relevant)
    monkeypatch.setenv("MMBITS_CACHE", "off")
    off = _groups(_fresh("arm32"), relevant)
    assert cold == warm == off
    assert sum(n for n, _, _ in cold) == load_domain("arm32").size()


def test_sizes_come_back_equal(private_cache: Path) -> None:
    expected = [p._count() for p in _fresh("i386")]
    assert [p.size() for p in _fresh("i386")] == expected  # cold: computed and stored
    assert [p.size() for p in _fresh("i386")] == expected  # warm: read back


def _groups_entry(private_cache: Path, part: DomainPart) -> Path:
    key = index.key_of(part.identity(), ["groups", *sorted(part._owners(INPUT_SYMBOLS))])
    return private_cache / "domain" / f"{key}.json"


def _arm32_lts() -> list[DomainPart]:
    """arm32 over the longterm releases: a factor per component and a cross table
    (SECTION_SIZE_BITS reads VERSION and SPARSEMEM, in two components)."""
    return [p for p in _fresh("lts") if p.arch == "arm32"]


def test_a_damaged_or_swapped_entry_is_ignored(private_cache: Path) -> None:
    parts = _arm32_lts()
    reference = _groups(parts, INPUT_SYMBOLS)
    entry = _groups_entry(private_cache, parts[0])
    doc = json.loads(entry.read_bytes())
    assert len(doc["body"]["factors"]) > 1 and doc["body"]["cross"]["comps"]  # arm32 over releases has both
    # a factor entry or a cross row with the wrong width, a nested value, a zero count,
    # a factor dropped, a cross table short of a row, a truncated file, another key
    for damage in ("width", "cross-width", "nested", "count", "factor", "cross", "truncate", "key"):
        bad = json.loads(json.dumps(doc))
        factors, cross = bad["body"]["factors"], bad["body"]["cross"]
        if damage == "width":
            factors[0]["values"][0].append(1)
        elif damage == "cross-width":
            cross["values"][0].append(1)
        elif damage == "nested":
            factors[-1]["values"][0][-1] = [1, 2]
        elif damage == "count":
            factors[0]["counts"][0] = 0
        elif damage == "factor":
            del factors[-1]
        elif damage == "cross":
            del cross["values"][-1]
        elif damage == "key":
            bad["key"] = "0" * 64
        data = json.dumps(bad).encode()
        entry.write_bytes(data[: len(data) // 2] if damage == "truncate" else data)
        assert _groups(_arm32_lts(), INPUT_SYMBOLS) == reference, damage


def test_a_symlinked_entry_is_not_followed(private_cache: Path, tmp_path: Path) -> None:
    parts = _arm32_lts()
    reference = _groups(parts, INPUT_SYMBOLS)
    entry = _groups_entry(private_cache, parts[0])
    planted = tmp_path / "planted.json"
    doc = json.loads(entry.read_bytes())
    body = doc["body"]
    # a plausible entry that drops configs: a factor outside the cross table cut to one entry
    [factor] = [f for i, f in enumerate(body["factors"]) if i not in body["cross"]["comps"] and len(f["counts"]) > 1][:1]
    del factor["counts"][1:], factor["values"][1:]
    assert index.valid_groups(body)
    planted.write_text(json.dumps(doc))
    entry.unlink()
    entry.symlink_to(planted)
    assert _groups(_arm32_lts(), INPUT_SYMBOLS) == reference


def _check_json(env: dict[str, str]) -> dict[str, object]:
    cmd = [sys.executable, "-m", "mmbits", "check", "BIT(NR_PAGEFLAGS)", "--word", "ptdesc.pt_flags",
           "--kind", "kernel-pgtable", "--domain", "arm32", "--static", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=300)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_check_json_is_identical_cold_warm_and_off(tmp_path: Path) -> None:
    env = dict(os.environ, MMBITS_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("MMBITS_CACHE", None)
    cold = _check_json(env)
    assert list((tmp_path / "cache" / "domain").glob("*.json"))
    shutil.rmtree(tmp_path / "cache" / "check")  # the answer cache would skip the proof
    warm = _check_json(env)
    off = _check_json(dict(env, MMBITS_CACHE="off"))
    assert cold == warm == off


def test_editing_a_layout_file_invalidates_the_index(tmp_path: Path) -> None:
    copy = tmp_path / "layouts"
    shutil.copytree(layouts_root(), copy)
    env = dict(os.environ, MMBITS_CACHE_DIR=str(tmp_path / "cache"), MMBITS_LAYOUTS=str(copy))
    env.pop("MMBITS_CACHE", None)
    index_dir = tmp_path / "cache" / "domain"
    first = _check_json(env)
    written = set(index_dir.glob("*.json"))
    assert written
    # a comment changes no answer, but the data changed: nothing cached is reused
    kconfig = copy / "kernel" / "kconfig.yaml"
    kconfig.write_text(kconfig.read_text() + "\n# edited\n")
    assert _check_json(env)["configs_checked"] == first["configs_checked"]
    assert set(index_dir.glob("*.json")) - written
    # a wider range in domains.yaml: the domain is grouped afresh, not read back
    domains = copy / "kernel" / "domains.yaml"
    text = domains.read_text()
    arm32 = text.index("    - arch: arm32")
    assert "NR_CPUS: [1, 4]" in text[arm32:arm32 + 200]
    domains.write_text(text[:arm32] + text[arm32:].replace("NR_CPUS: [1, 4]", "NR_CPUS: [1, 4, 8]", 1))
    assert _check_json(env)["configs_checked"] > first["configs_checked"]
