"""Load the demo data set. Safe to run again: whatever exists already is left as it is."""

import csv
from dataclasses import dataclass
from importlib import resources

from sqlalchemy.ext.asyncio import AsyncSession

from app import catalogs
from app.errors import Conflict, NotFound
from app.models import OrganizationKind
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


async def load_demo(session: AsyncSession) -> LoadReport:
    """Every Mexican municipality of the sister-city pairs, then the synthetic actors."""
    report = LoadReport()
    codes = sorted({p.inegi_code for p in sister_city_pairs() if p.inegi_code})
    for code in codes:
        await _ensure(
            session,
            OrganizationCreate(name=municipality_name(code), kind=OrganizationKind.municipality, inegi_code=code),
            report,
        )
    for data in SYNTHETIC:
        await _ensure(session, data, report)
    return report
