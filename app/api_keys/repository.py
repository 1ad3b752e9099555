"""SQL for API keys."""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.pagination import PageParams, SortKey, apply_keyset
from app.models import ApiKey

BY_CREATED = SortKey("created", (col(ApiKey.created_at), col(ApiKey.id)), (datetime, uuid.UUID))


async def add(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)
    await session.flush()


async def get(session: AsyncSession, org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    stmt = (
        select(ApiKey)
        .where(col(ApiKey.id) == key_id, col(ApiKey.organization_id) == org_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalars().first()


async def list_page(session: AsyncSession, org_id: uuid.UUID, params: PageParams) -> list[ApiKey]:
    stmt = select(ApiKey).where(col(ApiKey.organization_id) == org_id)
    return list((await session.execute(apply_keyset(stmt, BY_CREATED, params))).scalars())
