"""SQL for webhook subscriptions, deliveries and the worker's claims."""

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.http.pagination import PageParams, SortKey, apply_keyset
from app.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription

BY_CREATED = SortKey(
    "created", (col(WebhookSubscription.created_at), col(WebhookSubscription.id)), (datetime, uuid.UUID)
)
ATTEMPTS = SortKey(
    "attempted", (col(WebhookAttempt.attempted_at), col(WebhookAttempt.id)), (datetime, uuid.UUID), descending=True
)


async def get(
    session: AsyncSession, subscription_id: uuid.UUID, *, for_update: bool = False
) -> WebhookSubscription | None:
    stmt = select(WebhookSubscription).where(col(WebhookSubscription.id) == subscription_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalars().first()


async def list_page(session: AsyncSession, org_id: uuid.UUID, params: PageParams) -> list[WebhookSubscription]:
    stmt = select(WebhookSubscription).where(col(WebhookSubscription.organization_id) == org_id)
    return list((await session.execute(apply_keyset(stmt, BY_CREATED, params))).scalars())


async def add(session: AsyncSession, row: Any) -> None:
    session.add(row)
    await session.flush()


async def remove(session: AsyncSession, row: Any) -> None:
    await session.delete(row)
    await session.flush()


async def attempts_page(
    session: AsyncSession, subscription_id: uuid.UUID, params: PageParams
) -> list[tuple[WebhookAttempt, str]]:
    stmt = cast(
        Select[Any],
        select(WebhookAttempt, col(WebhookEvent.type))
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookAttempt.event_id))
        .where(col(WebhookAttempt.subscription_id) == subscription_id),
    )
    return [(r[0], r[1]) for r in (await session.execute(apply_keyset(stmt, ATTEMPTS, params))).all()]


async def delivery(session: AsyncSession, subscription_id: uuid.UUID, event_id: uuid.UUID) -> WebhookDelivery | None:
    stmt = (
        select(WebhookDelivery)
        .where(col(WebhookDelivery.subscription_id) == subscription_id, col(WebhookDelivery.event_id) == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalars().first()


# The worker.


async def claim_due(session: AsyncSession, *, limit: int, lease_seconds: float) -> list[dict[str, Any]]:
    """Take up to `limit` due deliveries for this worker. SKIP LOCKED and the lease make each
    delivery one worker's at a time; a worker that dies lets its lease lapse and another retries."""
    rows = await session.execute(
        text(
            """
            UPDATE webhook_deliveries d
               SET locked_until = now() + make_interval(secs => :lease)
              FROM (SELECT subscription_id, event_id FROM webhook_deliveries
                     WHERE state = 'pending' AND next_attempt_at <= now()
                       AND (locked_until IS NULL OR locked_until < now())
                     ORDER BY next_attempt_at
                     LIMIT :limit
                     FOR UPDATE SKIP LOCKED) due
             WHERE d.subscription_id = due.subscription_id AND d.event_id = due.event_id
            RETURNING d.subscription_id, d.event_id, d.attempts
            """
        ),
        {"limit": limit, "lease": lease_seconds},
    )
    claimed = [dict(r) for r in rows.mappings()]
    if not claimed:
        return []
    details = await session.execute(
        text(
            """
            SELECT s.id AS subscription_id, s.url, s.secret, s.status, e.id AS event_id, e.payload
              FROM webhook_subscriptions s, webhook_events e
             WHERE (s.id, e.id) IN (SELECT * FROM unnest(CAST(:subs AS uuid[]), CAST(:events AS uuid[])))
            """
        ),
        {"subs": [c["subscription_id"] for c in claimed], "events": [c["event_id"] for c in claimed]},
    )
    by_key = {(d["subscription_id"], d["event_id"]): dict(d) for d in details.mappings()}
    return [
        c | by_key[(c["subscription_id"], c["event_id"])]
        for c in claimed
        if (c["subscription_id"], c["event_id"]) in by_key
    ]


async def record_attempt(
    session: AsyncSession,
    *,
    subscription_id: uuid.UUID,
    event_id: uuid.UUID,
    attempt: int,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    delivered: bool,
    next_attempt_at: datetime | None,
    failing_after: int,
) -> None:
    session.add(
        WebhookAttempt(
            subscription_id=subscription_id,
            event_id=event_id,
            attempt=attempt,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    state = "delivered" if delivered else ("pending" if next_attempt_at is not None else "failed")
    await session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.subscription_id) == subscription_id, col(WebhookDelivery.event_id) == event_id)
        .values(
            state=state,
            attempts=attempt,
            locked_until=None,
            next_attempt_at=next_attempt_at if next_attempt_at is not None else WebhookDelivery.next_attempt_at,
            delivered_at=text("now()") if delivered else None,
        )
    )
    if delivered:
        await session.execute(
            text(
                "UPDATE webhook_subscriptions SET consecutive_failures = 0, "
                "status = CASE WHEN status = 'failing' THEN 'active' ELSE status END WHERE id = :id"
            ),
            {"id": subscription_id},
        )
    else:
        await session.execute(
            text(
                "UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures + 1, "
                "status = CASE WHEN status = 'active' AND consecutive_failures + 1 >= :after "
                "THEN 'failing' ELSE status END "
                "WHERE id = :id"
            ),
            {"id": subscription_id, "after": failing_after},
        )
    await session.flush()


async def remember_notice(session: AsyncSession, key: str, on: Any) -> bool:
    """True the first time a notice key is seen (deadline or finding events are emitted once)."""
    row = await session.execute(
        text(
            "INSERT INTO emitted_notices (key, due_on, created_at) VALUES (:key, :on, now()) "
            "ON CONFLICT DO NOTHING RETURNING key"
        ),
        {"key": key, "on": on},
    )
    return row.first() is not None


async def any_subscriber(session: AsyncSession, event_type: str) -> bool:
    """Whether any live subscription wants this type (scans skip their work otherwise)."""
    row = await session.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM webhook_subscriptions s, unnest(s.event_types) p "
            "WHERE s.status <> 'disabled' "
            "AND (p = :type OR p = '*' OR (p LIKE '%.*' AND :type LIKE replace(p, '*', '%'))))"
        ),
        {"type": event_type},
    )
    return bool(row.scalar())
