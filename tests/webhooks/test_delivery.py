"""Webhook delivery end to end: writes through the API, a transactional outbox on a database whose
transactions really commit (a copy of a migrated template, one per test), the real worker, and a
real HTTP receiver on 127.0.0.1 whose behaviour each test scripts (answers, failures, hangs,
endless bodies). Signatures are checked with the `standardwebhooks` library's own verifier."""

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx2
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.activities import service as activity_service
from app.activities.schemas import ActivityCreate
from app.api_keys import service as key_service
from app.clock import today_in
from app.config import Settings
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.main import create_app
from app.models import OrganizationKind, Role
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from app.organizations.schemas import OrganizationCreate
from app.principal import Principal
from app.webhooks import events, notices, repository, worker
from app.webhooks.service import new_secret
from tests import conftest
from tests.db import drop_database, plain, server_url, with_database
from tests.factories import AGREEMENTS, create_agreement
from tests.targets.factories import create_target, decide, report, review_evidence, upload_evidence

pytestmark = pytest.mark.slow

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]


# --- a real HTTP receiver ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hit:
    """One request the receiver read in full."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]

    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


Behaviour = Callable[[Hit, asyncio.StreamWriter], Awaitable[None]]


async def write_response(writer: asyncio.StreamWriter, status: int, body: bytes = b"ok") -> None:
    head = (
        f"HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()


def answer(status: int = 200, *, delay: float = 0.0) -> Behaviour:
    async def behave(_: Hit, writer: asyncio.StreamWriter) -> None:
        if delay:
            await asyncio.sleep(delay)
        await write_response(writer, status)

    return behave


def hang(seconds: float) -> Behaviour:
    """Say nothing for `seconds` (past the worker's timeout), then 200."""
    return answer(200, delay=seconds)


def endless() -> Behaviour:
    """200 at once, then a body that never ends."""

    async def behave(_: Hit, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        while True:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()

    return behave


def trickle() -> Behaviour:
    """200, then a byte now and then: never idle long enough for a read timeout, never done."""

    async def behave(_: Hit, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n")
        while True:
            writer.write(b"1\r\nx\r\n")
            await writer.drain()
            await asyncio.sleep(0.2)

    return behave


def script(*steps: Behaviour) -> Behaviour:
    """One step per request; the last step repeats."""
    remaining = list(steps)

    async def behave(hit: Hit, writer: asyncio.StreamWriter) -> None:
        step = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        await step(hit, writer)

    return behave


@dataclass
class Receiver:
    """asyncio.start_server speaking just enough HTTP/1.1; each path behaves as told (default 200)."""

    hits: list[Hit] = field(default_factory=list)
    routes: dict[str, Behaviour] = field(default_factory=dict)
    port: int = 0
    _server: asyncio.Server | None = None
    _connections: set[asyncio.Task[Any]] = field(default_factory=set)
    _behaviours: set[asyncio.Future[None]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        # Behaviours still hanging or streaming are cut short; each connection then closes itself.
        for behaviour in list(self._behaviours):
            behaviour.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def at(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    async def wait(self, condition: Callable[[], bool], *, within: float = 10.0) -> float:
        """Wait until `condition()` holds; returns when (time.monotonic())."""
        deadline = time.monotonic() + within
        while not condition():
            assert time.monotonic() < deadline, f"the receiver waited in vain; it got {self.hits}"
            await asyncio.sleep(0.01)
        return time.monotonic()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = asyncio.current_task()
        assert connection is not None
        self._connections.add(connection)
        try:
            request_line = (await reader.readline()).decode()
            if not request_line:
                return
            path = request_line.split(" ")[1]
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            hit = Hit(path=path, headers=headers, body=body, at=time.monotonic())
            self.hits.append(hit)
            behaviour = asyncio.ensure_future(self.routes.get(path, answer())(hit, writer))
            self._behaviours.add(behaviour)
            try:
                await behaviour
            finally:
                self._behaviours.discard(behaviour)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the worker hung up (as it should on hostile receivers), or the receiver stops
        finally:
            writer.close()
            self._connections.discard(connection)


# --- a committed database per test, the cast, the API ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cast:
    signatory: uuid.UUID  # a municipality (Guadalajara)
    participant: uuid.UUID  # a university
    outsider: uuid.UUID  # a business chamber
    other: uuid.UUID  # another municipality (Monterrey)
    auditor: uuid.UUID
    keys: dict[str, str]

    def headers(self, actor: str) -> dict[str, str]:
        return conftest.bearer(self.keys[actor])


async def build_cast(url: str) -> Cast:
    engine = make_engine(url, pool_size=1)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:

            async def org(kind: OrganizationKind, name: str, **fields: Any) -> Any:
                data = OrganizationCreate(kind=kind, name=name, **fields)
                return await org_service.create_organization(session, data, actor_org_id=PLATFORM_ORG_ID)

            async def key(organization: Any, role: Role) -> str:
                _, secret = await key_service.issue_key(
                    session, organization, role=role, name=None, expires_at=None, actor_org_id=PLATFORM_ORG_ID
                )
                return secret

            gdl = await org(OrganizationKind.municipality, "Municipio de Guadalajara", inegi_code="14039")
            mty = await org(OrganizationKind.municipality, "Municipio de Monterrey", inegi_code="19039")
            uni = await org(OrganizationKind.university, "Universidad de Guadalajara")
            chamber = await org(OrganizationKind.business_chamber, "Cámara de Comercio de Monterrey")
            auditor = await org(OrganizationKind.auditor, "Contraloría Social")
            platform = await org_service.get_organization(session, PLATFORM_ORG_ID)
            keys = {
                "admin": await key(platform, Role.admin),
                "editor": await key(gdl, Role.editor),
                "legal_reviewer": await key(gdl, Role.legal_reviewer),
                "signatory_contributor": await key(gdl, Role.contributor),
                "other_editor": await key(mty, Role.editor),
                "participant": await key(uni, Role.contributor),
                "outsider": await key(chamber, Role.contributor),
                "auditor": await key(auditor, Role.auditor),
            }
            return Cast(gdl.id, uni.id, chamber.id, mty.id, auditor.id, keys)
    finally:
        await engine.dispose()


@dataclass(frozen=True, slots=True)
class Template:
    url: str
    cast: Cast


@pytest.fixture(scope="module")
async def template() -> AsyncIterator[Template]:
    """A migrated database holding the cast; each test gets a copy of its own."""
    url = await asyncio.to_thread(conftest.migrated_database, "pacta_hooks_template")
    try:
        yield Template(url, await build_cast(url))
    finally:
        await asyncio.to_thread(drop_database, url)


async def admin_sql(statement: str) -> None:
    conn = await asyncpg.connect(plain(server_url()))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def database(template: Template) -> AsyncIterator[str]:
    source = urlsplit(template.url).path.lstrip("/")
    name = f"pacta_hooks_{uuid.uuid4().hex[:10]}"
    for attempt in range(20):
        try:
            await admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
            break
        except asyncpg.ObjectInUseError:  # the template's last connection is still closing
            assert attempt < 19
            await asyncio.sleep(0.1)
    url = with_database(server_url(), name)
    try:
        yield url
    finally:
        await asyncio.to_thread(drop_database, url)


@pytest.fixture
def cast(template: Template) -> Cast:
    return template.cast


@pytest.fixture
async def hooks_engine(database: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database, pool_size=5)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def maker(hooks_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(hooks_engine)


def hook_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhooks_allow_loopback": True,
        "webhooks_retry_base_seconds": 0.05,
        "webhooks_timeout_seconds": 1,
    }
    values.update(overrides)
    return conftest.test_settings(**values)


@pytest.fixture
def settings() -> Settings:
    return hook_settings()


@pytest.fixture
async def api(maker: async_sessionmaker[AsyncSession], settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(settings)
    app.state.sessionmaker = maker
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# --- helpers ----------------------------------------------------------------------------------------------


async def subscribe(
    api: httpx2.AsyncClient,
    cast: Cast,
    actor: str,
    receiver: Receiver,
    path: str,
    event_types: list[str] | None = None,
) -> dict[str, Any]:
    body = {"url": receiver.url(path), "event_types": event_types or ["*"]}
    response = await api.post("/v1/webhooks", json=body, headers=cast.headers(actor))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def rows(maker: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> list[dict[str, Any]]:
    async with maker() as session:
        return [dict(r) for r in (await session.execute(text(sql), params)).mappings()]


async def pending(maker: async_sessionmaker[AsyncSession]) -> int:
    [row] = await rows(maker, "SELECT count(*) AS n FROM webhook_deliveries WHERE state = 'pending'")
    return int(row["n"])


def worker_client() -> httpx2.AsyncClient:
    """The HTTP client the worker itself uses."""
    return httpx2.AsyncClient(follow_redirects=False, trust_env=False)


async def deliver_all(maker: async_sessionmaker[AsyncSession], settings: Settings, *, within: float = 15) -> int:
    """Run the worker until nothing is pending (retries included); returns the attempts made."""
    attempts = 0
    deadline = time.monotonic() + within
    async with worker_client() as client:
        while True:
            attempts += await worker.deliver_due(maker, settings, client)
            if await pending(maker) == 0:
                return attempts
            assert time.monotonic() < deadline, "deliveries still pending"
            await asyncio.sleep(0.01)


async def attempt_once(maker: async_sessionmaker[AsyncSession], settings: Settings, client: httpx2.AsyncClient) -> None:
    """Wait until a delivery is due, then make exactly one attempt."""
    deadline = time.monotonic() + 10
    while await worker.deliver_due(maker, settings, client, batch=1) == 0:
        assert time.monotonic() < deadline, "nothing came due"
        await asyncio.sleep(0.005)


async def attempts_of(api: httpx2.AsyncClient, cast: Cast, actor: str, subscription_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/webhooks/{subscription_id}/deliveries", headers=cast.headers(actor))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def subscription(api: httpx2.AsyncClient, cast: Cast, actor: str, subscription_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/webhooks/{subscription_id}", headers=cast.headers(actor))
    assert response.status_code == 200, response.text
    read: dict[str, Any] = response.json()
    return read


def received(receiver: Receiver, path: str) -> list[tuple[str, str]]:
    """What a path was told about, as sorted (type, subject id) pairs."""
    return sorted((h.payload()["type"], h.payload()["data"].get("id", "")) for h in receiver.at(path))


# --- signatures and the outbox --------------------------------------------------------------------------------


async def test_a_write_is_delivered_once_signed_per_standard_webhooks(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], settings: Settings, receiver: Receiver, cast: Cast
) -> None:
    created = await subscribe(api, cast, "editor", receiver, "/portal", ["agreement.created"])
    secret = created["secret"]
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(maker, settings, stop=stop, poll_seconds=0.05))
    try:
        agreement = await create_agreement(api, cast.headers("editor"), cast.signatory)
        await receiver.wait(lambda: bool(receiver.hits))
        await asyncio.sleep(0.3)  # time for a duplicate to show up, if there were one
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)

    [hit] = receiver.hits
    assert hit.path == "/portal"
    payload = Webhook(secret).verify(hit.body, hit.headers)  # raises unless the signature is good
    assert payload == hit.payload()
    assert set(payload) == {"type", "timestamp", "data"}
    assert payload["type"] == "agreement.created"
    assert payload["data"]["id"] == payload["data"]["agreement_id"] == agreement["id"]
    sent = datetime.fromisoformat(payload["timestamp"])
    assert abs(datetime.now(UTC) - sent) < timedelta(minutes=1)
    assert abs(int(hit.headers["webhook-timestamp"]) - time.time()) < 60
    assert hit.headers["content-type"] == "application/json"

    [event] = await rows(maker, "SELECT id, type, agreement_id FROM webhook_events")
    assert hit.event_id == str(event["id"])
    assert (event["type"], str(event["agreement_id"])) == ("agreement.created", agreement["id"])

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(hit.body.replace(agreement["id"].encode(), str(uuid.uuid4()).encode()), hit.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(hit.body, hit.headers)

    [attempt] = await attempts_of(api, cast, "editor", created["id"])
    assert attempt["event_id"] == hit.event_id
    assert (attempt["event_type"], attempt["attempt"], attempt["status_code"], attempt["error"]) == (
        "agreement.created",
        1,
        200,
        None,
    )
    assert attempt["duration_ms"] >= 0
    [delivery] = await rows(maker, "SELECT state, attempts, delivered_at FROM webhook_deliveries")
    assert (delivery["state"], delivery["attempts"]) == ("delivered", 1)
    assert delivery["delivered_at"] is not None


async def test_no_event_exists_for_a_write_that_was_rolled_back(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], settings: Settings, receiver: Receiver, cast: Cast
) -> None:
    await subscribe(api, cast, "auditor", receiver, "/all")
    agreement = await create_agreement(api, cast.headers("editor"), cast.signatory, signed_on="2025-01-15")
    assert len(await rows(maker, "SELECT id FROM webhook_events")) == 1

    # Requests refused: nothing committed, nothing in the outbox.
    refused = await api.post(
        f"{AGREEMENTS}/{agreement['id']}/activities",
        json={
            "kind": "visit",
            "title": "Visita",
            "starts_at": "2026-12-10T10:00:00-06:00",
            "ends_at": "2026-12-10T09:00:00-06:00",
        },
        headers=cast.headers("editor"),
    )
    assert refused.status_code == 422
    etag = (await api.get(f"{AGREEMENTS}/{agreement['id']}", headers=cast.headers("editor"))).headers["etag"]
    conflict = await api.delete(f"{AGREEMENTS}/{agreement['id']}", headers={**cast.headers("editor"), "If-Match": etag})
    assert conflict.status_code == 409

    # A write whose transaction is rolled back after the service ran: its event goes with it.
    principal = Principal(
        key_id=uuid.uuid4(), org_id=cast.signatory, org_kind=OrganizationKind.municipality, role=Role.editor
    )
    data = ActivityCreate.model_validate(
        {"kind": "meeting", "title": "Reunión que no fue", "starts_at": "2026-12-10T10:00:00-06:00"}
    )
    async with maker() as session:
        await activity_service.create_activity(
            session, uuid.UUID(agreement["id"]), data, principal=principal, today=today_in(settings)
        )
        inside = (await session.execute(text("SELECT type FROM webhook_events ORDER BY created_at"))).scalars().all()
        assert list(inside) == ["agreement.created", "activity.created"]  # written in the same transaction
        await session.rollback()

    assert [r["type"] for r in await rows(maker, "SELECT type FROM webhook_events")] == ["agreement.created"]
    assert len(await rows(maker, "SELECT * FROM webhook_deliveries")) == 1
    assert await rows(maker, "SELECT * FROM activities") == []
    await deliver_all(maker, settings)
    assert received(receiver, "/all") == [("agreement.created", agreement["id"])]


# --- retries, failure, recovery --------------------------------------------------------------------------------


async def test_retries_after_500s_back_off_exponentially_until_delivered(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], receiver: Receiver, cast: Cast
) -> None:
    base = 0.1
    settings = hook_settings(webhooks_retry_base_seconds=base)
    receiver.routes["/flaky"] = script(answer(500), answer(500), answer(503), answer(200))
    created = await subscribe(api, cast, "auditor", receiver, "/flaky")
    await create_agreement(api, cast.headers("editor"), cast.signatory)

    delays: list[float] = []
    async with worker_client() as client:
        for attempt in (1, 2, 3, 4):
            await attempt_once(maker, settings, client)
            [delivery] = await rows(maker, "SELECT state, attempts, next_attempt_at FROM webhook_deliveries")
            [last] = await rows(maker, "SELECT attempted_at FROM webhook_attempts ORDER BY attempted_at DESC LIMIT 1")
            assert delivery["attempts"] == attempt
            if attempt < 4:
                assert delivery["state"] == "pending"
                delays.append((delivery["next_attempt_at"] - last["attempted_at"]).total_seconds())
            else:
                assert delivery["state"] == "delivered"
    # Each wait is base * 2^(n-1), with jitter of ±50%.
    for n, delay in enumerate(delays, start=1):
        nominal = base * 2 ** (n - 1)
        assert 0.5 * nominal - 0.01 <= delay <= 1.5 * nominal + 0.05, (n, delays)
    assert delays[2] > delays[0]

    hits = receiver.at("/flaky")
    assert len(hits) == 4
    assert len({h.event_id for h in hits}) == 1  # the same event, each time signed afresh
    for hit in hits:
        Webhook(created["secret"]).verify(hit.body, hit.headers)
    for n in (1, 2):
        assert hits[n].at - hits[n - 1].at >= 0.5 * base * 2 ** (n - 1) - 0.01

    log = await attempts_of(api, cast, "auditor", created["id"])  # newest first
    assert [(a["attempt"], a["status_code"]) for a in log] == [(4, 200), (3, 503), (2, 500), (1, 500)]
    assert [a["error"] for a in log] == [None, "HTTP 503", "HTTP 500", "HTTP 500"]
    assert all(isinstance(a["duration_ms"], int) and a["duration_ms"] >= 0 for a in log)
    assert (await subscription(api, cast, "auditor", created["id"]))["status"] == "active"


async def test_a_receiver_that_times_out_is_retried_until_it_answers(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], settings: Settings, receiver: Receiver, cast: Cast
) -> None:
    receiver.routes["/sleepy"] = script(hang(3), hang(3), answer(200))
    created = await subscribe(api, cast, "auditor", receiver, "/sleepy")
    await create_agreement(api, cast.headers("editor"), cast.signatory)
    started = time.monotonic()
    await deliver_all(maker, settings)
    assert time.monotonic() - started < 6  # two timeouts of one second, short backoffs, one answer

    log = await attempts_of(api, cast, "auditor", created["id"])
    assert [(a["attempt"], a["status_code"]) for a in log] == [(3, 200), (2, None), (1, None)]
    for timed_out in log[1:]:
        assert timed_out["error"]
        assert 900 <= timed_out["duration_ms"] < 2500, timed_out
    assert len(receiver.at("/sleepy")) == 3
    [delivery] = await rows(maker, "SELECT state FROM webhook_deliveries")
    assert delivery["state"] == "delivered"


async def test_after_max_attempts_a_delivery_fails_the_subscription_is_failing_and_redelivery_recovers(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], receiver: Receiver, cast: Cast
) -> None:
    settings = hook_settings(webhooks_max_attempts=3, webhooks_failing_after=2)
    up = False

    async def down_then_up(_: Hit, writer: asyncio.StreamWriter) -> None:
        await write_response(writer, 200 if up else 500)

    receiver.routes["/down"] = down_then_up
    created = await subscribe(api, cast, "auditor", receiver, "/down")
    await create_agreement(api, cast.headers("editor"), cast.signatory)
    [event] = await rows(maker, "SELECT id FROM webhook_events")

    statuses = []
    async with worker_client() as client:
        for _ in range(3):
            await attempt_once(maker, settings, client)
            read = await subscription(api, cast, "auditor", created["id"])
            statuses.append((read["status"], read["consecutive_failures"]))
        assert statuses == [("active", 1), ("failing", 2), ("failing", 3)]
        [delivery] = await rows(maker, "SELECT state, attempts FROM webhook_deliveries")
        assert (delivery["state"], delivery["attempts"]) == ("failed", 3)
        await asyncio.sleep(0.5)  # long past any backoff: a failed delivery is not tried again
        assert await worker.deliver_due(maker, settings, client) == 0
    assert len(receiver.at("/down")) == 3
    log = await attempts_of(api, cast, "auditor", created["id"])
    assert [(a["attempt"], a["status_code"], a["error"]) for a in log] == [
        (3, 500, "HTTP 500"),
        (2, 500, "HTTP 500"),
        (1, 500, "HTTP 500"),
    ]

    up = True
    redeliver = f"/v1/webhooks/{created['id']}/deliveries/{event['id']}/redeliver"
    queued = await api.post(redeliver, headers=cast.headers("auditor"))
    assert queued.status_code == 202, queued.text
    assert queued.json() == {"event_id": str(event["id"]), "state": "pending"}
    missing = await api.post(
        f"/v1/webhooks/{created['id']}/deliveries/{uuid.uuid4()}/redeliver", headers=cast.headers("auditor")
    )
    assert missing.status_code == 404
    await deliver_all(maker, settings)
    read = await subscription(api, cast, "auditor", created["id"])
    assert (read["status"], read["consecutive_failures"]) == ("active", 0)
    [delivery] = await rows(maker, "SELECT state FROM webhook_deliveries")
    assert delivery["state"] == "delivered"
    assert [h.event_id for h in receiver.at("/down")] == [str(event["id"])] * 4
    assert (await attempts_of(api, cast, "auditor", created["id"]))[0]["status_code"] == 200


# --- receivers that are slow or hostile ------------------------------------------------------------------------


async def test_a_slow_receiver_does_not_stall_deliveries_to_a_fast_one(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], receiver: Receiver, cast: Cast
) -> None:
    timeout = 3.0
    settings = hook_settings(webhooks_timeout_seconds=timeout, webhooks_max_attempts=1)
    receiver.routes["/slow"] = hang(timeout + 2)
    await subscribe(api, cast, "auditor", receiver, "/slow", ["agreement.created"])
    await subscribe(api, cast, "auditor", receiver, "/fast")
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(maker, settings, stop=stop, poll_seconds=0.05))
    try:
        first = await create_agreement(api, cast.headers("editor"), cast.signatory)
        committed = time.monotonic()
        arrived = await receiver.wait(lambda: len(receiver.at("/fast")) == 1)
        assert arrived - committed < 1.0
        await receiver.wait(lambda: len(receiver.at("/slow")) == 1)
        # While the slow receiver still holds its delivery, later events keep reaching the fast one.
        second = await create_agreement(api, cast.headers("editor"), cast.signatory)
        committed = time.monotonic()
        arrived = await receiver.wait(lambda: len(receiver.at("/fast")) == 2)
        assert arrived - committed < 1.0, "the fast receiver waited for the slow one"
        assert received(receiver, "/fast") == sorted(
            [("agreement.created", first["id"]), ("agreement.created", second["id"])]
        )
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout + 5)
    outcomes = await rows(
        maker,
        "SELECT s.url, d.state FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id",
    )
    assert sorted(r["state"] for r in outcomes if r["url"].endswith("/fast")) == ["delivered", "delivered"]
    assert "delivered" not in [r["state"] for r in outcomes if r["url"].endswith("/slow")]


