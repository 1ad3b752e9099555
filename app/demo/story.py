"""The demo's 6/12/24-month story: what a dozen real sister-city pairs promised and what they proved.

The pairs are real (see data/README.md); everything this module adds to them is synthetic and says
so: the entry into force of their work programme, targets, measurements, evidence, legal reviews,
registrations and activities.

Dates. Entry into force is set, when the story is first loaded, to the first day of the current
month minus 9, 15 or 28 months. So whatever day the demo is loaded, one third of the agreements
have their 6-month milestone due (12 and 24 scheduled), one third 6 and 12, one third all three,
and every due date lies at least a month in the past. Later loads find the story there and leave
it as it is (dates included), so loading twice changes nothing.

Actors. Every write goes through the services with the key of the organization whose role the
contract requires: the municipality's legal reviewer records reviews, its editor targets,
registrations, the agreement text and its decisions on evidence and measurements; the
participating universities and chambers (contributors) upload progress evidence, report
measurements and propose activities.
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.activities import service as activity_service
from app.activities.schemas import ActivityCreate
from app.agreements import service as agreement_service
from app.agreements.schemas import AgreementUpdate
from app.api_keys import repository as key_repository
from app.api_keys import service as key_service
from app.demo.pdf import demo_pdf
from app.evidence import service as evidence_service
from app.evidence.multipart import StreamedForm
from app.evidence.schemas import EvidenceDecision, EvidenceReview
from app.http.pagination import PageParams
from app.legal_reviews import service as review_service
from app.legal_reviews.schemas import LegalReviewCreate, ReviewChecks
from app.measurements import service as measurement_service
from app.measurements.schemas import MeasurementCreate, Verification, VerificationDecision
from app.models import Organization, OrganizationKind, Role
from app.models.agenda import ActivityKind, ActivityStatus
from app.models.agreements import RegistrationState, Registry, ReviewKind, ReviewOutcome
from app.models.organizations import PLATFORM_ORG_ID
from app.models.results import DocumentType, Indicator, Measure
from app.principal import Principal
from app.registrations import service as registration_service
from app.registrations.schemas import RegistrationCreate
from app.storage import EvidenceStorage
from app.targets import repository as target_repository
from app.targets import service as target_service
from app.targets.progress import add_months
from app.targets.schemas import Baseline, MilestoneIn, TargetCreate

LABEL = "(demo, datos sintéticos)"
MONTHS = (6, 12, 24)
ZONE = ZoneInfo("America/Mexico_City")
# Demo evidence is small; the limit only guards against a writer bug.
MAX_DEMO_PDF = 1024 * 1024

# Synthetic participants (universities and chambers), keyed by a short handle used in the plan.
UNIVERSITY_JAL = f"Universidad de Ejemplo {LABEL}"
UNIVERSITY_GTO = f"Universidad Tecnológica de Ejemplo del Bajío {LABEL}"
CHAMBER_NLE = f"Cámara de Comercio de Ejemplo {LABEL}"
CHAMBER_COAH = f"Cámara de la Industria de Ejemplo del Norte {LABEL}"


@dataclass(frozen=True, slots=True)
class TargetPlan:
    """One target. `targets` per milestone (None: qualitative); `values` the cumulative level
    reported just before each due milestone (None: nothing reported for it; for a qualitative
    target any number means "a verified report"). `rejected_at`: the milestone whose report cites
    evidence the editor rejects (so the report is rejected); `pending_at`: the one whose report
    waits for review."""

    indicator: Indicator
    title: str
    targets: tuple[float, float, float] | None
    values: tuple[float | None, ...]
    unit: str | None = None
    baseline: float | None = 0
    rejected_at: int | None = None
    pending_at: int | None = None

    @property
    def measure(self) -> Measure:
        if self.targets is None:
            return Measure.qualitative
        return Measure.currency if self.unit else Measure.count


@dataclass(frozen=True, slots=True)
class StoryPlan:
    number: int  # the pair's row in sister_cities_mx.csv (its external_ref demo-sister-cities-NNN)
    months_in_force: int
    participants: tuple[str, ...]
    # complete: internal, council and SRE reviews favourable before signing; no_dictamen: no SRE
    # dictamen at all; pending: no council approval, and the dictamen asked for after signing.
    legal: Literal["complete", "no_dictamen", "pending"]
    # pending: signed and never submitted.
    registration: Literal["registered_sre", "registered_state", "submitted", "pending"]
    targets: tuple[TargetPlan, ...]
    signed_text: bool = True


# One constructor per indicator: TargetPlan with the indicator and its Spanish title filled in.
_companies = partial(TargetPlan, Indicator.companies_served, f"Empresas atendidas {LABEL}")
_exchanges = partial(TargetPlan, Indicator.technical_exchanges, f"Intercambios técnicos {LABEL}")
_trainings = partial(TargetPlan, Indicator.certified_trainings, f"Capacitaciones certificadas {LABEL}")
_pilots = partial(TargetPlan, Indicator.technology_pilots, f"Pilotos tecnológicos {LABEL}")
_jobs = partial(TargetPlan, Indicator.jobs_created, f"Empleos creados {LABEL}")


def _investment(unit: str, targets: tuple[float, float, float], values: tuple[float | None, ...]) -> TargetPlan:
    title = f"Cartera de inversión en {unit} {LABEL}"
    return TargetPlan(Indicator.investment_pipeline, title, targets, values, unit=unit)


def _services(v: tuple[float | None, ...]) -> TargetPlan:
    title = f"Mejora de servicios públicos: protocolo compartido de atención {LABEL}"
    return TargetPlan(Indicator.public_service_improvements, title, None, v, baseline=None)


# The expected milestone statuses are noted beside each target (m met, p partially met,
# n not met, s scheduled); tests/demo asserts their totals through the API.
STORY: tuple[StoryPlan, ...] = (
    StoryPlan(  # León - Laredo (Guanajuato)
        14, 28, (UNIVERSITY_GTO, CHAMBER_NLE), "complete", "registered_sre",
        (
            _companies((10, 25, 60), (12, 27, 45)),  # m m p
            _investment("MXN", (5e6, 15e6, 40e6), (6e6, 16.5e6, 42e6)),  # m m m
            _jobs((20, 60, 150), (25, 70, None)),  # m m p
        ),
    ),
    StoryPlan(  # San Miguel de Allende - Laredo (Guanajuato)
        22, 15, (UNIVERSITY_GTO,), "complete", "registered_state",
        (
            _exchanges((2, 5, 10), (2, 4)),  # m p s
            _trainings((30, 80, 200), (35, 85)),  # m m s
        ),
    ),
    StoryPlan(  # Acámbaro - Laredo (Guanajuato)
        1, 9, (CHAMBER_NLE,), "pending", "pending",
        (
            _companies((8, 20, 50), (3,)),  # p s s
            _services((None,)),  # n s s
        ),
        signed_text=False,
    ),
    StoryPlan(  # Ciénega de Flores - Laredo (Nuevo León)
        3, 28, (CHAMBER_NLE, UNIVERSITY_JAL), "no_dictamen", "submitted",
        (
            _investment("USD", (250_000, 1_000_000, 3_000_000), (300_000, 900_000, 2_500_000)),  # m p p
            _pilots((1, 2, 4), (None, None, None)),  # n n n
        ),
    ),
    StoryPlan(  # Santiago - Edinburg (Nuevo León)
        62, 15, (CHAMBER_NLE,), "complete", "registered_sre",
        (
            _companies((15, 40, 90), (16, 41)),  # m m s
            _exchanges((3, 6, 12), (3, 6), rejected_at=12),  # m p s (the 12-month report is rejected)
        ),
    ),
    StoryPlan(  # Monclova - Laredo (Coahuila)
        18, 28, (CHAMBER_COAH,), "complete", "registered_state",
        (
            _jobs((15, 40, 100), (18, 45, 110)),  # m m m
            _trainings((20, 50, 120), (22, 40, None), baseline=None),  # m p p (no baseline: a finding)
        ),
    ),
    StoryPlan(  # Torreón - Laredo (Coahuila)
        27, 9, (CHAMBER_COAH, UNIVERSITY_JAL), "no_dictamen", "submitted",
        (
            _pilots((1, 3, 6), (1,)),  # m s s
            _companies((10, 30, 80), (12,), pending_at=6),  # n s s (its report awaits review)
        ),
    ),
    StoryPlan(  # Mazatlán - Mission (Sinaloa)
        41, 15, (CHAMBER_NLE,), "complete", "submitted",
        (
            _investment("USD", (100_000, 400_000, 1_500_000), (120_000, 380_000)),  # m p s
            _jobs((10, 30, 70), (4, 9)),  # p p s
        ),
    ),
    StoryPlan(  # Chihuahua - Aurora (Chihuahua)
        45, 9, (UNIVERSITY_JAL, CHAMBER_COAH), "pending", "pending",
        (
            _exchanges((2, 4, 8), (None,)),  # n s s
            _trainings((25, 60, 150), (10,)),  # p s s
        ),
        signed_text=False,
    ),
    StoryPlan(  # Guadalajara - Atlanta (Jalisco)
        52, 28, (UNIVERSITY_JAL, CHAMBER_NLE), "complete", "registered_sre",
        (
            _services((1, None, None)),  # m m m (qualitative: one verified report by each due date)
            _companies((20, 45, 100), (22, 50, 95), baseline=5),  # m m p
            _pilots((1, 2, 5), (1, 2, 5)),  # m m m
        ),
    ),
    StoryPlan(  # Ciudad Guzmán - Redwood City (Jalisco)
        61, 15, (UNIVERSITY_JAL,), "no_dictamen", "submitted",
        (
            _trainings((15, 40, 100), (0, None)),  # n n s (a verified report that did not move)
            _investment("MXN", (1e6, 5e6, 12e6), (1.2e6, 5.5e6)),  # m m s
        ),
    ),
    StoryPlan(  # San Cristóbal de Las Casas - Quetzaltenango (Chiapas)
        65, 9, (UNIVERSITY_JAL,), "complete", "registered_sre",
        (
            _exchanges((2, 5, 10), (2,)),  # m s s
            _jobs((10, 25, 60), (6,)),  # p s s
        ),
    ),
)  # fmt: skip

STORY_NUMBERS = frozenset(plan.number for plan in STORY)


def entry_into_force(today: date, months_in_force: int) -> date:
    return add_months(today.replace(day=1), -months_in_force)


async def principal_for(session: AsyncSession, org: Organization, role: Role) -> Principal:
    """The demo key of this organization and role, issued once (its secret is not kept: the demo
    acts with it here, people get their own keys with `pacta keys create`)."""
    name = f"demo {role.value} {LABEL}"
    # A demo organization holds a handful of keys: one page finds its own.
    keys = await key_repository.list_page(session, org.id, PageParams(200, None))
    found = next((k for k in keys if k.name == name and k.revoked_at is None), None)
    if found is None:
        found, _ = await key_service.issue_key(
            session, org, role=role, name=name, expires_at=None, actor_org_id=PLATFORM_ORG_ID
        )
    return Principal(key_id=found.id, org_id=org.id, org_kind=OrganizationKind(org.kind), role=role)


async def _single(chunk: bytes) -> AsyncIterator[bytes]:
    yield chunk


BOUNDARY = b"pacta-demo-boundary-7f3a9c"


def _multipart(fields: dict[str, str], filename: str, content: bytes) -> bytes:
    parts = [
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (BOUNDARY, k.encode(), v.encode())
        for k, v in fields.items()
    ]
    parts.append(
        b'--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%s\r\n" % (BOUNDARY, filename.encode(), content)
    )
    return b"".join(parts) + b"--%s--\r\n" % BOUNDARY


@dataclass(slots=True)
class Story:
    """One agreement's story being written: who acts, and the facts every step needs."""

    session: AsyncSession
    storage: EvidenceStorage
    today: date
    agreement_id: uuid.UUID
    title: str
    editor: Principal
    reviewer: Principal
    contributors: list[Principal]
    in_force_on: date
    signed_on: date

    async def upload(
        self,
        actor: Principal,
        *,
        title: str,
        document_type: DocumentType,
        filename: str,
        lines: list[str],
        on: date,
        target_id: uuid.UUID | None = None,
        decision: EvidenceDecision | None = EvidenceDecision.accepted,
    ) -> uuid.UUID:
        content = demo_pdf(title, [f"Acuerdo: {self.title}", f"Fecha del documento: {on.isoformat()}", *lines])
        fields = {"title": title, "document_type": document_type.value, "language": "es", "document_date": str(on)}
        if target_id is not None:
            fields["target_id"] = str(target_id)
        form = StreamedForm(_single(_multipart(fields, filename, content)), BOUNDARY)
        document = await evidence_service.upload_evidence(
            self.session,
            self.storage,
            self.agreement_id,
            form,
            principal=actor,
            today=self.today,
            max_bytes=MAX_DEMO_PDF,
        )
        if decision is not None:
            note = (
                f"El documento no corresponde al periodo reportado {LABEL}."
                if decision is EvidenceDecision.rejected
                else f"Documento revisado {LABEL}"
            )
            await evidence_service.review_evidence(
                self.session,
                document.id,
                EvidenceReview(decision=decision, note=note),
                principal=self.editor,
                today=self.today,
            )
        return document.id


