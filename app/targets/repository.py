"""SQL for targets and the verified measurements their milestones are evaluated from."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.pagination import PageParams, SortKey, apply_keyset
from app.models import Measurement, Target
from app.models.results import MeasurementStatus
from app.targets.progress import Verified

BY_CREATED = SortKey("created", (col(Target.created_at), col(Target.id)), (datetime, uuid.UUID))


async def get(
    session: AsyncSession, target_id: uuid.UUID, *, agreement_id: uuid.UUID | None = None, for_update: bool = False
) -> Target | None:
    stmt = select(Target).where(col(Target.id) == target_id)
    if agreement_id is not None:
        stmt = stmt.where(col(Target.agreement_id) == agreement_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalars().first()


async def list_page(session: AsyncSession, agreement_id: uuid.UUID, params: PageParams) -> list[Target]:
    stmt = select(Target).where(col(Target.agreement_id) == agreement_id)
    return list((await session.execute(apply_keyset(stmt, BY_CREATED, params))).scalars())


async def verified_for(session: AsyncSession, target_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Verified]]:
    """Every verified measurement of these targets, in one query, oldest first."""
    found: dict[uuid.UUID, list[Verified]] = defaultdict(list)
    if not target_ids:
        return found
    stmt = (
        select(col(Measurement.target_id), col(Measurement.as_of), col(Measurement.value))
        .where(col(Measurement.target_id).in_(target_ids), col(Measurement.status) == MeasurementStatus.verified.value)
        .order_by(col(Measurement.target_id), col(Measurement.as_of), col(Measurement.created_at))
    )
    for target_id, as_of, value in (await session.execute(stmt)).all():
        found[target_id].append(Verified(as_of=as_of, value=value))
    return found


async def progress_of(session: AsyncSession, target_id: uuid.UUID) -> tuple[list[Verified], bool]:
    """A target's verified measurements (oldest first, as verified_for) and whether it has any
    measurement at all, in one query."""
    stmt = (
        select(col(Measurement.as_of), col(Measurement.value), col(Measurement.status))
        .where(col(Measurement.target_id) == target_id)
        .order_by(col(Measurement.as_of), col(Measurement.created_at))
    )
    rows = (await session.execute(stmt)).all()
    verified = [Verified(as_of=a, value=v) for a, v, status in rows if status == MeasurementStatus.verified.value]
    return verified, bool(rows)


async def add(session: AsyncSession, target: Target) -> None:
    session.add(target)
    await session.flush()


async def remove(session: AsyncSession, target: Target) -> None:
    await session.delete(target)
    await session.flush()


async def is_referenced(session: AsyncSession, target_id: uuid.UUID) -> bool:
    """Evidence filed under the target, or activities that serve it."""
    row = await session.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM evidence_documents WHERE target_id = :id) "
            "OR EXISTS (SELECT 1 FROM activity_links WHERE link = 'target' AND ref_id = :id)"
        ),
        {"id": target_id},
    )
    return bool(row.scalar())
