"""SQL for readiness."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def schema_revisions(session: AsyncSession) -> set[str]:
    result = await session.execute(text("SELECT version_num FROM alembic_version"))
    return {str(r) for r in result.scalars()}
