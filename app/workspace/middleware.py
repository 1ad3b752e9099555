"""The workspace's session, settled before anything reads a request's body.

For every /workspace request the session cookie is resolved once (one indexed statement that also
reads the key: a revoked or expired key ends the session at once) and handed to the routes through
the scope's state. A form post (any POST but the sign-in) must come from a live session and carry
the session's CSRF token in its action's query string (`?csrf=`): otherwise it is answered here,
with a redirect to the sign-in page or a 403 page, before a byte of its body is read, so a forged
or signed-out upload never streams and nothing is stored.

It sits outside the body guard, so that what the layers below answer as a problem (an upload over
the limit, a stalled body, an unknown page) reaches a person as a page in their language.
"""

import json
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_MEDIA_TYPE
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


def _same_origin(scope: Scope) -> bool:
    """No Origin header (not a browser, or an old one), or this site's own origin (the public
    URL's, when set: app.http.public_url has put it in the scope)."""
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is None:
        return True
    return origin.lower() == f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()


def login_url(lang: str) -> str:
    return LOGIN if lang == LANGUAGES[0] else f"{LOGIN}?lang={lang}"


class WorkspaceSessionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_workspace(scope["path"]):
            await self.app(scope, receive, send)
            return
        wanted = _query(scope).get("lang", "").strip().lower()
        if wanted in LANGUAGES:
            # The page's ?lang= decides for every layer below too (a problem the body guard writes).
            headers = [(k, v) for k, v in scope["headers"] if k != b"accept-language"]
            scope = {**scope, "headers": [*headers, (b"accept-language", wanted.encode())]}
        state: dict[str, Any] = scope.setdefault("state", {})
        token = cookie_parser(Headers(scope=scope).get("cookie", "")).get(service.COOKIE)
        signed_in = None
        if token:
            maker: async_sessionmaker[AsyncSession] = scope["app"].state.sessionmaker
            signed_in = await service.resolve(maker, token)
        state[STATE] = signed_in
        if signed_in is not None:
            state["organization_id"] = str(signed_in.principal.org_id)
        turned_away = self._turned_away(scope, state, signed_in)
        if turned_away is not None:
            await turned_away(scope, receive, send)
            return
        await self.app(scope, receive, self._pages(scope, receive, send, signed_in))

    @staticmethod
    def _turned_away(scope: Scope, state: dict[str, Any], signed_in: service.SignedIn | None) -> Response | None:
        """The answer to a post that may not reach the routes (None: it may): a form another
        site's page posts here, the sign-in form too (login CSRF: browsers name the page's origin
        on every form post), is refused; any other post but the sign-in must come from a live
        session (else the sign-in page) and carry its CSRF token (else refused)."""
        if scope["method"] != "POST":
            return None
        forged = not _same_origin(scope)
        if not forged and scope["path"] == LOGIN:
            return None
        lang = language_of(scope)
        state["language"] = lang
        if not forged and signed_in is None:
            return RedirectResponse(login_url(lang), status_code=303, headers={"Cache-Control": "no-store"})
        if forged or signed_in is None or not service.csrf_matches(_query(scope).get("csrf"), signed_in.csrf):
            return page(
                "refused.html",
                lang,
                status_code=403,
                message=Text("workspace.csrf_refused").render(lang),
                **chrome(lang, signed_in, PREFIX),
            )
        return None

    @staticmethod
    def _pages(scope: Scope, receive: Receive, send: Send, signed_in: service.SignedIn | None) -> Send:
        """A problem answered to a workspace request (by the body guard, the router's 404 or 405,
        any layer below) becomes a page in the page's language, with the same status and text."""
        held: dict[str, Any] = {}

        async def send_page(message: Message) -> None:
            if message["type"] == "http.response.start":
                content_type = Headers(raw=message["headers"]).get("content-type", "")
                if content_type.startswith(PROBLEM_MEDIA_TYPE):
                    held["start"], held["body"] = message, bytearray()
                    return
            elif message["type"] == "http.response.body" and "start" in held:
                held["body"] += message.get("body", b"")
                if message.get("more_body", False):
                    return
                start = held.pop("start")
                try:
                    detail = str(json.loads(bytes(held["body"]))["detail"])
                except (ValueError, KeyError, TypeError):
                    detail = ""
                lang = language_of(scope)
                shown = page(
                    "refused.html", lang, status_code=start["status"], message=detail, **chrome(lang, signed_in, PREFIX)
                )
                kept = Headers(raw=start["headers"])
                for name in ("allow", "retry-after", "connection"):
                    if name in kept:
                        shown.headers[name] = kept[name]
                await shown(scope, receive, send)
                return
            await send(message)

        return send_page
