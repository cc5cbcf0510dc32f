"""A report as data (sections of paragraphs, code, pictures and tables), and
its two renderings: one self-contained HTML page (inline CSS and SVG, no
script, no network) and Markdown with the pictures as sibling .svg files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

from mmbits import __version__


@dataclass
class Para:
    text: str
    css: str = ""


@dataclass
class Pre:
    text: str
    caption: str = ""
    collapsed: str = ""  # when set: folded away under this summary (raw JSON, long dumps)


@dataclass
class Picture:
    svg: str
    name: str  # file stem for Markdown
    caption: str = ""


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    row_css: list[str] = field(default_factory=list)  # ok | bad | warn | "" per row


@dataclass
class Banner:
    text: str
    ok: bool
    detail: str = ""


Block = Para | Pre | Picture | Table | Banner


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Document:
    title: str
    subtitle: str
    sections: list[Section]
    stem: str  # output file name without extension


CSS = """
:root { --ink:#1a1a1a; --muted:#5f6368; --line:#e3e3e3; --ok:#1b7f3b; --bad:#c62828; --warn:#b26a00; --bg:#fbfbfa; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
header { padding:18px 28px 10px; background:#fff; border-bottom:1px solid var(--line); }
header h1 { margin:0 0 4px; font-size:22px; }
header p { margin:0; color:var(--muted); }
nav { position:sticky; top:0; z-index:2; background:#fff; border-bottom:1px solid var(--line); padding:6px 28px;
      white-space:nowrap; overflow-x:auto; }
nav a { color:#1a5fb4; text-decoration:none; margin-right:18px; font-size:14px; }
main { max-width:1320px; margin:0 auto; padding:8px 28px 40px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:14px 20px 18px; margin:18px 0; }
h2 { font-size:18px; margin:4px 0 10px; }
.figure { overflow-x:auto; margin:8px 0 4px; }
.figure svg { max-width:100%; height:auto; display:block; }
.caption { color:var(--muted); font-size:13px; margin:2px 0 10px; }
pre { background:#f6f8fa; border:1px solid var(--line); border-radius:6px; padding:10px 12px; overflow-x:auto;
      font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; }
table { border-collapse:collapse; width:100%; font-size:13.5px; margin:6px 0; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f3f3f3; font-weight:600; }
tr.ok td:first-child { color:var(--ok); font-weight:600; }
tr.bad td { background:#fdecea; }
tr.bad td:first-child { color:var(--bad); font-weight:600; }
tr.warn td:first-child { color:var(--warn); font-weight:600; }
td code, p code { font:12.5px ui-monospace,Menlo,Consolas,monospace; background:#f3f3f3; padding:0 3px; border-radius:3px; }
.banner { border-radius:8px; padding:12px 16px; font-size:18px; font-weight:700; margin:4px 0 8px; }
.banner.ok { background:#e6f4ea; color:var(--ok); border:1px solid #b7dfc2; }
.banner.bad { background:#fdecea; color:var(--bad); border:1px solid #f5c2c0; }
.banner span { display:block; font-size:14px; font-weight:400; color:var(--ink); margin-top:2px; }
details summary { cursor:pointer; color:#1a5fb4; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:10px; }
@media print { nav { display:none; } section { break-inside:avoid; } }
"""


def _inline(text: str) -> str:
    """Escape, then turn `code` spans into <code> and **strong** into <strong>."""
    parts = escape(text).split("`")
    out = []
    for i, p in enumerate(parts):
        if i % 2:
            out.append(f"<code>{p}</code>")
        else:
            bits = p.split("**")
            out.append("".join(f"<strong>{b}</strong>" if j % 2 else b for j, b in enumerate(bits)))
    return "".join(out)


def render_html(doc: Document) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(doc.title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<header><h1>{escape(doc.title)}</h1><p>{_inline(doc.subtitle)}</p></header>",
        "<nav>" + "".join(f'<a href="#{s.id}">{escape(s.title)}</a>' for s in doc.sections) + "</nav>",
        "<main>",
    ]
    for s in doc.sections:
        out.append(f'<section id="{s.id}"><h2>{escape(s.title)}</h2>')
        for b in s.blocks:
            out.append(_html_block(b))
        out.append("</section>")
    out.append(f"</main><footer>mmbits {escape(__version__)}</footer></body></html>")
    return "\n".join(out) + "\n"


def _html_block(b: Block) -> str:
    if isinstance(b, Para):
        return f'<p class="{b.css}">{_inline(b.text)}</p>' if b.css else f"<p>{_inline(b.text)}</p>"
    if isinstance(b, Pre):
        cap = f'<div class="caption">{_inline(b.caption)}</div>' if b.caption else ""
        if b.collapsed:
            return f"<details><summary>{_inline(b.collapsed)}</summary><pre>{escape(b.text)}</pre>{cap}</details>"
        return f"<pre>{escape(b.text)}</pre>{cap}"
    if isinstance(b, Picture):
        cap = f'<div class="caption">{_inline(b.caption)}</div>' if b.caption else ""
        return f'<div class="figure">{_own_ids(b.svg, b.name)}</div>{cap}'
    if isinstance(b, Table):
        head = "".join(f"<th>{escape(h)}</th>" for h in b.headers)
        rows = []
        for i, r in enumerate(b.rows):
            css = b.row_css[i] if i < len(b.row_css) else ""
            cls = f' class="{css}"' if css else ""
            rows.append(f"<tr{cls}>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    if isinstance(b, Banner):
        cls = "ok" if b.ok else "bad"
        detail = f"<span>{_inline(b.detail)}</span>" if b.detail else ""
        return f'<div class="banner {cls}">{escape(b.text)}{detail}</div>'
    raise TypeError(type(b).__name__)


_SVG_ID = re.compile(r'(\bid="|url\(#|href="#)([A-Za-z][\w.-]*)')


def _own_ids(svg: str, name: str) -> str:
    """Prefix every id an inline SVG defines and refers to with the picture's name,
    so several pictures on one HTML page never share an id (each has its own hatch
    pattern); a sibling .svg file keeps its ids as they are."""
    prefix = re.sub(r"[^\w-]", "-", name)
    return _SVG_ID.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)


def render_markdown(doc: Document) -> tuple[str, dict[str, str]]:
    """(markdown text, {file name: svg}) -- the pictures go next to the .md file."""
    files: dict[str, str] = {}
    out = [f"# {doc.title}", "", doc.subtitle, ""]
    out.append(" · ".join(f"[{s.title}](#{s.id})" for s in doc.sections))
    out.append("")
    for s in doc.sections:
        out.append(f'<a id="{s.id}"></a>')
        out.append(f"## {s.title}")
        out.append("")
        for b in s.blocks:
            out.extend(_md_block(b, doc.stem, files))
            out.append("")
    out.append(f"_mmbits {__version__}_")
    return "\n".join(out) + "\n", files


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_block(b: Block, stem: str, files: dict[str, str]) -> list[str]:
    if isinstance(b, Para):
        return [b.text]
    if isinstance(b, Pre):
        lines = ["```", b.text, "```"] + ([f"_{b.caption}_"] if b.caption else [])
        if b.collapsed:
            return [f"<details><summary>{escape(b.collapsed)}</summary>", "", *lines, "", "</details>"]
        return lines
    if isinstance(b, Picture):
        name = f"{stem}-{b.name}.svg"
        files[name] = b.svg
        return [f"![{b.name}]({name})"] + ([f"_{b.caption}_"] if b.caption else [])
    if isinstance(b, Table):
        lines = ["| " + " | ".join(_md_cell(h) for h in b.headers) + " |",
                 "|" + "|".join("---" for _ in b.headers) + "|"]
        for r in b.rows:
            lines.append("| " + " | ".join(_md_cell(c) for c in r) + " |")
        return lines
    if isinstance(b, Banner):
        mark = "✅" if b.ok else "❌"
        return [f"**{mark} {b.text}**" + (f" — {b.detail}" if b.detail else "")]
    raise TypeError(type(b).__name__)