async def test_hostile_receivers_are_cut_off_by_the_bounds(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], receiver: Receiver, cast: Cast
) -> None:
    settings = hook_settings(webhooks_max_attempts=1)  # timeout 1 s
    receiver.routes["/endless"] = endless()
    receiver.routes["/trickle"] = trickle()
    endless_sub = await subscribe(api, cast, "auditor", receiver, "/endless")
    trickle_sub = await subscribe(api, cast, "auditor", receiver, "/trickle")
    await create_agreement(api, cast.headers("editor"), cast.signatory)
    started = time.monotonic()
    await deliver_all(maker, settings)
    assert time.monotonic() - started < 4
    # A 2xx with an endless body: the worker reads a bounded amount and moves on.
    [endless_attempt] = await attempts_of(api, cast, "auditor", endless_sub["id"])
    assert (endless_attempt["status_code"], endless_attempt["error"]) == (200, None)
    assert endless_attempt["duration_ms"] < 1000
    # A body that dribbles forever: the whole exchange is bounded, not just each read.
    [trickle_attempt] = await attempts_of(api, cast, "auditor", trickle_sub["id"])
    assert trickle_attempt["error"]
    assert trickle_attempt["duration_ms"] < 3000


async def test_the_worker_checks_the_address_again_when_it_delivers(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], receiver: Receiver, cast: Cast
) -> None:
    created = await subscribe(api, cast, "auditor", receiver, "/hooks")
    await create_agreement(api, cast.headers("editor"), cast.signatory)
    # A worker that does not admit loopback refuses to call it, whatever the subscription says.
    await deliver_all(maker, hook_settings(webhooks_allow_loopback=False, webhooks_max_attempts=1))
    assert receiver.hits == []
    [attempt] = await attempts_of(api, cast, "auditor", created["id"])
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("refused")


