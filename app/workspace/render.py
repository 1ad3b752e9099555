"""HTML for the workspace: the dashboard's templates, stylesheet and locale (app.dashboard), plus
the workspace's own templates and a few rules for forms and big tap targets. Pages are never
framed, never cached, load nothing but their inline stylesheet, and post forms only to this site."""

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from app.dashboard.i18n import Locale
from app.dashboard.render import inline_style, progress_width, security_headers, stylesheet, templates
from app.i18n import Text


@dataclass(frozen=True, slots=True)
class Texts:
    """The workspace's texts (`workspace.<key>` in the catalogues): `w["key"]`, `w("key", n=1)`."""

    lang: str

    def __getitem__(self, key: str) -> str:
        return Text(f"workspace.{key}").render(self.lang)

    def __call__(self, key: str, **params: Any) -> str:
        return Text(f"workspace.{key}", **params).render(self.lang)


@cache
def environment() -> jinja2.Environment:
    return templates("app.workspace", "app.dashboard")


@cache
def _stylesheet() -> tuple[Markup, str]:
    """The dashboard's stylesheet and the workspace's rules, inlined as one, and its CSP hash."""
    dashboard, _ = stylesheet()
    own = resources.files("app.workspace").joinpath("templates", "workspace.css").read_text(encoding="utf-8")
    return inline_style(str(dashboard) + own)


def headers() -> dict[str, str]:
    _, style_hash = _stylesheet()
    # Pages show a signed-in organization's unpublished work: never kept by a cache or the back button.
    return {**security_headers(style_hash=style_hash), "Cache-Control": "no-store"}


def page(template: str, lang: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    css, _ = _stylesheet()
    html = (
        environment()
        .get_template(template)
        .render(t=Locale(lang), w=Texts(lang), css=css, progress_width=progress_width, **context)
    )
    return HTMLResponse(html, status_code=status_code, headers=headers())


def link(path: str, lang: str, *, explicit: bool = False, **params: str | None) -> str:
    """A same-site link that keeps the page's language (the dashboard's rule)."""
    from app.dashboard.pages import link as dashboard_link

    return dashboard_link(path, lang, explicit=explicit, **params)


def chrome(lang: str, signed_in: Any, path: str) -> dict[str, Any]:
    """What every workspace page's frame needs: links that keep the language, form actions that
    carry the session's CSRF token, the language switch of this page, who is signed in."""
    csrf = getattr(signed_in, "csrf", None)

    def href(target: str) -> str:
        return link(target, lang)

    def action(target: str) -> str:
        return link(target, lang, csrf=csrf)

    return {
        "href": href,
        "action": action,
        "switch": link(path, "en" if lang == "es" else "es", explicit=True),
        "signed_in": signed_in,
        "notice": None,
        "form_error": None,
    }
