"""`pacta worker`: deliver the outbox, retry with backoff, and emit deadline and finding events.

Any number of workers may run at once: deliveries are claimed with FOR UPDATE SKIP LOCKED and a
lease, so each is one worker's at a time; one killed mid-delivery lets its lease lapse and the
event is delivered by another (at least once; receivers de-duplicate on webhook-id).
"""

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from app.config import Settings
from app.db import unit_of_work
from app.webhooks import repository
from app.webhooks.ssrf import UnsafeURL, check_url, pinned

logger = logging.getLogger("pacta.worker")

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "Pacta-Webhooks/1"

NoticeScan = Callable[[AsyncSession, Settings], Awaitable[int]]


def lease_seconds(settings: Settings) -> float:
    """How long a claim is this worker's: past any attempt's bound, so only a dead worker loses it."""
    return settings.webhooks_timeout_seconds * 3 + 5


def backoff(settings: Settings, attempt: int) -> timedelta:
    """Exponential from PACTA_WEBHOOKS_RETRY_BASE_SECONDS, with jitter so retries spread out."""
    jitter = random.uniform(0.5, 1.5)  # noqa: S311 - spreading retries, not secrecy
    return timedelta(seconds=settings.webhooks_retry_base_seconds * (2 ** (attempt - 1)) * jitter)


async def _post(client: httpx2.AsyncClient, claim: dict[str, Any], settings: Settings) -> tuple[int | None, str | None]:
    url = str(claim["url"])
    addresses = await check_url(url, allow_loopback=settings.webhooks_allow_loopback)
    # Connect to the address just checked: a DNS answer that changes in between cannot redirect us.
    target, host_header, server_name = pinned(url, addresses[0])
    body = json.dumps(claim["payload"], separators=(",", ":"), ensure_ascii=False)
    now = datetime.now(UTC)
    signature = Webhook(str(claim["secret"])).sign(str(claim["event_id"]), now, body)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": str(claim["event_id"]),
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "host": host_header,
    }
    async with client.stream(
        "POST",
        target,
        content=body.encode(),
        headers=headers,
        timeout=settings.webhooks_timeout_seconds,
        extensions={"sni_hostname": server_name},
    ) as response:
        received = 0
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > MAX_RESPONSE_BYTES:
                break
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"


async def deliver(
    maker: async_sessionmaker[AsyncSession], settings: Settings, client: httpx2.AsyncClient, claim: dict[str, Any]
) -> bool:
    attempt = int(claim["attempts"]) + 1
    started = time.perf_counter()
    status_code: int | None = None
    if claim["status"] == "disabled":
        error: str | None = "subscription disabled"
    else:
        try:
            # A slow or hostile receiver gets the timeout and no more: it cannot stall the others.
            status_code, error = await asyncio.wait_for(
                _post(client, claim, settings), settings.webhooks_timeout_seconds + 1
            )
        except UnsafeURL as exc:
            error = f"refused: {exc}"
        except TimeoutError:
            error = "timeout"
        except httpx2.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        except Exception as exc:  # anything else still counts as a failed attempt, never a stuck delivery
            logger.exception("delivery failed unexpectedly")
            error = f"{type(exc).__name__}: {exc}"[:500]
    delivered = error is None
    retry = not delivered and attempt < settings.webhooks_max_attempts and claim["status"] != "disabled"
    async with unit_of_work(maker) as session:
        await repository.record_attempt(
            session,
            subscription_id=claim["subscription_id"],
            event_id=claim["event_id"],
            attempt=attempt,
            status_code=status_code,
            error=error,
            duration_ms=int((time.perf_counter() - started) * 1000),
            delivered=delivered,
            next_attempt_at=datetime.now(UTC) + backoff(settings, attempt) if retry else None,
            failing_after=settings.webhooks_failing_after,
        )
    return delivered


async def deliver_due(
    maker: async_sessionmaker[AsyncSession], settings: Settings, client: httpx2.AsyncClient, *, batch: int = 32
) -> int:
    """Claim what is due and deliver it concurrently; returns how many were attempted."""
    async with unit_of_work(maker) as session:
        claimed = await repository.claim_due(session, limit=batch, lease_seconds=lease_seconds(settings))
    if claimed:
        await asyncio.gather(*(deliver(maker, settings, client, c) for c in claimed))
    return len(claimed)


async def run(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    stop: asyncio.Event,
    scans: list[NoticeScan] | None = None,
    poll_seconds: float = 0.5,
    batch: int = 32,
) -> None:
    """Deliver until `stop` is set; every PACTA_WEBHOOKS_SCAN_SECONDS, run the notice scans.

    Up to `batch` deliveries are in flight at once, and a free slot is refilled as soon as it
    frees up: a receiver that takes its whole timeout holds one slot, never the others' turn.
    """
    last_scan = float("-inf")
    in_flight: set[asyncio.Task[bool]] = set()

    def finished(task: asyncio.Task[bool]) -> None:
        in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("delivery failed", exc_info=task.exception())

    async with httpx2.AsyncClient(follow_redirects=False, trust_env=False) as client:
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                claimed: list[dict[str, Any]] = []
                try:
                    if scans and time.monotonic() - last_scan >= settings.webhooks_scan_seconds:
                        last_scan = time.monotonic()
                        for scan in scans:
                            async with unit_of_work(maker) as session:
                                await scan(session, settings)
                    room = batch - len(in_flight)
                    if room > 0:
                        async with unit_of_work(maker) as session:
                            claimed = await repository.claim_due(
                                session, limit=room, lease_seconds=lease_seconds(settings)
                            )
                except Exception:
                    logger.exception("worker cycle failed; retrying")
                for claim in claimed:
                    task = asyncio.create_task(deliver(maker, settings, client, claim))
                    in_flight.add(task)
                    task.add_done_callback(finished)
                if not claimed:
                    # Until asked to stop, a slot frees up, or it is time to look again.
                    await asyncio.wait(
                        {stopping, *in_flight}, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED
                    )
        finally:
            stopping.cancel()
            # Deliveries under way finish (each is bounded by the timeout), so their attempts are recorded.
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
