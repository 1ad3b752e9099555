"""SQL for calendar feed tokens."""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.pagination import PageParams, SortKey, apply_keyset
from app.models import CalendarToken

BY_CREATED = SortKey("created", (col(CalendarToken.created_at), col(CalendarToken.id)), (datetime, uuid.UUID))


async def add(session: AsyncSession, token: CalendarToken) -> None:
    session.add(token)
    await session.flush()


async def by_hash(session: AsyncSession, token_hash: str) -> CalendarToken | None:
    stmt = select(CalendarToken).where(
        col(CalendarToken.token_hash) == token_hash, col(CalendarToken.revoked_at).is_(None)
    )
    return (await session.execute(stmt)).scalars().first()


async def get(session: AsyncSession, org_id: uuid.UUID, token_id: uuid.UUID) -> CalendarToken | None:
    stmt = (
        select(CalendarToken)
        .where(col(CalendarToken.id) == token_id, col(CalendarToken.organization_id) == org_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalars().first()


async def list_page(session: AsyncSession, org_id: uuid.UUID, params: PageParams) -> list[CalendarToken]:
    stmt = select(CalendarToken).where(col(CalendarToken.organization_id) == org_id)
    return list((await session.execute(apply_keyset(stmt, BY_CREATED, params))).scalars())
