"""One HTML page of timelines, photos and clips, for people: the simulator's demo and scenario
reports and `doorstep history --html` both render through here. The page needs nothing else: no
script, no stylesheet or font from elsewhere (photos and clips are relative files or data:
URIs)."""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

STYLE = """body{font-family:sans-serif;margin:2em;max-width:70em}
td{padding:.2em .8em;border-bottom:1px solid #ddd;vertical-align:top}
figure{display:inline-block;margin:.5em}figcaption{font-size:.8em}
.erased{display:inline-block;width:400px;height:120px;background:#eee;color:#555;
text-align:center;line-height:120px}.ok{color:#060}.bad{color:#a00}"""


@dataclass(frozen=True)
class Figure:
    src: str | None  # a relative path or a data: URI; None when the photo was erased
    title: str
    caption: str
    verified: bool = False  # the sha256 of the bytes shown matches the one announced
    video: bool = False  # an MP4 clip, played in the page, not a photo


@dataclass(frozen=True)
class Section:
    heading: str
    level: int = 2
    text: str = ""
    rows: Sequence[Sequence[str]] = ()  # a table, one row of cells each
    figures: Sequence[Figure] = field(default_factory=tuple)


def data_uri(data: bytes, kind: str = "image/jpeg") -> str:
    return f"data:{kind};base64," + base64.b64encode(data).decode("ascii")


def render_page(title: str, sections: Iterable[Section], banner: str = "") -> str:
    """The page; ``banner`` is trusted HTML (a verdict), everything else is escaped."""
    body = "\n".join(_section(s) for s in sections)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{STYLE}</style></head>
<body><h1>{html.escape(title)}</h1>
{banner}
{body}
</body></html>
"""


def _section(section: Section) -> str:
    level = min(max(section.level, 2), 4)
    parts = [f"<h{level}>{html.escape(section.heading)}</h{level}>"]
    if section.text:
        parts.append(f"<p>{html.escape(section.text)}</p>")
    if section.rows:
        parts.append(
            "<table>"
            + "\n".join(
                "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                for row in section.rows
            )
            + "</table>"
        )
    parts.extend(_figure(f) for f in section.figures)
    return "\n".join(parts)


def _figure(figure: Figure) -> str:
    title = html.escape(figure.title)
    if figure.src is None:
        picture = '<span class="erased">erased</span>'
    elif figure.video:
        picture = (
            f'<video src="{html.escape(figure.src)}" width="400" controls muted '
            f'preload="metadata" title="{title}"></video>'
        )
    else:
        picture = f'<img src="{html.escape(figure.src)}" width="400" alt="{title}">'

    check = ' <span class="ok">&#10003; sha256</span>' if figure.verified else ""
    return (
        f"<figure>{picture}<figcaption>{title}<br>"
        f"{html.escape(figure.caption)}{check}</figcaption></figure>"
    )
