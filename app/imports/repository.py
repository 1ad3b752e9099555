"""SQL for imports: the rows a file's keys name, read in one statement per file."""

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import Agreement, Target


async def agreements_by_ref(
    session: AsyncSession, signatory_org_id: uuid.UUID, refs: Sequence[str]
) -> dict[str, uuid.UUID]:
    """The signatory's agreements filed under these folios: {external_ref: id}."""
    if not refs:
        return {}
    stmt = select(col(Agreement.external_ref), col(Agreement.id)).where(
        col(Agreement.signatory_org_id) == signatory_org_id, col(Agreement.external_ref).in_(list(set(refs)))
    )
    return {ref: agreement_id for ref, agreement_id in (await session.execute(stmt)).all() if ref is not None}


async def targets_by_title(
    session: AsyncSession, agreement_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], list[uuid.UUID]]:
    """These agreements' targets by (agreement, title); a title may name more than one."""
    found: dict[tuple[uuid.UUID, str], list[uuid.UUID]] = defaultdict(list)
    if not agreement_ids:
        return found
    stmt = (
        select(col(Target.agreement_id), col(Target.title), col(Target.id))
        .where(col(Target.agreement_id).in_(list(set(agreement_ids))))
        .order_by(col(Target.created_at), col(Target.id))
    )
    for agreement_id, title, target_id in (await session.execute(stmt)).all():
        found[(agreement_id, title)].append(target_id)
    return found
