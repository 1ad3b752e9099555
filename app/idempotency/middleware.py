"""Replays the stored response of a POST retried with the same Idempotency-Key.

Same key and same body: the stored response, with `Idempotent-Replayed: true`. Same key and a
different body: 422. Same key while the first request runs: 409. Keys are scoped to the id of the
API key that sent them (however its header is spelled) and kept for PACTA_IDEMPOTENCY_TTL_HOURS
(at least 24 h). The caller is authenticated before this runs (AuthenticationMiddleware), so a
bogus key is refused before any body is read and leaves no record.

"The same body" is the same bytes, except for multipart forms: there it is the same fields and
the same file contents (app.http.multipart.FormDigest), since every client picks a new boundary
for each attempt. A request in flight is owned by a live database connection (ownership.py): if
its process dies, a retry takes it over as soon as the service is back.

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

from app.db import unit_of_work
from app.errors import AppError
from app.http.middleware import send_app_error, send_problem
from app.http.multipart import FormDigest, boundary_of
from app.i18n import Text
from app.idempotency import repository
from app.idempotency.ownership import Ownership, lock_id
from app.models import IdempotencyRecord
from app.principal import Principal

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
    owned: bool,
) -> Claim:
    """What to do with a request; `owned`: this request holds the key's ownership lock, so an
    in-flight record found now belongs to a request that died with its process."""
    now = datetime.now(UTC)
    async with unit_of_work(maker) as session:
        await repository.purge_expired(session, before=now - ttl)
        if owned and await repository.try_insert(session, scope=scope, key=key, request_hash=request_hash, now=now):
            return Claim(Outcome.claimed)
        record = await repository.lock(session, scope=scope, key=key)
        expired = record is not None and record.created_at < now - ttl
        if record is None or expired:
            if not owned:
                return Claim(Outcome.in_flight)
            if record is None:
                await repository.try_insert(session, scope=scope, key=key, request_hash=request_hash, now=now)
            else:
                await repository.reclaim(session, scope=scope, key=key, request_hash=request_hash, now=now)
            return Claim(Outcome.claimed)
        if record.request_hash != request_hash:
            return Claim(Outcome.mismatch)
        if record.state == "done":
            return Claim(Outcome.replay, record)
        if record.state == "committed":
            return Claim(Outcome.lost_response)
        if not owned:
            return Claim(Outcome.in_flight)
        # Nobody holds the key: the request that wrote this died before anything committed.
        await repository.reclaim(session, scope=scope, key=key, request_hash=request_hash, now=now)
        return Claim(Outcome.claimed)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, ttl_hours: int) -> None:
        self.app = app
        self.ttl = timedelta(hours=ttl_hours)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        principal: Principal | None = scope.get("state", {}).get("principal")
        if key is None or principal is None:
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
        owner = str(principal.key_id)

        # Spool the body to disk past 1 MiB while fingerprinting it: uploads keep memory flat.
        # No database connection is held meanwhile (the record is claimed once the body is in).
        content_type = headers.get("content-type", "")
        boundary = boundary_of(content_type)
        form = FormDigest(boundary) if boundary is not None else None
        digest = hashlib.sha256()
        digest.update(
            f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}\n".encode()
        )
        digest.update((content_type if form is None else "multipart/form-data").encode() + b"\n")
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed below
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                if form is not None:
                    try:
                        await form.write(chunk)
                    except AppError as exc:  # too many parts, a broken form: outside the app's handlers
                        await send_app_error(scope, send, exc)
                        return
                else:
                    digest.update(chunk)
                spool.write(chunk)
                if not message.get("more_body", False):
                    break
            if form is not None:
                try:
                    digest.update(form.hexdigest().encode())
                except AppError as exc:
                    await send_app_error(scope, send, exc)
                    return
            request_hash = digest.hexdigest()
            await self._handle(scope, send, spool, owner=owner, key=key, request_hash=request_hash)
        finally:
            spool.close()

    async def _handle(self, scope: Scope, send: Send, spool: Any, *, owner: str, key: str, request_hash: str) -> None:
        state = scope["app"].state
        maker: async_sessionmaker[AsyncSession] = state.sessionmaker
        ownership: Ownership = state.ownership
        lock = lock_id(owner, key)
        owned = await ownership.acquire(lock)
        try:
            result = await claim(maker, scope=owner, key=key, request_hash=request_hash, ttl=self.ttl, owned=owned)
            await self._answer(scope, send, spool, result, maker=maker, owner=owner, key=key)
        finally:
            if owned:
                await ownership.release(lock)

    async def _answer(
        self,
        scope: Scope,
        send: Send,
        spool: Any,
        result: Claim,
        *,
        maker: async_sessionmaker[AsyncSession],
        owner: str,
        key: str,
    ) -> None:
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
