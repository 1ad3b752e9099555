"""SQL of the open data package: one statement per resource, each read as a stream inside one
read-only REPEATABLE READ transaction, so every file shows the registry at one instant.

Who is public is decided by the one rule: `visible_to` for an anonymous viewer (agreements) and
`PUBLIC_STATUSES` (their children); nothing here restates it.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from sqlalchemy import Connection, Select, func, select, text, union
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable
from sqlmodel import col

from app.agreements.access import PUBLIC_STATUSES
from app.agreements.repository import T, Viewer, registration_status_expr, status_expr, visible_to
from app.compliance import repository as compliance_repository
from app.models import (
    AgreementParticipant,
    EvidenceDocument,
    LegalReview,
    Measurement,
    Organization,
    Registration,
    Target,
)

ANONYMOUS = Viewer(all_=False, org_id=None)
STREAM_ROWS = 2000
# One export reads the whole registry in one transaction: longer than a request's statements.
EXPORT_STATEMENT_TIMEOUT = "900s"


@asynccontextmanager
async def snapshot(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A read-only REPEATABLE READ session: every statement sees the same committed state.

    A session bound to an outer connection (the tests' rolled-back transaction) joins that
    transaction, which already sees one state, and cannot change its isolation."""
    async with maker() as session:
        if isinstance(session.get_bind(), Connection):
            await session.connection()
        else:
            await session.connection(
                execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            )
        await session.execute(text(f"SET LOCAL statement_timeout = '{EXPORT_STATEMENT_TIMEOUT}'"))
        try:
            yield session
        finally:
            await session.rollback()


async def stream(
    session: AsyncSession, statement: Any, params: dict[str, Any] | None = None
) -> AsyncIterator[Sequence[Any]]:
    """The statement's rows in batches, through a server-side cursor (memory flat)."""
    result = await session.stream(statement, params or {}, execution_options={"yield_per": STREAM_ROWS})
    async for rows in result.partitions(STREAM_ROWS):
        yield rows


def _public_agreement_ids() -> Select[Any]:
    return select(T.id).where(visible_to(ANONYMOUS))


def _public(child_agreement_id: Any) -> Any:
    return child_agreement_id.in_(_public_agreement_ids())


def _public_status(kind: str, column: Any) -> Any:
    return column.in_(sorted(PUBLIC_STATUSES[kind]))


def organizations() -> Executable:
    """The organizations the public rows name: signatories, participants, responsible bodies,
    reporters and uploaders (every organization a foreign key of the package points at)."""
    measurement, evidence, target = Measurement, EvidenceDocument, Target
    named = union(
        select(T.signatory_org_id.label("id")).where(visible_to(ANONYMOUS)),
        select(col(AgreementParticipant.organization_id)).where(_public(col(AgreementParticipant.agreement_id))),
        select(col(target.responsible_org_id)).where(
            _public(col(target.agreement_id)), col(target.responsible_org_id).is_not(None)
        ),
        select(col(measurement.reported_by_org_id)).where(
            _public(col(measurement.agreement_id)), _public_status("measurement", col(measurement.status))
        ),
        select(col(evidence.uploaded_by_org_id)).where(
            _public(col(evidence.agreement_id)), _public_status("evidence", col(evidence.status))
        ),
    ).subquery()
    o = Organization
    return (
        select(
            col(o.id), col(o.name), col(o.kind), col(o.country), col(o.subdivision), col(o.inegi_code), col(o.website)
        )
        .where(col(o.id).in_(select(named.c.id)))
        .order_by(col(o.id))
    )


def agreements(today: date) -> Executable:
    return (
        select(
            T.id,
            T.title,
            T.instrument,
            status_expr(today).label("status"),
            registration_status_expr().label("registration_status"),
            T.signatory_org_id,
            func.array_to_string(T.subject_areas, ";"),
            func.array_to_string(T.languages, ";"),
            T.has_dispute_settlement_clause,
            T.signed_on,
            T.signed_place,
            func.coalesce(T.entry_into_force_on, T.signed_on),
            T.expires_on,
            T.suspended_on,
            T.terminated_on,
            T.termination_reason,
            T.withdrawn_on,
            T.external_ref,
            T.summary,
            T.created_at,
            T.updated_at,
        )
        .where(visible_to(ANONYMOUS))
        .order_by(T.id)
    )


