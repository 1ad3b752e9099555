"""SQL for agreements: one query per list page or read, status and registration status in SQL."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, delete, exists, func, insert, literal, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, array, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import cast
from sqlalchemy.types import Date, Uuid
from sqlmodel import col

from app.http.pagination import PageParams, SortKey, apply_keyset
from app.models import Agreement, AgreementParticipant, LogDetail, LogEntry, Organization
from app.models.agreements import LegalStage

T = Agreement.__table__.c  # type: ignore[attr-defined]
EPOCH = date(1, 1, 1)


def status_expr(today: date) -> ColumnElement[str]:
    """API.md's status, first match wins. Shared by reads, filters and (later) compliance."""
    return case(
        (T.terminated_on <= today, "terminated"),
        (T.withdrawn_on <= today, "withdrawn"),
        (T.expires_on < today, "expired"),
        (T.suspended_on <= today, "suspended"),
        (and_(T.signed_on.is_not(None), func.coalesce(T.entry_into_force_on, T.signed_on) <= today), "in_force"),
        (T.signed_on.is_not(None), "signed"),
        (T.legal_stage == LegalStage.not_viable.value, "not_viable"),
        (T.legal_stage == LegalStage.cleared_for_signature.value, "cleared_for_signature"),
        (T.legal_stage == LegalStage.under_review.value, "under_review"),
        else_="draft",
    )


def registration_status_expr() -> ColumnElement[str]:
    return case(
        (T.signed_on.is_(None), "not_applicable"),
        (T.registration_state.is_(None), "pending"),
        else_=T.registration_state,
    )


def is_public() -> ColumnElement[bool]:
    """Public from signature onwards."""
    return T.signed_on.is_not(None)  # type: ignore[no-any-return]


_PARTICIPANTS = (
    select(
        func.coalesce(
            func.array_agg(AgreementParticipant.organization_id),
            cast(array([]), ARRAY(Uuid())),
        )
    )
    .where(col(AgreementParticipant.agreement_id) == T.id)
    .scalar_subquery()
)

READ_COLUMNS = [c for c in Agreement.__table__.c if c.key not in ("search_vector", "legal_stage", "registration_state")]  # type: ignore[attr-defined]


def read_select(today: date) -> Select[Any]:
    return select(
        *READ_COLUMNS,
        func.coalesce(T.entry_into_force_on, T.signed_on).label("entry_into_force_on"),
        status_expr(today).label("status"),
        registration_status_expr().label("registration_status"),
        _PARTICIPANTS.label("participant_org_ids"),
    )


SIGNED_SORT = func.coalesce(T.signed_on, cast(literal(EPOCH), Date))
SORTS = {
    "-updated_at": SortKey("-updated_at", (T.updated_at, T.id), (datetime, uuid.UUID), descending=True),
    "updated_at": SortKey("updated_at", (T.updated_at, T.id), (datetime, uuid.UUID)),
    "signed_on": SortKey("signed_on", (SIGNED_SORT, T.id), (date, uuid.UUID)),
    "-signed_on": SortKey("-signed_on", (SIGNED_SORT, T.id), (date, uuid.UUID), descending=True),
    "title": SortKey("title", (T.title, T.id), (str, uuid.UUID)),
}


HISTORY_SORT = SortKey("index", (col(LogEntry.index),), (int,))


def sort_values(sort: str, row: Any) -> tuple[Any, ...]:
    if sort in ("-updated_at", "updated_at"):
        return (row["updated_at"], row["id"])
    if sort in ("signed_on", "-signed_on"):
        return (row["signed_on"] or EPOCH, row["id"])
    return (row["title"], row["id"])


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whose eyes a query reads with: everything, or public ones plus the org's own and shared."""

    all_: bool
    org_id: uuid.UUID | None


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.all_:
        return true()
    if viewer.org_id is None:
        return is_public()
    shared = exists().where(
        col(AgreementParticipant.agreement_id) == T.id, col(AgreementParticipant.organization_id) == viewer.org_id
    )
    return or_(is_public(), T.signatory_org_id == viewer.org_id, shared)


@dataclass(frozen=True, slots=True)
class Filters:
    statuses: Sequence[str] = ()
    registration_statuses: Sequence[str] = ()
    instrument: str | None = None
    subject_area: str | None = None
    signatory_org_id: uuid.UUID | None = None
    state: str | None = None
    counterpart_country: str | None = None
    signed_from: date | None = None
    signed_to: date | None = None
    updated_since: datetime | None = None
    q: str | None = None


