"""The dashboard's figures (public agreements only, verified measurements only) and the data of
the public per-agreement page."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import catalogs
from app.agreements import access
from app.agreements import repository as agreement_repository
from app.agreements import service as agreement_service
from app.agreements.errors import AgreementNotFound
from app.agreements.schemas import AgreementRead
from app.dashboard import repository
from app.dashboard.repository import Filters
from app.dashboard.schemas import (
    DashboardSummary,
    IndicatorTotal,
    MilestoneAttainment,
    StateCount,
    SummaryFilters,
)
from app.errors import field_error
from app.i18n import Text
from app.log import repository as log_repository
from app.models import Organization
from app.models.agreements import AgreementStatus, RegistrationStatus, SubjectArea
from app.models.results import Indicator
from app.organizations.errors import OrganizationNotFound
from app.targets import repository as target_repository
from app.targets import service as target_service
from app.targets.schemas import MilestoneStatus, TargetRead

# The statuses a public (signed) agreement can have, in the order of its life.
PUBLIC_STATUSES = (
    AgreementStatus.signed,
    AgreementStatus.in_force,
    AgreementStatus.suspended,
    AgreementStatus.expired,
    AgreementStatus.withdrawn,
    AgreementStatus.terminated,
)
PUBLIC_REGISTRATION_STATUSES = (
    RegistrationStatus.pending,
    RegistrationStatus.submitted,
    RegistrationStatus.registered,
    RegistrationStatus.rejected,
)
INDICATOR_ORDER = {indicator.value: i for i, indicator in enumerate(Indicator)}


def check_filters(state: str | None, signatory_org_id: uuid.UUID | None) -> Filters:
    """The filters, with the state checked against ISO 3166-2 (422 for a code that names nothing)."""
    if state is not None and not catalogs.is_subdivision(state):
        raise field_error(["query", "state"], Text("validation.subdivision_code", value=repr(state)))
    return Filters(state=state, signatory_org_id=signatory_org_id)


def _counts(rows: list[tuple[str, str | None, int]], facet: str) -> dict[str | None, int]:
    return {key: n for name, key, n in rows if name == facet}


async def summary(session: AsyncSession, filters: Filters, *, today: date) -> DashboardSummary:
    """Three aggregated statements, whatever the number of agreements."""
    rows = await repository.facets(session, filters, today)
    indicators = await repository.indicator_totals(session, filters, today)
    milestones = await repository.milestone_counts(session, filters, today)

    statuses = _counts(rows, "status")
    registrations = _counts(rows, "registration_status")
    areas = _counts(rows, "subject_area")
    countries = _counts(rows, "counterpart_country")
    states = _counts(rows, "state")
    by_milestone = {str(r["status"]): r for r in milestones}
    due = sum(int(r["due"]) for r in milestones)
    attained = sum(int(r["attainment_count"]) for r in milestones)
    attainment_sum = sum(float(r["attainment_sum"] or 0) for r in milestones)
    return DashboardSummary(
        as_of=today,
        filters=SummaryFilters(state=filters.state, signatory_org_id=filters.signatory_org_id),
        agreements=sum(n for name, _, n in rows if name == "total"),
        by_status={s.value: statuses.get(s.value, 0) for s in PUBLIC_STATUSES},
        by_registration_status={r.value: registrations.get(r.value, 0) for r in PUBLIC_REGISTRATION_STATUSES},
        by_subject_area={a.value: areas.get(a.value, 0) for a in SubjectArea},
        by_counterpart_country={
            str(k): n for k, n in sorted(countries.items(), key=lambda kv: (-kv[1], kv[0] or "")) if k is not None
        },
        by_state=[
            StateCount(state=k, name=catalogs.subdivision_name(k), agreements=n)
            for k, n in sorted(states.items(), key=lambda kv: (-kv[1], kv[0] or "~"))
        ],
        key_indicators=[
            IndicatorTotal(
                indicator=r["indicator"],
                measure=r["measure"],
                unit=r["unit"],
                total=float(r["total"]),
                targets=int(r["targets"]),
            )
            for r in sorted(indicators, key=lambda r: (INDICATOR_ORDER[r["indicator"]], r["measure"], r["unit"] or ""))
        ],
        milestones=MilestoneAttainment(
            by_status={
                s: int(by_milestone[s.value]["milestones"]) if s.value in by_milestone else 0 for s in MilestoneStatus
            },
            milestones=sum(int(r["milestones"]) for r in milestones),
            due=due,
            mean_attainment=round(attainment_sum / attained, 4) if attained else None,
            attainment_milestones=attained,
        ),
    )


@dataclass(frozen=True, slots=True)
class AgreementLine:
    """One public agreement in the overview's list."""

    id: uuid.UUID
    title: str
    signed_on: date
    status: str
    state: str | None
    state_name: str | None
    signatory_name: str
    signatory_org_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Overview:
    summary: DashboardSummary
    agreements: list[AgreementLine]


