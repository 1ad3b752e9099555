"""SQL for imports: the rows a file's keys name, read in one statement per file."""

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import Agreement, AgreementParticipant, Target


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


async def agreements_with_participants(
    session: AsyncSession, agreement_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[Agreement, list[uuid.UUID]]]:
    """These agreements' stored rows with their participants, in two statements."""
    if not agreement_ids:
        return {}
    rows = (await session.execute(select(Agreement).where(col(Agreement.id).in_(list(agreement_ids))))).scalars()
    found: dict[uuid.UUID, tuple[Agreement, list[uuid.UUID]]] = {a.id: (a, []) for a in rows}
    stmt = select(col(AgreementParticipant.agreement_id), col(AgreementParticipant.organization_id)).where(
        col(AgreementParticipant.agreement_id).in_(list(agreement_ids))
    )
    for agreement_id, org_id in (await session.execute(stmt)).all():
        found[agreement_id][1].append(org_id)
    return found


async def targets_by_title(
    session: AsyncSession, agreement_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], list[Target]]:
    """These agreements' targets by (agreement, title); a title may name more than one."""
    found: dict[tuple[uuid.UUID, str], list[Target]] = defaultdict(list)
    if not agreement_ids:
        return found
    stmt = (
        select(Target)
        .where(col(Target.agreement_id).in_(list(set(agreement_ids))))
        .order_by(col(Target.created_at), col(Target.id))
    )
    for target in (await session.execute(stmt)).scalars():
        found[(target.agreement_id, target.title)].append(target)
    return found
