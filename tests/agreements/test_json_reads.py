"""The agreements list is JSON text built by PostgreSQL: the same bytes the pydantic models write."""

import uuid
from datetime import UTC, date, datetime

import httpx2
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import service
from app.agreements.repository import Filters
from app.agreements.schemas import AgreementRead, AgreementSort
from app.db import Reader
from app.http.etag import etag_of
from app.http.pagination import Page, PageParams
from app.models import Agreement, AgreementParticipant
from tests.conftest import MakeKey, MakeOrg
from tests.factories import ACTORS, AGREEMENTS, TODAY, World, make_world, pin_today


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


def varied(world: World) -> list[Agreement]:
    """Rows that exercise every encoding question: nulls, accents and escapes, quotes, control
    characters, dates, timestamps with and without microseconds, empty and full arrays."""
    gdl = world.signatory.id
    return [
        Agreement(
            signatory_org_id=gdl,
            title='Hermanamiento "León" \\ Łódź — 東京 \u00e9\t\n\u0001 ☃',
            instrument="sister_city",
            summary="Línea 1\r\nLínea 2 </script> \u2028 😀",
            subject_areas=["culture", "trade"],
            counterparts=[
                {"name": "Łódź", "kind": "foreign_government_body", "country": "PL", "region": "Łódzkie"},
                {"name": "Québec", "kind": "foreign_government_body", "country": "CA"},
            ],
            languages=["es", "pl"],
            has_dispute_settlement_clause=True,
            signed_on=date(2024, 2, 29),
            signed_place="Ciudad de México",
            entry_into_force_on=date(2024, 3, 1),
            expires_on=date(2034, 2, 28),
            external_ref="GDL/2024/001",
            created_at=datetime(2024, 2, 29, 10, 0, 0, tzinfo=UTC),
            updated_at=datetime(2024, 3, 1, 8, 30, 15, 120000, tzinfo=UTC),
        ),
        Agreement(
            signatory_org_id=gdl,
            title="Borrador sin firmar",
            instrument="cooperation",
            counterparts=[{"name": "Kraków", "kind": "foreign_government_body", "country": "PL", "region": None}],
            created_at=datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
            updated_at=datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC),
        ),
        Agreement(
            signatory_org_id=gdl,
            title="Terminado",
            instrument="sister_city",
            counterparts=[{"name": "Austin", "kind": "foreign_government_body", "country": "US"}],
            has_dispute_settlement_clause=False,
            signed_on=date(1900, 1, 1),
            terminated_on=date(2020, 12, 31),
            termination_reason="",
            created_at=datetime(2019, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            updated_at=datetime(2020, 6, 30, 12, 0, 59, 500000, tzinfo=UTC),
        ),
    ]


@pytest.fixture
async def rows(session: AsyncSession, world: World) -> list[Agreement]:
    agreements = varied(world)
    session.add_all(agreements)
    await session.flush()
    session.add(AgreementParticipant(agreement_id=agreements[0].id, organization_id=world.participant.id))
    session.add(AgreementParticipant(agreement_id=agreements[1].id, organization_id=world.participant.id))
    await session.commit()
    return agreements


@pytest.mark.parametrize("sort", list(AgreementSort))
async def test_postgresql_writes_the_bytes_pydantic_writes(
    session: AsyncSession, rows: list[Agreement], world: World, sort: AgreementSort
) -> None:
    from app.models import OrganizationKind, Role
    from app.principal import Principal

    def caller(org_id: uuid.UUID, kind: OrganizationKind, role: Role) -> Principal:
        return Principal(key_id=uuid.uuid4(), org_id=org_id, org_kind=kind, role=role)

    callers = [
        None,
        caller(world.signatory.id, OrganizationKind.municipality, Role.editor),
        caller(world.participant.id, OrganizationKind.university, Role.contributor),
        caller(world.auditor.id, OrganizationKind.auditor, Role.auditor),
    ]
    reader = Reader(await session.connection())
    for principal in callers:
        cursor = None
        pages = 0
        while True:
            params = PageParams(limit=2, cursor=cursor)
            options = {"principal": principal, "today": TODAY, "sort": sort.value, "params": params}
            models, expected_cursor = await service.list_agreements(session, Filters(), **options)  # type: ignore[arg-type]
            documents, cursor = await service.list_agreements_json(reader, Filters(), **options)  # type: ignore[arg-type]
            assert cursor == expected_cursor
            # The page's items come as one text, joined by commas as the page joins them.
            assert ",".join(documents).encode() == ",".join(m.model_dump_json() for m in models).encode()
            pages += 1
            if cursor is None:
                break
        assert pages >= 1
    # The varied rows were all seen by an auditor (reads everything).
    assert len(rows) == 3


async def test_the_list_response_is_the_pydantic_page(
    client: httpx2.AsyncClient, app: object, session: AsyncSession, rows: list[Agreement], world: World
) -> None:
    pin_today(app, TODAY)  # type: ignore[arg-type]
    for actor in ACTORS:
        response = await client.get(AGREEMENTS, params={"limit": 2}, headers=world.headers(actor))
        assert response.status_code == 200, response.text
        page = Page[AgreementRead].model_validate_json(response.content)
        assert response.content == page.model_dump_json().encode()
        if page.next_cursor is not None:
            assert 'rel="next"' in response.headers["link"]
    anonymous = Page[AgreementRead].model_validate_json((await client.get(AGREEMENTS)).content)
    assert {a.title for a in anonymous.items} == {rows[0].title, rows[2].title}
    raw = (await session.execute(text("SELECT count(*) FROM agreements"))).scalar_one()
    assert raw >= 3


async def test_one_agreement_is_the_pydantic_bytes_with_the_same_etag(
    client: httpx2.AsyncClient, app: object, session: AsyncSession, rows: list[Agreement], world: World
) -> None:
    pin_today(app, TODAY)  # type: ignore[arg-type]
    for row in rows:
        model = await service.read_agreement(session, row.id, today=TODAY)
        for actor in ACTORS:
            response = await client.get(f"{AGREEMENTS}/{row.id}", headers=world.headers(actor))
            if response.status_code == 404:
                # Hidden from this caller (unsigned, and not theirs): exactly as before.
                assert row.signed_on is None
                assert actor in ("anonymous", "other_editor", "outsider")
                continue
            assert response.status_code == 200, (actor, response.text)
            assert response.content == model.model_dump_json().encode()
            assert response.headers["etag"] == etag_of(model)
            again = await client.get(
                f"{AGREEMENTS}/{row.id}", headers={**world.headers(actor), "If-None-Match": response.headers["etag"]}
            )
            assert again.status_code == 304
