"""The caller, resolved once per request from the Authorization header."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import repository
from app.auth.secrets import matches, parse_prefix
from app.db import Reader, sessionmaker_of, unit_of_work
from app.errors import Forbidden, Unauthorized
from app.i18n import Text
from app.models import OrganizationKind, Role

# Principal lives in app.principal; imported here for authenticate, and still importable from
# here so that code written against the old home keeps working.
from app.principal import Principal as Principal

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API key: `Authorization: Bearer pacta_…`",
)


async def authenticate(maker: async_sessionmaker[AsyncSession], header: str) -> Principal:
    """The principal an Authorization header names, or Unauthorized.

    One indexed statement (the key and its organization by the key's prefix), run alone in
    autocommit (app.db.Reader): no transaction of its own, no session, and the connection is
    back in the pool before the request's own work takes one (no request ever holds two: no
    pool deadlock), before anything reads the request's body. last_used_at is refreshed at most
    once per LAST_USED_RESOLUTION, so nearly every request skips it; when due, in a short unit of
    work of its own (app.db commits it), never the request's: the key's row is never locked while
    a request runs (a key with a stalled upload can be revoked at once).
    """
    scheme, _, secret = header.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthorized(Text("auth.bearer_format"))
    prefix = parse_prefix(secret)
    found = None if prefix is None else await repository.key_for_prefix(Reader(maker.kw["bind"]), prefix)
    if found is None or not matches(secret, found["secret_hash"]):
        raise Unauthorized(Text("auth.key_not_valid"))
    now = datetime.now(UTC)
    if found["revoked_at"] is not None:
        raise Unauthorized(Text("auth.key_revoked"))
    expires_at = found["expires_at"]
    if expires_at is not None and expires_at <= now:
        raise Unauthorized(Text("auth.key_expired"))
    last_used_at = found["last_used_at"]
    if last_used_at is None or last_used_at < now - repository.LAST_USED_RESOLUTION:
        async with unit_of_work(maker) as session:
            await repository.touch(session, found["id"], now)
    return Principal(
        # Plain uuid.UUIDs (asyncpg hands back its own UUID class).
        key_id=uuid.UUID(bytes=found["id"].bytes),
        org_id=uuid.UUID(bytes=found["org_id"].bytes),
        org_kind=OrganizationKind(found["org_kind"]),
        role=Role(found["role"]),
    )


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],  # noqa: ARG001 - documents the scheme
) -> Principal | None:
    """None for anonymous callers; 401 for a header that names no valid, live key.

    The AuthenticationMiddleware has resolved the header before the body was read; this only
    hands its answer to the route (and resolves it here when a request did not pass through it).
    """
    state = request.state
    if not hasattr(state, "principal"):
        header = request.headers.get("authorization")
        state.principal = None if header is None else await authenticate(sessionmaker_of(request), header)
    principal: Principal | None = state.principal
    if principal is not None:
        state.organization_id = str(principal.org_id)
    return principal


async def required_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized(Text("auth.key_required"))
    return principal


async def admin_principal(
    principal: Annotated[Principal, Depends(required_principal)],
) -> Principal:
    if not principal.is_admin:
        raise Forbidden(Text("auth.admin_only"))
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(required_principal)]
AdminPrincipal = Annotated[Principal, Depends(admin_principal)]
