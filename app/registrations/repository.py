"""SQL for registrations."""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.pagination import PageParams, SortKey, apply_keyset
from app.models import Registration

BY_CREATED = SortKey("created", (col(Registration.created_at), col(Registration.id)), (datetime, uuid.UUID))


async def get(session: AsyncSession, registration_id: uuid.UUID, *, for_update: bool = False) -> Registration | None:
    stmt = select(Registration).where(col(Registration.id) == registration_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalars().first()


async def list_page(session: AsyncSession, agreement_id: uuid.UUID, params: PageParams) -> list[Registration]:
    stmt = select(Registration).where(col(Registration.agreement_id) == agreement_id)
    return list((await session.execute(apply_keyset(stmt, BY_CREATED, params))).scalars())


async def all_for(session: AsyncSession, agreement_id: uuid.UUID, *, for_update: bool = False) -> list[Registration]:
    stmt = select(Registration).where(col(Registration.agreement_id) == agreement_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return list((await session.execute(stmt)).scalars())


async def add(session: AsyncSession, review: Registration) -> None:
    session.add(review)
    await session.flush()
