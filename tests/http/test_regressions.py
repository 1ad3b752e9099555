"""Regressions a review found across the HTTP layer: NUL characters and crafted cursors are 422s
(never 500s) and write nothing; a replay needs a live key.

Moved from tests/test_review_regressions.py (issue 11): a regression lives beside its feature."""

import uuid

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.repository import HISTORY_SORT, SORTS
from app.http.pagination import encode_cursor
from app.models.organizations import PLATFORM_ORG_ID
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.factories import AGREEMENTS, TODAY, World, assert_problem, count, make_world, pin_today, post_created
from tests.targets.factories import make_agreement

ORGS = "/v1/organizations"


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


def history_of(agreement_id: str) -> str:
    return f"{AGREEMENTS}/{agreement_id}/history"


# --- NUL characters --------------------------------------------------------------------------------


async def test_nul_characters_are_a_422_and_write_nothing(
    client: httpx2.AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
) -> None:
    response = await client.get(AGREEMENTS, params={"q": "a\x00b"})
    assert_problem(response, 422)

    before = (await count(session, "organizations"), await count(session, "log_entries"))
    response = await client.post(ORGS, json={"kind": "university", "name": "Universidad\u0000X"}, headers=admin_headers)
    assert_problem(response, 422)
    assert (await count(session, "organizations"), await count(session, "log_entries")) == before


# --- crafted cursors -------------------------------------------------------------------------------


async def test_crafted_cursors_are_a_422(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world, "public")
    huge = encode_cursor(HISTORY_SORT, (2**64,))
    response = await client.get(history_of(agreement["id"]), params={"cursor": huge})
    assert_problem(response, 422, loc=["query", "cursor"])

    overflowing = encode_cursor(SORTS["-updated_at"], ("0001-01-01T00:00:00+14:00", str(uuid.uuid4())))
    response = await client.get(AGREEMENTS, params={"cursor": overflowing})
    assert_problem(response, 422, loc=["query", "cursor"])


# --- replays need a live key ----------------------------------------------------------------------


async def test_a_replay_after_the_key_is_revoked_is_a_401(
    client: httpx2.AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
) -> None:
    key = await post_created(client, f"{ORGS}/{PLATFORM_ORG_ID}/api-keys", {"role": "admin"}, admin_headers)
    headers = {**bearer(key["secret"]), "Idempotency-Key": f"org-{uuid.uuid4()}"}
    body = {"kind": "university", "name": f"Universidad {uuid.uuid4().hex[:8]}"}
    first = await client.post(ORGS, json=body, headers=headers)
    assert first.status_code == 201, first.text
    replayed = await client.post(ORGS, json=body, headers=headers)
    assert (replayed.status_code, replayed.json()) == (201, first.json())

    revoked = await client.delete(f"{ORGS}/{PLATFORM_ORG_ID}/api-keys/{key['id']}", headers=admin_headers)
    assert revoked.status_code == 204, revoked.text
    organizations = await count(session, "organizations")
    response = await client.post(ORGS, json=body, headers=headers)
    assert_problem(response, 401)
    assert first.json()["id"] not in response.text
    assert await count(session, "organizations") == organizations
