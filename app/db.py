"""Engine, session dependency (the only committer) and the metadata naming convention."""

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData, event
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.util import greenlet_spawn
from sqlmodel import SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


def async_url(url: str) -> str:
    """Any postgres URL, spelled for the asyncpg driver."""
    for prefix in (
        "postgresql+asyncpg://",
        "postgresql+psycopg://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("the database URL must be a postgresql:// URL")


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    statement_timeout_seconds: float = 0,
    idle_in_transaction_timeout_seconds: float = 0,
) -> AsyncEngine:
    """The pool: at most `pool_size` connections, opened as needed and then kept. The service
    bounds its statements and idle transactions (so one stuck request cannot keep locks or a
    connection for ever); the CLI's long jobs pass 0, no limit.

    No overflow: SQLAlchemy closes an overflow connection as soon as it is returned, so a load
    that keeps more requests in flight than the pool's core opened and closed a connection (a
    TLS attempt, authentication and a new server process) for a good share of its requests,
    which halved the throughput of the hot reads. A request beyond the limit waits for a
    connection instead."""
    server_settings = {"timezone": "UTC", "application_name": "pacta"}
    if statement_timeout_seconds:
        server_settings["statement_timeout"] = str(int(statement_timeout_seconds * 1000))
    if idle_in_transaction_timeout_seconds:
        server_settings["idle_in_transaction_session_timeout"] = str(int(idle_in_transaction_timeout_seconds * 1000))
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=0,
        connect_args={"server_settings": server_settings},
    )
    _ping_when_idle(engine)
    return engine


# A connection idle for less than this is handed out without a ping.
IDLE_PING_SECONDS = 30.0
_RETURNED_AT = "pacta_returned_at"


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Check a pooled connection only when it sat idle long enough to have been dropped.

    pool_pre_ping would add a round trip to every request. Connections in steady use are handed
    out as they are: if the server dropped one anyway (a restart, pg_terminate_backend), the
    statement fails, SQLAlchemy recognises the disconnect and invalidates every connection the
    pool held before it, so one request per process fails and the next ones get new connections.
    Connections that sat idle (where timeouts and restarts usually catch them) are pinged first,
    and a dead one is replaced before anybody uses it.
    """

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def handed_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < IDLE_PING_SECONDS:
            return
        try:
            # The asyncpg adapter's ping runs inside SQLAlchemy's greenlet, like pool_pre_ping's.
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards this connection and checks out another (its documented protocol).
            raise DisconnectionError from exc


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


_RELEASABLE = "pacta.releasable"


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: commit on success, roll back on error.

    Declared with scope="function" so the commit happens before the response is sent: a failed
    commit must never have answered 2xx.
    """
    async with sessionmaker_of(request)() as session:
        # A request's unit of work has written nothing before its route's first statement, so
        # release_connection() may end the read-only start of it (see there).
        session.info[_RELEASABLE] = True
        try:
            yield session
            marker = getattr(request.state, "idempotency_marker", None)
            if marker is not None:
                # Record, in the same transaction as the write, that the write committed: a retry
                # of a request whose response was lost can then never run the write twice.
                await marker(session)
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def release_connection(session: AsyncSession) -> None:
    """End the read-only start of a unit of work, so that the session holds no connection (let
    alone a transaction) while the request waits on something slow, such as its client's body.
    The next statement opens a fresh transaction; nothing is lost, as nothing was written yet.

    Only a request's own session is released: a longer unit of work (the CLI, the demo loader)
    may have flushed writes that a rollback would lose, and has no slow client to wait on."""
    if not session.info.get(_RELEASABLE):
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("release_connection() after a change: it would roll the change back")
    await session.rollback()


class Savepoint:
    """What `savepoint` does when its block ends without an error: keep the block's work (the
    default) or, after `discard()`, undo it (a trial: see what a write would do, keep nothing)."""

    __slots__ = ("keep",)

    def __init__(self) -> None:
        self.keep = True

    def discard(self) -> None:
        self.keep = False


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[Savepoint]:
    """A savepoint inside the session's transaction. An error in the block, or `discard()`, rolls
    back to it; otherwise it is released and the work stays in the transaction, which only the
    session's owner (get_session, unit_of_work) commits."""
    nested = await session.begin_nested()
    mark = Savepoint()
    try:
        yield mark
    except BaseException:
        await nested.rollback()
        raise
    if mark.keep:
        await nested.commit()  # RELEASE SAVEPOINT: the transaction itself stays open
    else:
        await nested.rollback()