# --- several workers, and workers that die -----------------------------------------------------------------------


async def test_two_workers_deliver_each_event_exactly_once(
    api: httpx2.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    receiver: Receiver,
    cast: Cast,
    database: str,
) -> None:
    receiver.routes["/count"] = answer(200, delay=0.05)
    await subscribe(api, cast, "auditor", receiver, "/count")
    agreement = await create_agreement(api, cast.headers("editor"), cast.signatory)
    async with unit_of_work(maker) as session:
        for i in range(49):
            await events.emit(
                session, "agreement.updated", {"id": agreement["id"], "n": i}, agreement_id=uuid.UUID(agreement["id"])
            )
    event_ids = {str(r["id"]) for r in await rows(maker, "SELECT id FROM webhook_events")}
    assert len(event_ids) == 50

    async def work() -> int:
        engine = make_engine(database, pool_size=2)
        own = make_sessionmaker(engine)
        attempted = 0
        try:
            async with worker_client() as client:
                deadline = time.monotonic() + 30
                while await pending(own) > 0:
                    assert time.monotonic() < deadline
                    done = await worker.deliver_due(own, settings, client, batch=5)
                    attempted += done
                    if not done:
                        await asyncio.sleep(0.01)
        finally:
            await engine.dispose()
        return attempted

    first, second = await asyncio.gather(work(), work())
    assert first + second == 50
    assert first > 0
    assert second > 0
    counts = Counter(h.event_id for h in receiver.at("/count"))
    assert set(counts) == event_ids
    assert set(counts.values()) == {1}
    [summary] = await rows(
        maker,
        "SELECT count(*) AS n, min(attempts) AS lo, max(attempts) AS hi FROM webhook_deliveries "
        "WHERE state = 'delivered'",
    )
    assert (summary["n"], summary["lo"], summary["hi"]) == (50, 1, 1)
    assert len(await rows(maker, "SELECT id FROM webhook_attempts")) == 50


