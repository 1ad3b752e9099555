"""The workspace's session, settled before anything reads a request's body.

For every /workspace request the session cookie is resolved once (one indexed statement that also
reads the key: a revoked or expired key ends the session at once) and handed to the routes through
the scope's state. A form post (any POST but the sign-in) must come from a live session and carry
the session's CSRF token in its action's query string (`?csrf=`): otherwise it is answered here,
with a redirect to the sign-in page or a 403 page, before a byte of its body is read, so a forged
or signed-out upload never streams and nothing is stored.
"""

from typing import Any
from urllib.parse import parse_qs

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.i18n import LANGUAGES, Language, Text, negotiate
from app.workspace import service
from app.workspace.render import chrome, page

PREFIX = "/workspace"
LOGIN = f"{PREFIX}/login"
STATE = "workspace"


def is_workspace(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def language_of(scope: Scope) -> Language:
    """A workspace page's language: `?lang=es|en`, else Accept-Language, else the default."""
    wanted = _query(scope).get("lang", "").strip().lower()
    if wanted in LANGUAGES:
        return "en" if wanted == "en" else "es"
    settings = getattr(scope["app"].state, "settings", None)
    return negotiate(Headers(scope=scope).get("accept-language"), getattr(settings, "default_language", "es"))


def _query(scope: Scope) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("latin-1"), max_num_fields=20)
    return {k: v[0] for k, v in parsed.items()}


def login_url(lang: str) -> str:
    return LOGIN if lang == LANGUAGES[0] else f"{LOGIN}?lang={lang}"


class WorkspaceSessionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_workspace(scope["path"]):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        token = cookie_parser(Headers(scope=scope).get("cookie", "")).get(service.COOKIE)
        signed_in = None
        if token:
            maker: async_sessionmaker[AsyncSession] = scope["app"].state.sessionmaker
            signed_in = await service.resolve(maker, token)
        state[STATE] = signed_in
        if signed_in is not None:
            state["organization_id"] = str(signed_in.principal.org_id)
        if scope["method"] == "POST" and scope["path"] != LOGIN:
            lang = language_of(scope)
            state["language"] = lang
            if signed_in is None:
                response = RedirectResponse(login_url(lang), status_code=303, headers={"Cache-Control": "no-store"})
                await response(scope, receive, send)
                return
            if not service.csrf_matches(_query(scope).get("csrf"), signed_in.csrf):
                refused = page(
                    "refused.html",
                    lang,
                    status_code=403,
                    message=Text("workspace.csrf_refused").render(lang),
                    **chrome(lang, signed_in, PREFIX),
                )
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)
