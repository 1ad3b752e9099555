"""Replays the stored response of a POST retried with the same Idempotency-Key.

Same key and same body: the stored response, with `Idempotent-Replayed: true`. Same key and a
different body: 422. Same key while the first request runs: 409. Keys are scoped to the API key
that sent them and kept for PACTA_IDEMPOTENCY_TTL_HOURS (at least 24 h).

The record moves in_flight -> committed -> done. "committed" is written by the request's own
transaction (see app.db.get_session), so if a process dies after the write committed but before
the response was stored, a retry is told so (409) instead of running the write a second time.
"""

import hashlib
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import repository as auth_repository
from app.auth.secrets import matches, parse_prefix
from app.db import unit_of_work
from app.http.middleware import send_problem
from app.i18n import Text
from app.idempotency import repository
from app.models import IdempotencyRecord

MAX_KEY_LENGTH = 255
SPOOL_IN_MEMORY = 1024 * 1024
# Response headers that belong to one exchange and are never replayed.
_NOT_REPLAYED = {b"x-request-id", b"date", b"server", b"content-length"}


class Outcome(Enum):
    claimed = "claimed"
    replay = "replay"
    mismatch = "mismatch"
    in_flight = "in_flight"
    lost_response = "lost_response"


@dataclass(slots=True)
class Claim:
    outcome: Outcome
    record: IdempotencyRecord | None = None


async def claim(
    maker: async_sessionmaker[AsyncSession],
    *,
    scope: str,
    key: str,
    request_hash: str,
    ttl: timedelta,
    lease: timedelta,
) -> Claim:
    now = datetime.now(UTC)
    async with unit_of_work(maker) as session:
        await repository.purge_expired(session, before=now - ttl)
        if await repository.try_insert(session, scope=scope, key=key, request_hash=request_hash, now=now, lease=lease):
            return Claim(Outcome.claimed)
        record = await repository.lock(session, scope=scope, key=key)
        if record is None or record.created_at < now - ttl:
            if record is None:
                await repository.try_insert(
                    session, scope=scope, key=key, request_hash=request_hash, now=now, lease=lease
                )
            else:
                await repository.reclaim(session, scope=scope, key=key, request_hash=request_hash, now=now, lease=lease)
            return Claim(Outcome.claimed)
        if record.request_hash != request_hash:
            return Claim(Outcome.mismatch)
        if record.state == "done":
            return Claim(Outcome.replay, record)
        if record.state == "committed":
            return Claim(Outcome.lost_response)
        if record.locked_until > now:
            return Claim(Outcome.in_flight)
        # The process that held it died before anything committed: take it over.
        await repository.reclaim(session, scope=scope, key=key, request_hash=request_hash, now=now, lease=lease)
        return Claim(Outcome.claimed)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, ttl_hours: int, lease_seconds: int) -> None:
        self.app = app
        self.ttl = timedelta(hours=ttl_hours)
        self.lease = timedelta(seconds=lease_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        credential = headers.get("authorization")
        if key is None or credential is None:
            await self.app(scope, receive, send)
            return
        if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            await send_problem(
                scope,
                send,
                422,
                "validation-error",
                Text("idempotency.bad_key", max=MAX_KEY_LENGTH),
            )
            return
        owner = hashlib.sha256(credential.removeprefix("Bearer ").strip().encode()).hexdigest()

        # Spool the body to disk past 1 MiB while hashing it: uploads keep memory flat.
        digest = hashlib.sha256()
        digest.update(
            f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}\n".encode()
        )
        digest.update(headers.get("content-type", "").encode() + b"\n")
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed below
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                digest.update(chunk)
                spool.write(chunk)
                if not message.get("more_body", False):
                    break
            await self._handle(scope, send, spool, owner=owner, key=key, request_hash=digest.hexdigest())
        finally:
            spool.close()

    async def _handle(self, scope: Scope, send: Send, spool: Any, *, owner: str, key: str, request_hash: str) -> None:
        maker: async_sessionmaker[AsyncSession] = scope["app"].state.sessionmaker
        result = await claim(maker, scope=owner, key=key, request_hash=request_hash, ttl=self.ttl, lease=self.lease)
        if result.outcome is Outcome.mismatch:
            await send_problem(
                scope,
                send,
                422,
                "idempotency-key-reused",
                Text("idempotency.reused"),
            )
            return
        if result.outcome is Outcome.in_flight:
            await send_problem(
                scope,
                send,
                409,
                "idempotency-in-flight",
                Text("idempotency.in_flight"),
            )
            return
        if result.outcome is Outcome.lost_response:
            await send_problem(
                scope,
                send,
                409,
                "idempotency-response-lost",
                Text("idempotency.response_lost"),
            )
            return
        if result.outcome is Outcome.replay:
            assert result.record is not None
            if not await _credential_alive(maker, scope):
                # A revoked or expired key gets no stored answer either.
                await send_problem(
                    scope,
                    send,
                    401,
                    "unauthorized",
                    Text("auth.key_not_valid"),
                    headers=[(b"www-authenticate", b'Bearer realm="pacta"')],
                )
                return
            await _replay(send, result.record)
            return

        async def mark(session: AsyncSession) -> None:
            await repository.mark_committed(session, scope=owner, key=key)

        state: dict[str, Any] = scope.setdefault("state", {})
        state["idempotency_marker"] = mark
        spool.seek(0)
        captured: list[Message] = []
        try:
            await self.app(scope, _replaying_receive(spool), _capture(captured))
        except BaseException:
            async with unit_of_work(maker) as session:
                await repository.release(session, scope=owner, key=key)
            raise
        start = next(m for m in captured if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in captured if m["type"] == "http.response.body")
        async with unit_of_work(maker) as session:
            if start["status"] >= 500 or _no_store(start):
                # A no-store response (a new API key's secret) is never written down: if its write
                # committed, the record stays "committed" and a retry is told so (409).
                await repository.release(session, scope=owner, key=key)
            else:
                kept = [
                    [n.decode("latin-1"), v.decode("latin-1")]
                    for n, v in start.get("headers", [])
                    if n.lower() not in _NOT_REPLAYED
                ]
                await repository.store_response(
                    session, scope=owner, key=key, status=start["status"], headers=kept, body=body
                )
        for message in captured:
            await send(message)


