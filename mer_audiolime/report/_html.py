"""Small HTML builders. Every piece of text goes through :func:`esc`; pages carry inline CSS only and a
Content-Security-Policy that forbids any network request (media and images must be ``data:`` URIs)."""

from __future__ import annotations

import html
import json
import math

import pandas as pd

__all__ = ["esc", "page", "table", "audio", "same_audio", "image", "section", "pre_json", "CSP"]

#: The page may load nothing: styles are inline, images and audio are data: URIs, no scripts at all.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; media-src data:"

_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 1rem 1.5rem 3rem; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.5rem; margin: .6rem 0 .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { font-size: 1.02rem; margin: 1.2rem 0 .4rem; }
.sub { color: #555; margin: 0 0 1rem; }
table { border-collapse: collapse; margin: .4rem 0 1rem; font-size: .88rem; }
th, td { border: 1px solid #ddd; padding: .2rem .5rem; text-align: left; vertical-align: top; }
.tbl { overflow-x: auto; } .tbl td { overflow-wrap: break-word; } .tbl td.num { white-space: nowrap; }
th { background: #f4f4f6; white-space: normal; overflow-wrap: break-word; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.players { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: .5rem 1rem; }
.player { border: 1px solid #e2e2e6; border-radius: 6px; padding: .4rem .6rem; background: #fafafa; }
.player .label { font-weight: 600; } .player .note { color: #666; font-size: .8rem; }
audio { width: 100%; margin-top: .25rem; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f6f6f8; padding: .6rem; overflow-x: auto; font-size: .8rem; }
.pos { color: #a4161a; } .neg { color: #1d4e89; }
footer { margin-top: 2.5rem; color: #777; font-size: .8rem; }
"""


def esc(value) -> str:
    """HTML-escape any value's text (quotes included)."""
    return html.escape(str(value), quote=True)


def _cell(value) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return '<td class="num">–</td>'
        return f'<td class="num">{value:.4g}</td>'
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'
    return f"<td>{esc(value)}</td>"


def table(frame: pd.DataFrame, *, index: bool = False, links: dict | None = None, caption: str = "") -> str:
    """An escaped HTML table of a DataFrame (floats to 4 significant digits).

    ``links`` maps a column name to ``{cell value: relative href}``; matching cells become links.
    """
    data = frame.reset_index() if index else frame
    head = "".join(f"<th>{esc(c)}</th>" for c in data.columns)
    body = []
    for row in data.itertuples(index=False):
        cells = []
        for col, value in zip(data.columns, row):
            href = (links or {}).get(col, {}).get(value)
            value = value.item() if hasattr(value, "item") else value
            cells.append(f'<td><a href="{esc(href)}">{esc(value)}</a></td>' if href else _cell(value))
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    rows = "".join(body)
    return f'<div class="tbl"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def audio(uri: str, label: str, *, note: str = "", anchor: str = "") -> str:
    """A labelled ``<audio controls>`` player for a ``data:`` URI (``anchor``: the player's id)."""
    note_html = f'<div class="note">{esc(note)}</div>' if note else ""
    ident = f' id="{esc(anchor)}"' if anchor else ""
    return (f'<div class="player"{ident}><div class="label">{esc(label)}</div>{note_html}'
            f'<audio controls preload="metadata" src="{esc(uri)}"></audio></div>')


def same_audio(anchor: str, label: str, first_label: str, *, note: str = "") -> str:
    """In place of a player whose audio is already on the page: a link to that player."""
    note_html = f'<div class="note">{esc(note)}</div>' if note else ""
    return (f'<div class="player"><div class="label">{esc(label)}</div>{note_html}'
            f'<div class="note">same audio as <a href="#{esc(anchor)}">{esc(first_label)}</a> '
            "(embedded once)</div></div>")


def image(uri: str, alt: str) -> str:
    """An ``<img>`` for a ``data:`` URI."""
    return f'<img alt="{esc(alt)}" src="{esc(uri)}">'


def section(title: str, body: str, *, level: int = 2, anchor: str = "") -> str:
    """A heading and its content (``anchor`` becomes the heading's id)."""
    ident = f' id="{esc(anchor)}"' if anchor else ""
    return f"<h{level}{ident}>{esc(title)}</h{level}>\n{body}\n"


def pre_json(value) -> str:
    """Pretty JSON in an escaped ``<pre>`` block."""
    return f"<pre>{esc(json.dumps(value, indent=2, default=str, sort_keys=False))}</pre>"


def page(title: str, body: str, *, subtitle: str = "", footer: str = "") -> str:
    """A complete, self-contained HTML document."""
    sub = f'<p class="sub">{esc(subtitle)}</p>' if subtitle else ""
    foot = f"<footer>{footer}</footer>" if footer else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{esc(title)}</h1>\n{sub}\n{body}\n{foot}\n</body>\n</html>\n"
    )