def _filtered(stmt: Select[Any], filters: Filters, today: date) -> Select[Any]:
    if filters.statuses:
        stmt = stmt.where(status_expr(today).in_(filters.statuses))
    if filters.registration_statuses:
        stmt = stmt.where(registration_status_expr().in_(filters.registration_statuses))
    if filters.instrument is not None:
        stmt = stmt.where(T.instrument == filters.instrument)
    if filters.subject_area is not None:
        stmt = stmt.where(T.subject_areas.contains([filters.subject_area]))
    if filters.signatory_org_id is not None:
        stmt = stmt.where(T.signatory_org_id == filters.signatory_org_id)
    if filters.state is not None:
        in_state = select(col(Organization.id)).where(col(Organization.subdivision) == filters.state)
        stmt = stmt.where(T.signatory_org_id.in_(in_state))
    if filters.counterpart_country is not None:
        stmt = stmt.where(T.counterparts.contains([{"country": filters.counterpart_country}]))
    if filters.signed_from is not None:
        stmt = stmt.where(T.signed_on >= filters.signed_from)
    if filters.signed_to is not None:
        stmt = stmt.where(T.signed_on <= filters.signed_to)
    if filters.updated_since is not None:
        stmt = stmt.where(T.updated_at > filters.updated_since)
    if filters.q:
        query = func.websearch_to_tsquery(literal("spanish").cast(REGCONFIG), func.pacta_fold(filters.q))
        stmt = stmt.where(T.search_vector.op("@@")(query))
    return stmt


def list_statement(filters: Filters, viewer: Viewer, today: date, sort: str, params: PageParams) -> Select[Any]:
    stmt = _filtered(read_select(today).where(visible_to(viewer)), filters, today)
    return apply_keyset(stmt, SORTS[sort], params)


async def list_page(
    session: AsyncSession, filters: Filters, viewer: Viewer, today: date, sort: str, params: PageParams
) -> list[dict[str, Any]]:
    result = await session.execute(list_statement(filters, viewer, today, sort, params))
    return [dict(r) for r in result.mappings()]


async def read_one(session: AsyncSession, agreement_id: uuid.UUID, today: date) -> dict[str, Any] | None:
    row = (await session.execute(read_select(today).where(T.id == agreement_id))).mappings().first()
    return None if row is None else dict(row)


async def get_row(session: AsyncSession, agreement_id: uuid.UUID, *, for_update: bool = False) -> Agreement | None:
    stmt = select(Agreement).where(col(Agreement.id) == agreement_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalars().first()


async def participant_ids(session: AsyncSession, agreement_id: uuid.UUID) -> list[uuid.UUID]:
    stmt = (
        select(col(AgreementParticipant.organization_id))
        .where(col(AgreementParticipant.agreement_id) == agreement_id)
        .order_by(col(AgreementParticipant.organization_id))
    )
    return list((await session.execute(stmt)).scalars())


async def is_participant(session: AsyncSession, agreement_id: uuid.UUID, org_id: uuid.UUID) -> bool:
    stmt = select(
        exists().where(
            col(AgreementParticipant.agreement_id) == agreement_id, col(AgreementParticipant.organization_id) == org_id
        )
    )
    return bool((await session.execute(stmt)).scalar())


async def organizations(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Organization]:
    if not ids:
        return {}
    rows = (await session.execute(select(Organization).where(col(Organization.id).in_(ids)))).scalars()
    return {o.id: o for o in rows}


async def external_ref_taken(
    session: AsyncSession, signatory_org_id: uuid.UUID, external_ref: str, *, other_than: uuid.UUID | None
) -> bool:
    cond = and_(col(Agreement.signatory_org_id) == signatory_org_id, col(Agreement.external_ref) == external_ref)
    if other_than is not None:
        cond = and_(cond, col(Agreement.id) != other_than)
    return bool((await session.execute(select(exists().where(cond)))).scalar())


async def add(session: AsyncSession, agreement: Agreement) -> None:
    session.add(agreement)
    await session.flush()


async def replace_participants(session: AsyncSession, agreement_id: uuid.UUID, org_ids: Sequence[uuid.UUID]) -> None:
    await session.execute(delete(AgreementParticipant).where(col(AgreementParticipant.agreement_id) == agreement_id))
    if org_ids:
        await session.execute(
            insert(AgreementParticipant), [{"agreement_id": agreement_id, "organization_id": o} for o in org_ids]
        )


async def remove(session: AsyncSession, agreement: Agreement) -> None:
    await session.delete(agreement)
    await session.flush()


async def history(
    session: AsyncSession, agreement_id: uuid.UUID, params: PageParams
) -> tuple[list[tuple[LogEntry, Any]], dict[str, Any]]:
    """A page of the log entries filed under an agreement, and each resource's document just
    before the page (to diff the page's first change of every resource against)."""
    stmt = (
        select(LogEntry, col(LogDetail.document))
        .join(LogDetail, col(LogDetail.index) == col(LogEntry.index))
        .where(col(LogDetail.agreement_id) == agreement_id)
    )
    stmt = apply_keyset(stmt, HISTORY_SORT, params)
    rows = [(r[0], r[1]) for r in (await session.execute(stmt)).all()]
    if not rows:
        return rows, {}
    first = rows[0][0].index
    previous = (
        select(col(LogEntry.resource_id), col(LogDetail.document))
        .join(LogDetail, col(LogDetail.index) == col(LogEntry.index))
        .where(col(LogDetail.agreement_id) == agreement_id, col(LogEntry.index) < first)
        .ext(distinct_on(col(LogEntry.resource_id)))
        .order_by(col(LogEntry.resource_id), col(LogEntry.index).desc())
    )
    return rows, {r[0]: r[1] for r in (await session.execute(previous)).all()}