async def test_an_event_survives_a_worker_killed_mid_delivery(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], settings: Settings, receiver: Receiver, cast: Cast
) -> None:
    created = await subscribe(api, cast, "auditor", receiver, "/hooks")
    await create_agreement(api, cast.headers("editor"), cast.signatory)
    # The first worker claims the delivery (its claim commits) and dies before recording anything.
    lease = 1.5
    claimed_at = time.monotonic()
    async with unit_of_work(maker) as session:
        claimed = await repository.claim_due(session, limit=10, lease_seconds=lease)
    assert len(claimed) == 1

    async with worker_client() as client:
        # While the dead worker's lease holds, nobody else takes the delivery; then another does.
        assert await worker.deliver_due(maker, settings, client) == 0
        while await worker.deliver_due(maker, settings, client) == 0:
            assert time.monotonic() - claimed_at < lease + 5, "the lease never lapsed"
            await asyncio.sleep(0.05)
        assert time.monotonic() - claimed_at >= lease - 0.1
    [hit] = receiver.at("/hooks")
    assert hit.event_id == str(claimed[0]["event_id"])
    Webhook(created["secret"]).verify(hit.body, hit.headers)
    [delivery] = await rows(maker, "SELECT state, attempts, locked_until FROM webhook_deliveries")
    assert (delivery["state"], delivery["attempts"], delivery["locked_until"]) == ("delivered", 1, None)