async def overview(session: AsyncSession, filters: Filters, *, today: date, limit: int) -> Overview:
    """The summary and the latest signed agreements, for the public page."""
    figures = await summary(session, filters, today=today)
    rows = await repository.recent_agreements(session, filters, today, limit=limit)
    lines = [
        AgreementLine(
            id=r["id"],
            title=r["title"],
            signed_on=r["signed_on"],
            status=r["status"],
            state=r["state"],
            state_name=catalogs.subdivision_name(r["state"]),
            signatory_name=r["signatory_name"],
            signatory_org_id=r["signatory_org_id"],
        )
        for r in rows
    ]
    return Overview(summary=figures, agreements=lines)


@dataclass(frozen=True, slots=True)
class Evidence:
    """An accepted document, as the public page shows it."""

    id: uuid.UUID
    title: str
    document_type: str
    document_date: date | None
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime
    log_index: int | None
    target_ids: frozenset[uuid.UUID]


@dataclass(frozen=True, slots=True)
class TargetProgress:
    target: TargetRead
    evidence: list[Evidence]


@dataclass(frozen=True, slots=True)
class AgreementPage:
    agreement: AgreementRead
    signatory: Organization | None
    state_name: str | None
    targets: list[TargetProgress]
    documents: list[Evidence] = field(default_factory=list)  # accepted, backing no target
    tree_size: int = 0


def _evidence(row: dict[str, Any]) -> Evidence:
    backs = set(row["measured_target_ids"] or [])
    if row["target_id"] is not None:
        backs.add(row["target_id"])
    return Evidence(
        id=row["id"],
        title=row["title"],
        document_type=row["document_type"],
        document_date=row["document_date"],
        filename=row["filename"],
        media_type=row["media_type"],
        size_bytes=int(row["size_bytes"]),
        sha256=row["sha256"],
        uploaded_at=row["uploaded_at"],
        log_index=None if row["log_index"] is None else int(row["log_index"]),
        target_ids=frozenset(backs),
    )


async def agreement_page(session: AsyncSession, agreement_id: uuid.UUID, *, today: date) -> AgreementPage:
    """A public agreement with every target's progress and the accepted evidence behind it, in a
    fixed number of statements; AgreementNotFound for one that is missing or not public."""
    agreement = await _public_agreement(session, agreement_id, today)
    organizations = await agreement_repository.organizations(session, [agreement.signatory_org_id])
    signatory = organizations.get(agreement.signatory_org_id)
    targets = await repository.targets_of(session, agreement.id)
    verified = await target_repository.verified_for(session, [t.id for t in targets])
    reads = [target_service.to_read(t, verified[t.id], agreement, today) for t in targets]
    documents = [_evidence(r) for r in await repository.accepted_evidence(session, agreement.id)]
    known = {t.id for t in reads}
    return AgreementPage(
        agreement=agreement,
        signatory=signatory,
        state_name=catalogs.subdivision_name(None if signatory is None else signatory.subdivision),
        targets=[TargetProgress(target=t, evidence=[d for d in documents if t.id in d.target_ids]) for t in reads],
        documents=[d for d in documents if not d.target_ids & known],
        tree_size=await log_repository.size(session),
    )


