"""SQL statements per request, counted in-process: the real app, its own engine, a cursor hook."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx2
from sqlalchemy import event

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.main import create_app


async def count_statements(
    url: str, requests: Sequence[tuple[str, str, dict[str, str]]], limits: Sequence[int]
) -> list[tuple[str, list[tuple[int, list[str]]]]]:
    """For each (label, path, headers) and page size: how many statements ran, and their first words."""
    engine = make_engine(url, pool_size=2)
    app = create_app(Settings(database_url=url, log_level="WARNING"))
    app.state.sessionmaker = make_sessionmaker(engine)
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:  # noqa: ARG001
        seen.append(" ".join(statement.split()[:4]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    out: list[tuple[str, list[tuple[int, list[str]]]]] = []
    try:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://bench") as client:
            for label, path, headers in requests:
                per_limit: list[tuple[int, list[str]]] = []
                for limit in limits:
                    # Once to warm the key's last_used_at, once counted: the steady state of a client.
                    separator = "&" if "?" in path else "?"
                    target = f"{path}{separator}limit={limit}"
                    await client.get(target, headers=headers)
                    seen.clear()
                    response = await client.get(target, headers=headers)
                    if response.status_code != 200:
                        raise RuntimeError(f"GET {target} -> {response.status_code}: {response.text[:300]}")
                    per_limit.append((limit, list(seen)))
                out.append((label, per_limit))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        await engine.dispose()
    return out


Statement = tuple[str, tuple[Any, ...]]


async def capture_statements(
    url: str, requests: Sequence[tuple[str, str, dict[str, str]]], *, settings: Settings | None = None
) -> list[tuple[str, int, list[Statement]]]:
    """For each (label, path, headers): its status and the statements it ran with their parameters
    (asyncpg's $n placeholders), captured on a second run, once the key's last_used_at is fresh."""
    engine = make_engine(url, pool_size=2)
    app = create_app(settings or Settings(database_url=url, log_level="WARNING"))
    app.state.sessionmaker = make_sessionmaker(engine)
    seen: list[Statement] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:  # noqa: ARG001
        seen.append((statement, tuple(parameters or ())))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    out: list[tuple[str, int, list[Statement]]] = []
    try:
        async with httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://bench", timeout=600
        ) as client:
            for label, path, headers in requests:
                await client.get(path, headers=headers)
                seen.clear()
                response = await client.get(path, headers=headers)
                out.append((label, response.status_code, list(seen)))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", keep)
        await engine.dispose()
    return out


def literal(value: Any) -> str:
    """A parameter as an SQL literal, for running a captured statement in psql."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return f"ARRAY[{', '.join(literal(v) for v in value)}]" if value else "'{}'"
    if isinstance(value, bytes):
        return f"'\\x{value.hex()}'::bytea"
    return "'" + str(value).replace("'", "''") + "'"


def literal_sql(statement: Statement) -> str:
    """The statement with its $n placeholders replaced by literals (highest n first: $12 before $1)."""
    sql, parameters = statement
    for n in range(len(parameters), 0, -1):
        sql = sql.replace(f"${n}", literal(parameters[n - 1]))
    return sql