# What a favourable review found (LSCT arts. 2 and 8).
CHECKED = ReviewChecks(
    foreign_party_is_governmental=True, within_competence=True, is_not_a_treaty=True, dispute_clause_compliant=True
)


async def _legal(story: Story, plan: StoryPlan) -> None:
    """Reviews before the signature (compliant), or a missing or late dictamen (findings)."""
    signed = story.signed_on
    reviews: list[tuple[ReviewKind, date, date | None, ReviewOutcome, DocumentType | None]] = [
        (
            ReviewKind.internal_legal,
            signed - timedelta(days=120),
            signed - timedelta(days=100),
            ReviewOutcome.favorable,
            None,
        )
    ]
    if plan.legal in ("complete", "no_dictamen"):
        reviews.append(
            (ReviewKind.council_approval, signed - timedelta(days=90), signed - timedelta(days=60),
             ReviewOutcome.favorable, DocumentType.council_minutes)
        )  # fmt: skip
    if plan.legal == "complete":
        reviews.append(
            (ReviewKind.sre_dictamen, signed - timedelta(days=50), signed - timedelta(days=20),
             ReviewOutcome.favorable, DocumentType.sre_dictamen)
        )  # fmt: skip
    if plan.legal == "pending":  # asked for after signing, still unanswered
        reviews.append(
            (ReviewKind.sre_dictamen, story.in_force_on + timedelta(days=20), None, ReviewOutcome.pending, None)
        )
    for kind, requested, decided, outcome, document_type in reviews:
        reference = f"DEMO-{kind.value.upper().replace('_', '-')}-{plan.number:03d}"
        document_id = None
        if document_type is not None and decided is not None:
            document_id = await story.upload(
                story.editor,
                title=f"{_DOCUMENT_TITLES[document_type]} {reference} {LABEL}",
                document_type=document_type,
                filename=f"{reference.lower()}.pdf",
                lines=[f"Referencia: {reference}", f"Resultado: {outcome.value}"],
                on=decided,
            )
        await review_service.create_review(
            story.session,
            story.agreement_id,
            LegalReviewCreate(
                kind=kind,
                requested_on=requested,
                decided_on=decided,
                outcome=outcome,
                reference=reference,
                reviewer=f"Área jurídica municipal {LABEL}",
                observations=f"Observaciones de ejemplo {LABEL}",
                checks=CHECKED if decided is not None else ReviewChecks(),
                document_id=document_id,
            ),
            principal=story.reviewer,
            today=story.today,
        )


