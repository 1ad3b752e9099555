"""The migrations round-trip (upgrade, downgrade, upgrade) and leave no drift from the models."""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

import app.models  # noqa: F401 - registers every table on the metadata
from app.db import make_engine, metadata
from app.migrate import downgrade, head_revisions, upgrade
from tests.db import create_database, drop_database

pytestmark = pytest.mark.slow


@pytest.fixture
def empty_url() -> Iterator[str]:
    url = create_database("pacta_migrations")
    try:
        yield url
    finally:
        drop_database(url)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, metadata))


async def _inspect(url: str) -> tuple[set[str], set[str], list[Any], int | None]:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(_tables)
            revisions: set[str] = set()
            log_size = None
            if "alembic_version" in tables:
                revisions = {r for (r,) in await conn.execute(text("SELECT version_num FROM alembic_version"))}
            if "log_head" in tables:
                log_size = (await conn.execute(text("SELECT size FROM log_head"))).scalar_one()
            drift = await conn.run_sync(_drift)
    finally:
        await engine.dispose()
    return tables, revisions, drift, log_size


async def test_upgrade_downgrade_upgrade_leaves_no_drift(empty_url: str) -> None:
    # Alembic's env.py runs its own event loop: keep it off this one.
    await asyncio.to_thread(upgrade, empty_url)
    await asyncio.to_thread(downgrade, empty_url, "base")
    tables, revisions, _, _ = await _inspect(empty_url)
    assert tables <= {"alembic_version"}, f"downgrade left tables behind: {sorted(tables)}"
    assert revisions == set()

    await asyncio.to_thread(upgrade, empty_url)
    tables, revisions, drift, log_size = await _inspect(empty_url)
    assert {t.name for t in metadata.sorted_tables} <= tables
    assert revisions == head_revisions()
    assert log_size == 1, "the platform organization is log entry 0 after every fresh upgrade"
    assert drift == [], f"the migrated schema differs from app.models: {drift}"
