"""Where a list request's time goes: cProfile over the real app, called as a bare ASGI callable.

No HTTP client or server in the way: each request is one `await app(scope, receive, send)` on the
app built by create_app with its own engine, so the profile shows the service's own work (routing,
dependencies, SQL through SQLAlchemy and asyncpg, validation, serialization) and PostgreSQL waits.
"""

import cProfile
import io
import json
import pstats
import statistics
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg

from app.agreements import repository
from app.agreements.repository import Filters, Viewer
from app.agreements.schemas import AgreementRead
from app.clock import today_in
from app.config import Settings
from app.db import Reader, make_engine, make_sessionmaker
from app.http.pagination import DEFAULT_LIMIT, Page, PageParams
from app.main import create_app
from bench.bare import compile_first_page
from bench.database import plain


def _scope(path: str, query: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"bench"), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def profile_list(url: str, *, requests: int, query: str = "", headers: dict[str, str] | None = None) -> str:
    """Profile `requests` sequential GET /v1/agreements?<query>; returns the printed statistics."""
    engine = make_engine(url, pool_size=2)
    app = create_app(Settings(database_url=url, log_level="WARNING"))
    app.state.sessionmaker = make_sessionmaker(engine)
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def one() -> None:
        await app(_scope("/v1/agreements", query, headers or {}), receive, send)

    try:
        for _ in range(20):  # warm the pool, the prepared statements and the caches
            await one()
        # CPU time, not wall time: waits on PostgreSQL and the neighbours of a shared machine drop out.
        profiler = cProfile.Profile(time.process_time)
        started, cpu = time.perf_counter(), time.process_time()
        profiler.enable()
        for _ in range(requests):
            await one()
        profiler.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await engine.dispose()
    if any(s != 200 for s in statuses):
        raise RuntimeError(f"unexpected statuses while profiling: {sorted(set(statuses))}")
    out = io.StringIO()
    out.write(
        f"{requests} requests in {elapsed:.2f}s under the profiler ({elapsed / requests * 1000:.2f} ms each, "
        f"{cpu / requests * 1000:.2f} ms CPU each); times below are CPU seconds\n"
    )
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    return out.getvalue()


async def _cpu_ms(fn: Callable[[], Awaitable[Any]], *, repeat: int, rounds: int = 5) -> float:
    """Median CPU milliseconds per call over `rounds` rounds (CPU time: robust to a busy machine)."""
    for _ in range(max(10, repeat // 10)):
        await fn()
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(repeat):
            await fn()
        samples.append((time.process_time() - started) / repeat * 1000)
    return statistics.median(samples)


async def cpu_breakdown(url: str, *, repeat: int = 200) -> list[tuple[str, float]]:
    """CPU per anonymous first-page list request, split into its layers, in-process."""
    today = today_in(Settings(database_url=url))
    filters, viewer, params = Filters(), Viewer(all_=False, org_id=None), PageParams(DEFAULT_LIMIT, None)
    engine = make_engine(url, pool_size=2)
    app = create_app(Settings(database_url=url, log_level="WARNING"))
    maker = make_sessionmaker(engine)
    app.state.sessionmaker = maker
    sql, args = compile_first_page(today)
    raw = await asyncpg.connect(plain(url))
    await raw.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

    async def bare_fetch() -> None:
        await raw.fetch(sql, *args)

    async def session_rows() -> list[dict[str, Any]]:
        async with maker() as session:
            rows = await repository.list_page(session, filters, viewer, today, "-updated_at", params)
            await session.commit()
            return rows

    reader = Reader(engine)

    async def session_json() -> None:
        await repository.list_page_json(reader, filters, viewer, today, "-updated_at", params)

    rows = await session_rows()

    async def models_and_json() -> None:
        items = [AgreementRead.model_validate(r) for r in rows[:DEFAULT_LIMIT]]
        Page[AgreementRead](items=items, next_cursor="x").model_dump_json()

    async def whole() -> None:
        await app(_scope("/v1/agreements", "", {}), _receive, _discard)

    async def health() -> None:
        await app(_scope("/healthz", "", {}), _receive, _discard)

    try:
        figures = [
            ("bare asyncpg fetch of the same SQL (no HTTP)", await _cpu_ms(bare_fetch, repeat=repeat)),
            ("session: BEGIN, list SQL, rows, COMMIT", await _cpu_ms(session_rows, repeat=repeat)),
            (
                "reader: the same, PostgreSQL writing each item's JSON, autocommit",
                await _cpu_ms(session_json, repeat=repeat),
            ),
            ("pydantic: 50 AgreementRead + Page JSON", await _cpu_ms(models_and_json, repeat=repeat)),
            ("whole list request in-process (no HTTP; JSON from PostgreSQL)", await _cpu_ms(whole, repeat=repeat)),
            ("GET /healthz in-process (middleware floor)", await _cpu_ms(health, repeat=repeat)),
        ]
    finally:
        await raw.close()
        await engine.dispose()
    return figures


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: MutableMapping[str, Any]) -> None:
    del message