_DOCUMENT_TITLES = {
    DocumentType.council_minutes: "Acta de cabildo",
    DocumentType.sre_dictamen: "Dictamen de procedencia de la SRE",
    DocumentType.registration_certificate: "Constancia de inscripción",
    DocumentType.agreement_text: "Texto firmado del acuerdo",
    DocumentType.progress_report: "Informe de avance",
}


async def _registration(story: Story, plan: StoryPlan) -> None:
    if plan.registration == "pending":  # signed, never submitted: the registry's pending state
        return
    submitted = story.in_force_on + timedelta(days=30)
    registry = Registry.state if plan.registration == "registered_state" else Registry.sre
    if plan.registration == "submitted":
        data = RegistrationCreate(
            registry=registry,
            status=RegistrationState.submitted,
            submitted_on=submitted,
            observations=f"En espera de inscripción {LABEL}",
        )
    else:
        registered = submitted + timedelta(days=45)
        number = f"DEMO-{registry.value.upper()}-{plan.number:04d}"
        document_id = await story.upload(
            story.editor,
            title=f"{_DOCUMENT_TITLES[DocumentType.registration_certificate]} {number} {LABEL}",
            document_type=DocumentType.registration_certificate,
            filename=f"{number.lower()}.pdf",
            lines=[f"Número de registro: {number}"],
            on=registered,
        )
        data = RegistrationCreate(
            registry=registry,
            status=RegistrationState.registered,
            submitted_on=submitted,
            registered_on=registered,
            registry_number=number,
            document_id=document_id,
        )
    await registration_service.create_registration(
        story.session, story.agreement_id, data, principal=story.editor, today=story.today
    )


