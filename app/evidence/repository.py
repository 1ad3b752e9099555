"""SQL for evidence documents."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.pagination import PageParams, SortKey, apply_keyset
from app.models import EvidenceDocument
from app.models.results import EvidenceStatus

BY_UPLOADED = SortKey("uploaded", (col(EvidenceDocument.uploaded_at), col(EvidenceDocument.id)), (datetime, uuid.UUID))


async def get(session: AsyncSession, evidence_id: uuid.UUID, *, for_update: bool = False) -> EvidenceDocument | None:
    stmt = select(EvidenceDocument).where(col(EvidenceDocument.id) == evidence_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalars().first()


async def by_content(session: AsyncSession, agreement_id: uuid.UUID, sha256: str) -> EvidenceDocument | None:
    stmt = select(EvidenceDocument).where(
        col(EvidenceDocument.agreement_id) == agreement_id, col(EvidenceDocument.sha256) == sha256
    )
    return (await session.execute(stmt)).scalars().first()


async def of_agreement(
    session: AsyncSession, agreement_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, EvidenceDocument]:
    if not ids:
        return {}
    stmt = select(EvidenceDocument).where(
        col(EvidenceDocument.agreement_id) == agreement_id, col(EvidenceDocument.id).in_(ids)
    )
    return {d.id: d for d in (await session.execute(stmt)).scalars()}


async def list_page(
    session: AsyncSession, agreement_id: uuid.UUID, params: PageParams, *, accepted_only: bool
) -> list[EvidenceDocument]:
    stmt = select(EvidenceDocument).where(col(EvidenceDocument.agreement_id) == agreement_id)
    if accepted_only:
        stmt = stmt.where(col(EvidenceDocument.status) == EvidenceStatus.accepted.value)
    return list((await session.execute(apply_keyset(stmt, BY_UPLOADED, params))).scalars())


async def add(session: AsyncSession, document: EvidenceDocument) -> None:
    session.add(document)
    await session.flush()
