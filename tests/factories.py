"""Shared test factories: the cast of organizations and keys, agreements, reviews and registrations.

Everything goes through the API (or the real services behind it) on real PostgreSQL: the cast of
organizations and keys in `World` covers every role that API.md names.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx2
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import today
from app.models import Organization, OrganizationKind, Role
from app.models.organizations import PLATFORM_ORG_ID
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.problems import assert_problem as assert_problem  # every folder's one check

AGREEMENTS = "/v1/agreements"

# The day most tests live on: "today" is pinned so date-derived status is deterministic.
TODAY = date(2025, 6, 15)

# Every caller API.md distinguishes, plus anonymous.
ACTORS = ("admin", "editor", "other_editor", "legal_reviewer", "participant", "outsider", "auditor", "anonymous")


def day(offset: int, *, base: date = TODAY) -> date:
    return base + timedelta(days=offset)


def iso(offset: int, *, base: date = TODAY) -> str:
    return day(offset, base=base).isoformat()


def moment(value: str) -> datetime:
    """An RFC 3339 timestamp from a response, comparable in time (not as text)."""
    return datetime.fromisoformat(value)


def pin_today(app: FastAPI, on: date) -> None:
    """Make the service evaluate every date-derived fact as if today were `on`."""
    app.dependency_overrides[today] = lambda: on


@dataclass(frozen=True, slots=True)
class World:
    """A signatory municipality and one key for every kind of caller."""

    signatory: Organization  # Guadalajara (MX-JAL): the agreements' signatory
    other: Organization  # Monterrey (MX-NLE): another municipality
    participant: Organization  # a university listed as participant
    outsider: Organization  # a business chamber not listed anywhere
    auditor: Organization
    keys: dict[str, dict[str, str]]

    def headers(self, actor: str) -> dict[str, str]:
        return dict(self.keys[actor])

    def org_of(self, actor: str) -> uuid.UUID | None:
        return {
            "admin": PLATFORM_ORG_ID,
            "editor": self.signatory.id,
            "legal_reviewer": self.signatory.id,
            "other_editor": self.other.id,
            "participant": self.participant.id,
            "outsider": self.outsider.id,
            "auditor": self.auditor.id,
        }.get(actor)


async def make_world(make_org: MakeOrg, make_key: MakeKey) -> World:
    gdl = await make_org(OrganizationKind.municipality, inegi_code="14039", name="Municipio de Guadalajara")
    mty = await make_org(OrganizationKind.municipality, inegi_code="19039", name="Municipio de Monterrey")
    uni = await make_org(OrganizationKind.university, name="Universidad de Guadalajara")
    chamber = await make_org(OrganizationKind.business_chamber, name="Cámara de Comercio de Monterrey")
    auditor = await make_org(OrganizationKind.auditor, name="Contraloría Social")
    keys = {
        "admin": bearer(await make_key(Role.admin)),
        "editor": bearer(await make_key(Role.editor, gdl.id)),
        "other_editor": bearer(await make_key(Role.editor, mty.id)),
        "legal_reviewer": bearer(await make_key(Role.legal_reviewer, gdl.id)),
        "participant": bearer(await make_key(Role.contributor, uni.id)),
        "outsider": bearer(await make_key(Role.contributor, chamber.id)),
        "auditor": bearer(await make_key(Role.auditor, auditor.id)),
        "anonymous": {},
    }
    return World(signatory=gdl, other=mty, participant=uni, outsider=chamber, auditor=auditor, keys=keys)


def counterpart(name: str = "Kraków", country: str = "PL", **fields: Any) -> dict[str, Any]:
    return {"name": name, "kind": "foreign_government_body", "country": country, **fields}


def agreement_body(signatory_org_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    """A valid creation body; `fields` override or add to it."""
    body: dict[str, Any] = {
        "title": "Hermanamiento Guadalajara - Kraków",
        "instrument": "sister_city",
        "signatory_org_id": str(signatory_org_id),
        "counterparts": [counterpart()],
        "subject_areas": ["culture", "trade"],
        "languages": ["es", "pl"],
    }
    body.update(fields)
    return body


async def create_agreement(
    client: httpx2.AsyncClient, headers: dict[str, str], signatory_org_id: uuid.UUID, **fields: Any
) -> dict[str, Any]:
    response = await client.post(AGREEMENTS, json=agreement_body(signatory_org_id, **fields), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def get_ok(client: httpx2.AsyncClient, url: str, headers: dict[str, str]) -> httpx2.Response:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response


async def read_agreement(client: httpx2.AsyncClient, agreement_id: str, headers: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = (await get_ok(client, f"{AGREEMENTS}/{agreement_id}", headers)).json()
    return body


async def patch_current(
    client: httpx2.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]
) -> httpx2.Response:
    """PATCH with the ETag of the resource as `headers` reads it right now."""
    etag = (await get_ok(client, url, headers)).headers["etag"]
    return await client.patch(url, json=body, headers={**headers, "If-Match": etag})


async def delete_current(client: httpx2.AsyncClient, url: str, headers: dict[str, str]) -> httpx2.Response:
    """DELETE with the ETag of the resource as `headers` reads it right now."""
    etag = (await get_ok(client, url, headers)).headers["etag"]
    return await client.delete(url, headers={**headers, "If-Match": etag})


async def post_created(
    client: httpx2.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    """POST that must create: the 201's body."""
    response = await client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def add_review(
    client: httpx2.AsyncClient, headers: dict[str, str], agreement_id: str, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "internal_legal", "requested_on": iso(-60)}
    body.update(fields)
    response = await client.post(f"{AGREEMENTS}/{agreement_id}/legal-reviews", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def add_registration(
    client: httpx2.AsyncClient, headers: dict[str, str], agreement_id: str, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"registry": "sre", "submitted_on": iso(-10)}
    body.update(fields)
    response = await client.post(f"{AGREEMENTS}/{agreement_id}/registrations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def walk(
    client: httpx2.AsyncClient,
    path: str,
    headers: dict[str, str],
    params: dict[str, Any] | None = None,
    *,
    limit: int = 2,
) -> list[dict[str, Any]]:
    """Every item of a list, page by page through next_cursor, checking each page's shape."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        query: dict[str, Any] = {**(params or {}), "limit": limit}
        if cursor is not None:
            query["cursor"] = cursor
        response = await client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            return items
        assert page["items"], "a page announcing more must not be empty"
        assert 'rel="next"' in response.headers["link"]
    raise AssertionError("pagination never ended")


async def scalar(session: AsyncSession, sql: str, **params: Any) -> Any:
    """One value, read inside the test's transaction (so it sees what the requests committed)."""
    value = (await session.execute(text(sql), params)).scalar_one()
    await session.commit()
    return value


async def count(session: AsyncSession, table: str) -> int:
    return int(await scalar(session, f"SELECT count(*) FROM {table}"))  # noqa: S608 - fixed table names


async def snapshot(session: AsyncSession) -> tuple[int, int, int, int]:
    """Rows that any write of these endpoints would add to: proves a refusal wrote nothing."""
    return (
        await count(session, "agreements"),
        await count(session, "legal_reviews"),
        await count(session, "registrations"),
        await count(session, "log_entries"),
    )
