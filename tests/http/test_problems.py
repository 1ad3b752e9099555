"""Every failure is an RFC 9457 problem: routing, method, malformed and oversized bodies, crashes."""

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import PROBLEM_MEDIA_TYPE
from app.main import create_app
from tests.conftest import test_settings as settings_with
from tests.factories import AGREEMENTS, count
from tests.problems import PROBLEM_KEYS, assert_problem

SMALL_LIMIT = 2048

_COUNTS = {
    "organizations": text("SELECT count(*) FROM organizations"),
    "log_entries": text("SELECT count(*) FROM log_entries"),
    "idempotency_keys": text("SELECT count(*) FROM idempotency_keys"),
}


async def count_rows(session: AsyncSession, table: str) -> int:
    """Rows in one of the tables the shared mechanisms may write to."""
    value = (await session.execute(_COUNTS[table])).scalar_one()
    assert isinstance(value, int)
    return value


async def snapshot(session: AsyncSession) -> dict[str, int]:
    return {table: await count_rows(session, table) for table in _COUNTS}


def new_org_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": f"Universidad {uuid.uuid4().hex[:10]}", "kind": "university"}
    body.update(fields)
    return body


@pytest.fixture
async def small_client(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx2.AsyncClient]:
    """A client of an app whose request bodies may hold at most SMALL_LIMIT bytes."""
    application = create_app(settings_with(max_body_bytes=SMALL_LIMIT))
    application.state.sessionmaker = sessionmaker
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def crashing_app(sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    """A fresh app with test-only routes that fail in a way no handler expects."""
    application = create_app(settings_with())
    application.state.sessionmaker = sessionmaker

    async def explode() -> None:
        raise RuntimeError("db password is hunter2 at /srv/pacta/secret.py line 42")

    application.add_api_route("/v1/test-only/explode", explode, methods=["GET", "POST"])
    return application


@pytest.fixture
async def crashing_client(crashing_app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=crashing_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def oversized_chunks(total: int, chunk: int = 512) -> AsyncIterator[bytes]:
    """A JSON-looking body sent in pieces, without a Content-Length (chunked)."""
    yield b'{"name": "'
    sent = 0
    while sent < total:
        yield b"x" * chunk
        sent += chunk
    yield b'", "kind": "university"}'


# Routing -------------------------------------------------------------------------------------


async def test_unknown_route_is_a_404_problem(client: httpx2.AsyncClient) -> None:
    response = await client.get("/v1/no-such-thing")
    body = assert_problem(response, 404, "not-found")
    assert "/v1/no-such-thing" in body["detail"]


async def test_unknown_route_with_a_body_is_still_a_404_problem(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post("/v1/nothing-here", json={"a": 1}, headers=admin_headers)
    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_wrong_method_is_a_405_problem_with_allow(client: httpx2.AsyncClient, method: str) -> None:
    response = await client.request(method, "/v1/organizations")
    body = assert_problem(response, 405, "method-not-allowed")
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert method not in allowed
    assert method in body["detail"]


async def test_405_on_a_single_resource_lists_its_methods(client: httpx2.AsyncClient) -> None:
    response = await client.put(f"/v1/organizations/{uuid.uuid4()}", json={})
    assert_problem(response, 405, "method-not-allowed")
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "PATCH", "DELETE"} <= allowed


# Malformed and invalid bodies ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"name": "Universidad", "kind": ', b"\xff\xfe\x00garbage", b"[1, 2,]"],
    ids=["bare-word", "truncated", "binary", "trailing-comma"],
)
async def test_body_that_is_not_json_is_400(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession, raw: bytes
) -> None:
    before = await snapshot(session)
    response = await client.post(
        "/v1/organizations", content=raw, headers={**admin_headers, "Content-Type": "application/json"}
    )
    body = assert_problem(response, 400, "malformed-body")
    assert "errors" not in body
    assert await snapshot(session) == before


async def test_json_breaking_the_schema_is_422_with_errors(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    before = await snapshot(session)
    response = await client.post(
        "/v1/organizations",
        json={"name": "", "kind": "spaceship", "country": "mx", "unexpected": True},
        headers=admin_headers,
    )
    body = assert_problem(response, 422, "validation-error")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert errors
    for issue in errors:
        assert set(issue) == {"loc", "msg", "type"}
        assert isinstance(issue["loc"], list)
        assert isinstance(issue["msg"], str)
        assert issue["msg"]
        assert isinstance(issue["type"], str)
        assert issue["type"]
    locs = {tuple(issue["loc"]) for issue in errors}
    assert {("body", "name"), ("body", "kind"), ("body", "country"), ("body", "unexpected")} <= locs
    assert await snapshot(session) == before


async def test_json_of_the_wrong_shape_is_422(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post("/v1/organizations", json=["not", "an", "object"], headers=admin_headers)
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"][0] == "body"


async def test_bad_query_parameter_is_422_with_errors(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get("/v1/organizations", params={"limit": "0"}, headers=admin_headers)
    body = assert_problem(response, 422, "validation-error")
    assert ["query", "limit"] in [issue["loc"] for issue in body["errors"]]


async def test_domain_rule_violation_is_422_naming_the_field(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    before = await snapshot(session)
    response = await client.post(
        "/v1/organizations",
        json=new_org_body(kind="municipality", inegi_code="99999"),
        headers=admin_headers,
    )
    body = assert_problem(response, 422, "validation-error")
    assert [issue["loc"] for issue in body["errors"]] == [["body", "inegi_code"]]
    assert await snapshot(session) == before


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "as_admin", "status"),
    [
        ("GET", "/v1/nope", {}, False, 404),
        ("PUT", "/v1/organizations", {}, False, 405),
        # With a key: without one, the 401 comes first (the body is never read).
        ("POST", "/v1/organizations", {"content": b"{", "headers": {"Content-Type": "application/json"}}, True, 400),
        ("POST", "/v1/organizations", {"json": {"kind": 3}}, True, 422),
        ("GET", "/v1/organizations", {}, False, 401),
        ("GET", "/v1/organizations/not-a-uuid", {}, True, 422),
    ],
    ids=["404", "405", "400", "422", "401", "path-param"],
)
async def test_never_a_bare_detail_document(
    client: httpx2.AsyncClient,
    admin_headers: dict[str, str],
    method: str,
    path: str,
    kwargs: dict[str, Any],
    as_admin: bool,
    status: int,
) -> None:
    if as_admin:
        kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), **admin_headers}}
    response = await client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert set(body) != {"detail"}
    assert set(body) >= PROBLEM_KEYS
    assert isinstance(body["detail"], str)


