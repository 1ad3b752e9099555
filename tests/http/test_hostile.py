"""Slow and hostile clients (issue 9, items 1-4), driven at the ASGI level so what the service
reads of a body, and when, can be observed: refusals that read nothing, bodies cut off for their
pace, bounded multipart parsing, and upload retries that replay whatever boundary they pick.
The real-socket checks (stalled uploads against a served app) are in test_stalled_uploads.py."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Message, Receive, Scope, Send

from app.http.middleware import BodyGuardMiddleware
from app.main import create_app
from app.models import Role
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.conftest import test_settings as settings_with
from tests.factories import TODAY, World, count, create_agreement, iso, make_world, pin_today
from tests.http.test_problems import count_rows, new_org_body

ORGS = "/v1/organizations"


@dataclass
class Exchange:
    """What the app sent back, and how much of the body it asked for."""

    messages: list[Message] = field(default_factory=list)
    receives: int = 0
    bytes_read: int = 0
    seconds: float = 0.0

    @property
    def status(self) -> int:
        status: int = next(m["status"] for m in self.messages if m["type"] == "http.response.start")
        return status

    def problem(self) -> dict[str, Any]:
        body = b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")
        parsed: dict[str, Any] = json.loads(body)
        return parsed


Body = Callable[[], Awaitable[Message]]


async def drive(
    app: FastAPI, method: str, path: str, headers: dict[str, str], chunks: AsyncIterator[bytes] | list[bytes]
) -> Exchange:
    """Call the app as a server would; `chunks` is the body as it arrives (an async iterator may
    pause between chunks, as a slow client does)."""
    exchange = Exchange()
    source: AsyncIterator[bytes]
    if isinstance(chunks, list):

        async def listed() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        source = listed()
    else:
        source = chunks
    finished = False
    pending: bytes | None = None

    async def receive() -> Message:
        nonlocal finished, pending
        exchange.receives += 1
        if finished:
            await asyncio.sleep(3600)  # a client that keeps the connection open and says nothing more
        chunk = pending if pending is not None else await anext(source, None)
        pending = None
        if chunk is None:
            finished = True
            return {"type": "http.request", "body": b"", "more_body": False}
        following = await anext(source, None)
        if following is None:
            finished = True
        else:
            pending = following
        exchange.bytes_read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": not finished}

    async def send(message: Message) -> None:
        exchange.messages.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    started = time.perf_counter()
    await asyncio.wait_for(app(scope, receive, send), 30)
    exchange.seconds = time.perf_counter() - started
    return exchange


def form(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A multipart body: (name, filename or None, content) per part."""
    out = bytearray()
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            out += b"Content-Type: application/pdf\r\n"
        out += b"\r\n" + content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def pdf(tag: str) -> bytes:
    return b"%PDF-1.7\n" + f"% {tag}\n".encode() + b"% Informe\n" * 200 + b"%%EOF\n"


def upload_form(boundary: str, content: bytes) -> bytes:
    return form(
        boundary,
        [
            ("title", None, b"Informe de avance"),
            ("document_type", None, b"progress_report"),
            ("file", "informe.pdf", content),
        ],
    )


def empty_parts(boundary: str, count: int) -> bytes:
    one = f'--{boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\n\r\n'.encode()
    return one * count + f"--{boundary}--\r\n".encode()


def in_chunks(body: bytes, size: int = 64 * 1024) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


