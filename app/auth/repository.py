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
    await session.execute(
        update(ApiKey)
        .where(
            col(ApiKey.id) == key.id,
            or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
    )
