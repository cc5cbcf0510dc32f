"""`mmbits report`: the layout report is complete, self-contained and deterministic."""

from __future__ import annotations

import re

import pytest

from mmbits.layout.registry import DESCRIPTORS

from util.clirun import assert_clean_error


def test_html_is_one_self_contained_file(cli, tmp_path):
    r = cli("report", "--out", str(tmp_path))
    assert r.code == 0, r.err
    (path,) = [p for p in tmp_path.iterdir()]
    html = path.read_text()
    assert r.out.strip() == str(path)
    # no script, no external resource of any kind
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert not re.search(r"url\((?!#)", html)  # only url(#hatch), an inline pattern
    # every part the issue asks for
    for name in DESCRIPTORS:
        assert f"struct {name} {{" in html
    for svg_class in ("flagsmap", "bytemap", "flagstrips", "freebits"):
        assert f'class="{svg_class}"' in html
    assert "TABLE_MATCH(compound_head, pt_list)" in html and "tail-marker" in html
    assert "memdesc RFC" in html and "folio" in html
    assert "LAST_CPUPID 50-35" in html  # the reference kernel's packing, row A


def test_markdown_and_pictures(cli, tmp_path):
    r = cli("report", "--preset", "arm64-max", "--format", "md", "--out", str(tmp_path))
    # the exit rule: arm64-max's flags word has warnings (LAST_CPUPID out of the word)
    assert r.code == 1, r.err
    assert "WARNING:field-out-of-word: LAST_CPUPID needs 20 bits" in r.out
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "layout-arm64-max-domain-default.md" in files and len([f for f in files if f.endswith(".svg")]) == 4
    md = (tmp_path / "layout-arm64-max-domain-default.md").read_text()
    assert "LAST_CPUPID needs 20 bits and does not fit" in md  # D3: out of the word
    assert "```\nstruct page {" in md


def test_domain_option_and_config_file(cli, tmp_path, monkeypatch):
    """Also the colour contract of `report`: the paths it prints are coloured on request,
    and NO_COLOR turns colour off."""
    from conftest import REF_CONFIG

    r = cli("report", "--domain", "default", "--out", str(tmp_path / "d"), "--color", "always")
    assert r.code == 0 and "layout-x86_64-6.18-domain-default.html" in r.out and "\x1b[" in r.out
    monkeypatch.setenv("NO_COLOR", "1")
    r = cli("report", "--config", str(REF_CONFIG), "--out", str(tmp_path / "c"))
    assert r.code == 0, r.err
    assert "\x1b[" not in r.out and r.out.strip().endswith(".html")


@pytest.mark.parametrize("args", [
    ("report", "--preset", "no-such-preset"),
    ("report", "--format", "pdf"),
    ("report", "--domain", "no-such-domain"),
])
def test_bad_input(cli, tmp_path, args):
    assert_clean_error(cli(*args, "--out", str(tmp_path)))
    assert list(tmp_path.iterdir()) == []


# The default run has this property from test_examples.py: the same layout report, written
# fresh, must equal the committed reports/ copy byte for byte.
@pytest.mark.slow
def test_output_is_deterministic(tmp_path):
    from mmbits.report.api import write_layout_report

    a = write_layout_report(tmp_path / "a", "html")[0].read_bytes()
    b = write_layout_report(tmp_path / "b", "html")[0].read_bytes()
    assert a == b
