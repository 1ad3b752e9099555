"""Real PostgreSQL for the tests: the embedded server, or PACTA_TEST_DATABASE_URL when set.

Each database the suite makes is new, built by the Alembic migrations, and dropped at the end.
"""

import asyncio
import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.embedded import start_embedded

# Named after the server's major version: a folder left by the earlier embedded server
# (PostgreSQL 16) is simply not reused, instead of being refused.
TEST_DATA_DIR = Path(".pacta/test-pg18").resolve()


def server_url() -> str:
    """A URL to some database on the test server (used to create and drop the suite's own)."""
    configured = os.environ.get("PACTA_TEST_DATABASE_URL")
    if configured:
        return configured
    return start_embedded(TEST_DATA_DIR, database="postgres")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def plain(url: str) -> str:
    """asyncpg wants postgresql:// without a driver name."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(plain(url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def create_database(prefix: str = "pacta_test") -> str:
    """A new, empty database on the test server; returns its URL."""
    base = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    return with_database(base, name)


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    asyncio.run(_admin(with_database(url, "postgres"), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
