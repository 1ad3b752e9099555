"""Without pool pre-ping, a connection the server dropped costs at most one failed request."""

import asyncpg
import httpx2
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from tests.conftest import test_settings as settings_with
from tests.db import plain


async def _terminate(database_url: str, pids: set[int]) -> None:
    conn = await asyncpg.connect(plain(database_url))
    try:
        await conn.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", list(pids))
    finally:
        await conn.close()


async def _pooled_pids(engine: AsyncEngine, count: int) -> set[int]:
    """The server pids of the pool's connections (all checked out at once, then returned)."""
    conns = [await engine.connect() for _ in range(count)]
    try:
        return {(await c.execute(text("SELECT pg_backend_pid()"))).scalar_one() for c in conns}
    finally:
        for c in conns:
            await c.close()


async def test_a_killed_backend_costs_at_most_one_request(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=2)
    app = create_app(settings_with())
    app.state.sessionmaker = make_sessionmaker(engine)
    try:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://t") as client:
            pids = await _pooled_pids(engine, 2)
            await _terminate(database_url, pids)
            statuses = [(await client.get("/v1/agreements")).status_code for _ in range(6)]
        assert statuses.count(200) >= 5, statuses
        assert statuses[1:] == [200] * 5, statuses
    finally:
        await engine.dispose()


async def test_an_idle_dropped_connection_is_replaced_before_use(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    engine = make_engine(database_url, pool_size=2)
    app = create_app(settings_with())
    app.state.sessionmaker = make_sessionmaker(engine)
    try:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://t") as client:
            pids = await _pooled_pids(engine, 2)
            await _terminate(database_url, pids)
            statuses = [(await client.get("/v1/agreements")).status_code for _ in range(4)]
        assert statuses == [200] * 4
    finally:
        await engine.dispose()


async def test_a_read_cancelled_mid_statement_leaves_no_busy_connection_in_the_pool(database_url: str) -> None:
    """A client that leaves while its read runs: the next reads get connections that work."""
    import asyncio

    engine = make_engine(database_url, pool_size=1)
    reader = db.Reader(engine)
    try:
        slow = asyncio.create_task(reader.fetch(text("SELECT pg_sleep(2)"), {}))
        await asyncio.sleep(0.3)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        for _ in range(3):
            rows = await reader.fetch(text("SELECT 1 AS one"), {})
            assert [r["one"] for r in rows] == [1]
    finally:
        await engine.dispose()


async def test_reads_beyond_the_pool_wait_for_its_connections_instead_of_opening_new_ones(database_url: str) -> None:
    """More reads in flight than the pool holds: they share its connections (the same server
    processes every time), where a pool with overflow opened and closed one for many of them."""
    import asyncio

    engine = make_engine(database_url, pool_size=3)
    reader = db.Reader(engine)
    statement = text("SELECT pg_backend_pid() AS pid, pg_sleep(0.01) IS NULL AS slept")
    try:
        pids: list[int] = []
        for _ in range(4):
            rows = await asyncio.gather(*(reader.fetch(statement, {}) for _ in range(12)))
            pids.extend(r[0]["pid"] for r in rows)
        assert len(pids) == 48
        assert len(set(pids)) <= 3, sorted(set(pids))
    finally:
        await engine.dispose()
