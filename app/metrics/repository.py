"""SQL for the gauges computed at scrape time: one cheap query each."""

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class Outbox:
    pending: int
    oldest_age_seconds: float


async def connections_by_state(session: AsyncSession) -> dict[str, int]:
    """The service's connections to this database as PostgreSQL sees them, all processes together
    (every pool connects with application_name 'pacta', see app.db.make_engine)."""
    result = await session.execute(
        text(
            "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'pacta' GROUP BY 1"
        )
    )
    return {str(state): int(count) for state, count in result.all()}


async def outbox(session: AsyncSession) -> Outbox:
    """Webhook deliveries not yet delivered (nor given up), and the age of the oldest one."""
    result = await session.execute(
        text(
            "SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0) "
            "FROM webhook_deliveries WHERE state = 'pending'"
        )
    )
    pending, age = result.one()
    return Outbox(pending=int(pending), oldest_age_seconds=float(age))


async def log_size(session: AsyncSession) -> int:
    """The transparency log's size, kept in its single head row (no count over the entries)."""
    result = await session.execute(text("SELECT coalesce((SELECT size FROM log_head WHERE id = 1), 0)"))
    return int(result.scalar_one())
