"""SQL for activities and their links."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.pagination import PageParams, SortKey, apply_keyset
from app.models import Activity, ActivityLink

BY_START = SortKey("starts", (col(Activity.starts_at), col(Activity.id)), (datetime, uuid.UUID))
LINKS = ("participant", "target", "evidence")


async def get(session: AsyncSession, activity_id: uuid.UUID, *, for_update: bool = False) -> Activity | None:
    stmt = select(Activity).where(col(Activity.id) == activity_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalars().first()


async def list_page(
    session: AsyncSession, agreement_id: uuid.UUID, params: PageParams, *, statuses: Sequence[str] | None
) -> list[Activity]:
    stmt = select(Activity).where(col(Activity.agreement_id) == agreement_id)
    if statuses is not None:
        stmt = stmt.where(col(Activity.status).in_(statuses))
    return list((await session.execute(apply_keyset(stmt, BY_START, params))).scalars())


async def links(
    session: AsyncSession, activity_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, list[uuid.UUID]]]:
    found: dict[uuid.UUID, dict[str, list[uuid.UUID]]] = defaultdict(lambda: {k: [] for k in LINKS})
    if not activity_ids:
        return found
    stmt = (
        select(col(ActivityLink.activity_id), col(ActivityLink.link), col(ActivityLink.ref_id))
        .where(col(ActivityLink.activity_id).in_(activity_ids))
        .order_by(col(ActivityLink.activity_id), col(ActivityLink.link), col(ActivityLink.ref_id))
    )
    for activity_id, link, ref_id in (await session.execute(stmt)).all():
        found[activity_id][link].append(ref_id)
    return found


async def add(session: AsyncSession, activity: Activity) -> None:
    session.add(activity)
    await session.flush()


async def replace_links(session: AsyncSession, activity_id: uuid.UUID, link: str, ids: Sequence[uuid.UUID]) -> None:
    await session.execute(
        delete(ActivityLink).where(col(ActivityLink.activity_id) == activity_id, col(ActivityLink.link) == link)
    )
    if ids:
        await session.execute(
            insert(ActivityLink), [{"activity_id": activity_id, "link": link, "ref_id": i} for i in ids]
        )


async def remove(session: AsyncSession, activity: Activity) -> None:
    await session.delete(activity)
    await session.flush()
