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
from app.agreements.schemas import AgreementCreate, Counterpart
from app.auth.dependencies import Principal
from app.errors import Conflict, NotFound
from app.models import OrganizationKind, Role
from app.models.agreements import CounterpartKind, Instrument, SubjectArea
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from app.organizations.schemas import OrganizationCreate

DEMO_LABEL = "(demo)"

# Synthetic actors, labelled as such: they stand for the universities, chambers and auditors
# that real deployments register themselves.
SYNTHETIC = (
    OrganizationCreate(
        name=f"Universidad de Ejemplo {DEMO_LABEL}",
        kind=OrganizationKind.university,
        subdivision="MX-JAL",
    ),
    OrganizationCreate(
        name=f"Cámara de Comercio de Ejemplo {DEMO_LABEL}",
        kind=OrganizationKind.business_chamber,
        subdivision="MX-NLE",
    ),
    OrganizationCreate(name=f"Contraloría Ciudadana de Ejemplo {DEMO_LABEL}", kind=OrganizationKind.auditor),
)


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


async def _ensure(session: AsyncSession, data: OrganizationCreate, report: LoadReport) -> None:
    try:
        await org_service.resolve_organization(session, data.name)
    except NotFound:
        try:
            await org_service.create_organization(session, data, actor_org_id=PLATFORM_ORG_ID)
        except Conflict:  # registered under another name (same INEGI code): keep theirs
            report.existing += 1
        else:
            report.created += 1
    else:
        report.existing += 1


async def load_demo(
    session: AsyncSession, *, today: date, progress: Callable[[int, int], None] | None = None
) -> LoadReport:
    """Every Mexican municipality of the sister-city pairs, then the synthetic actors.

    `progress(done, total)` is called after each step (for the CLI's progress bar).
    """
    report = LoadReport()
    codes = sorted({p.inegi_code for p in sister_city_pairs() if p.inegi_code})
    total = len(codes) + len(SYNTHETIC) + 1
    done = 0
    for code in codes:
        await _ensure(
            session,
            OrganizationCreate(name=municipality_name(code), kind=OrganizationKind.municipality, inegi_code=code),
            report,
        )
        done += 1
        if progress is not None:
            progress(done, total)
    for data in SYNTHETIC:
        await _ensure(session, data, report)
        done += 1
        if progress is not None:
            progress(done, total)
    await _load_agreements(session, report, today)
    if progress is not None:
        progress(total, total)
    return report


def _country_code(name: str) -> str:
    code: str = pycountry.countries.lookup(name).alpha_2
    return code


async def _load_agreements(session: AsyncSession, report: LoadReport, today: date) -> None:
    """Each real pair with an INEGI code becomes a sister-city agreement of that municipality.

    The pair and its source are real. Where the source gives a year, the signature date is set
    to 1 January of that year (the day is synthetic, and the summary says so); without a year
    the agreement stays a draft.
    """
    principal = Principal(
        key_id=uuid.UUID(int=0), org_id=PLATFORM_ORG_ID, org_kind=OrganizationKind.platform, role=Role.admin
    )
    for number, pair in enumerate(sister_city_pairs(), start=1):
        if pair.inegi_code is None:
            continue
        signatory = await org_service.resolve_organization(session, municipality_name(pair.inegi_code))
        ref = f"demo-sister-cities-{number:03d}"
        if await agreement_repository.external_ref_taken(session, signatory.id, ref, other_than=None):
            report.agreements_existing += 1
            continue
        dated = (
            f"signature date set to 1 January {pair.year} (only the year is sourced)"
            if pair.year
            else "signature date unknown"
        )
        data = AgreementCreate(
            title=f"Hermanamiento {pair.mx_city} - {pair.foreign_city}",
            instrument=Instrument.sister_city,
            signatory_org_id=signatory.id,
            summary=f"{DEMO_LABEL} Real sister-city pair, source: {pair.source_url}. {dated}.",
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
            external_ref=ref,
        )
        await agreement_service.create_agreement(session, data, principal=principal, today=today)
        report.agreements_created += 1
