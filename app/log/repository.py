"""SQL for the transparency log."""

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import LogDetail, LogEntry


async def reserve_index(session: AsyncSession) -> int:
    """Take the next index, holding the head row's lock until this transaction ends.

    A rolled-back transaction gives its index back, so the sequence never has gaps; concurrent
    writers queue on the row lock and commit in index order.
    """
    result = await session.execute(text("UPDATE log_head SET size = size + 1 WHERE id = 1 RETURNING size - 1"))
    return int(result.scalar_one())


async def add_entry(session: AsyncSession, entry: LogEntry, detail: LogDetail) -> None:
    session.add(entry)
    await session.flush()
    session.add(detail)
    await session.flush()


async def entries_for(session: AsyncSession, *, resource_type: str, resource_id: str) -> list[LogEntry]:
    result = await session.execute(
        select(LogEntry)
        .where(col(LogEntry.resource_type) == resource_type, col(LogEntry.resource_id) == resource_id)
        .order_by(col(LogEntry.index))
    )
    return list(result.scalars())


async def size(session: AsyncSession) -> int:
    result = await session.execute(text("SELECT size FROM log_head WHERE id = 1"))
    return int(result.scalar_one())


async def all_entries(session: AsyncSession) -> list[LogEntry]:
    result = await session.execute(select(LogEntry).order_by(col(LogEntry.index)))
    return list(result.scalars())
