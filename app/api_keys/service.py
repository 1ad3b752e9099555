"""Issuing, listing and revoking API keys."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.api_keys import repository
from app.api_keys.errors import ApiKeyNotFound
from app.auth.secrets import new_key
from app.errors import Forbidden, field_error
from app.http.pagination import PageParams, make_page
from app.i18n import Text
from app.log import registry as log_registry
from app.log import service as log_service
from app.models import ApiKey, Organization, Role
from app.models.organizations import PLATFORM_ORG_ID
from app.principal import Principal

RESOURCE = "api_key"
log_registry.register_table(RESOURCE, ApiKey)


async def issue_key(
    session: AsyncSession,
    org: Organization,
    *,
    role: Role,
    name: str | None,
    expires_at: datetime | None,
    actor_org_id: uuid.UUID | None,
) -> tuple[ApiKey, str]:
    """A new key and its secret (to show once; only its hash is kept)."""
    if role is Role.admin and org.id != PLATFORM_ORG_ID:
        raise field_error(["body", "role"], Text("api_keys.admin_platform_only"))
    now = datetime.now(UTC)
    if expires_at is not None and expires_at <= now:
        raise field_error(["body", "expires_at"], Text("api_keys.expires_future"))
    if expires_at is not None:
        expires_at = expires_at.astimezone(UTC)  # answered in UTC, as every read of it is
    secret, prefix, secret_hash = new_key()
    key = ApiKey(
        organization_id=org.id,
        name=name,
        role=role.value,
        prefix=prefix,
        secret_hash=secret_hash,
        created_at=now,
        expires_at=expires_at,
    )
    await repository.add(session, key)
    await log_service.append(
        session,
        actor_org_id=actor_org_id,
        action=log_service.Action.create,
        resource_type=RESOURCE,
        resource_id=key.id,
        resource=key,
    )
    return key, secret


def ensure_may_list(principal: Principal, org: Organization) -> None:
    if not principal.reads_everything and principal.org_id != org.id:
        raise Forbidden(Text("api_keys.list_forbidden"))


async def list_keys(
    session: AsyncSession, org: Organization, params: PageParams
) -> tuple[Sequence[ApiKey], str | None]:
    rows = await repository.list_page(session, org.id, params)
    return make_page(rows, repository.BY_CREATED, params, lambda k: (k.created_at, k.id))


async def revoke_key(
    session: AsyncSession, org: Organization, key_id: uuid.UUID, *, actor_org_id: uuid.UUID | None
) -> ApiKey:
    """Revoke a key. Revoking a revoked key changes nothing and is not an error."""
    key = await repository.get(session, org.id, key_id)
    if key is None:
        raise ApiKeyNotFound
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await repository.add(session, key)
        await log_service.append(
            session,
            actor_org_id=actor_org_id,
            action=log_service.Action.revoke,
            resource_type=RESOURCE,
            resource_id=key.id,
            resource=key,
        )
    return key