async def test_unauthenticated_write_is_a_401_problem_with_challenge(
    client: httpx2.AsyncClient, session: AsyncSession
) -> None:
    before = await snapshot(session)
    response = await client.post("/v1/organizations", json=new_org_body())
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert await snapshot(session) == before


# Oversized bodies ------------------------------------------------------------------------------


async def test_body_within_the_limit_is_accepted(
    small_client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await small_client.post("/v1/organizations", json=new_org_body(), headers=admin_headers)
    assert response.status_code == 201, response.text


async def test_oversized_body_with_content_length_is_413(
    small_client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    before = await snapshot(session)
    payload = json.dumps(new_org_body(website="https://example.org/" + "a" * SMALL_LIMIT)).encode()
    assert len(payload) > SMALL_LIMIT
    response = await small_client.post(
        "/v1/organizations", content=payload, headers={**admin_headers, "Content-Type": "application/json"}
    )
    assert response.request.headers["content-length"] == str(len(payload))
    body = assert_problem(response, 413, "payload-too-large")
    assert str(SMALL_LIMIT) in body["detail"]
    assert await snapshot(session) == before


async def test_oversized_chunked_body_without_content_length_is_413(
    small_client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    before = await snapshot(session)
    response = await small_client.post(
        "/v1/organizations",
        content=oversized_chunks(SMALL_LIMIT * 2),
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    body = assert_problem(response, 413, "payload-too-large")
    assert str(SMALL_LIMIT) in body["detail"]
    assert await snapshot(session) == before


async def test_oversized_chunked_body_with_idempotency_key_is_413(
    small_client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    before = await snapshot(session)
    response = await small_client.post(
        "/v1/organizations",
        content=oversized_chunks(SMALL_LIMIT * 2),
        headers={**admin_headers, "Content-Type": "application/json", "Idempotency-Key": "big-upload-1"},
    )
    assert_problem(response, 413, "payload-too-large")
    assert await snapshot(session) == before


async def test_oversized_body_with_idempotency_key_and_content_length_is_413(
    small_client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    before = await snapshot(session)
    response = await small_client.post(
        "/v1/organizations",
        content=b"{" + b" " * (SMALL_LIMIT * 2) + b"}",
        headers={**admin_headers, "Content-Type": "application/json", "Idempotency-Key": "big-upload-2"},
    )
    assert_problem(response, 413, "payload-too-large")
    assert await snapshot(session) == before


# Unexpected failures ---------------------------------------------------------------------------


async def test_unexpected_exception_is_a_generic_500_quoting_the_request_id(
    crashing_client: httpx2.AsyncClient,
) -> None:
    response = await crashing_client.get("/v1/test-only/explode")
    body = assert_problem(response, 500, "internal-error")
    request_id = response.headers["x-request-id"]
    assert request_id
    assert request_id in body["detail"]
    raw = response.text
    for leaked in ("Traceback", "RuntimeError", "hunter2", "secret.py", 'File "'):
        assert leaked not in raw
    assert "errors" not in body


async def test_500_quotes_the_request_id_the_client_sent(crashing_client: httpx2.AsyncClient) -> None:
    response = await crashing_client.get("/v1/test-only/explode", headers={"X-Request-ID": "trace-500-abc"})
    body = assert_problem(response, 500, "internal-error")
    assert response.headers["x-request-id"] == "trace-500-abc"
    assert "trace-500-abc" in body["detail"]


async def test_500_on_an_idempotent_post_is_not_stored_so_a_retry_runs_again(
    crashing_client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    headers = {**admin_headers, "Idempotency-Key": "crash-once"}
    first = await crashing_client.post("/v1/test-only/explode", json={}, headers=headers)
    assert_problem(first, 500, "internal-error")
    assert await count_rows(session, "idempotency_keys") == 0
    retry = await crashing_client.post("/v1/test-only/explode", json={}, headers=headers)
    assert_problem(retry, 500, "internal-error")
    assert "idempotent-replayed" not in retry.headers
    assert retry.headers["x-request-id"] != first.headers["x-request-id"]


async def test_500_request_id_is_a_generated_hex_id(crashing_client: httpx2.AsyncClient) -> None:
    response = await crashing_client.get("/v1/test-only/explode")
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


# --- NUL characters (a regression a review found) -------------------------------------------------


async def test_a_nul_character_in_a_search_is_a_422(client: httpx2.AsyncClient) -> None:
    # Alone in its test: the hot read runs on the test's own transaction (in production it is a
    # statement of its own), and PostgreSQL's refusal ends that transaction.
    response = await client.get(AGREEMENTS, params={"q": "a\x00b"})
    assert_problem(response, 422)


async def test_nul_characters_in_a_body_are_a_422_and_write_nothing(
    client: httpx2.AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
) -> None:
    before = (await count(session, "organizations"), await count(session, "log_entries"))
    response = await client.post(
        "/v1/organizations", json={"kind": "university", "name": "Universidad\u0000X"}, headers=admin_headers
    )
    assert_problem(response, 422)
    assert (await count(session, "organizations"), await count(session, "log_entries")) == before