def _no_store(start: Message) -> bool:
    """`Cache-Control: no-store` marks a response that holds a secret, which is stored only as a hash."""
    return any(
        name.lower() == b"cache-control" and b"no-store" in value.lower() for name, value in start.get("headers", [])
    )


async def _credential_alive(maker: async_sessionmaker[AsyncSession], scope: Scope) -> bool:
    header = Headers(scope=scope).get("authorization", "")
    scheme, _, secret = header.partition(" ")
    prefix = parse_prefix(secret.strip()) if scheme.lower() == "bearer" else None
    if prefix is None:
        return False
    async with maker() as session:
        found = await auth_repository.key_with_org(session, prefix)
    if found is None or not matches(secret.strip(), found[0].secret_hash) or found[0].revoked_at is not None:
        return False
    return found[0].expires_at is None or found[0].expires_at > datetime.now(UTC)


def _replaying_receive(spool: Any) -> Receive:
    done = False

    async def receive() -> Message:
        nonlocal done
        if done:
            return {"type": "http.disconnect"}
        chunk = spool.read(64 * 1024)
        more = bool(chunk) and spool.tell() < _size(spool)
        if not more:
            done = True
        return {"type": "http.request", "body": chunk, "more_body": more}

    return receive


def _size(spool: Any) -> int:
    here = spool.tell()
    spool.seek(0, 2)
    end: int = spool.tell()
    spool.seek(here)
    return end


def _capture(captured: list[Message]) -> Callable[[Message], Awaitable[None]]:
    async def send(message: Message) -> None:
        captured.append(message)

    return send


async def _replay(send: Send, record: IdempotencyRecord) -> None:
    body = record.response_body or b""
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in (record.response_headers or [])]
    headers += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": record.response_status or 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
