"""SQL for organizations."""

import uuid

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.pagination import PageParams, SortKey, apply_keyset
from app.models import ApiKey, Organization

BY_NAME = SortKey("name", (func.lower(col(Organization.name)), col(Organization.id)), (str, uuid.UUID))


async def get(session: AsyncSession, org_id: uuid.UUID, *, for_update: bool = False) -> Organization | None:
    stmt = select(Organization).where(col(Organization.id) == org_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalars().first()


async def find_by_name(session: AsyncSession, name: str) -> Organization | None:
    stmt = select(Organization).where(func.lower(col(Organization.name)) == name.lower())
    return (await session.execute(stmt)).scalars().first()


async def name_taken(session: AsyncSession, name: str, *, other_than: uuid.UUID | None = None) -> bool:
    cond = func.lower(col(Organization.name)) == name.lower()
    if other_than is not None:
        cond = cond & (col(Organization.id) != other_than)
    return bool((await session.execute(select(exists().where(cond)))).scalar())


async def by_inegi_code(session: AsyncSession, code: str) -> Organization | None:
    stmt = select(Organization).where(col(Organization.inegi_code) == code)
    return (await session.execute(stmt)).scalars().first()


async def list_page(
    session: AsyncSession,
    params: PageParams,
    *,
    kind: str | None,
    country: str | None,
    subdivision: str | None,
) -> list[Organization]:
    stmt = select(Organization)
    if kind is not None:
        stmt = stmt.where(col(Organization.kind) == kind)
    if country is not None:
        stmt = stmt.where(col(Organization.country) == country)
    if subdivision is not None:
        stmt = stmt.where(col(Organization.subdivision) == subdivision)
    return list((await session.execute(apply_keyset(stmt, BY_NAME, params))).scalars())


async def has_keys(session: AsyncSession, org_id: uuid.UUID) -> bool:
    stmt = select(exists().where(col(ApiKey.organization_id) == org_id))
    return bool((await session.execute(stmt)).scalar())


async def add(session: AsyncSession, org: Organization) -> None:
    session.add(org)
    await session.flush()


async def remove(session: AsyncSession, org: Organization) -> None:
    await session.delete(org)
    await session.flush()