def _amount(value: float, plan: TargetPlan) -> str:
    if plan.unit:
        return f"{value:,.2f} {plan.unit}"
    return f"{value:,.0f}"


async def _target(story: Story, plan: StoryPlan, target_plan: TargetPlan, index: int) -> uuid.UUID:
    milestones = (
        None
        if target_plan.targets is None
        else [MilestoneIn(months=m, target_value=v) for m, v in zip(MONTHS, target_plan.targets, strict=True)]
    )
    baseline = (
        None
        if target_plan.baseline is None
        else Baseline(
            value=target_plan.baseline, on=story.in_force_on, comment=f"Línea base al entrar en vigor {LABEL}"
        )
    )
    target = await target_service.create_target(
        story.session,
        story.agreement_id,
        TargetCreate(
            indicator=target_plan.indicator,
            title=target_plan.title,
            measure=target_plan.measure,
            unit=target_plan.unit,
            baseline=baseline,
            milestones=milestones,
            description=f"Meta del programa de trabajo del hermanamiento {LABEL}",
            responsible_org_id=story.contributors[index % len(story.contributors)].org_id,
        ),
        principal=story.editor,
        today=story.today,
    )
    contributor = story.contributors[index % len(story.contributors)]
    for months, value in zip(MONTHS, target_plan.values, strict=False):
        if value is None:
            continue
        as_of = add_months(story.in_force_on, months) - timedelta(days=10)
        shown = "avance cualitativo registrado" if target_plan.targets is None else _amount(value, target_plan)
        rejected = target_plan.rejected_at == months
        pending = target_plan.pending_at == months
        ref = f"{plan.number:03d}-{index + 1}-{months:02d}"
        evidence_id = await story.upload(
            contributor,
            title=f"{_DOCUMENT_TITLES[DocumentType.progress_report]} a {months} meses {LABEL}",
            document_type=DocumentType.progress_report,
            filename=f"informe-avance-{ref}.pdf",
            lines=[f"Meta: {target_plan.title}", f"Valor acumulado reportado: {shown}", f"Corte: {as_of.isoformat()}"],
            on=as_of,
            target_id=target.id,
            decision=None if pending else EvidenceDecision.rejected if rejected else EvidenceDecision.accepted,
        )
        measurement = await measurement_service.report_measurement(
            story.session,
            target.id,
            MeasurementCreate(
                as_of=as_of,
                value=None if target_plan.targets is None else value,
                comment=f"Corte a {months} meses {LABEL}",
                evidence_ids=[evidence_id],
            ),
            principal=contributor,
            today=story.today,
        )
        if pending:
            continue
        decision = VerificationDecision.rejected if rejected else VerificationDecision.verified
        note = f"Sin evidencia válida para el periodo {LABEL}" if rejected else f"Cotejado con la evidencia {LABEL}"
        await measurement_service.decide(
            story.session,
            measurement.id,
            Verification(decision=decision, note=note),
            principal=story.editor,
            today=story.today,
        )
    return target.id


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZONE)


