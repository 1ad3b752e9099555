"""A write that PostgreSQL gives up on (a lock it waited too long for, the statement timeout) is a
503 problem with Retry-After, not a 500: e.g. a write queued behind a long import that holds its
locks until it commits. Nothing is written, and the same write succeeds once the lock is free."""

import asyncpg
import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tests.conftest import MakeKey, MakeOrg
from tests.db import plain
from tests.factories import TODAY, World, agreement_body, count, make_world, pin_today
from tests.problems import assert_problem


@pytest.fixture
async def world(app: FastAPI, make_org: MakeOrg, make_key: MakeKey) -> World:
    pin_today(app, TODAY)
    return await make_world(make_org, make_key)


@pytest.mark.parametrize("limit", ["lock_timeout", "statement_timeout"])
async def test_a_write_that_waits_too_long_is_503_with_retry_after(
    client: httpx2.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    database_url: str,
    world: World,
    limit: str,
) -> None:
    before = await count(session, "agreements")
    body = agreement_body(world.signatory.id)
    # Another transaction keeps every writer of agreements waiting (reads go on), as a long
    # all-or-nothing import does until it commits.
    other = await asyncpg.connect(plain(database_url))
    try:
        await other.execute("SET lock_timeout = '5s'; BEGIN; LOCK TABLE agreements IN SHARE MODE")
        await connection.execute(text(f"SET LOCAL {limit} = '300ms'"))
        for language, words in (("es", "ocupada"), ("en", "busy")):
            response = await client.post(
                "/v1/agreements", json=body, headers={**world.headers("editor"), "Accept-Language": language}
            )
            assert_problem(response, 503, slug="service-unavailable")
            assert response.headers["retry-after"] == "5"
            assert words in response.json()["detail"]
        assert await count(session, "agreements") == before
        await other.execute("ROLLBACK")  # the import is over: the same write now goes through
        await connection.execute(text(f"SET LOCAL {limit} = 0"))
        created = await client.post("/v1/agreements", json=body, headers=world.headers("editor"))
        assert created.status_code == 201, created.text
        assert await count(session, "agreements") == before + 1
    finally:
        await other.close()
