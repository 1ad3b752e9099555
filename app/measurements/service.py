"""Reporting measurements with evidence, and the signatory's verification."""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements import service as agreement_service
from app.agreements.schemas import AgreementRead
from app.errors import Forbidden, Issues, NotFound
from app.evidence import repository as evidence_repository
from app.http.pagination import PageParams, make_page
from app.i18n import Text
from app.log import registry as log_registry
from app.log import service as log_service
from app.log.hashing import resource_document
from app.measurements import repository
from app.measurements.errors import AlreadyDecided, MeasurementNotFound, NoEvidence
from app.measurements.schemas import MeasurementCreate, MeasurementRead, Verification, VerificationDecision
from app.models import Measurement, MeasurementEvidence, Target
from app.models.results import EvidenceStatus, Measure, MeasurementStatus
from app.principal import Principal
from app.targets import service as target_service
from app.targets.errors import TargetNotFound

RESOURCE = "measurement"


def document_of(measurement: Measurement, evidence_ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    document = resource_document(measurement)
    document["evidence_ids"] = sorted(str(e) for e in evidence_ids)
    return document


def to_read(measurement: Measurement, evidence_ids: Sequence[uuid.UUID], *, insider: bool = True) -> MeasurementRead:
    """`insider`: may read the agreement's review notes; the decision note is one (as evidence's)."""
    data = measurement.model_dump()
    data["value"] = None if measurement.value is None else float(measurement.value)
    if not insider:
        data["decision_note"] = None
    return MeasurementRead.model_validate({**data, "evidence_ids": list(evidence_ids)})


async def report_measurement(
    session: AsyncSession, target_id: uuid.UUID, data: MeasurementCreate, *, principal: Principal, today: date
) -> MeasurementRead:
    # The target is read, not locked: a measurement changes its agreement, not its target.
    target, locked, _ = await agreement_service.lock_child(
        session,
        Target,
        target_id,
        principal=principal,
        today=today,
        not_found=TargetNotFound(),
        may=None,
        child_too=False,
    )
    agreement = locked.before
    if not access.can_contribute(principal, agreement.signatory_org_id, agreement.participant_org_ids):
        raise Forbidden(Text("measurements.report_forbidden"))
    issues = Issues()
    if data.as_of > today:
        issues.add(["as_of"], Text("validation.not_future", field="as_of"))
    qualitative = target.measure == Measure.qualitative
    if not qualitative and data.value is None:
        issues.add(["value"], Text("measurements.needs_value", measure=target.measure))
    evidence = list(dict.fromkeys(data.evidence_ids))
    found = await evidence_repository.of_agreement(session, agreement.id, evidence)
    for i, evidence_id in enumerate(data.evidence_ids):
        if evidence_id not in found:
            issues.add(["evidence_ids", i], Text("common.no_evidence_on_agreement"))
    issues.raise_if_any()
    measurement = Measurement(
        target_id=target.id,
        agreement_id=agreement.id,
        as_of=data.as_of,
        value=None if data.value is None else Decimal(str(data.value)),
        comment=data.comment,
        reported_by_org_id=principal.org_id,
    )
    await repository.add(session, measurement, evidence)
    await agreement_service.write_child(
        session,
        locked,
        resource_type=RESOURCE,
        resource_id=measurement.id,
        document=document_of(measurement, evidence),
        action=log_service.Action.create,
        principal=principal,
        today=today,
    )
    return to_read(measurement, sorted(evidence))


def _insider(principal: Principal | None, agreement: AgreementRead) -> bool:
    return access.sees_unreviewed(principal, agreement.signatory_org_id, agreement.participant_org_ids)


async def visible_measurement(
    session: AsyncSession, measurement_id: uuid.UUID, *, principal: Principal | None, today: date
) -> tuple[MeasurementRead, AgreementRead]:
    measurement = await repository.get(session, measurement_id)
    if measurement is None:
        raise MeasurementNotFound
    try:
        _, agreement = await target_service.visible_target(
            session, measurement.target_id, principal=principal, today=today
        )
    except NotFound as exc:
        raise MeasurementNotFound from exc
    insider = _insider(principal, agreement)
    if not access.is_public(RESOURCE, measurement.status) and not insider:
        raise MeasurementNotFound
    evidence = await repository.evidence_ids(session, [measurement.id])
    return to_read(measurement, evidence[measurement.id], insider=insider), agreement


async def decide(
    session: AsyncSession, measurement_id: uuid.UUID, data: Verification, *, principal: Principal, today: date
) -> MeasurementRead:
    measurement, locked, _ = await agreement_service.lock_child(
        session,
        Measurement,
        measurement_id,
        principal=principal,
        today=today,
        not_found=MeasurementNotFound(),
        may=None,
    )
    agreement = locked.before
    if not access.is_public(RESOURCE, measurement.status) and not _insider(principal, agreement):
        raise MeasurementNotFound
    if not access.can_edit(principal, agreement.signatory_org_id):
        raise Forbidden(Text("measurements.verify_forbidden"))
    if measurement.status != MeasurementStatus.reported.value:
        raise AlreadyDecided(Text("measurements.already_decided", status=measurement.status))
    cited = await repository.cited_evidence(session, measurement.id)
    if data.decision is VerificationDecision.verified and not any(
        d.status != EvidenceStatus.rejected.value for d in cited
    ):
        raise NoEvidence(Text("measurements.needs_evidence"))
    now = datetime.now(UTC)
    measurement.status = data.decision.value
    measurement.decided_at = now
    measurement.decided_by_org_id = principal.org_id
    measurement.decision_note = data.note
    measurement.updated_at = now
    await repository.add(session, measurement)
    evidence = sorted(d.id for d in cited)
    await agreement_service.write_child(
        session,
        locked,
        resource_type=RESOURCE,
        resource_id=measurement.id,
        document=document_of(measurement, evidence),
        action=log_service.Action.update,
        principal=principal,
        today=today,
    )
    return to_read(measurement, evidence)


async def list_measurements(
    session: AsyncSession, target_id: uuid.UUID, params: PageParams, *, principal: Principal | None, today: date
) -> tuple[list[MeasurementRead], str | None]:
    target, agreement = await target_service.visible_target(session, target_id, principal=principal, today=today)
    insider = _insider(principal, agreement)
    rows = await repository.list_page(session, target.id, params, verified_only=not insider)
    items, cursor = make_page(rows, repository.BY_DATE, params, lambda m: (m.as_of, m.created_at, m.id))
    evidence = await repository.evidence_ids(session, [m.id for m in items])
    return [to_read(m, evidence[m.id], insider=insider) for m in items], cursor


async def _logged_documents(session: AsyncSession) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """Every measurement as its log entries hashed it, for `pacta log verify`."""
    cited = await log_registry.pairs(session, MeasurementEvidence, "measurement_id", "evidence_id")
    return [(m.id, document_of(m, cited.get(m.id, []))) for m in await log_registry.rows(session, Measurement)]


log_registry.register(RESOURCE, _logged_documents)
