"""HTML for the public pages: autoescaped Jinja2 templates, one inline stylesheet allowed by its
hash in the Content-Security-Policy (so the pages load nothing else and run no script), and the
bar charts' geometry, computed here so the templates only draw it as inline SVG."""

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from app.dashboard.i18n import Locale


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("app.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def stylesheet() -> tuple[Markup, str]:
    """The stylesheet (our own file, not user input: safe to inline as is) and its CSP hash."""
    css = resources.files("app.dashboard").joinpath("templates", "dashboard.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode()
    return Markup(css), f"'sha256-{digest}'"  # noqa: S704 - a file shipped in the package


def security_headers(frame_ancestors: str = "'none'") -> dict[str, str]:
    """Nothing loaded but the inline stylesheet; framed by nobody, except the embeds, whose
    caller names the portals that may frame them (PACTA_EMBED_ORIGINS)."""
    _, style_hash = stylesheet()
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src {style_hash}; img-src 'self' data:; "
            f"form-action 'self'; base-uri 'none'; frame-ancestors {frame_ancestors}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def page(
    template: str, locale: Locale, *, status_code: int = 200, frame_ancestors: str = "'none'", **context: Any
) -> HTMLResponse:
    css, _ = stylesheet()
    html = environment().get_template(template).render(t=locale, css=css, **context)
    return HTMLResponse(html, status_code=status_code, headers=security_headers(frame_ancestors))


@dataclass(frozen=True, slots=True)
class Bar:
    """One row of a horizontal bar chart; `width` is a share of the largest value, 0-100."""

    label: str
    value: float
    display: str
    width: float
    href: str | None = None


def bars(rows: Iterable[tuple[str, float, str, str | None]]) -> list[Bar]:
    """(label, value, display, link) rows → bars scaled to the largest value."""
    items = list(rows)
    top = max((value for _, value, _, _ in items), default=0)
    return [
        Bar(label=label, value=value, display=display, width=round(100 * value / top, 2) if top > 0 else 0, href=href)
        for label, value, display, href in items
    ]


@dataclass(frozen=True, slots=True)
class Segment:
    """One part of a stacked bar: its key (for the colour), count, and x and width in 0-100."""

    key: str
    label: str
    count: int
    x: float
    width: float


def stacked(parts: Iterable[tuple[str, str, int]]) -> list[Segment]:
    items = list(parts)
    total = sum(count for _, _, count in items)
    segments, x = [], 0.0
    for key, label, count in items:
        width = round(100 * count / total, 2) if total else 0.0
        segments.append(Segment(key=key, label=label, count=count, x=round(x, 2), width=width))
        x += width
    return segments


def progress_width(attainment: float | None) -> float:
    """A milestone's bar: its attainment, held between 0 and 100 % of the bar."""
    if attainment is None:
        return 0.0
    return round(100 * min(max(attainment, 0.0), 1.0), 2)
