"""Proposal files: the object check and simulate share."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbits.errors import InputError
from mmbits.proposal import load_proposal

GOOD = """proposal: PTDESC_TYPE_KERNEL
expr: BIT(0)
word: ptdesc.__page_type
kind: kernel-pgtable
set_at: pte_free_kernel
test_at: pagetable_free
clear_at: never
"""


def test_load(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(GOOD)
    prop = load_proposal(p)
    assert (prop.name, prop.expr, prop.struct, prop.field, prop.kind) == (
        "PTDESC_TYPE_KERNEL", "BIT(0)", "ptdesc", "__page_type", "kernel-pgtable")
    assert prop.lifecycle


@pytest.mark.parametrize("text, message, line", [
    (GOOD.replace("kind: kernel-pgtable", "kind: kernel-pgtabel"), "did you mean kernel-pgtable", 4),
    (GOOD.replace("set_at: pte_free_kernel", "set_at: somewhere"), "unknown step", 5),
    (GOOD.replace("word: ptdesc.__page_type", "word: ptdesc"), "STRUCT.FIELD", 3),
    (GOOD + "shell: rm -rf /\n", "unknown key 'shell'", 8),
    ("expr: !!python/object/apply:os.system ['true']\nword: page.flags\n", "YAML error", 1),
    ("word: page.flags\n", "`expr:` is missing", 1),
])
def test_bad_proposals(tmp_path: Path, text: str, message: str, line: int) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(text)
    with pytest.raises(InputError, match=message) as exc:
        load_proposal(p)
    assert exc.value.file == str(p) and exc.value.line == line


def test_readme_documents_every_key_and_step_and_its_example_loads(tmp_path: Path) -> None:
    """README "Proposal files": a row for every key the loader accepts, every lifecycle step
    named, and the example is a proposal the loader takes as it stands."""
    import re

    from mmbits.proposal import KEYS, STEPS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("\n## Proposal files\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {k for line in rows for k in re.findall(r"`(\w+)`", line.split("|")[1])}
    assert documented == set(KEYS)
    steps_row = next(line for line in rows if line.startswith("| `set_at`"))
    assert set(STEPS) <= set(re.findall(r"`(\w+)`", steps_row.split("|")[3]))
    (example,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    path = tmp_path / "example.yaml"
    path.write_text(example)
    prop = load_proposal(path)
    assert (prop.name, prop.expr, prop.word) == ("PTDESC_TYPE_KERNEL", "BIT(0)", "ptdesc.__page_type")
