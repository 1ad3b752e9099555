"""The caller, resolved once per request from the Authorization header."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import repository
from app.auth.secrets import matches, parse_prefix
from app.db import SessionDep
from app.errors import Forbidden, Unauthorized
from app.i18n import Text
from app.models import OrganizationKind, Role

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API key: `Authorization: Bearer pacta_…`",
)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: one API key of one organization."""

    key_id: uuid.UUID
    org_id: uuid.UUID
    org_kind: OrganizationKind
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def reads_everything(self) -> bool:
        return self.role in (Role.admin, Role.auditor)


async def optional_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """None for anonymous callers; 401 for a header that names no valid, live key."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(Text("auth.bearer_format"))
    secret = credentials.credentials
    prefix = parse_prefix(secret)
    found = None if prefix is None else await repository.key_with_org(session, prefix)
    if found is None or not matches(secret, found[0].secret_hash):
        raise Unauthorized(Text("auth.key_not_valid"))
    key, org = found
    now = datetime.now(UTC)
    if key.revoked_at is not None:
        raise Unauthorized(Text("auth.key_revoked"))
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthorized(Text("auth.key_expired"))
    if key.last_used_at is None or key.last_used_at < now - repository.LAST_USED_RESOLUTION:
        await repository.touch(session, key, now)
    request.state.organization_id = str(org.id)
    return Principal(key_id=key.id, org_id=org.id, org_kind=OrganizationKind(org.kind), role=Role(key.role))


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
