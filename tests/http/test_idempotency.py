"""Idempotency-Key on POST /v1/organizations: replay, mismatch, scope, in-flight, lost responses."""

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.secrets import parse_prefix
from app.idempotency.ownership import Ownership, lock_id
from app.main import create_app
from app.models import Role
from app.models.organizations import PLATFORM_ORG_ID
from tests.conftest import MakeKey, bearer
from tests.conftest import test_settings as settings_with
from tests.factories import count, post_created
from tests.http.test_problems import count_rows, new_org_body, snapshot
from tests.problems import assert_problem

PATH = "/v1/organizations"


@pytest.fixture
async def app(sessionmaker: async_sessionmaker[AsyncSession], database_url: str) -> AsyncIterator[FastAPI]:
    """The conftest app, with requests in flight owned through advisory locks as in a server."""
    application = create_app(settings_with())
    application.state.sessionmaker = sessionmaker
    application.state.ownership = Ownership(database_url)
    yield application
    await application.state.ownership.close()


@asynccontextmanager
async def owned_elsewhere(database_url: str, scope: str, key: str) -> AsyncIterator[asyncpg.Connection]:
    """Another process carrying out the request: its connection holds the key's lock."""
    connection = await asyncpg.connect(database_url)
    try:
        assert await connection.fetchval("SELECT pg_try_advisory_lock($1)", lock_id(scope, key))
        yield connection
    finally:
        if not connection.is_closed():
            await connection.close()


def secret_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def scope_of(session: AsyncSession, secret: str) -> str:
    """Keys are scoped to the API key: the record names the key's id."""
    prefix = parse_prefix(secret)
    found = (await session.execute(text("SELECT id FROM api_keys WHERE prefix = :p"), {"p": prefix})).scalar_one()
    return str(found)


def request_hash(body: bytes, *, content_type: str = "application/json", path: str = PATH, query: str = "") -> str:
    """What a retry must repeat to count as the same request: method, path, query, media type, body."""
    digest = hashlib.sha256()
    digest.update(f"POST {path}?{query}\n".encode())
    digest.update(content_type.encode() + b"\n")
    digest.update(body)
    return digest.hexdigest()


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


async def post(client: httpx2.AsyncClient, headers: dict[str, str], key: str | None, raw: bytes) -> httpx2.Response:
    sent = {**headers, "Content-Type": "application/json"}
    if key is not None:
        sent["Idempotency-Key"] = key
    return await client.post(PATH, content=raw, headers=sent)


async def insert_record(
    session: AsyncSession,
    *,
    secret: str,
    key: str,
    body_hash: str,
    state: str,
    created_at: datetime,
    locked_until: datetime,
    response: tuple[int, list[list[str]], bytes] | None = None,
) -> None:
    status, headers, stored = response if response is not None else (None, None, None)
    await session.execute(
        text(
            "INSERT INTO idempotency_keys "
            "(scope, key, request_hash, state, created_at, locked_until, response_status, response_headers, "
            "response_body) VALUES (:scope, :key, :hash, :state, :created_at, :locked_until, :status, "
            "CAST(:headers AS jsonb), :body)"
        ),
        {
            "scope": await scope_of(session, secret),
            "key": key,
            "hash": body_hash,
            "state": state,
            "created_at": created_at,
            "locked_until": locked_until,
            "status": status,
            "headers": None if headers is None else json.dumps(headers),
            "body": stored,
        },
    )
    await session.commit()


async def record_of(session: AsyncSession, secret: str, key: str) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(
                    "SELECT state, request_hash, response_status, locked_until FROM idempotency_keys "
                    "WHERE scope = :scope AND key = :key"
                ),
                {"scope": await scope_of(session, secret), "key": key},
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


async def orgs_named(session: AsyncSession, name: str) -> int:
    value = (
        await session.execute(text("SELECT count(*) FROM organizations WHERE name = :name"), {"name": name})
    ).scalar_one()
    assert isinstance(value, int)
    return value


# Replays ----------------------------------------------------------------------------------------


async def test_same_key_and_body_replays_the_response_and_writes_once(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    before = await snapshot(session)
    raw = encode(new_org_body())
    first = await post(client, admin_headers, "create-org-1", raw)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers

    second = await post(client, admin_headers, "create-org-1", raw)
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.content == first.content
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["content-type"] == first.headers["content-type"]
    # The replay is its own exchange: its own request id, a correct length.
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert second.headers["content-length"] == str(len(second.content))

    after = await snapshot(session)
    assert after["organizations"] == before["organizations"] + 1
    assert after["log_entries"] == before["log_entries"] + 1


async def test_many_retries_still_create_one_organization(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    body = new_org_body()
    raw = encode(body)
    responses = [await post(client, admin_headers, "retry-storm", raw) for _ in range(4)]
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.json()["id"] for r in responses}) == 1
    assert [r.headers.get("idempotent-replayed") for r in responses] == [None, "true", "true", "true"]
    assert await orgs_named(session, body["name"]) == 1


