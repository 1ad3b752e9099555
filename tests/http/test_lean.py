"""Lean routes (app.http.lean): the hot reads answer exactly as their FastAPI routes would."""

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

import httpx2
import pytest
from fastapi import Depends, FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.http.lean import LeanRoute, install_lean_routes, lean
from app.http.routes import api_routes
from app.main import create_app
from tests.conftest import MakeKey, MakeOrg
from tests.conftest import test_settings as settings_with
from tests.factories import ACTORS, AGREEMENTS, TODAY, World, create_agreement, make_world, pin_today
from tests.targets.factories import target_body, targets_of

# What differs between two answers to the same request whoever serves them.
PER_RESPONSE = {"x-request-id", "date"}


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@pytest.fixture
async def routed(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx2.AsyncClient]:
    """The same service with its lean routes taken out: every request goes through FastAPI."""
    application = create_app(settings_with())
    application.state.sessionmaker = sessionmaker
    application.router.routes[:] = [r for r in application.router.routes if not isinstance(r, LeanRoute)]
    pin_today(application, TODAY)
    transport = httpx2.ASGITransport(app=application)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def answer(response: httpx2.Response) -> tuple[int, dict[str, str], bytes]:
    headers = {k: v for k, v in response.headers.items() if k not in PER_RESPONSE}
    return response.status_code, headers, response.content


