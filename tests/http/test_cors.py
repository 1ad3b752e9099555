"""Browsers: CORS for portals (open reads from anywhere, keys only from PACTA_CORS_ORIGINS) and HEAD."""

from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from tests.conftest import MakeKey, MakeOrg
from tests.conftest import test_settings as settings_with
from tests.factories import World, agreement_body, make_world

PORTAL = "https://portal.guadalajara.gob.mx"
STRANGER = "https://elsewhere.example"


@pytest.fixture
def app(sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    application = create_app(settings_with(cors_origins=[PORTAL]))
    application.state.sessionmaker = sessionmaker
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


def allow_headers(response: httpx2.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-allow")}


async def test_anonymous_public_reads_are_open_to_any_origin(client: httpx2.AsyncClient) -> None:
    response = await client.get("/v1/agreements", headers={"Origin": STRANGER})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    exposed = {h.strip() for h in response.headers["access-control-expose-headers"].split(",")}
    assert exposed == {"ETag", "Link", "Location", "X-Request-ID", "Content-Language"}
    assert "origin" in response.headers["vary"].lower()


async def test_a_listed_origin_is_echoed_and_may_send_a_key(client: httpx2.AsyncClient, world: World) -> None:
    response = await client.get("/v1/agreements", headers={"Origin": PORTAL, **world.headers("editor")})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == PORTAL
    assert "origin" in response.headers["vary"].lower()


async def test_a_key_sent_from_another_origin_gets_no_cors_headers(client: httpx2.AsyncClient, world: World) -> None:
    response = await client.get("/v1/agreements", headers={"Origin": STRANGER, **world.headers("editor")})
    assert response.status_code == 200  # the server answers; the browser will not hand it over
    assert "access-control-allow-origin" not in response.headers


async def test_anonymous_writes_from_other_origins_are_not_opened(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/agreements", json={}, headers={"Origin": STRANGER})
    assert response.status_code == 401
    assert "access-control-allow-origin" not in response.headers


async def test_pages_are_not_opened_to_other_origins(client: httpx2.AsyncClient) -> None:
    response = await client.get("/dashboard", headers={"Origin": STRANGER})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    # A listed origin is answered otherwise, so a shared cache must keep the two apart.
    assert "origin" in response.headers["vary"].lower()
    assert (await client.get("/dashboard", headers={"Origin": PORTAL})).headers["access-control-allow-origin"] == PORTAL


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/agreements", "GET, HEAD, POST"),
        ("/v1/agreements/00000000-0000-0000-0000-000000000000", "GET, HEAD, PATCH, DELETE"),
        ("/v1/log/checkpoint", "GET, HEAD"),
    ],
)
async def test_preflight_from_a_listed_origin_allows_the_paths_methods(
    client: httpx2.AsyncClient, path: str, methods: str
) -> None:
    # No key: a preflight never carries one, and must never meet authentication or a 405.
    response = await client.options(
        path,
        headers={
            "Origin": PORTAL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == PORTAL
    assert response.headers["access-control-allow-methods"] == methods
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert allowed == {
        "Authorization",
        "Content-Type",
        "If-Match",
        "If-None-Match",
        "Idempotency-Key",
        "Accept-Language",
    }
    assert "origin" in response.headers["vary"].lower()


async def test_preflight_from_another_origin_allows_nothing(client: httpx2.AsyncClient) -> None:
    response = await client.options(
        "/v1/agreements",
        headers={"Origin": STRANGER, "Access-Control-Request-Method": "POST", "Accept-Language": "en"},
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "PACTA_CORS_ORIGINS" in response.json()["detail"]
    assert allow_headers(response) == {}


async def test_options_that_is_not_a_preflight_is_still_405(client: httpx2.AsyncClient) -> None:
    response = await client.options("/v1/agreements")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_default_settings_open_public_reads_only(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    application = create_app(settings_with())
    application.state.sessionmaker = sessionmaker
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application), base_url="http://t") as c:
        read = await c.get("/v1/agreements", headers={"Origin": PORTAL})
        assert read.headers["access-control-allow-origin"] == "*"
        preflight = await c.options(
            "/v1/agreements", headers={"Origin": PORTAL, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 403
        assert allow_headers(preflight) == {}


# --- HEAD ------------------------------------------------------------------------------------------


async def test_head_answers_every_get_without_a_body(client: httpx2.AsyncClient, world: World) -> None:
    created = await client.post(
        "/v1/agreements", json=agreement_body(world.signatory.id), headers=world.headers("editor")
    )
    assert created.status_code == 201
    url = f"/v1/agreements/{created.json()['id']}"
    for path, headers in (
        (url, world.headers("editor")),
        ("/v1/agreements", world.headers("editor")),
        ("/dashboard", {}),
        ("/v1/log/checkpoint", {}),
    ):
        got = await client.get(path, headers=headers)
        head = await client.head(path, headers=headers)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b""
        for name in ("content-type", "content-length", "etag", "content-language"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)
    assert (await client.head(url)).status_code == 404  # a draft stays hidden from HEAD too


async def test_head_keeps_the_rules_of_get(client: httpx2.AsyncClient) -> None:
    refused = await client.head("/v1/organizations")
    assert refused.status_code == 401
    assert refused.content == b""
    not_allowed = await client.head("/v1/log/proofs/consistency-not-a-path")
    assert not_allowed.status_code == 404


async def test_405_lists_head_beside_get(client: httpx2.AsyncClient) -> None:
    response = await client.put("/v1/log/checkpoint")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


# --- where a listed origin is echoed, and preflights it gets no grant from ------------------------


async def test_a_listed_origin_is_not_echoed_on_the_workspace_or_operations(client: httpx2.AsyncClient) -> None:
    for path in ("/workspace/login", "/workspace", "/workspace/review", "/healthz"):
        response = await client.get(path, headers={"Origin": PORTAL})
        assert response.status_code in (200, 303), path
        assert "access-control-allow-origin" not in response.headers, path
        assert "access-control-expose-headers" not in response.headers, path
    # A sign-in posted from the listed portal's page is refused as a cross-site form, uncovered.
    posted = await client.post("/workspace/login", data={"api_key": "x"}, headers={"Origin": PORTAL})
    assert posted.status_code == 403
    assert "access-control-allow-origin" not in posted.headers
    # Still echoed where a portal's script is meant to read: the API and the public pages.
    for path in ("/v1/agreements", "/dashboard", "/v1/log/checkpoint"):
        response = await client.get(path, headers={"Origin": PORTAL})
        assert response.headers["access-control-allow-origin"] == PORTAL, path
        assert "origin" in response.headers["vary"].lower(), path


async def test_preflight_to_an_unknown_path_is_a_not_found_problem(client: httpx2.AsyncClient) -> None:
    for path in ("/v1/nothing-here", "/nothing-here", "/badges/nothing"):
        response = await client.options(
            path, headers={"Origin": PORTAL, "Access-Control-Request-Method": "GET", "Accept-Language": "en"}
        )
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404
        assert allow_headers(response) == {}, path


async def test_preflight_to_the_workspace_or_operations_allows_nothing(client: httpx2.AsyncClient) -> None:
    for path in ("/workspace/logout", "/workspace/review", "/metrics", "/healthz"):
        response = await client.options(
            path, headers={"Origin": PORTAL, "Access-Control-Request-Method": "POST", "Accept-Language": "es"}
        )
        assert response.status_code == 403, path
        assert response.headers["content-type"] == "application/problem+json"
        assert "/v1" in response.json()["detail"]
        assert response.headers["content-language"].startswith("es")
        assert allow_headers(response) == {}, path
    # The public pages stay open to the listed portal's preflight.
    page = await client.options("/dashboard", headers={"Origin": PORTAL, "Access-Control-Request-Method": "GET"})
    assert page.status_code == 204
    assert page.headers["access-control-allow-methods"] == "GET, HEAD"
