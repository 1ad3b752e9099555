"""SQL for organizations."""

import uuid

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.http.pagination import PageParams, SortKey, apply_keyset
from app.models import ApiKey, Organization

BY_NAME = SortKey("name", (func.lower(Organization.name), Organization.id), (str, uuid.UUID))  # type: ignore[arg-type]


async def get(session: AsyncSession, org_id: uuid.UUID, *, for_update: bool = False) -> Organization | None:
    stmt = select(Organization).where(Organization.id == org_id)  # type: ignore[arg-type]
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalars().first()


async def find_by_name(session: AsyncSession, name: str) -> Organization | None:
    stmt = select(Organization).where(func.lower(Organization.name) == name.lower())
    return (await session.execute(stmt)).scalars().first()


async def name_taken(session: AsyncSession, name: str, *, other_than: uuid.UUID | None = None) -> bool:
    cond = func.lower(Organization.name) == name.lower()
    if other_than is not None:
        cond = cond & (Organization.id != other_than)  # type: ignore[assignment]
    return bool((await session.execute(select(exists().where(cond)))).scalar())


async def by_inegi_code(session: AsyncSession, code: str) -> Organization | None:
    stmt = select(Organization).where(Organization.inegi_code == code)  # type: ignore[arg-type]
    return (await session.execute(stmt)).scalars().first()


async def list_page(
    session: AsyncSession, params: PageParams, *, kind: str | None, country: str | None, subdivision: str | None
) -> list[Organization]:
    stmt = select(Organization)
    if kind is not None:
        stmt = stmt.where(Organization.kind == kind)  # type: ignore[arg-type]
    if country is not None:
        stmt = stmt.where(Organization.country == country)  # type: ignore[arg-type]
    if subdivision is not None:
        stmt = stmt.where(Organization.subdivision == subdivision)  # type: ignore[arg-type]
    return list((await session.execute(apply_keyset(stmt, BY_NAME, params))).scalars())


async def has_keys(session: AsyncSession, org_id: uuid.UUID) -> bool:
    stmt = select(exists().where(ApiKey.organization_id == org_id))  # type: ignore[arg-type]
    return bool((await session.execute(stmt)).scalar())


async def add(session: AsyncSession, org: Organization) -> None:
    session.add(org)
    await session.flush()


async def remove(session: AsyncSession, org: Organization) -> None:
    await session.delete(org)
    await session.flush()