# --- who receives what -----------------------------------------------------------------------------------------------


async def test_subscribers_receive_only_events_about_what_their_keys_may_read(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], settings: Settings, receiver: Receiver, cast: Cast
) -> None:
    for actor in ("editor", "participant", "outsider", "other_editor", "auditor"):
        await subscribe(api, cast, actor, receiver, f"/{actor}")
    await subscribe(api, cast, "participant", receiver, "/participant-measurements", ["measurement.*"])
    editor, participant = cast.headers("editor"), cast.headers("participant")

    listing = {"participant_org_ids": [str(cast.participant)]}
    public = await create_agreement(api, editor, cast.signatory, signed_on="2025-01-15", **listing)
    draft = await create_agreement(api, editor, cast.signatory, **listing)
    activity_url = f"{AGREEMENTS}/{draft['id']}/activities"
    secret_activity = await api.post(
        activity_url,
        json={"kind": "meeting", "title": "Reunión", "starts_at": "2026-12-10T10:00:00-06:00", "status": "confirmed"},
        headers=editor,
    )
    assert secret_activity.status_code == 201, secret_activity.text

    target = await create_target(api, editor, public["id"])
    accepted = await upload_evidence(api, participant, public["id"])
    rejected = await upload_evidence(api, participant, public["id"], title="Fotografías")
    measurement = await report(
        api, participant, target["id"], as_of=date(2026, 6, 1), value=4, evidence_ids=[accepted["id"]]
    )
    await review_evidence(api, editor, accepted["id"], "accepted")
    await review_evidence(api, editor, rejected["id"], "rejected")
    await decide(api, editor, measurement["id"], "verified")
    proposal = await api.post(
        f"{AGREEMENTS}/{public['id']}/activities",
        json={"kind": "training", "title": "Taller", "starts_at": "2026-12-12T10:00:00-06:00"},
        headers=participant,
    )
    assert proposal.status_code == 201, proposal.text
    etag = proposal.headers["etag"]
    confirmed = await api.patch(
        f"/v1/activities/{proposal.json()['id']}", json={"status": "confirmed"}, headers={**editor, "If-Match": etag}
    )
    assert confirmed.status_code == 200, confirmed.text
    await deliver_all(maker, settings)

    everyone = [
        ("agreement.created", public["id"]),
        ("target.created", target["id"]),
        ("evidence.accepted", accepted["id"]),
        ("measurement.verified", measurement["id"]),
        ("activity.updated", proposal.json()["id"]),
    ]
    insiders = [
        *everyone,
        ("agreement.created", draft["id"]),
        ("activity.created", secret_activity.json()["id"]),
        ("evidence.created", accepted["id"]),
        ("evidence.created", rejected["id"]),
        ("evidence.rejected", rejected["id"]),
        ("measurement.created", measurement["id"]),
        ("activity.created", proposal.json()["id"]),
    ]
    assert received(receiver, "/editor") == sorted(insiders)
    assert received(receiver, "/participant") == sorted(insiders)  # the agreements its organization takes part in
    assert received(receiver, "/auditor") == sorted(insiders)
    # Neither the private draft nor anything unreviewed reaches organizations outside the agreement.
    assert received(receiver, "/outsider") == sorted(everyone)
    assert received(receiver, "/other_editor") == sorted(everyone)
    assert received(receiver, "/participant-measurements") == sorted(
        [("measurement.created", measurement["id"]), ("measurement.verified", measurement["id"])]
    )
    # Thin events: identifiers and status, never the resource's fields.
    for hit in receiver.hits:
        assert set(hit.payload()["data"]) <= {"id", "agreement_id", "log_index", "status"}


