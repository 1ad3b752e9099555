"""CORS and HEAD for browsers, as pure ASGI middleware in front of everything else.

- Anonymous GET/HEAD of public resources (/v1, /badges, /embed) answer
  `Access-Control-Allow-Origin: *` without credentials: any portal's script may read open data.
- Origins in PACTA_CORS_ORIGINS are echoed (with `Vary: Origin`) on the API and the public pages
  (/v1, /badges, /embed, /dashboard), so their scripts may also send a key in `Authorization`.
  Never on the workspace's pages (a person's session, its CSRF tokens) nor on /metrics and the
  health checks: no other site's script has any business reading those.
- A preflight is answered here, before authentication and before the router's 405: 204 with the
  path's own methods for a listed origin; for any other origin 403 with no `Access-Control-Allow-*`
  header, so the browser refuses the call it was asked about (a simple anonymous GET needs no
  preflight and still works from anywhere). A listed origin's preflight to a path that does not
  exist is a 404 problem, to one outside those prefixes a 403: neither allows anything.
"""

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Forbidden, NotFound
from app.http.middleware import send_app_error
from app.i18n import Text

PUBLIC_PREFIXES = ("/v1/", "/badges/", "/embed/")
# Where a listed origin is echoed and may preflight: the API and the public pages, nothing else.
OPEN_PATHS = ("/v1", "/dashboard")
OPEN_PREFIXES = (*PUBLIC_PREFIXES, "/dashboard/")
ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, Accept-Language"
EXPOSE_HEADERS = "ETag, Link, Location, X-Request-ID, Content-Language"
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# How long a browser may keep a preflight's answer (seconds).
PREFLIGHT_MAX_AGE = "600"


def path_methods(scope: Scope) -> list[str]:
    """The methods the router serves on this path (HEAD wherever GET), in a stable order."""
    found: set[str] = set()
    for route in scope["app"].router.routes:
        for method in METHOD_ORDER:
            if route.matches({**scope, "method": method})[0] is Match.FULL:
                found.add(method)
    if "GET" in found:
        found.add("HEAD")
    return [m for m in METHOD_ORDER if m in found]


def is_open(path: str) -> bool:
    """May a listed origin's script read (and send a key to) this path?"""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _add_vary(headers: MutableHeaders, value: str) -> None:
    present = [v.strip().lower() for v in headers.get("vary", "").split(",") if v.strip()]
    if value.lower() not in present:
        headers.add_vary_header(value)


class CORSMiddleware:
    def __init__(self, app: ASGIApp, *, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(o.rstrip("/") for o in origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        method = scope["method"]
        if method == "OPTIONS" and origin is not None and "access-control-request-method" in headers:
            await self._preflight(scope, send, origin)
            return
        path = scope["path"]
        opened = bool(self.origins) and is_open(path)
        listed = opened and origin is not None and origin in self.origins
        public_read = method in ("GET", "HEAD") and "authorization" not in headers and path.startswith(PUBLIC_PREFIXES)
        if not listed and not public_read and not opened:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                if listed or public_read:
                    out["Access-Control-Allow-Origin"] = origin if listed and origin is not None else "*"
                    out["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
                if opened:
                    # Listed origins are answered differently from the rest: a cache must know.
                    _add_vary(out, "Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, scope: Scope, send: Send, origin: str) -> None:
        if origin not in self.origins:
            await send_app_error(scope, send, Forbidden(Text("cors.origin_not_allowed")))
            return
        allowed = path_methods(scope)
        if not allowed:
            # No such path: saying so beats a 204 that allows no method at all.
            await send_app_error(scope, send, NotFound())
            return
        if not is_open(scope["path"]):
            await send_app_error(scope, send, Forbidden(Text("cors.path_not_open")))
            return
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ", ".join(allowed).encode()),
            (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
            (b"vary", b"Origin"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


class HeadMiddleware:
    """HEAD on every GET: the GET runs and its headers (Content-Length included) are sent, its body
    is not. The routes stay GET-only, so the OpenAPI document does not list each one twice."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # Shared state (language, request id) must stay one dict for the layers outside this one.
        scope.setdefault("state", {})
        scope = {**scope, "method": "GET"}
        state = {"ended": False}

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if state["ended"]:
                    return
                if not message.get("more_body", False):
                    state["ended"] = True
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self.app(scope, receive, send_headers_only)
