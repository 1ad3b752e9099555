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


def templates(*packages: str) -> jinja2.Environment:
    """Autoescaped, strict templates from the packages' templates/ folders (the first that has a
    name wins), so a page family can add to and override the dashboard's."""
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.PackageLoader(package, "templates") for package in packages]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def environment() -> jinja2.Environment:
    return templates("app.dashboard")


def inline_style(css: str) -> tuple[Markup, str]:
    """A stylesheet (our own files, not user input: safe to inline as is) and its CSP hash."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode()
    return Markup(css), f"'sha256-{digest}'"  # noqa: S704 - files shipped in the package


@cache
def stylesheet() -> tuple[Markup, str]:
    """The dashboard's stylesheet, inlined, and its CSP hash."""
    css = resources.files("app.dashboard").joinpath("templates", "dashboard.css").read_text(encoding="utf-8")
    return inline_style(css)


def security_headers(frame_ancestors: str = "'none'", style_hash: str | None = None) -> dict[str, str]:
    """Nothing loaded but the inline stylesheet (the dashboard's unless `style_hash` names
    another); framed by nobody, except the embeds, whose caller names the portals that may frame
    them (PACTA_EMBED_ORIGINS)."""
    if style_hash is None:
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