async def _activities(story: Story, plan: StoryPlan, target_ids: list[uuid.UUID]) -> None:
    participants = [c.org_id for c in story.contributors]
    held_on = add_months(story.in_force_on, 2) + timedelta(days=3)
    await activity_service.create_activity(
        story.session,
        story.agreement_id,
        ActivityCreate(
            kind=ActivityKind.technical_exchange if plan.number % 2 else ActivityKind.business_mission,
            title=f"Jornada de trabajo con universidades y cámaras {LABEL}",
            description=f"Primera jornada del programa de trabajo {LABEL}",
            starts_at=_at(held_on, 10),
            ends_at=_at(held_on, 14),
            place=f"Sede municipal {LABEL}",
            organizer_org_id=participants[0],
            participant_org_ids=participants,
            target_ids=target_ids[:1],
            status=ActivityStatus.held,
        ),
        principal=story.editor,
        today=story.today,
    )
    planned_on = add_months(story.today.replace(day=1), 1) + timedelta(days=9)
    await activity_service.create_activity(
        story.session,
        story.agreement_id,
        ActivityCreate(
            kind=ActivityKind.training,
            title=f"Taller de seguimiento de metas {LABEL}",
            starts_at=_at(planned_on, 9),
            ends_at=_at(planned_on, 13),
            place=f"Campus de ejemplo {LABEL}",
            organizer_org_id=participants[0],
            participant_org_ids=participants,
            target_ids=target_ids,
        ),
        principal=story.contributors[0],
        today=story.today,
    )


