"""docs/ARCHITECTURE.md names every module of the package (issue 11: "matches the layout
module by module"), so a module added without a line there fails here, not in review."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "checker" / "mmbits"
DOC = ROOT / "docs" / "ARCHITECTURE.md"


def _package_rows(text: str) -> dict[str, str]:
    """The table row of each sub-package (`| \\`btf/\\` | ... |`), by package path."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*`([\w/]+)/`\s*\|", line)
        if m:
            rows[m.group(1)] = line
    return rows


def _undescribed() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    rows = _package_rows(text)
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) == 1:
            named = f"`{rel.as_posix()}`" in text
        else:
            # a sub-package's module is named in its package's row: `reader`, `reader.py`, `reader (`
            row = rows.get("/".join(rel.parts[:-1]), "")
            named = re.search(r"`" + re.escape(path.stem) + r"[`.( ]", row) is not None
        if not named:
            missing.append(rel.as_posix())
    return missing


def test_every_module_is_described() -> None:
    assert _undescribed() == [], "modules docs/ARCHITECTURE.md does not name (add them to their package's row)"


def test_the_check_sees_a_module_left_out(tmp_path: Path, monkeypatch) -> None:
    """The check itself is not vacuous: without the btf/ row, btf/reader.py is reported."""
    text = DOC.read_text(encoding="utf-8")
    doc = tmp_path / "ARCHITECTURE.md"
    doc.write_text("\n".join(line for line in text.splitlines() if not line.startswith("| `btf/`")), encoding="utf-8")
    monkeypatch.setitem(globals(), "DOC", doc)
    assert "btf/reader.py" in _undescribed()
