"""The soundness suite at the data level (issue 14 item 7): hypothesis mutates a copy of
layouts/ (the YAML a maintainer edits), runs `mmbits check` on it through $MMBITS_LAYOUTS,
and the verdict of a proposal that was SAFE on the real data must no longer be SAFE.

Mutations: a live flag moved onto the proposal's bit (the asked kind added to the flag
that owns it), an alias of that bit for the asked kind and page, and a union arm of a
list node over the word. Each example is a whole `mmbits` process on its own data (no
cache of the real layouts can answer for it); the ci profile runs a few derandomized
examples, the fuzz profile many more.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmbits.flags.packing import compute
from mmbits.kconfig.presets import preset
from mmbits.paths import layouts_root
from mmbits.proposal import Proposal
from mmbits.prover import check

PRESET = "x86_64-6.18"
HEAD_KINDS = ["pgtable", "kernel-pgtable", "anon", "file", "slab", "zsmalloc", "reserved", "buddy"]
WORDS = ["page.flags", "ptdesc.pt_flags", "folio._flags_1"]
# a whole process per example: a few in ci, many in the fuzz profile
EXAMPLES = max(4, settings.default.max_examples // 10)
SETTINGS = settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])


@cache
def _safe_bits(word: str, kind: str) -> tuple[int, ...]:
    """Flag bits the real data calls SAFE for this word and kind (the unmutated answer)."""
    cfg = preset(PRESET)
    out = []
    for b in range(compute(cfg).nr_pageflags):
        r = check(Proposal(f"BIT({b})", word, None if word == "folio._flags_1" else kind), config=cfg,
                  lifecycle=False)
        if r.verdict == "safe":
            out.append(b)
    return tuple(out)


def _mmbits_check(root: Path, word: str, kind: str | None, bit: int) -> tuple[int, dict[str, Any] | None, str]:
    env = dict(os.environ, MMBITS_LAYOUTS=str(root), MMBITS_CACHE="off")
    args = [sys.executable, "-m", "mmbits", "check", f"BIT({bit})", "--word", word, "--preset", PRESET, "--json",
            "--static"]
    if kind:
        args += ["--kind", kind]
    p = subprocess.run(args, capture_output=True, env=env, timeout=300)
    try:
        doc = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        doc = None
    return p.returncode, doc, p.stderr.decode(errors="replace")


def _copy(tmp: Path) -> Path:
    root = tmp / "layouts"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(layouts_root(), root, symlinks=False)
    return root


def _edit(path: Path, change: Callable[[Any], None]) -> None:
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _assert_not_safe(root: Path, word: str, kind: str | None, bit: int, what: str) -> None:
    code, doc, err = _mmbits_check(root, word, kind, bit)
    assert "Traceback" not in err, err[-800:]
    verdict = doc["verdict"] if doc is not None else None
    # UNSAFE, UNKNOWN or data the tool refuses (exit 2, no verdict): anything but SAFE
    assert verdict != "SAFE", (what, word, kind, bit, code, verdict, err[-300:])
    assert doc is not None or code == 2, (what, code, err[-300:])


def _flag_name(bit: int) -> str:
    return compute(preset(PRESET)).flags[bit].name


@SETTINGS
@given(st.sampled_from(WORDS), st.sampled_from(HEAD_KINDS), st.sampled_from(["kind", "alias"]), st.data())
def test_a_live_flag_moved_onto_a_safe_bit_is_never_safe(tmp_path_factory: pytest.TempPathFactory, word: str,
                                                          kind: str, how: str, data: st.DataObject) -> None:
    second = word == "folio._flags_1"
    safe = _safe_bits(word, kind)
    if not safe:
        return
    bit = data.draw(st.sampled_from(safe), label="bit")
    flag = _flag_name(bit)
    root = _copy(tmp_path_factory.mktemp("mut"))
    if how == "kind" and not second:
        def add_kind(doc: Any) -> None:
            for entry in doc["flags"]:
                (name, spec), = entry.items()
                if name == flag:
                    spec["kinds"] = [*spec.get("kinds", []), kind]
        _edit(root / "kernel" / "pageflags.yaml", add_kind)
    else:
        # a new alias of the bit, for this kind, on the page the word is in
        def add_alias(doc: Any) -> None:
            doc["aliases"].append({"PG_mutant": {"base": flag, "kinds": [kind], "page": "second" if second else "head",
                                                 "doc": "soundness mutation"}})
        _edit(root / "kernel" / "pageflags.yaml", add_alias)
    _assert_not_safe(root, word, None if second else kind, bit, f"{how}: {flag}")


@SETTINGS
@given(st.sampled_from(["pgtable", "kernel-pgtable"]), st.data())
def test_a_list_node_arm_over_the_word_is_never_safe(tmp_path_factory: pytest.TempPathFactory, kind: str,
                                                     data: st.DataObject) -> None:
    safe = _safe_bits("ptdesc.pt_flags", kind)
    if not safe:
        return
    bit = data.draw(st.sampled_from(safe), label="bit")
    root = _copy(tmp_path_factory.mktemp("arm"))

    def add_arm(doc: Any) -> None:
        members = doc["members"]
        i = next(i for i, m in enumerate(members) if "pt_flags" in m)
        word = members[i]
        since = word.pop("since", None)
        # an 8-byte llist_node sharing the word: list code writes a pointer over the flags
        union: dict[str, Any] = {"union": [word, {"mutant_node": "struct llist_node"}]}
        if since is not None:
            union["since"] = since
        members[i] = union
    _edit(root / "kernel" / "ptdesc.yaml", add_arm)
    _assert_not_safe(root, "ptdesc.pt_flags", kind, bit, "list arm")


def test_the_unmutated_copy_is_still_safe(tmp_path: Path) -> None:
    """The harness itself: a copy of the real data gives the SAFE answer back, so the
    mutation tests fail only because of their mutation."""
    bit = _safe_bits("ptdesc.pt_flags", "kernel-pgtable")[0]
    code, doc, err = _mmbits_check(_copy(tmp_path), "ptdesc.pt_flags", "kernel-pgtable", bit)
    assert doc is not None and doc["verdict"] == "SAFE", (code, err[-500:])