async def has_story(session: AsyncSession, agreement_id: uuid.UUID) -> bool:
    """The story is written in one transaction with its first target: targets mean it is there."""
    return bool(await target_repository.list_page(session, agreement_id, PageParams(1, None)))


async def tell(
    session: AsyncSession,
    storage: EvidenceStorage,
    plan: StoryPlan,
    *,
    agreement_id: uuid.UUID,
    title: str,
    signatory: Organization,
    participants: list[Organization],
    today: date,
) -> None:
    """Write one agreement's story: work programme in force, legal path, targets and progress."""
    editor = await principal_for(session, signatory, Role.editor)
    locked = await agreement_service.lock_for_change(session, agreement_id, principal=editor, today=today)
    row, current = locked.row, locked.before
    assert current.signed_on is not None, plan.number
    in_force_on = max(current.signed_on, entry_into_force(today, plan.months_in_force))
    await agreement_service.update_agreement(
        session,
        row,
        current,
        AgreementUpdate(
            entry_into_force_on=in_force_on,
            participant_org_ids=[p.id for p in participants],
            has_dispute_settlement_clause=True,
        ),
        principal=editor,
        today=today,
    )
    story = Story(
        session=session,
        storage=storage,
        today=today,
        agreement_id=agreement_id,
        title=title,
        editor=editor,
        reviewer=await principal_for(session, signatory, Role.legal_reviewer),
        contributors=[await principal_for(session, p, Role.contributor) for p in participants],
        in_force_on=in_force_on,
        signed_on=current.signed_on,
    )
    if plan.signed_text:
        await story.upload(
            editor,
            title=f"{_DOCUMENT_TITLES[DocumentType.agreement_text]} {LABEL}",
            document_type=DocumentType.agreement_text,
            filename=f"acuerdo-{plan.number:03d}.pdf",
            lines=["Texto de ejemplo del acuerdo de hermanamiento, con su cláusula de solución de controversias."],
            on=current.signed_on,
        )
    await _legal(story, plan)
    await _registration(story, plan)
    target_ids = [await _target(story, plan, t, i) for i, t in enumerate(plan.targets)]
    await _activities(story, plan, target_ids)