# Every role of the signatory, of a participant, of outsiders, and the two that read everything.
EVERY_KEY = (
    "admin",
    "auditor",
    "editor",
    "legal_reviewer",
    "signatory_contributor",
    "participant",
    "outsider",
    "other_editor",
)


async def patch_ok(api: httpx2.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    current = await api.get(url, headers=headers)
    assert current.status_code == 200, current.text
    changed = await api.patch(url, json=body, headers={**headers, "If-Match": current.headers["etag"]})
    assert changed.status_code == 200, changed.text


def subject_of(hit: Hit) -> tuple[str, str]:
    """(event type, what it is about): the resource, a deadline's subject, a finding's agreement."""
    payload = hit.payload()
    data = payload["data"]
    if payload["type"].startswith("compliance."):
        return payload["type"], str(data["agreement_id"])
    return payload["type"], str(data.get("id") or data.get("subject_id"))


async def test_each_event_type_reaches_exactly_the_keys_that_may_read_it_through_the_api(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], settings: Settings, receiver: Receiver, cast: Cast
) -> None:
    for actor in EVERY_KEY:
        await subscribe(api, cast, actor, receiver, f"/{actor}")
    editor, participant = cast.headers("editor"), cast.headers("participant")
    listing = {"participant_org_ids": [str(cast.participant)]}
    today = today_in(settings)
    public = await create_agreement(api, editor, cast.signatory, signed_on="2025-01-15", **listing)
    draft = await create_agreement(api, editor, cast.signatory, **listing)
    signed_later = await create_agreement(api, editor, cast.signatory, **listing)
    expiring = await create_agreement(
        api,
        editor,
        cast.signatory,
        signed_on=(today - timedelta(days=10)).isoformat(),
        expires_on=(today + timedelta(days=7)).isoformat(),
        **listing,
    )
    await patch_ok(api, f"{AGREEMENTS}/{public['id']}", {"summary": "Cooperación cultural"}, editor)
    await patch_ok(api, f"{AGREEMENTS}/{signed_later['id']}", {"signed_on": "2025-02-01"}, editor)

    review = await api.post(
        f"{AGREEMENTS}/{draft['id']}/legal-reviews",
        json={"kind": "internal_legal", "requested_on": "2025-01-05"},
        headers=editor,
    )
    assert review.status_code == 201, review.text
    await patch_ok(api, f"/v1/legal-reviews/{review.json()['id']}", {"requested_on": "2025-01-06"}, editor)
    registration = await api.post(
        f"{AGREEMENTS}/{public['id']}/registrations",
        json={"registry": "sre", "submitted_on": "2025-03-10"},
        headers=editor,
    )
    assert registration.status_code == 201, registration.text
    await patch_ok(api, f"/v1/registrations/{registration.json()['id']}", {"submitted_on": "2025-03-11"}, editor)
    draft_target = await create_target(api, editor, draft["id"])
    await patch_ok(api, f"/v1/targets/{draft_target['id']}", {"title": "Intercambios docentes"}, editor)
    target = await create_target(api, editor, public["id"])

    pending_evidence = await upload_evidence(api, participant, public["id"], title="Borrador")
    accepted = await upload_evidence(api, participant, public["id"])
    rejected = await upload_evidence(api, participant, public["id"], title="Fotografías")
    await review_evidence(api, editor, accepted["id"], "accepted")
    await review_evidence(api, editor, rejected["id"], "rejected")
    as_of = date(2025, 6, 1)
    reported = await report(api, participant, target["id"], as_of=as_of, value=1, evidence_ids=[accepted["id"]])
    verified = await report(api, participant, target["id"], as_of=as_of, value=2, evidence_ids=[accepted["id"]])
    refused = await report(api, participant, target["id"], as_of=as_of, value=3, evidence_ids=[accepted["id"]])
    await decide(api, editor, verified["id"], "verified")
    await decide(api, editor, refused["id"], "rejected")
    planned = await api.post(
        f"{AGREEMENTS}/{public['id']}/activities",
        json={"kind": "training", "title": "Taller", "starts_at": "2025-05-12T10:00:00-06:00"},
        headers=participant,
    )
    assert planned.status_code == 201, planned.text
    held = await api.post(
        f"{AGREEMENTS}/{public['id']}/activities",
        json={"kind": "meeting", "title": "Reunión", "starts_at": "2025-05-10T10:00:00-06:00"},
        headers=participant,
    )
    assert held.status_code == 201, held.text
    await patch_ok(api, f"/v1/activities/{held.json()['id']}", {"status": "confirmed"}, editor)
    async with unit_of_work(maker) as session:
        assert await notices.scan_deadlines(session, settings) >= 1
        assert await notices.scan_findings(session, settings) >= 1
    await deliver_all(maker, settings, within=180)  # hundreds of deliveries: eight subscribers, all events

    async def readable(url: str, headers: dict[str, str]) -> bool:
        response = await api.get(url, headers=headers)
        assert response.status_code in (200, 403, 404), response.text
        return response.status_code == 200

    async def listed(url: str, field: str, subject: str, headers: dict[str, str]) -> bool:
        response = await api.get(url, headers=headers)
        assert response.status_code in (200, 403), response.text
        return response.status_code == 200 and subject in {str(i[field]) for i in response.json()["items"]}

    # Each event type, one subject in the state the event announced, and the API read it stands for.
    checks: list[tuple[str, str, Callable[[dict[str, str]], Awaitable[bool]]]] = []

    def pair(event_type: str, subject: str, read: Callable[[dict[str, str]], Awaitable[bool]]) -> None:
        checks.append((event_type, subject, read))

    def resource(event_type: str, subject: str, url: str) -> None:
        pair(event_type, subject, lambda h: readable(url, h))

    resource("agreement.created", draft["id"], f"{AGREEMENTS}/{draft['id']}")
    resource("agreement.created", public["id"], f"{AGREEMENTS}/{public['id']}")
    resource("agreement.updated", public["id"], f"{AGREEMENTS}/{public['id']}")
    resource("agreement.status_changed", signed_later["id"], f"{AGREEMENTS}/{signed_later['id']}")
    for kind, row in (("legal_review", review.json()), ("registration", registration.json())):
        url = f"/v1/{kind.replace('_', '-')}s/{row['id']}"
        resource(f"{kind}.created", row["id"], url)
        resource(f"{kind}.updated", row["id"], url)
    resource("target.created", draft_target["id"], f"/v1/targets/{draft_target['id']}")
    resource("target.updated", draft_target["id"], f"/v1/targets/{draft_target['id']}")
    resource("target.created", target["id"], f"/v1/targets/{target['id']}")
    resource("evidence.created", pending_evidence["id"], f"/v1/evidence/{pending_evidence['id']}")
    resource("evidence.accepted", accepted["id"], f"/v1/evidence/{accepted['id']}")
    resource("evidence.rejected", rejected["id"], f"/v1/evidence/{rejected['id']}")
    resource("measurement.created", reported["id"], f"/v1/measurements/{reported['id']}")
    resource("measurement.verified", verified["id"], f"/v1/measurements/{verified['id']}")
    resource("measurement.rejected", refused["id"], f"/v1/measurements/{refused['id']}")
    resource("activity.created", planned.json()["id"], f"/v1/activities/{planned.json()['id']}")
    resource("activity.updated", held.json()["id"], f"/v1/activities/{held.json()['id']}")
    pair(
        "deadline.approaching",
        expiring["id"],
        lambda h: listed("/v1/deadlines?within_days=30&limit=100", "subject_id", expiring["id"], h),
    )
    pair(
        "compliance.finding_opened",
        public["id"],
        lambda h: listed(
            f"/v1/compliance/findings?signatory_org_id={cast.signatory}&limit=100", "agreement_id", public["id"], h
        ),
    )
    assert {c[0] for c in checks} == set(events.EVENT_TYPES)

    mismatches = []
    for actor in EVERY_KEY:
        got = {subject_of(hit) for hit in receiver.at(f"/{actor}")}
        for event_type, subject, read in checks:
            may_read = await read(cast.headers(actor))
            if ((event_type, subject) in got) != may_read:
                mismatches.append((actor, event_type, "missed" if may_read else "received unreadable"))
    assert mismatches == []
    # The matrix is not trivial: some keys read (and receive) what others may not.
    assert not await checks[0][2](cast.headers("outsider"))
    assert await checks[0][2](cast.headers("signatory_contributor"))


