"""SQL for resolving a credential."""

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import String
from sqlmodel import col

from app.db import Reader
from app.models import ApiKey, Organization

# last_used_at is refreshed at most this often, so reads don't each cost a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


async def key_with_org(session: AsyncSession, prefix: str) -> tuple[ApiKey, Organization] | None:
    result = await session.execute(
        select(ApiKey, Organization)
        .join(Organization, col(Organization.id) == col(ApiKey.organization_id))
        .where(col(ApiKey.prefix) == prefix)
    )
    row = result.first()
    return None if row is None else (row[0], row[1])


# What a request's authentication needs, by the key's unique prefix (its unique index): one
# statement, run alone in autocommit by app.db.Reader.
_KEY_FOR_PREFIX: ClauseElement = (
    select(
        col(ApiKey.id),
        col(ApiKey.secret_hash),
        col(ApiKey.role),
        col(ApiKey.revoked_at),
        col(ApiKey.expires_at),
        col(ApiKey.last_used_at),
        col(Organization.id).label("org_id"),
        col(Organization.kind).label("org_kind"),
    )
    .join(Organization, col(Organization.id) == col(ApiKey.organization_id))
    .where(col(ApiKey.prefix) == bindparam("prefix", type_=String()))
)


async def key_for_prefix(reader: Reader, prefix: str) -> Mapping[str, Any] | None:
    return await reader.fetchrow(_KEY_FOR_PREFIX, {"prefix": prefix})


async def touch(session: AsyncSession, key_id: uuid.UUID, now: datetime) -> None:
    """Refresh last_used_at, in the request's transaction, without ever waiting: if another
    request holds the key's row it is refreshing it anyway (SKIP LOCKED), so concurrent requests
    with one key never queue behind each other, and no second connection is needed."""
    stale = (
        select(col(ApiKey.id))
        .where(
            col(ApiKey.id) == key_id,
            or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < now - LAST_USED_RESOLUTION),
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    await session.execute(update(ApiKey).where(col(ApiKey.id) == stale).values(last_used_at=now))
