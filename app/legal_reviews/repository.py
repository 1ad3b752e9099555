"""SQL for legal reviews."""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.pagination import PageParams, SortKey, apply_keyset
from app.models import LegalReview

BY_CREATED = SortKey("created", (col(LegalReview.created_at), col(LegalReview.id)), (datetime, uuid.UUID))


async def get(session: AsyncSession, review_id: uuid.UUID, *, for_update: bool = False) -> LegalReview | None:
    stmt = select(LegalReview).where(col(LegalReview.id) == review_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalars().first()


async def list_page(session: AsyncSession, agreement_id: uuid.UUID, params: PageParams) -> list[LegalReview]:
    stmt = select(LegalReview).where(col(LegalReview.agreement_id) == agreement_id)
    return list((await session.execute(apply_keyset(stmt, BY_CREATED, params))).scalars())


async def all_for(session: AsyncSession, agreement_id: uuid.UUID, *, for_update: bool = False) -> list[LegalReview]:
    stmt = select(LegalReview).where(col(LegalReview.agreement_id) == agreement_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return list((await session.execute(stmt)).scalars())


async def add(session: AsyncSession, review: LegalReview) -> None:
    session.add(review)
    await session.flush()
