"""Load the demo data set. Safe to run again: whatever exists already is left as it is."""

import csv
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib import resources

import pycountry
from sqlalchemy.ext.asyncio import AsyncSession

from app import catalogs
from app.agreements import repository as agreement_repository
from app.agreements import service as agreement_service
from app.agreements.schemas import AgreementCreate, AgreementUpdate, Counterpart
from app.demo import story
from app.errors import Conflict, NotFound
from app.models import OrganizationKind, Role
from app.models.agreements import CounterpartKind, Instrument, SubjectArea
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from app.organizations.schemas import OrganizationCreate, OrganizationUpdate
from app.principal import Principal
from app.storage import EvidenceStorage

DEMO_LABEL = story.LABEL

# Synthetic actors, labelled as such: they stand for the universities, chambers and auditors
# that real deployments register themselves.
SYNTHETIC = (
    OrganizationCreate(name=story.UNIVERSITY_JAL, kind=OrganizationKind.university, subdivision="MX-JAL"),
    OrganizationCreate(name=story.UNIVERSITY_GTO, kind=OrganizationKind.university, subdivision="MX-GUA"),
    OrganizationCreate(name=story.CHAMBER_NLE, kind=OrganizationKind.business_chamber, subdivision="MX-NLE"),
    OrganizationCreate(name=story.CHAMBER_COAH, kind=OrganizationKind.business_chamber, subdivision="MX-COA"),
    OrganizationCreate(name=f"Contraloría Ciudadana de Ejemplo {DEMO_LABEL}", kind=OrganizationKind.auditor),
)

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class SisterCityPair:
    mx_city: str
    mx_state: str
    inegi_code: str | None
    foreign_city: str
    foreign_region: str
    country: str
    year: int | None
    source_url: str


def sister_city_pairs() -> list[SisterCityPair]:
    text = resources.files("app.demo").joinpath("data", "sister_cities_mx.csv").read_text(encoding="utf-8")
    return [
        SisterCityPair(
            mx_city=row["mx_city"],
            mx_state=row["mx_state"],
            inegi_code=row["inegi_code"] or None,
            foreign_city=row["foreign_city"],
            foreign_region=row["foreign_region"],
            country=row["country"],
            year=int(row["year"]) if row["year"] else None,
            source_url=row["source_url"],
        )
        for row in csv.DictReader(text.splitlines())
    ]


_ADMIN = Principal(key_id=uuid.UUID(int=0), org_id=PLATFORM_ORG_ID, org_kind=OrganizationKind.platform, role=Role.admin)


def municipality_name(inegi_code: str) -> str:
    found = catalogs.municipality(inegi_code)
    assert found is not None, inegi_code
    return f"Municipio de {found.name}, {found.state_name}"


@dataclass(slots=True)
class LoadReport:
    created: int = 0
    existing: int = 0
    agreements_created: int = 0
    agreements_existing: int = 0
    stories_created: int = 0
    stories_existing: int = 0


# Names an older demo gave the synthetic actors, renamed (not duplicated) on the next load.
RENAMED = {f"{name.removesuffix(f' {DEMO_LABEL}')} (demo)": name for name in (s.name for s in SYNTHETIC)}


async def _rename_older(session: AsyncSession, name: str) -> bool:
    older = next((old for old, new in RENAMED.items() if new == name), None)
    if older is None:
        return False
    try:
        org = await org_service.resolve_organization(session, older)
    except NotFound:
        return False
    await org_service.update_organization(session, org, OrganizationUpdate(name=name), principal=_ADMIN)
    return True


async def _ensure(session: AsyncSession, data: OrganizationCreate, report: LoadReport) -> None:
    try:
        await org_service.resolve_organization(session, data.name)
    except NotFound:
        if await _rename_older(session, data.name):
            report.existing += 1
            return
        try:
            await org_service.create_organization(session, data, actor_org_id=PLATFORM_ORG_ID)
        except Conflict:  # registered under another name (same INEGI code): keep theirs
            report.existing += 1
        else:
            report.created += 1
    else:
        report.existing += 1


def _ignore(done: int, total: int) -> None:
    """No progress display."""