async def test_the_lean_reads_answer_byte_for_byte_as_their_routes(
    client: httpx2.AsyncClient,
    routed: httpx2.AsyncClient,
    app: FastAPI,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pin_today(app, TODAY)
    signed = await create_agreement(client, world.headers("editor"), world.signatory.id, signed_on="2024-05-02")
    draft = await create_agreement(client, world.headers("editor"), world.signatory.id, title="Borrador")
    for _ in range(3):
        await create_agreement(client, world.headers("editor"), world.signatory.id, signed_on="2023-01-10")
    target = await client.post(targets_of(signed["id"]), json=target_body(), headers=world.headers("editor"))
    assert target.status_code == 201, target.text
    first = (await client.get(AGREEMENTS, params={"limit": 2})).json()
    assert first["next_cursor"]
    one = f"{AGREEMENTS}/{signed['id']}"
    etag = (await client.get(one)).headers["etag"]
    requests: list[tuple[str, str, dict[str, Any], dict[str, str]]] = []
    for actor in ACTORS:
        for path, params in (
            (AGREEMENTS, {}),
            (AGREEMENTS, {"limit": 2}),
            (AGREEMENTS, {"limit": 2, "cursor": first["next_cursor"]}),
            (AGREEMENTS, {"status": ["in_force", "draft"], "q": "cooperación", "sort": "title"}),
            (one, {}),
            (f"{AGREEMENTS}/{draft['id']}", {}),
            (targets_of(signed["id"]), {}),
            (targets_of(draft["id"]), {"limit": 1}),
            ("/v1/log/entries", {"start": 0, "end": 4}),
            ("/v1/compliance/findings", {"limit": 3}),
            ("/v1/deadlines", {"within_days": 400}),
        ):
            requests.append(("GET", path, params, world.headers(actor)))
    requests += [
        # Refused parameters: the route's own 422 problems, in each language.
        ("GET", AGREEMENTS, {"limit": 0}, {}),
        ("GET", AGREEMENTS, {"limit": "many", "status": "nonsense"}, {"Accept-Language": "en"}),
        ("GET", AGREEMENTS, {"cursor": "not-a-cursor"}, {}),
        ("GET", f"{AGREEMENTS}/not-a-uuid", {}, {}),
        ("GET", f"{AGREEMENTS}/{signed['id'].upper()}", {}, {}),
        ("GET", f"{AGREEMENTS}/00000000-0000-0000-0000-000000000000", {}, {"Accept-Language": "en"}),
        ("GET", targets_of("00000000-0000-0000-0000-000000000000"), {}, {}),
        ("GET", "/v1/log/entries", {"start": 5, "end": 2}, {}),
        ("GET", "/v1/log/entries", {"start": -1}, {}),
        ("GET", "/v1/deadlines", {"within_days": 99999}, world.headers("admin")),
        ("GET", "/v1/compliance/findings", {"rule": "nonsense"}, world.headers("auditor")),
        # Callers refused before the read: no scheme, an unknown key.
        ("GET", AGREEMENTS, {}, {"Authorization": "Basic abc"}),
        ("GET", one, {}, {"Authorization": "Bearer pacta_nothing_such"}),
        # Conditional, HEAD, the CSV form and a browser's cross-origin read.
        ("GET", one, {}, {"If-None-Match": etag}),
        ("HEAD", one, {}, {}),
        ("HEAD", AGREEMENTS, {"limit": 1}, {}),
        ("GET", AGREEMENTS, {"limit": 2}, {"Accept": "text/csv"}),
        ("GET", AGREEMENTS, {}, {"Origin": "https://portal.example.mx"}),
    ]
    served: list[str] = []
    handle = LeanRoute.handle

    async def spied(self: LeanRoute, scope: Any, receive: Any, send: Any) -> None:
        served.append(self.route.name)
        await handle(self, scope, receive, send)

    monkeypatch.setattr(LeanRoute, "handle", spied)
    statuses = set()
    unrouted = []
    for method, path, params, headers in requests:
        before = len(served)
        lean_answer = answer(await client.request(method, path, params=params, headers=headers))
        route_answer = answer(await routed.request(method, path, params=params, headers=headers))
        assert lean_answer == route_answer, (method, path, params, headers)
        statuses.add(lean_answer[0])
        if len(served) == before:
            unrouted.append((lean_answer[0], path, headers.get("Authorization")))
    assert statuses == {200, 304, 401, 403, 404, 422}
    # Every request reached a lean route first (those it could not answer went on to the
    # route), but those the authentication middleware refused before any routing: anonymous
    # callers of the reads that need a key, and keys that are no keys.
    assert unrouted == [
        (401, "/v1/compliance/findings", None),
        (401, "/v1/deadlines", None),
        (401, AGREEMENTS, "Basic abc"),
        (401, one, "Bearer pacta_nothing_such"),
    ]
    assert set(served) == {
        "list_agreements",
        "get_agreement",
        "list_targets",
        "get_entries",
        "list_compliance_findings",
        "list_deadlines",
    }


def test_a_route_that_cannot_be_lean_is_refused_at_start() -> None:
    """Marked lean but reading a header: the app does not start, rather than serve it slowly."""
    from fastapi import APIRouter, Header

    router = APIRouter()

    @router.get("/x")
    @lean
    async def x(request: Request, marker: Annotated[str | None, Header()] = None) -> Response:
        return Response()

    @router.get("/y")
    @lean
    async def y(request: Request) -> dict[str, date]:
        return {}

    class Checker:
        async def __call__(self, request: Request) -> bool:
            return request is not None

    @router.get("/z")
    @lean
    async def z(checked: Annotated[Any, Depends(Checker)]) -> Response:
        return Response()

    app = FastAPI()
    app.include_router(router)
    for route in router.routes:
        with pytest.raises(TypeError, match="cannot be lean"):
            install_lean_routes(app, [route])  # type: ignore[list-item]


async def test_a_lean_route_leaves_to_an_earlier_route_what_that_one_serves() -> None:
    """/items/search is declared before /items/{number}: the lean route in front of every route
    must not take it (its path parameter would refuse "search" with a 422)."""
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/items/search")
    async def search() -> dict[str, str]:
        return {"served": "search"}

    @router.get("/items/{number}")
    @lean
    async def item(number: int) -> Response:
        return Response(content=f'{{"served":{number}}}', media_type="application/json")

    app = FastAPI()
    app.include_router(router)
    app.state.api_routes = api_routes([router])
    assert len(install_lean_routes(app, app.state.api_routes)) == 1
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await c.get("/items/search")).json() == {"served": "search"}
        assert (await c.get("/items/7")).json() == {"served": 7}
        assert (await c.get("/items/seven")).status_code == 422