@dataclass(frozen=True, slots=True)
class MilestoneTally:
    """Milestones met out of those decided: already due, or met before their date."""

    met: int
    decided: int

    @property
    def share(self) -> float | None:
        return self.met / self.decided if self.decided else None

    def __add__(self, other: "MilestoneTally") -> "MilestoneTally":
        return MilestoneTally(met=self.met + other.met, decided=self.decided + other.decided)


def tally_targets(targets: list[TargetRead], today: date) -> MilestoneTally:
    """An agreement's tally, judged as the dashboard's counts judge it (due = its date has passed)."""
    met = decided = 0
    for target in targets:
        for ms in target.milestones:
            is_met = ms.status == MilestoneStatus.met
            met += is_met
            decided += is_met or (ms.due_on is not None and today > ms.due_on)
    return MilestoneTally(met=met, decided=decided)


def _tally_rows(rows: list[dict[str, Any]]) -> MilestoneTally:
    met = next((r for r in rows if r["status"] == MilestoneStatus.met.value), None)
    met_total = 0 if met is None else int(met["milestones"])
    met_due = 0 if met is None else int(met["due"])
    due = sum(int(r["due"]) for r in rows)
    return MilestoneTally(met=met_total, decided=due + met_total - met_due)


async def _public_agreement(session: AsyncSession, agreement_id: uuid.UUID, today: date) -> AgreementRead:
    agreement = await agreement_service.get_visible(session, agreement_id, principal=None, today=today)
    if not access.agreement_is_public(agreement.signed_on):  # get_visible hides it from anonymous callers
        raise AgreementNotFound
    return agreement


async def agreement_badge(
    session: AsyncSession, agreement_id: uuid.UUID, *, today: date
) -> tuple[AgreementRead, MilestoneTally]:
    """A public agreement and its milestones met; AgreementNotFound for any other id."""
    agreement = await _public_agreement(session, agreement_id, today)
    targets = await repository.targets_of(session, agreement.id)
    verified = await target_repository.verified_for(session, [t.id for t in targets])
    reads = [target_service.to_read(t, verified[t.id], agreement, today) for t in targets]
    return agreement, tally_targets(reads, today)


@dataclass(frozen=True, slots=True)
class OrganizationPage:
    organization: Organization
    state_name: str | None
    overview: Overview
    tally: MilestoneTally
    # Each public agreement's own tally (one with no milestones has none).
    tallies: dict[uuid.UUID, MilestoneTally]


async def organization_page(
    session: AsyncSession, organization_id: uuid.UUID, *, today: date, limit: int
) -> OrganizationPage:
    """An organization that signed at least one public agreement, with the figures of those
    agreements; OrganizationNotFound otherwise (an organization with nothing public stays unseen)."""
    found = (await agreement_repository.organizations(session, [organization_id])).get(organization_id)
    if found is None:
        raise OrganizationNotFound
    filters = Filters(signatory_org_id=organization_id)
    figures = await overview(session, filters, today=today, limit=limit)
    if figures.summary.agreements == 0:
        raise OrganizationNotFound
    by_agreement: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in await repository.milestone_counts(session, filters, today, by_agreement=True):
        by_agreement.setdefault(row["agreement_id"], []).append(row)
    tallies = {agreement_id: _tally_rows(rows) for agreement_id, rows in by_agreement.items()}
    return OrganizationPage(
        organization=found,
        state_name=catalogs.subdivision_name(found.subdivision),
        overview=figures,
        tally=sum(tallies.values(), MilestoneTally(met=0, decided=0)),
        tallies=tallies,
    )


def latest_evidence(view: AgreementPage, count: int) -> list[Evidence]:
    """The newest accepted documents of a public agreement, whichever target they back."""
    seen: dict[uuid.UUID, Evidence] = {d.id: d for p in view.targets for d in p.evidence}
    seen.update((d.id, d) for d in view.documents)
    return sorted(seen.values(), key=lambda d: (d.uploaded_at, d.id), reverse=True)[:count]
