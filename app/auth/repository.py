"""SQL for resolving a credential."""

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

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


async def touch(session: AsyncSession, key: ApiKey, now: datetime) -> None:
    """Refresh last_used_at, in the request's transaction, without ever waiting: if another
    request holds the key's row it is refreshing it anyway (SKIP LOCKED), so concurrent requests
    with one key never queue behind each other, and no second connection is needed."""
    stale = (
        select(col(ApiKey.id))
        .where(
            col(ApiKey.id) == key.id,
            or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < now - LAST_USED_RESOLUTION),
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    await session.execute(update(ApiKey).where(col(ApiKey.id) == stale).values(last_used_at=now))