async def load_demo(
    session: AsyncSession, storage: EvidenceStorage, *, today: date, progress: Progress | None = None
) -> LoadReport:
    """Every Mexican municipality of the sister-city pairs, the synthetic actors, an agreement per
    pair, then the story of a dozen of them (targets, progress, evidence, legal path, agenda).

    `progress(done, total)` is called after each step (an organization, an agreement, a story).
    """
    report = LoadReport()
    tick = progress or _ignore
    pairs = sister_city_pairs()
    codes = sorted({p.inegi_code for p in pairs if p.inegi_code})
    with_code = [(number, p) for number, p in enumerate(pairs, start=1) if p.inegi_code]
    total = len(codes) + len(SYNTHETIC) + len(with_code) + len(story.STORY)
    done = 0
    tick(done, total)
    for data in [
        *(
            OrganizationCreate(name=municipality_name(c), kind=OrganizationKind.municipality, inegi_code=c)
            for c in codes
        ),
        *SYNTHETIC,
    ]:
        await _ensure(session, data, report)
        done += 1
        tick(done, total)
    for number, pair in with_code:
        await _load_agreement(session, report, number, pair, today)
        done += 1
        tick(done, total)
    by_number = dict(with_code)
    for plan in story.STORY:
        await _load_story(session, storage, report, plan, by_number[plan.number], today)
        done += 1
        tick(done, total)
    return report


def _country_code(name: str) -> str:
    code: str = pycountry.countries.lookup(name).alpha_2
    return code


def _ref(number: int) -> str:
    return f"demo-sister-cities-{number:03d}"


def summary_of(number: int, pair: SisterCityPair) -> str:
    """The agreement's summary in Spanish: what is sourced, and what the demo made up."""
    sourced = (
        f"{DEMO_LABEL} Hermanamiento real entre {pair.mx_city} ({pair.mx_state}) y {pair.foreign_city}; "
        f"fuente: {pair.source_url}."
    )
    dated = (
        f" La fecha de firma se fijó al 1 de enero de {pair.year}: la fuente solo da el año."
        if pair.year
        else " La fuente no da la fecha de firma: el acuerdo queda como borrador."
    )
    invented = (
        " La entrada en vigor del programa de trabajo, sus metas, mediciones, evidencias, revisiones"
        " jurídicas, registros y actividades son datos sintéticos de la demostración."
        if number in story.STORY_NUMBERS
        else ""
    )
    return sourced + dated + invented


async def _load_agreement(
    session: AsyncSession, report: LoadReport, number: int, pair: SisterCityPair, today: date
) -> None:
    """A real pair with an INEGI code becomes a sister-city agreement of that municipality.

    The pair and its source are real. Where the source gives a year, the signature date is set
    to 1 January of that year (the day is synthetic, and the summary says so); without a year
    the agreement stays a draft. A summary written by an older demo (in English) is replaced.
    """
    assert pair.inegi_code is not None
    signatory = await org_service.resolve_organization(session, municipality_name(pair.inegi_code))
    summary = summary_of(number, pair)
    existing = await agreement_repository.id_by_external_ref(session, signatory.id, _ref(number))
    if existing is not None:
        report.agreements_existing += 1
        locked = await agreement_service.lock_for_change(session, existing, principal=_ADMIN, today=today)
        row, current = locked.row, locked.before
        if current.summary != summary:
            await agreement_service.update_agreement(
                session, row, current, AgreementUpdate(summary=summary), principal=_ADMIN, today=today
            )
        return
    data = AgreementCreate(
        title=f"Hermanamiento {pair.mx_city} - {pair.foreign_city}",
        instrument=Instrument.sister_city,
        signatory_org_id=signatory.id,
        summary=summary,
        counterparts=[
            Counterpart(
                name=pair.foreign_city,
                kind=CounterpartKind.foreign_government_body,
                country=_country_code(pair.country),
                region=pair.foreign_region or None,
            )
        ],
        subject_areas=[SubjectArea.culture, SubjectArea.economic_development],
        languages=["es"],
        signed_on=date(pair.year, 1, 1) if pair.year else None,
        external_ref=_ref(number),
    )
    await agreement_service.create_agreement(session, data, principal=_ADMIN, today=today)
    report.agreements_created += 1


async def _load_story(
    session: AsyncSession,
    storage: EvidenceStorage,
    report: LoadReport,
    plan: story.StoryPlan,
    pair: SisterCityPair,
    today: date,
) -> None:
    assert pair.inegi_code is not None
    signatory = await org_service.resolve_organization(session, municipality_name(pair.inegi_code))
    agreement_id = await agreement_repository.id_by_external_ref(session, signatory.id, _ref(plan.number))
    assert agreement_id is not None, plan.number
    if await story.has_story(session, agreement_id):
        report.stories_existing += 1
        return
    await story.tell(
        session,
        storage,
        plan,
        agreement_id=agreement_id,
        title=f"Hermanamiento {pair.mx_city} - {pair.foreign_city}",
        signatory=signatory,
        participants=[await org_service.resolve_organization(session, name) for name in plan.participants],
        today=today,
    )
    report.stories_created += 1