async def test_without_a_key_each_post_is_a_new_attempt(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    raw = encode(new_org_body())
    first = await post(client, admin_headers, None, raw)
    second = await post(client, admin_headers, None, raw)
    assert first.status_code == 201
    assert_problem(second, 409, "duplicate-organization")
    assert "idempotent-replayed" not in second.headers
    assert await count_rows(session, "idempotency_keys") == 0


async def test_successful_post_leaves_the_record_done_with_its_response(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    raw = encode(new_org_body())
    response = await post(client, admin_headers, "marker-check", raw)
    assert response.status_code == 201
    record = await record_of(session, secret_of(admin_headers), "marker-check")
    assert record is not None
    assert record["state"] == "done"
    assert record["response_status"] == 201
    assert record["request_hash"] == request_hash(raw)


async def test_error_responses_are_replayed_too(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    before = await snapshot(session)
    raw = encode(new_org_body(kind="municipality", inegi_code="99999"))
    first = await post(client, admin_headers, "bad-inegi", raw)
    body = assert_problem(first, 422, "validation-error")
    assert body["errors"][0]["loc"] == ["body", "inegi_code"]

    second = await post(client, admin_headers, "bad-inegi", raw)
    assert second.status_code == 422
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.json() == first.json()
    after = await snapshot(session)
    assert after["organizations"] == before["organizations"]
    assert after["log_entries"] == before["log_entries"]


async def test_schema_errors_are_replayed_too(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    raw = encode({"name": "x", "kind": "spaceship"})
    first = await post(client, admin_headers, "bad-kind", raw)
    assert_problem(first, 422, "validation-error")
    second = await post(client, admin_headers, "bad-kind", raw)
    assert second.status_code == 422
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()


# Mismatches and scope ---------------------------------------------------------------------------


async def test_same_key_with_a_different_body_is_422(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    first_body, other_body = new_org_body(), new_org_body()
    first = await post(client, admin_headers, "reused", encode(first_body))
    assert first.status_code == 201
    before = await snapshot(session)

    reused = await post(client, admin_headers, "reused", encode(other_body))
    body = assert_problem(reused, 422, "idempotency-key-reused")
    assert "idempotent-replayed" not in reused.headers
    assert "Idempotency-Key" in body["detail"]
    assert await snapshot(session) == before
    assert await orgs_named(session, other_body["name"]) == 0

    # The original request is still replayable afterwards.
    again = await post(client, admin_headers, "reused", encode(first_body))
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_same_body_with_another_media_type_is_a_different_request(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    raw = encode(new_org_body())
    first = await post(client, admin_headers, "media-type", raw)
    assert first.status_code == 201
    other = await client.post(
        PATH,
        content=raw,
        headers={**admin_headers, "Content-Type": "application/merge-patch+json", "Idempotency-Key": "media-type"},
    )
    assert_problem(other, 422, "idempotency-key-reused")


async def test_keys_are_scoped_to_the_api_key(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_key: MakeKey, session: AsyncSession
) -> None:
    other_headers = bearer(await make_key(Role.admin))
    body_a, body_b = new_org_body(), new_org_body()

    from_a = await post(client, admin_headers, "shared-key", encode(body_a))
    from_b = await post(client, other_headers, "shared-key", encode(body_b))
    assert from_a.status_code == 201
    assert from_b.status_code == 201, from_b.text
    assert "idempotent-replayed" not in from_b.headers
    assert from_a.json()["id"] != from_b.json()["id"]

    replay_a = await post(client, admin_headers, "shared-key", encode(body_a))
    replay_b = await post(client, other_headers, "shared-key", encode(body_b))
    assert replay_a.headers["idempotent-replayed"] == "true"
    assert replay_b.headers["idempotent-replayed"] == "true"
    assert replay_a.json()["id"] == from_a.json()["id"]
    assert replay_b.json()["id"] == from_b.json()["id"]
    assert await orgs_named(session, body_a["name"]) == 1
    assert await orgs_named(session, body_b["name"]) == 1


async def test_another_api_key_never_receives_a_stored_response(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_key: MakeKey
) -> None:
    other_headers = bearer(await make_key(Role.admin))
    raw = encode(new_org_body())
    first = await post(client, admin_headers, "not-yours", raw)
    assert first.status_code == 201
    # The same key and body from another caller runs for real: the name is taken now.
    second = await post(client, other_headers, "not-yours", raw)
    assert_problem(second, 409, "duplicate-organization")
    assert "idempotent-replayed" not in second.headers


async def test_key_longer_than_255_characters_is_422(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    before = await snapshot(session)
    response = await post(client, admin_headers, "k" * 256, encode(new_org_body()))
    body = assert_problem(response, 422, "validation-error")
    assert "255" in body["detail"]
    assert await snapshot(session) == before


async def test_key_of_exactly_255_characters_is_accepted(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    raw = encode(new_org_body())
    first = await post(client, admin_headers, "k" * 255, raw)
    assert first.status_code == 201, first.text
    second = await post(client, admin_headers, "k" * 255, raw)
    assert second.headers["idempotent-replayed"] == "true"


# A request still running, or a write whose response was lost ------------------------------------


async def test_request_while_the_first_is_in_flight_is_409(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession, database_url: str
) -> None:
    body = new_org_body()
    raw = encode(body)
    now = datetime.now(UTC)
    await insert_record(
        session,
        secret=secret_of(admin_headers),
        key="running",
        body_hash=request_hash(raw),
        state="in_flight",
        created_at=now,
        locked_until=now + timedelta(minutes=5),
    )
    before = await snapshot(session)
    async with owned_elsewhere(database_url, await scope_of(session, secret_of(admin_headers)), "running"):
        response = await post(client, admin_headers, "running", raw)
    problem = assert_problem(response, 409, "idempotency-in-flight")
    assert "idempotent-replayed" not in response.headers
    assert "reintente" in problem["detail"].lower()
    assert await snapshot(session) == before
    assert await orgs_named(session, body["name"]) == 0
    record = await record_of(session, secret_of(admin_headers), "running")
    assert record is not None
    assert record["state"] == "in_flight"


async def test_in_flight_with_a_different_body_is_a_mismatch_not_a_wait(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    now = datetime.now(UTC)
    await insert_record(
        session,
        secret=secret_of(admin_headers),
        key="running-other",
        body_hash=request_hash(encode(new_org_body())),
        state="in_flight",
        created_at=now,
        locked_until=now + timedelta(minutes=5),
    )
    before = await snapshot(session)
    response = await post(client, admin_headers, "running-other", encode(new_org_body()))
    assert_problem(response, 422, "idempotency-key-reused")
    assert await snapshot(session) == before


async def test_write_committed_but_response_lost_is_409_and_not_repeated(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    body = new_org_body()
    raw = encode(body)
    now = datetime.now(UTC)
    await insert_record(
        session,
        secret=secret_of(admin_headers),
        key="lost-response",
        body_hash=request_hash(raw),
        state="committed",
        created_at=now - timedelta(minutes=10),
        locked_until=now - timedelta(minutes=5),
    )
    before = await snapshot(session)
    response = await post(client, admin_headers, "lost-response", raw)
    assert_problem(response, 409, "idempotency-response-lost")
    assert await snapshot(session) == before
    assert await orgs_named(session, body["name"]) == 0
    record = await record_of(session, secret_of(admin_headers), "lost-response")
    assert record is not None
    assert record["state"] == "committed"


async def test_in_flight_record_whose_owner_died_is_taken_over_at_once(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession, database_url: str
) -> None:
    """No lease to wait out: while the owner's connection lives a retry is 409, and the moment it
    is gone (the process was killed) the very next retry carries the request out."""
    body = new_org_body()
    raw = encode(body)
    now = datetime.now(UTC)
    await insert_record(
        session,
        secret=secret_of(admin_headers),
        key="abandoned",
        body_hash=request_hash(raw),
        state="in_flight",
        created_at=now,
        locked_until=now,
    )
    scope = await scope_of(session, secret_of(admin_headers))
    async with owned_elsewhere(database_url, scope, "abandoned") as owner:
        waiting = await post(client, admin_headers, "abandoned", raw)
        assert_problem(waiting, 409, "idempotency-in-flight")
        owner.terminate()  # the owning process dies: its socket closes, PostgreSQL drops its locks
        for _ in range(50):
            response = await post(client, admin_headers, "abandoned", raw)
            if response.status_code != 409:
                break
    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers
    assert await orgs_named(session, body["name"]) == 1
    record = await record_of(session, secret_of(admin_headers), "abandoned")
    assert record is not None
    assert record["state"] == "done"
    assert record["response_status"] == 201

    replay = await post(client, admin_headers, "abandoned", raw)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == response.json()["id"]


async def test_the_scope_is_the_key_however_the_header_is_spelled(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    body = new_org_body()
    raw = encode(body)
    first = await post(client, admin_headers, "spelling", raw)
    assert first.status_code == 201, first.text
    for spelling in ("bearer ", "BEARER  "):
        retry = await post(client, {"Authorization": spelling + secret_of(admin_headers)}, "spelling", raw)
        assert retry.status_code == 201, retry.text
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.json()["id"] == first.json()["id"]
    assert await orgs_named(session, body["name"]) == 1


async def test_a_bogus_key_is_refused_without_storing_a_record(
    client: httpx2.AsyncClient, session: AsyncSession
) -> None:
    before = await count_rows(session, "idempotency_keys")
    for _ in range(2):
        refused = await post(client, {"Authorization": "Bearer pacta_0123456789ab_nope"}, "bogus", encode({}))
        assert_problem(refused, 401, "unauthorized")
        assert "idempotent-replayed" not in refused.headers
    assert await count_rows(session, "idempotency_keys") == before


# Retention -------------------------------------------------------------------------------------


async def test_stored_response_is_kept_for_at_least_24_hours(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    raw = encode(new_org_body())
    stored = b'{"stored": "23 hours ago"}'
    now = datetime.now(UTC)
    await insert_record(
        session,
        secret=secret_of(admin_headers),
        key="yesterday",
        body_hash=request_hash(raw),
        state="done",
        created_at=now - timedelta(hours=23),
        locked_until=now - timedelta(hours=23),
        response=(201, [["content-type", "application/json"], ["location", "/v1/organizations/x"]], stored),
    )
    before = await snapshot(session)
    response = await post(client, admin_headers, "yesterday", raw)
    assert response.status_code == 201
    assert response.headers["idempotent-replayed"] == "true"
    assert response.content == stored
    assert response.headers["location"] == "/v1/organizations/x"
    assert await snapshot(session) == before


async def test_key_past_its_retention_starts_afresh(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    body = new_org_body()
    raw = encode(body)
    now = datetime.now(UTC)
    await insert_record(
        session,
        secret=secret_of(admin_headers),
        key="last-week",
        body_hash=request_hash(encode(new_org_body())),
        state="done",
        created_at=now - timedelta(days=7),
        locked_until=now - timedelta(days=7),
        response=(201, [["content-type", "application/json"]], b'{"stale": true}'),
    )
    response = await post(client, admin_headers, "last-week", raw)
    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers
    assert response.json()["name"] == body["name"]
    assert await orgs_named(session, body["name"]) == 1


# Requests the mechanism leaves alone -----------------------------------------------------------


async def test_anonymous_post_with_a_key_is_refused_and_stores_nothing(
    client: httpx2.AsyncClient, session: AsyncSession
) -> None:
    before = await snapshot(session)
    response = await post(client, {}, "anon", encode(new_org_body()))
    assert_problem(response, 401, "unauthorized")
    assert await snapshot(session) == before


async def test_a_refused_credential_does_not_poison_the_key(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    status_key = "rejected-1"
    raw = encode(new_org_body())
    refused = await post(client, {"Authorization": "Bearer pacta_nope_nope"}, status_key, raw)
    assert_problem(refused, 401, "unauthorized")
    accepted = await post(client, admin_headers, status_key, raw)
    assert accepted.status_code == 201, accepted.text
    assert "idempotent-replayed" not in accepted.headers


async def test_idempotency_key_on_a_read_is_ignored(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    first = await client.get(PATH, headers={**admin_headers, "Idempotency-Key": "read"})
    second = await client.get(PATH, headers={**admin_headers, "Idempotency-Key": "read"})
    assert first.status_code == second.status_code == 200
    assert "idempotent-replayed" not in second.headers


# --- replays need a live key (a regression a review found) ----------------------------------------


async def test_a_replay_after_the_key_is_revoked_is_a_401(
    client: httpx2.AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
) -> None:
    key = await post_created(client, f"{PATH}/{PLATFORM_ORG_ID}/api-keys", {"role": "admin"}, admin_headers)
    headers = {**bearer(key["secret"]), "Idempotency-Key": f"org-{uuid.uuid4()}"}
    body = {"kind": "university", "name": f"Universidad {uuid.uuid4().hex[:8]}"}
    first = await client.post(PATH, json=body, headers=headers)
    assert first.status_code == 201, first.text
    replayed = await client.post(PATH, json=body, headers=headers)
    assert (replayed.status_code, replayed.json()) == (201, first.json())

    revoked = await client.delete(f"{PATH}/{PLATFORM_ORG_ID}/api-keys/{key['id']}", headers=admin_headers)
    assert revoked.status_code == 204, revoked.text
    organizations = await count(session, "organizations")
    response = await client.post(PATH, json=body, headers=headers)
    assert_problem(response, 401)
    assert first.json()["id"] not in response.text
    assert await count(session, "organizations") == organizations
