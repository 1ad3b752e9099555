"""SQL for measurements and the evidence they cite."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.pagination import PageParams, SortKey, apply_keyset
from app.models import EvidenceDocument, Measurement, MeasurementEvidence
from app.models.results import MeasurementStatus

BY_DATE = SortKey(
    "as_of", (col(Measurement.as_of), col(Measurement.created_at), col(Measurement.id)), (date, datetime, uuid.UUID)
)


async def get(session: AsyncSession, measurement_id: uuid.UUID, *, for_update: bool = False) -> Measurement | None:
    stmt = select(Measurement).where(col(Measurement.id) == measurement_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalars().first()


async def list_page(
    session: AsyncSession, target_id: uuid.UUID, params: PageParams, *, verified_only: bool
) -> list[Measurement]:
    stmt = select(Measurement).where(col(Measurement.target_id) == target_id)
    if verified_only:
        stmt = stmt.where(col(Measurement.status) == MeasurementStatus.verified.value)
    return list((await session.execute(apply_keyset(stmt, BY_DATE, params))).scalars())


async def evidence_ids(session: AsyncSession, measurement_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if not measurement_ids:
        return found
    stmt = (
        select(col(MeasurementEvidence.measurement_id), col(MeasurementEvidence.evidence_id))
        .where(col(MeasurementEvidence.measurement_id).in_(measurement_ids))
        .order_by(col(MeasurementEvidence.measurement_id), col(MeasurementEvidence.evidence_id))
    )
    for measurement_id, evidence_id in (await session.execute(stmt)).all():
        found[measurement_id].append(evidence_id)
    return found


async def cited_evidence(session: AsyncSession, measurement_id: uuid.UUID) -> list[EvidenceDocument]:
    stmt = (
        select(EvidenceDocument)
        .join(MeasurementEvidence, col(MeasurementEvidence.evidence_id) == col(EvidenceDocument.id))
        .where(col(MeasurementEvidence.measurement_id) == measurement_id)
    )
    return list((await session.execute(stmt)).scalars())


async def add(session: AsyncSession, measurement: Measurement, evidence: Sequence[uuid.UUID] = ()) -> None:
    session.add(measurement)
    await session.flush()
    if evidence:
        await session.execute(
            insert(MeasurementEvidence), [{"measurement_id": measurement.id, "evidence_id": e} for e in evidence]
        )