@asynccontextmanager
async def unit_of_work(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """The same commit-or-rollback contract for work outside a request (CLI, demo loader)."""
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# ---------------------------------------------------------------------------------------------
# Hot reads: one statement, one round trip, no session.


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    compiled: SQLCompiler
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]


_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
_DISCONNECTS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    ConnectionError,
    OSError,
)


@functools.lru_cache(maxsize=2048)
def _compile(statement: ClauseElement) -> _Compiled:
    """A statement as asyncpg's SQL text ($1, $2...), once per statement object: callers pass
    module-level or memoized statements, so this runs once per shape."""
    compiled = statement.compile(dialect=_DIALECT)
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    bind_processors = compiled._bind_processors
    processors: tuple[Any, ...] = tuple(bind_processors.get(name) for name in names)
    return _Compiled(compiled.string, compiled, names, processors)


def _arguments(compiled: _Compiled, values: Mapping[str, Any]) -> list[Any]:
    params = compiled.compiled.construct_params(dict(values), _check=False)
    assert params is not None
    out: list[Any] = []
    for name, processor in zip(compiled.names, compiled.processors, strict=True):
        value = params[name]
        out.append(value if processor is None or value is None else processor(value))
    return out


class Reader:
    """Read-only statements for the hot GETs, each run alone on a pooled connection in
    autocommit: one round trip (asyncpg's prepared-statement cache makes the Parse a one-off),
    where a session's unit of work costs three (BEGIN, the statement, COMMIT) and builds ORM
    results. Rows come back as asyncpg records (or mappings): the statements select JSON text
    that PostgreSQL built (app.sql_json), so nothing is decoded or validated on the way out.

    The pool's statement_timeout applies as to any statement. A connection the server dropped
    is not pinged for on every read (see _ping_when_idle): when a read finds its connection
    gone, the pool forgets every connection as old as it, and the read (having changed nothing)
    runs once more on a fresh one.

    Bound to a connection instead of an engine (the tests' transaction), statements run on it
    through SQLAlchemy, inside whatever transaction it has open."""

    __slots__ = ("_bind",)

    def __init__(self, bind: AsyncEngine | AsyncConnection) -> None:
        self._bind = bind

    async def fetch(self, statement: ClauseElement, values: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        compiled = _compile(statement)
        args = _arguments(compiled, values)
        bind = self._bind
        if isinstance(bind, AsyncConnection):
            result = await bind.exec_driver_sql(compiled.sql, tuple(args))
            return [dict(r) for r in result.mappings()]
        try:
            return await self._fetch(bind, compiled.sql, args)
        except _DISCONNECTS:
            return await self._fetch(bind, compiled.sql, args)

    async def fetchrow(self, statement: ClauseElement, values: Mapping[str, Any]) -> Mapping[str, Any] | None:
        rows = await self.fetch(statement, values)
        return rows[0] if rows else None

    @staticmethod
    async def _fetch(engine: AsyncEngine, sql: str, args: list[Any]) -> list[Any]:
        fairy = await engine.raw_connection()
        try:
            driver: asyncpg.Connection = fairy.driver_connection
            observe = engine.sync_engine.dispatch.before_cursor_execute
            if observe:
                # Tools that count statements (bench/queries.py) listen on the engine.
                for listener in observe:
                    listener(None, None, sql, tuple(args), None, False)
            rows: list[Any] = await driver.fetch(sql, *args)
            return rows
        except _DISCONNECTS as exc:
            # Every connection as old as this one is replaced at its next checkout.
            engine.sync_engine.pool._invalidate(fairy, exc, _checkin=False)
            await greenlet_spawn(fairy.invalidate, exc)
            raise
        except asyncio.CancelledError:
            # The client left mid-statement: the statement may still be running on this
            # connection, so it is closed instead of handed to the next request.
            await greenlet_spawn(fairy.invalidate)
            raise
        finally:
            if fairy.is_valid:
                await greenlet_spawn(fairy.close)


async def reader_of(request: Request) -> Reader:
    """Async, as every dependency here: FastAPI runs a plain function in a worker thread."""
    bind = sessionmaker_of(request).kw["bind"]
    return Reader(bind)


ReaderDep = Annotated[Reader, Depends(reader_of)]
