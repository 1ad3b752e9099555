"""Engine, session dependency (the only committer) and the metadata naming convention."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
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
    """The pool. The service bounds its statements and idle transactions (so one stuck request
    cannot keep locks or a connection for ever); the CLI's long jobs pass 0, no limit."""
    server_settings = {"timezone": "UTC", "application_name": "pacta"}
    if statement_timeout_seconds:
        server_settings["statement_timeout"] = str(int(statement_timeout_seconds * 1000))
    if idle_in_transaction_timeout_seconds:
        server_settings["idle_in_transaction_session_timeout"] = str(int(idle_in_transaction_timeout_seconds * 1000))
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
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
