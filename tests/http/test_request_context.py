"""X-Request-ID, the one-line JSON access log, and the readiness probe."""

import json
import logging
import re
from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.migrate import head_revisions
from app.models import Organization, Role
from app.models.organizations import PLATFORM_ORG_ID
from app.observability import JsonFormatter
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.conftest import test_settings as settings_with
from tests.problems import assert_problem

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "request_id", "organization")


def default_body_limit() -> int:
    return settings_with().max_body_bytes


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pacta.access"]


@pytest.fixture
def crashing_app(sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    application = create_app(settings_with())
    application.state.sessionmaker = sessionmaker

    async def explode() -> None:
        raise RuntimeError("boom")

    application.add_api_route("/v1/test-only/explode", explode, methods=["GET"])
    return application


@pytest.fixture
async def crashing_client(crashing_app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=crashing_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


# X-Request-ID ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", ["abc-123", "req_2026.11.27:0001", "A" * 128, "0f8fad5b-d9cb-469f-a165-70867728950e"])
async def test_a_sane_request_id_is_echoed(client: httpx2.AsyncClient, sent: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": sent})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == sent


async def test_a_request_id_is_generated_when_none_is_sent(client: httpx2.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert GENERATED_ID.match(first.headers["x-request-id"])
    assert GENERATED_ID.match(second.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize(
    "garbage",
    ["x" * 300, "A" * 129, "has spaces in it", "<script>alert(1)</script>", "semi;colon", "", "new\\nline"],
    ids=["300-chars", "129-chars", "spaces", "markup", "semicolon", "empty", "backslash"],
)
async def test_a_garbage_request_id_is_replaced(client: httpx2.AsyncClient, garbage: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": garbage})
    assert response.status_code == 200
    assert response.headers["x-request-id"] != garbage
    assert GENERATED_ID.match(response.headers["x-request-id"])


async def test_request_id_is_on_error_responses(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], crashing_client: httpx2.AsyncClient
) -> None:
    responses = [
        await client.get("/v1/nope", headers={"X-Request-ID": "err-404"}),
        await client.put("/v1/organizations", headers={"X-Request-ID": "err-405"}),
        await client.get("/v1/organizations", headers={"X-Request-ID": "err-401"}),
        await client.post(
            "/v1/organizations",
            content=b"{",
            headers={**admin_headers, "Content-Type": "application/json", "X-Request-ID": "err-400"},
        ),
        await client.post(
            "/v1/organizations",
            json={"name": "x", "kind": "municipality"},
            headers={**admin_headers, "Idempotency-Key": "k" * 300, "X-Request-ID": "err-422"},
        ),
        await client.post(
            "/v1/organizations",
            content=b" " * (default_body_limit() + 1),
            headers={**admin_headers, "Content-Type": "application/json", "X-Request-ID": "err-413"},
        ),
        await crashing_client.get("/v1/test-only/explode", headers={"X-Request-ID": "err-500"}),
    ]
    assert [r.status_code for r in responses] == [404, 405, 401, 400, 422, 413, 500]
    assert [r.headers["x-request-id"] for r in responses] == [
        "err-404",
        "err-405",
        "err-401",
        "err-400",
        "err-422",
        "err-413",
        "err-500",
    ]


async def test_generated_request_id_is_on_error_responses(client: httpx2.AsyncClient) -> None:
    response = await client.get("/v1/nope")
    assert_problem(response, 404, "not-found")
    assert GENERATED_ID.match(response.headers["x-request-id"])


# Access log ------------------------------------------------------------------------------------


async def test_one_access_log_line_per_request(
    client: httpx2.AsyncClient,
    admin_headers: dict[str, str],
    make_org: MakeOrg,
    caplog: pytest.LogCaptureFixture,
) -> None:
    org = await make_org()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pacta.access"):
        response = await client.get(f"/v1/organizations/{org.id}", headers={**admin_headers, "X-Request-ID": "log-1"})
    assert response.status_code == 200
    records = access_records(caplog)
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.INFO
    assert record.__dict__["method"] == "GET"
    assert record.__dict__["path"] == f"/v1/organizations/{org.id}"
    assert record.__dict__["status"] == 200
    assert record.__dict__["request_id"] == "log-1"
    assert record.__dict__["organization"] == str(PLATFORM_ORG_ID)
    duration = record.__dict__["duration_ms"]
    assert isinstance(duration, float)
    assert duration >= 0


async def test_access_log_line_is_valid_json_with_the_fields(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pacta.access"):
        response = await client.get("/v1/organizations", params={"limit": "1"}, headers=admin_headers)
    (record,) = access_records(caplog)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    for field in ACCESS_FIELDS:
        assert field in data
    assert data["logger"] == "pacta.access"
    assert data["level"] == "INFO"
    assert data["method"] == "GET"
    # The path, not the query string: no cursors or filters in the log.
    assert data["path"] == "/v1/organizations"
    assert data["status"] == 200
    assert data["request_id"] == response.headers["x-request-id"]
    assert data["organization"] == str(PLATFORM_ORG_ID)
    assert isinstance(data["duration_ms"], float)


async def test_access_log_names_the_callers_organization(
    client: httpx2.AsyncClient, make_org: MakeOrg, make_key: MakeKey, caplog: pytest.LogCaptureFixture
) -> None:
    org: Organization = await make_org()
    headers = bearer(await make_key(Role.editor, org_id=org.id))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pacta.access"):
        response = await client.get("/v1/organizations", headers=headers)
    assert response.status_code == 200, response.text
    (record,) = access_records(caplog)
    assert record.__dict__["organization"] == str(org.id)


async def test_access_log_of_an_anonymous_refused_request(
    client: httpx2.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pacta.access"):
        response = await client.post("/v1/organizations", json={"name": "x", "kind": "university"})
    assert response.status_code == 401
    (record,) = access_records(caplog)
    assert record.__dict__["method"] == "POST"
    assert record.__dict__["status"] == 401
    assert record.__dict__["organization"] is None
    assert record.__dict__["request_id"] == response.headers["x-request-id"]
    assert json.loads(JsonFormatter().format(record))["organization"] is None


async def test_access_log_records_a_crash_as_500(
    crashing_client: httpx2.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pacta"):
        response = await crashing_client.get("/v1/test-only/explode", headers={"X-Request-ID": "crash-log"})
    assert response.status_code == 500
    (record,) = access_records(caplog)
    assert record.__dict__["status"] == 500
    assert record.__dict__["request_id"] == "crash-log"
    # The stack trace goes to the error log (with the same request id), never to the client.
    errors = [r for r in caplog.records if r.name == "pacta.errors"]
    assert errors
    assert errors[0].exc_info is not None
    assert errors[0].__dict__["request_id"] == "crash-log"
    assert "Traceback" in json.loads(JsonFormatter().format(errors[0]))["exc"]


async def test_access_log_status_of_a_304(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, caplog: pytest.LogCaptureFixture
) -> None:
    org = await make_org()
    etag = (await client.get(f"/v1/organizations/{org.id}", headers=admin_headers)).headers["etag"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pacta.access"):
        response = await client.get(f"/v1/organizations/{org.id}", headers={**admin_headers, "If-None-Match": etag})
    assert response.status_code == 304
    (record,) = access_records(caplog)
    assert record.__dict__["status"] == 304


# Readiness -------------------------------------------------------------------------------------


async def test_readyz_on_the_migrated_database(client: httpx2.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["schema_revision"] == ",".join(sorted(head_revisions()))


async def test_readyz_is_503_when_the_schema_is_behind(client: httpx2.AsyncClient, session: AsyncSession) -> None:
    await session.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    await session.commit()
    response = await client.get("/readyz")
    body = assert_problem(response, 503, "service-unavailable")
    assert "0000" in body["detail"]
    assert "migrate" in body["detail"]
    # Liveness does not depend on the database.
    assert (await client.get("/healthz")).status_code == 200


async def test_readyz_is_503_when_the_schema_was_never_migrated(
    client: httpx2.AsyncClient, session: AsyncSession
) -> None:
    await session.execute(text("DELETE FROM alembic_version"))
    await session.commit()
    response = await client.get("/readyz")
    assert_problem(response, 503, "service-unavailable")
