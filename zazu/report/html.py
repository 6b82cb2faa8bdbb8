"""Small HTML builders for the report: everything from the run folder is escaped."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1180px;
       color: #222; padding: 0 16px; }
h1 { font-size: 1.6em; margin-bottom: 4px; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
h3 { margin-bottom: 6px; }
nav a { margin-right: 12px; } .meta { color: #555; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.88em; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } tr.failed td { color: #a00; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.na { color: #8a5a00; background: #fff6e0; border-left: 4px solid #e0a800; padding: 6px 10px; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; } .plots img { max-width: 100%; border: 1px solid #eee; }
.scroll { overflow-x: auto; } figure { margin: 0; } figcaption { font-size: 0.85em; color: #555; }
td { max-width: 22em; overflow-wrap: break-word; }
p.lead { font-size: 1.1em; } code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 10px; margin: 12px 0; }
.tile { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; background: #fafafa; }
.tile .value { font-size: 1.6em; font-weight: 600; } .tile .label { color: #333; }
.tile .detail { color: #666; font-size: 0.85em; margin-top: 2px; }
.tile.lead { background: #eef6ee; border-color: #9c9; } .tile.good .value { color: #267326; }
.tile.bad .value { color: #a00; } .tile.missing .value { color: #8a5a00; }
pre.commands { background: #f5f5f5; border: 1px solid #ddd; padding: 8px 12px; white-space: pre-wrap;
               overflow-wrap: anywhere; }
"""

# Lets a headless browser check (zazu.report.screenshot) confirm every figure actually loaded, which
# of the elements marked `data-check` are wholly in the first screen, and whether the page is wider than it.
IMAGES_LOADED_SCRIPT = """
window.addEventListener("load", function () {
  var images = document.images, loaded = 0;
  for (var i = 0; i < images.length; i++) { if (images[i].complete && images[i].naturalWidth > 0) loaded++; }
  document.body.setAttribute("data-images-loaded", loaded + "/" + images.length);
  // the first screen's height: #first-screen=H in the address (a browser's window chrome varies), else the window's
  var asked = /first-screen=(\\d+)/.exec(location.hash), height = asked ? parseInt(asked[1], 10) : window.innerHeight;
  var seen = [], marked = document.querySelectorAll("[data-check]");
  for (var j = 0; j < marked.length; j++) {
    var box = marked[j].getBoundingClientRect();
    if (box.width > 0 && box.top >= 0 && box.bottom <= height && box.right <= window.innerWidth) {
      seen.push(marked[j].getAttribute("data-check"));
    }
  }
  document.body.setAttribute("data-first-screen", seen.join(" "));
  document.body.setAttribute("data-page-width", document.documentElement.scrollWidth + "/" + window.innerWidth);
});
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """Numbers to 4 significant digits (integers as they are), anything else as text."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
    return str(value)


def is_number_text(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except (TypeError, ValueError):
        return False


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], row_classes: Iterable[str] | None = None) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    classes = list(row_classes) if row_classes is not None else None
    for i, row in enumerate(rows):
        cells = []
        for value in row:
            if isinstance(value, str) and is_number_text(value):  # CSV cells arrive as text
                value = float(value)
            text = fmt(value)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cells.append(f"<td class=\"num\">{esc(text)}</td>" if numeric else f"<td>{esc(text)}</td>")
        css = f" class=\"{esc(classes[i])}\"" if classes and classes[i] else ""
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f"<div class=\"scroll\"><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def not_available(reason: str) -> str:
    return f"<p class=\"na\">Not available: {esc(reason)}</p>"


def paragraph(text: str) -> str:
    return f"<p>{esc(text)}</p>"


def image(src: str, caption: str) -> str:
    return (f"<figure><img src=\"{esc(src)}\" alt=\"{esc(caption)}\">"
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def images(items: Sequence[tuple[str, str]]) -> str:
    return "<div class=\"plots\">" + "".join(image(src, caption) for src, caption in items) + "</div>"


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    body: str


def page(title: str, meta: str, sections: Sequence[Section]) -> str:
    nav = " ".join(f"<a href=\"#{esc(s.anchor)}\">{esc(s.title)}</a>" for s in sections)
    parts = [f"<section id=\"{esc(s.anchor)}\"><h2>{esc(s.title)}</h2>{s.body}</section>" for s in sections]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(title)}</title><style>{STYLE}</style><script>{IMAGES_LOADED_SCRIPT}</script></head>"
        f"<body><h1>{esc(title)}</h1><p class=\"meta\">{meta}</p><nav>{nav}</nav>{''.join(parts)}</body></html>\n"
    )
