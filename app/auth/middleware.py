"""Authentication, and the role a route demands, settled before anything reads the request's body.

FastAPI reads a body before it resolves a route's dependencies, and the idempotency middleware
fingerprints the body before the route runs: without this, a bogus key could make the server take
in 20 MB (and keep a 401 for a day) before being refused. Here the Authorization header is
resolved once (app.auth.dependencies.authenticate: its own short transaction), a route that needs
a key or an admin key refuses with 401/403 at once, a route's own pre-body check
(app.http.routes.before_body: who may import for whom, a free import slot) runs, and the
principal is handed to the route through the scope's state. Checks that depend on the resource
(may this key edit that agreement) stay in the services.
"""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.dependencies import (
    admin_principal,
    authenticate,
    optional_principal,
    required_principal,
)
from app.errors import AppError, Forbidden, Unauthorized
from app.http.middleware import send_app_error
from app.http.routes import Needs, before_body_check, matched_route, needs
from app.i18n import Text
from app.principal import Principal


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = matched_route(scope)
        required = needs(route, optional=optional_principal, key=required_principal, admin=admin_principal)
        if required is Needs.nothing:
            # Health checks, pages, feeds with their own tokens, unknown paths: no key is looked at.
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        header = Headers(scope=scope).get("authorization")
        principal: Principal | None = None
        try:
            if header is not None:
                maker: async_sessionmaker[AsyncSession] = scope["app"].state.sessionmaker
                principal = await authenticate(maker, header)
                state["organization_id"] = str(principal.org_id)
            if required in (Needs.key, Needs.admin) and principal is None:
                raise Unauthorized(Text("auth.key_required"))
            if required is Needs.admin and principal is not None and not principal.is_admin:
                raise Forbidden(Text("auth.admin_only"))
            check = before_body_check(route)
            done = None if check is None else await check(scope, principal)
        except AppError as exc:
            await send_app_error(scope, send, exc)
            return
        state["principal"] = principal
        try:
            await self.app(scope, receive, send)
        finally:
            if done is not None:
                done()
