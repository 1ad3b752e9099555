"""SQL for idempotency records."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import IdempotencyRecord


async def try_insert(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    request_hash: str,
    now: datetime,
) -> bool:
    result = await session.execute(
        insert(IdempotencyRecord)
        .values(
            scope=scope,
            key=key,
            request_hash=request_hash,
            state="in_flight",
            created_at=now,
            # Ownership is an advisory lock now (app.idempotency.ownership); the column keeps
            # when the record was last claimed.
            locked_until=now,
        )
        .on_conflict_do_nothing()
        .returning(col(IdempotencyRecord.key))
    )
    return result.first() is not None


async def lock(session: AsyncSession, *, scope: str, key: str) -> IdempotencyRecord | None:
    result = await session.execute(
        select(IdempotencyRecord)
        .where(col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.key) == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalars().first()


async def reclaim(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    request_hash: str,
    now: datetime,
) -> None:
    await session.execute(
        update(IdempotencyRecord)
        .where(col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.key) == key)
        .values(
            request_hash=request_hash,
            state="in_flight",
            created_at=now,
            locked_until=now,
            response_status=None,
            response_headers=None,
            response_body=None,
        )
    )


async def mark_committed(session: AsyncSession, *, scope: str, key: str) -> None:
    await session.execute(
        update(IdempotencyRecord)
        .where(col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.key) == key)
        .values(state="committed")
    )


async def store_response(
    session: AsyncSession, *, scope: str, key: str, status: int, headers: list[Any], body: bytes
) -> None:
    await session.execute(
        update(IdempotencyRecord)
        .where(col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.key) == key)
        .values(state="done", response_status=status, response_headers=headers, response_body=body)
    )


async def release(session: AsyncSession, *, scope: str, key: str) -> None:
    await session.execute(
        delete(IdempotencyRecord).where(
            col(IdempotencyRecord.scope) == scope,
            col(IdempotencyRecord.key) == key,
            col(IdempotencyRecord.state) == "in_flight",
        )
    )


async def purge_expired(session: AsyncSession, *, before: datetime, batch: int = 100) -> None:
    """Drop a bounded batch of records past their retention, so the table cannot grow forever."""
    await session.execute(
        text(
            "DELETE FROM idempotency_keys WHERE ctid IN "
            "(SELECT ctid FROM idempotency_keys WHERE created_at < :before LIMIT :batch FOR UPDATE SKIP LOCKED)"
        ),
        {"before": before, "batch": batch},
    )