def agreement_counterparts() -> Executable:
    """(agreement id, counterparts as stored): the service numbers them from 1 in their order."""
    return select(T.id, T.counterparts).where(visible_to(ANONYMOUS)).order_by(T.id)


def agreement_participants() -> Executable:
    p = AgreementParticipant
    return (
        select(col(p.agreement_id), col(p.organization_id))
        .where(_public(col(p.agreement_id)))
        .order_by(col(p.agreement_id), col(p.organization_id))
    )


CHECKS = ("foreign_party_is_governmental", "within_competence", "is_not_a_treaty", "dispute_clause_compliant")


def legal_reviews() -> Executable:
    """Public fields only: the observations stay with the signatory."""
    r = LegalReview
    checks = [col(r.checks)[name].as_boolean() for name in CHECKS]
    return (
        select(
            col(r.id),
            col(r.agreement_id),
            col(r.kind),
            col(r.requested_on),
            col(r.decided_on),
            col(r.outcome),
            col(r.reference),
            col(r.reviewer),
            *checks,
            col(r.document_id),
            col(r.created_at),
            col(r.updated_at),
        )
        .where(_public(col(r.agreement_id)))
        .order_by(col(r.id))
    )


def registrations() -> Executable:
    """Public fields only: the observations stay with the signatory."""
    r = Registration
    return (
        select(
            col(r.id),
            col(r.agreement_id),
            col(r.registry_kind),
            col(r.status),
            col(r.submitted_on),
            col(r.registered_on),
            col(r.registry_number),
            col(r.document_id),
            col(r.created_at),
            col(r.updated_at),
        )
        .where(_public(col(r.agreement_id)))
        .order_by(col(r.id))
    )


def targets() -> Executable:
    t = Target
    return (
        select(
            col(t.id),
            col(t.agreement_id),
            col(t.indicator),
            col(t.title),
            col(t.description),
            col(t.measure),
            col(t.unit),
            col(t.ascending),
            col(t.baseline_value),
            col(t.baseline_on),
            col(t.baseline_comment),
            col(t.responsible_org_id),
            col(t.created_at),
            col(t.updated_at),
        )
        .where(_public(col(t.agreement_id)))
        .order_by(col(t.id))
    )


def milestones() -> Executable:
    """(target id, milestones as stored): the service writes one row per milestone."""
    t = Target
    return select(col(t.id), col(t.milestones)).where(_public(col(t.agreement_id))).order_by(col(t.id))


def measurements() -> Executable:
    """Verified measurements only."""
    m = Measurement
    return (
        select(
            col(m.id),
            col(m.target_id),
            col(m.agreement_id),
            col(m.as_of),
            col(m.value),
            col(m.comment),
            col(m.reported_by_org_id),
            col(m.decided_at),
            col(m.created_at),
            col(m.updated_at),
        )
        .where(_public(col(m.agreement_id)), _public_status("measurement", col(m.status)))
        .order_by(col(m.id))
    )


def evidence() -> Executable:
    """Accepted documents' metadata (the content is downloaded from its URL)."""
    e = EvidenceDocument
    return (
        select(
            col(e.id),
            col(e.agreement_id),
            col(e.target_id),
            col(e.supersedes_id),
            col(e.title),
            col(e.document_type),
            col(e.description),
            col(e.language),
            col(e.document_date),
            col(e.filename),
            col(e.media_type),
            col(e.size_bytes),
            col(e.sha256),
            col(e.uploaded_by_org_id),
            col(e.uploaded_at),
            col(e.reviewed_at),
        )
        .where(_public(col(e.agreement_id)), _public_status("evidence", col(e.status)))
        .order_by(col(e.id))
    )


def _sql(statement: Select[Any]) -> str:
    compiled = statement.compile(
        dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"literal_binds": True},
    )
    return str(compiled)


def compliance_findings(params: compliance_repository.Params) -> tuple[Any, dict[str, Any]]:
    """Findings of public agreements, about public subjects (a finding about a measurement not yet
    verified stays out, as the measurement does)."""
    public_measurements = select(col(Measurement.id)).where(_public_status("measurement", col(Measurement.status)))
    return compliance_repository.findings_where(
        params,
        f"f.agreement_id IN ({_sql(_public_agreement_ids())}) "
        f"AND (f.subject_type <> 'measurement' OR f.subject_id IN ({_sql(public_measurements)}))",
    )