@pytest.fixture
def app(sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    """An app whose bodies must not pause for more than 1 s, nor average under 2 KiB/s after it."""
    application = create_app(settings_with(body_timeout_seconds=1, body_min_bytes_per_second=2048))
    application.state.sessionmaker = sessionmaker
    pin_today(application, TODAY)
    return application


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@pytest.fixture
async def agreement(client: httpx2.AsyncClient, world: World) -> dict[str, Any]:
    return await create_agreement(
        client,
        world.headers("editor"),
        world.signatory.id,
        participant_org_ids=[str(world.participant.id)],
        signed_on=iso(-30),
    )


def evidence(agreement: dict[str, Any]) -> str:
    return f"/v1/agreements/{agreement['id']}/evidence"


# --- authentication, authorization and limits before any body is read -------------------------------


async def test_a_bogus_key_on_an_upload_is_refused_before_the_body_is_read(
    app: FastAPI, agreement: dict[str, Any], session: AsyncSession
) -> None:
    before = await count_rows(session, "idempotency_keys")
    body = upload_form("b", pdf("bogus"))
    exchange = await drive(
        app,
        "POST",
        evidence(agreement),
        {
            "authorization": "Bearer pacta_0123456789ab_not-a-key",
            "idempotency-key": "bogus-upload",
            "content-type": "multipart/form-data; boundary=b",
            "content-length": str(len(body)),
        },
        in_chunks(body),
    )
    assert exchange.status == 401
    assert exchange.receives == 0
    assert await count_rows(session, "idempotency_keys") == before


@pytest.mark.parametrize("role", [Role.editor, None], ids=["non-admin key", "anonymous"])
async def test_a_route_that_needs_another_role_refuses_before_the_body_is_read(
    app: FastAPI, make_key: MakeKey, world: World, role: Role | None
) -> None:
    """Creating organizations is for admins: 403 (or 401) without reading the JSON body."""
    headers = {"content-type": "application/json", "content-length": "100000"}
    if role is not None:
        headers.update({k.lower(): v for k, v in world.headers("editor").items()})
    exchange = await drive(app, "POST", ORGS, headers, [b" " * 100000])
    assert exchange.status == (403 if role is not None else 401)
    assert exchange.receives == 0


async def test_multipart_where_no_route_takes_files_is_415_at_once(app: FastAPI, admin_headers: dict[str, str]) -> None:
    body = form("m", [("name", None, b"x" * 20_000_000)])
    for headers in ({}, {k.lower(): v for k, v in admin_headers.items()}):
        exchange = await drive(
            app,
            "POST",
            ORGS,
            {**headers, "content-type": "multipart/form-data; boundary=m", "content-length": str(len(body))},
            [body],
        )
        assert exchange.status == 415
        assert exchange.receives == 0


async def test_routes_that_never_ask_who_calls_ignore_the_authorization_header(app: FastAPI) -> None:
    exchange = await drive(app, "GET", "/healthz", {"authorization": "Bearer pacta_0123456789ab_nope"}, [])
    assert exchange.status == 200


async def test_the_upload_limit_is_for_upload_routes_only(app: FastAPI, admin_headers: dict[str, str]) -> None:
    """A JSON route never takes more than PACTA_MAX_BODY_BYTES, whatever the Content-Type says."""
    size = 2 * 1024 * 1024
    exchange = await drive(
        app,
        "POST",
        ORGS,
        {**{k.lower(): v for k, v in admin_headers.items()}, "content-type": "application/octet-stream"},
        in_chunks(b" " * size),
    )
    assert exchange.status == 413
    assert exchange.bytes_read <= 1024 * 1024 + 64 * 1024


# --- bodies that arrive too slowly ---------------------------------------------------------------------


async def stalling(first: bytes, pause: float) -> AsyncIterator[bytes]:
    yield first
    await asyncio.sleep(pause)
    yield b"}"


async def trickling(body: bytes, every: float) -> AsyncIterator[bytes]:
    for i in range(len(body)):
        await asyncio.sleep(every)
        yield body[i : i + 1]


async def test_a_json_body_that_stalls_is_cut_off_with_408(
    app: FastAPI, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    before = await count_rows(session, "organizations")
    raw = json.dumps(new_org_body())[:-1].encode()
    exchange = await drive(
        app,
        "POST",
        ORGS,
        {**{k.lower(): v for k, v in admin_headers.items()}, "content-type": "application/json"},
        stalling(raw, 5),
    )
    assert exchange.status == 408
    assert exchange.problem()["type"] == "/problems/request-timeout"
    assert exchange.seconds < 3
    assert await count_rows(session, "organizations") == before


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotency-key"])
async def test_an_upload_that_stalls_is_cut_off_with_408_and_keeps_nothing(
    app: FastAPI, world: World, agreement: dict[str, Any], session: AsyncSession, idempotent: bool
) -> None:
    body = upload_form("s", pdf("stalled") + b"%" * 100_000)
    headers = {
        **{k.lower(): v for k, v in world.headers("participant").items()},
        "content-type": "multipart/form-data; boundary=s",
        "content-length": str(len(body)),
    }
    if idempotent:
        headers["idempotency-key"] = "stalled-upload"
    exchange = await drive(app, "POST", evidence(agreement), headers, stalling(body[:5000], 5))
    assert exchange.status == 408, exchange.messages
    assert exchange.seconds < 3
    assert await count(session, "evidence_documents") == 0


async def test_a_body_slower_than_the_minimum_pace_is_cut_off_with_408(
    app: FastAPI, admin_headers: dict[str, str]
) -> None:
    """One byte every 20 ms never pauses past the timeout, but averages 50 bytes/s."""
    raw = json.dumps(new_org_body(description="x" * 2000)).encode()
    exchange = await drive(
        app,
        "POST",
        ORGS,
        {**{k.lower(): v for k, v in admin_headers.items()}, "content-type": "application/json"},
        trickling(raw, 0.02),
    )
    assert exchange.status == 408
    assert exchange.bytes_read < len(raw)
    assert exchange.seconds < 3


# --- multipart: bounded, and parsed without holding up other requests ------------------------------------


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotency-key"])
async def test_a_flood_of_empty_parts_is_refused_after_a_thousand(
    app: FastAPI, world: World, agreement: dict[str, Any], idempotent: bool
) -> None:
    body = empty_parts("f", 40_000)
    headers = {
        **{k.lower(): v for k, v in world.headers("participant").items()},
        "content-type": "multipart/form-data; boundary=f",
        "content-length": str(len(body)),
    }
    if idempotent:
        headers["idempotency-key"] = "flood"
    exchange = await drive(app, "POST", evidence(agreement), headers, in_chunks(body))
    assert exchange.status == 413
    assert exchange.problem()["type"] == "/problems/too-many-parts"
    # Refused once past the 1,000th part, not after parsing the 40,000.
    assert exchange.bytes_read < len(body) // 10


async def test_a_field_name_longer_than_100_bytes_is_refused(
    app: FastAPI, world: World, agreement: dict[str, Any]
) -> None:
    body = form("n", [("t" * 101, None, b"x"), ("file", "a.pdf", pdf("long-name"))])
    headers = {
        **{k.lower(): v for k, v in world.headers("participant").items()},
        "content-type": "multipart/form-data; boundary=n",
        "content-length": str(len(body)),
    }
    exchange = await drive(app, "POST", evidence(agreement), headers, [body])
    assert exchange.status == 413


async def test_parsing_a_flood_does_not_hold_up_other_requests(
    app: FastAPI, world: World, agreement: dict[str, Any]
) -> None:
    """While a 25 MB body of tiny parts is fed in (what is parsed is bounded and sliced), the
    event loop keeps turning: no pause of the loop reaches 100 ms."""
    body = empty_parts("g", 400_000)
    headers = {
        **{k.lower(): v for k, v in world.headers("participant").items()},
        "content-type": "multipart/form-data; boundary=g",
        "content-length": str(len(body)),
    }
    longest = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    chunks = in_chunks(body, 1024 * 1024)
    # The route's first call builds what the framework builds lazily; a running server has done so.
    warm = await drive(app, "POST", evidence(agreement), headers, in_chunks(empty_parts("g", 2000)))
    assert warm.status == 413
    ticking = asyncio.create_task(ticker())
    exchange = await drive(app, "POST", evidence(agreement), headers, chunks)
    stop.set()
    await ticking
    assert exchange.status == 413
    assert longest < 0.1, longest


# --- idempotent upload retries ----------------------------------------------------------------------------


async def test_an_upload_retried_with_a_new_boundary_replays(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any], session: AsyncSession
) -> None:
    """Every client picks a new boundary per attempt; the retry must still be the same request."""
    content = pdf("retried")
    responses = []
    for boundary in ("first-attempt", "second-attempt-XYZ"):
        body = upload_form(boundary, content)
        responses.append(
            await client.post(
                evidence(agreement),
                content=body,
                headers={
                    **world.headers("participant"),
                    "Idempotency-Key": "upload-retry",
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
            )
        )
    first, retry = responses
    assert first.status_code == 201, first.text
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert await count(session, "evidence_documents") == 1
    # Another file under the same key is another request.
    other = await client.post(
        evidence(agreement),
        content=upload_form("third", pdf("another")),
        headers={
            **world.headers("participant"),
            "Idempotency-Key": "upload-retry",
            "Content-Type": "multipart/form-data; boundary=third",
        },
    )
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"


async def test_a_revoked_key_gets_no_replay(
    client: httpx2.AsyncClient, make_key: MakeKey, admin_headers: dict[str, str]
) -> None:
    secret = await make_key(Role.admin)
    raw = json.dumps(new_org_body()).encode()
    headers = {**bearer(secret), "Idempotency-Key": "then-revoked", "Content-Type": "application/json"}
    assert (await client.post(ORGS, content=raw, headers=headers)).status_code == 201
    keys = (
        await client.get("/v1/organizations/00000000-0000-4000-8000-000000000001/api-keys", headers=admin_headers)
    ).json()
    key_id = next(k["id"] for k in keys["items"] if secret.startswith(f"pacta_{k['prefix']}_"))
    revoked = await client.delete(
        f"/v1/organizations/00000000-0000-4000-8000-000000000001/api-keys/{key_id}", headers=admin_headers
    )
    assert revoked.status_code == 204
    again = await client.post(ORGS, content=raw, headers=headers)
    assert again.status_code == 401


async def test_once_the_body_is_in_waiting_for_the_client_to_leave_is_not_timed() -> None:
    """Streamed responses listen for the disconnect on `receive`: that wait must never turn
    into a 408 in the middle of a long answer."""
    sent: list[Message] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["body"] == b"{}"
        assert (await receive())["type"] == "http.disconnect"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    messages: list[Message] = [{"type": "http.request", "body": b"{}", "more_body": False}, {"type": "http.disconnect"}]

    async def receive() -> Message:
        message = messages.pop(0)
        if message["type"] == "http.disconnect":
            await asyncio.sleep(0.5)
        return message

    async def send(message: Message) -> None:
        sent.append(message)

    guard = BodyGuardMiddleware(
        inner, max_body_bytes=1024, max_upload_bytes=1024, timeout_seconds=0.1, min_bytes_per_second=1
    )
    app_state = type("AppState", (), {"state": type("State", (), {"api_routes": ()})()})()
    await guard({"type": "http", "method": "POST", "headers": [], "app": app_state}, receive, send)
    assert sent[0]["status"] == 200