# --- notices the worker finds by itself ----------------------------------------------------------------------------


async def test_deadline_approaching_is_emitted_once_at_the_configured_offsets(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], settings: Settings, receiver: Receiver, cast: Cast
) -> None:
    assert settings.webhooks_deadline_offsets_days == [30, 7, 1]
    await subscribe(api, cast, "editor", receiver, "/editor", ["deadline.approaching"])
    await subscribe(api, cast, "outsider", receiver, "/outsider", ["deadline.*"])
    await subscribe(api, cast, "other_editor", receiver, "/other", ["*"])
    today = today_in(settings)
    agreement = await create_agreement(
        api,
        cast.headers("editor"),
        cast.signatory,
        signed_on=(today - timedelta(days=10)).isoformat(),
        expires_on=(today + timedelta(days=7)).isoformat(),
    )
    ahead = (today + timedelta(days=20)).isoformat()
    activity = await api.post(
        f"{AGREEMENTS}/{agreement['id']}/activities",
        json={"kind": "visit", "title": "Visita", "starts_at": f"{ahead}T10:00:00-06:00", "status": "confirmed"},
        headers=cast.headers("editor"),
    )
    assert activity.status_code == 201, activity.text
    await deliver_all(maker, settings)
    receiver.hits.clear()

    async with unit_of_work(maker) as session:
        assert await notices.scan_deadlines(session, settings) == 2
    async with unit_of_work(maker) as session:
        assert await notices.scan_deadlines(session, settings) == 0  # once, whoever scans again
    await deliver_all(maker, settings)

    data = sorted((h.payload()["data"] for h in receiver.at("/editor")), key=lambda d: d["days_left"])
    assert [(d["kind"], d["days_left"], d["offset_days"], d["date"]) for d in data] == [
        ("expiry", 7, 7, (today + timedelta(days=7)).isoformat()),
        ("activity", 20, 30, ahead),
    ]
    assert {d["agreement_id"] for d in data} == {agreement["id"]}
    assert {h.payload()["type"] for h in receiver.at("/editor")} == {"deadline.approaching"}
    # A public agreement, but its deadlines are its own people's business.
    assert receiver.at("/outsider") == []
    assert receiver.at("/other") == []


