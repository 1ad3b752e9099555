"""SQL for the workspace: its sessions, and what waits in an editor's review queue."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, delete, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import (
    Activity,
    Agreement,
    ApiKey,
    EvidenceDocument,
    Measurement,
    MeasurementEvidence,
    Organization,
    Target,
    WorkspaceSession,
)
from app.models.agenda import ActivityStatus
from app.models.results import EvidenceStatus, MeasurementStatus

QUEUE_LIMIT = 100


async def add(session: AsyncSession, row: WorkspaceSession) -> None:
    session.add(row)
    await session.flush()


async def forget_old(session: AsyncSession, api_key_id: uuid.UUID, before: datetime) -> None:
    """Drop a key's sessions that expired or ended before `before`: the table stays as small as
    the sessions in use (by the api_key_id index, at each sign-in)."""
    await session.execute(
        delete(WorkspaceSession).where(
            col(WorkspaceSession.api_key_id) == api_key_id,
            (col(WorkspaceSession.expires_at) < before) | (col(WorkspaceSession.ended_at) < before),
        )
    )


async def live(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[WorkspaceSession, ApiKey, Organization] | None:
    """The session a cookie names, with its key and organization, if all three are live: one
    statement on the unique token_hash index; a revoked or expired key ends the session here."""
    result = await session.execute(
        select(WorkspaceSession, ApiKey, Organization)
        .join(ApiKey, col(ApiKey.id) == col(WorkspaceSession.api_key_id))
        .join(Organization, col(Organization.id) == col(ApiKey.organization_id))
        .where(
            col(WorkspaceSession.token_hash) == token_hash,
            col(WorkspaceSession.ended_at).is_(None),
            col(WorkspaceSession.expires_at) > now,
            col(ApiKey.revoked_at).is_(None),
            (col(ApiKey.expires_at).is_(None)) | (col(ApiKey.expires_at) > now),
        )
    )
    row = result.first()
    return None if row is None else (row[0], row[1], row[2])


async def end(session: AsyncSession, session_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(WorkspaceSession)
        .where(col(WorkspaceSession.id) == session_id, col(WorkspaceSession.ended_at).is_(None))
        .values(ended_at=now)
    )


def _signed_by(org_id: uuid.UUID | None) -> ColumnElement[bool]:
    """Agreements whose signatory is the organization (None: every agreement, for admins)."""
    return true() if org_id is None else col(Agreement.signatory_org_id) == org_id


_Waiting = TypeVar("_Waiting", EvidenceDocument, Activity)


async def _waiting(
    session: AsyncSession, model: type[_Waiting], status: str, first: Any, org_id: uuid.UUID | None
) -> list[tuple[_Waiting, str]]:
    """The items of the organization's agreements in `status`, `first` (then id) first, with
    their agreement's title: one section of the queue."""
    result = await session.execute(
        select(model, col(Agreement.title))
        .join(Agreement, col(Agreement.id) == col(model.agreement_id))
        .where(col(model.status) == status, _signed_by(org_id))
        .order_by(first, col(model.id))
        .limit(QUEUE_LIMIT)
    )
    return [(row[0], row[1]) for row in result.all()]


async def submitted_evidence(session: AsyncSession, org_id: uuid.UUID | None) -> list[tuple[EvidenceDocument, str]]:
    first = col(EvidenceDocument.uploaded_at)
    return await _waiting(session, EvidenceDocument, EvidenceStatus.submitted.value, first, org_id)


async def reported_measurements(
    session: AsyncSession, org_id: uuid.UUID | None
) -> list[tuple[Measurement, Target, str]]:
    result = await session.execute(
        select(Measurement, Target, col(Agreement.title))
        .join(Target, col(Target.id) == col(Measurement.target_id))
        .join(Agreement, col(Agreement.id) == col(Measurement.agreement_id))
        .where(col(Measurement.status) == MeasurementStatus.reported.value, _signed_by(org_id))
        .order_by(col(Measurement.created_at), col(Measurement.id))
        .limit(QUEUE_LIMIT)
    )
    return [(row[0], row[1], row[2]) for row in result.all()]


async def cited(session: AsyncSession, measurement_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[EvidenceDocument]]:
    """The documents each measurement cites, in one statement."""
    found: dict[uuid.UUID, list[EvidenceDocument]] = {m: [] for m in measurement_ids}
    if not measurement_ids:
        return found
    result = await session.execute(
        select(col(MeasurementEvidence.measurement_id), EvidenceDocument)
        .join(EvidenceDocument, col(EvidenceDocument.id) == col(MeasurementEvidence.evidence_id))
        .where(col(MeasurementEvidence.measurement_id).in_(measurement_ids))
        .order_by(col(EvidenceDocument.uploaded_at))
    )
    for measurement_id, document in result.all():
        found[measurement_id].append(document)
    return found


async def planned_activities(session: AsyncSession, org_id: uuid.UUID | None) -> list[tuple[Activity, str]]:
    return await _waiting(session, Activity, ActivityStatus.planned.value, col(Activity.starts_at), org_id)
