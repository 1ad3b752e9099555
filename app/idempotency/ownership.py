"""Who is carrying out an Idempotency-Key request, tied to a live database connection.

Each process keeps one connection of its own (outside the pool, so requests never wait for it
and it can never starve them) and, while it carries out a request with an Idempotency-Key, holds
a session-level advisory lock on that key there. PostgreSQL drops the locks of a connection the
moment it ends, so when a process dies (kill -9, a crash, a lost host) its keys are free again as
soon as the database notices the socket is gone, and a retry takes the record over at once,
instead of waiting out a fixed lease. A record `in_flight` whose lock nobody holds is orphaned.
"""

import asyncio
import hashlib
import logging

import asyncpg

logger = logging.getLogger("pacta.idempotency")


def lock_id(scope: str, key: str) -> int:
    """The advisory lock of one (API key, Idempotency-Key) pair: a signed 64-bit number."""
    digest = hashlib.sha256(f"pacta-idempotency\0{scope}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Ownership:
    """The process's claims on Idempotency-Keys. `url` None: claims are only known in-process
    (an app whose lifespan did not run, as in most tests)."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._connection: asyncpg.Connection | None = None
        self._mutex = asyncio.Lock()
        self._held: set[int] = set()

    async def _run(self, sql: str, lock: int) -> bool:
        async with self._mutex:  # one connection: one statement at a time
            if self._connection is None or self._connection.is_closed():
                assert self.url is not None
                self._connection = await asyncpg.connect(
                    self.url, server_settings={"application_name": "pacta-idempotency"}
                )
            return bool(await self._connection.fetchval(sql, lock))

    async def acquire(self, lock: int) -> bool:
        """Take the key; False while another request (of any process still alive) holds it."""
        if lock in self._held:  # advisory locks are re-entrant for their connection: check here first
            return False
        self._held.add(lock)
        try:
            if self.url is None or await self._run("SELECT pg_try_advisory_lock($1)", lock):
                return True
        except BaseException:
            self._held.discard(lock)
            raise
        self._held.discard(lock)
        return False

    async def release(self, lock: int) -> None:
        if lock not in self._held:
            return
        try:
            if self.url is not None:
                await self._run("SELECT pg_advisory_unlock($1)", lock)
        except (OSError, asyncpg.PostgresError):
            # The connection is gone, and its locks with it.
            logger.warning("idempotency lock connection lost while releasing a key", exc_info=True)
        finally:
            self._held.discard(lock)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