async def test_compliance_findings_are_announced_once_to_the_signatory_and_auditors(
    api: httpx2.AsyncClient, maker: async_sessionmaker[AsyncSession], settings: Settings, receiver: Receiver, cast: Cast
) -> None:
    await subscribe(api, cast, "editor", receiver, "/editor", ["compliance.finding_opened"])
    await subscribe(api, cast, "auditor", receiver, "/auditor", ["compliance.*"])
    await subscribe(api, cast, "participant", receiver, "/participant", ["compliance.*"])
    await subscribe(api, cast, "other_editor", receiver, "/other", ["compliance.*"])
    # Signed without any legal review, text or targets: several findings at once.
    agreement = await create_agreement(
        api, cast.headers("editor"), cast.signatory, signed_on="2025-01-15", participant_org_ids=[str(cast.participant)]
    )
    async with unit_of_work(maker) as session:
        opened = await notices.scan_findings(session, settings)
    async with unit_of_work(maker) as session:
        assert await notices.scan_findings(session, settings) == 0
    assert opened >= 3
    await deliver_all(maker, settings)

    for path in ("/editor", "/auditor"):
        hits = receiver.at(path)
        assert len(hits) == opened
        rules = [h.payload()["data"]["rule"] for h in hits]
        assert len(set(rules)) == len(rules)
        assert "sre_not_informed_before_signature" in rules
        for hit in hits:
            data = hit.payload()["data"]
            assert hit.payload()["type"] == "compliance.finding_opened"
            assert data["agreement_id"] == agreement["id"]
            assert data["severity"]
            assert data["legal_basis"]
    assert receiver.at("/participant") == []
    assert receiver.at("/other") == []


# --- the real `pacta worker` -------------------------------------------------------------------------------------


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PACTA_")}
    env.update(settings)
    return env


async def test_pacta_worker_delivers_and_stops_cleanly_on_sigterm(
    api: httpx2.AsyncClient, settings: Settings, receiver: Receiver, cast: Cast, database: str, tmp_path: Path
) -> None:
    worker_log = tmp_path / "worker.log"
    created = await subscribe(api, cast, "editor", receiver, "/portal", ["agreement.*", "deadline.approaching"])
    env = clean_env(
        PACTA_DATABASE_URL=database,
        PACTA_DATA_DIR=str(tmp_path / "data"),
        PACTA_WEBHOOKS_ALLOW_LOOPBACK="true",
        PACTA_WEBHOOKS_TIMEOUT_SECONDS="2",
        PACTA_WEBHOOKS_RETRY_BASE_SECONDS="0.1",
        PACTA_WEBHOOKS_SCAN_SECONDS="0.5",
    )
    script_path = Path(sys.executable).parent / "pacta"
    command = [str(script_path)] if script_path.is_file() else [sys.executable, "-m", "app.cli"]
    with worker_log.open("w") as log:
        process = await asyncio.create_subprocess_exec(
            *command, "worker", "--concurrency", "4", env=env, cwd=ROOT, stdout=log, stderr=log
        )
    try:
        today = today_in(settings)
        agreement = await create_agreement(
            api,
            cast.headers("editor"),
            cast.signatory,
            signed_on=(today - timedelta(days=10)).isoformat(),
            expires_on=(today + timedelta(days=7)).isoformat(),
        )
        # The write's event, and the deadline the worker finds by itself (no cron).
        await receiver.wait(lambda: len(receiver.hits) >= 2 or process.returncode is not None, within=30)
        assert process.returncode is None, worker_log.read_text()
        payloads = sorted(
            (Webhook(created["secret"]).verify(h.body, h.headers) for h in receiver.hits), key=lambda p: p["type"]
        )
        assert [(p["type"], p["data"]["agreement_id"]) for p in payloads] == [
            ("agreement.created", agreement["id"]),
            ("deadline.approaching", agreement["id"]),
        ]
        assert (payloads[1]["data"]["kind"], payloads[1]["data"]["days_left"]) == ("expiry", 7)
        asked = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 15)
        assert time.monotonic() - asked < 5
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = worker_log.read_text()
    assert code == 0, output
    assert "Traceback" not in output
    assert "delivering webhooks" in output
    await asyncio.sleep(0.5)
    assert len(receiver.hits) == 2  # each once
    attempts = await attempts_of(api, cast, "editor", created["id"])
    assert [(a["status_code"], a["error"]) for a in attempts] == [(200, None), (200, None)]
