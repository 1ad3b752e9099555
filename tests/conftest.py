"""Fixtures: one migrated database per run, each test inside a transaction that is rolled back."""

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.api_keys import service as key_service
from app.config import Settings
from app.db import make_engine
from app.log.signing import new_seed
from app.main import create_app
from app.migrate import upgrade
from app.models import Organization, OrganizationKind, Role
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from app.organizations.schemas import OrganizationCreate
from tests.db import create_database, drop_database, server_url


def pytest_configure(config: pytest.Config) -> None:
    """Start the embedded server once, in the controlling process, before any xdist worker
    joins it: two workers initialising one data folder at once would race."""
    if not hasattr(config, "workerinput") and not os.environ.get("PACTA_TEST_DATABASE_URL"):
        server_url()


def migrated_database(prefix: str = "pacta_test") -> str:
    url = create_database(prefix)
    # Alembic's env runs its own event loop: keep it off the test loop's thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, url).result()
    return url


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = migrated_database()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions inside the test's transaction: their commits only release savepoints."""
    return async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False
    )


# Evidence written by tests goes to a throw-away folder, never the developer's data folder.
EVIDENCE_DIR = Path(tempfile.mkdtemp(prefix="pacta-test-evidence-"))
atexit.register(shutil.rmtree, EVIDENCE_DIR, True)


LOG_SIGNING_SEED = new_seed()


def test_settings(**overrides: Any) -> Settings:
    overrides.setdefault("storage_url", EVIDENCE_DIR.as_uri())
    overrides.setdefault("log_signing_key", LOG_SIGNING_SEED)
    return Settings(database_url="postgresql://unused.invalid/pacta", **overrides)


@pytest.fixture
def app(sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    application = create_app(test_settings())
    application.state.sessionmaker = sessionmaker
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


MakeOrg = Callable[..., Awaitable[Organization]]
MakeKey = Callable[..., Awaitable[str]]


@pytest.fixture
def make_org(sessionmaker: async_sessionmaker[AsyncSession]) -> MakeOrg:
    """Create an organization through the service (validated and logged like any other)."""

    async def make(kind: OrganizationKind = OrganizationKind.university, **fields: Any) -> Organization:
        fields.setdefault("name", f"Test {kind.value} {uuid.uuid4().hex[:8]}")
        async with sessionmaker() as s:
            org = await org_service.create_organization(
                s, OrganizationCreate(kind=kind, **fields), actor_org_id=PLATFORM_ORG_ID
            )
            await s.commit()
        return org

    return make


@pytest.fixture
def make_key(sessionmaker: async_sessionmaker[AsyncSession]) -> MakeKey:
    """Issue a key for an organization (default: the platform) and return its secret."""

    async def make(role: Role = Role.admin, org_id: uuid.UUID = PLATFORM_ORG_ID, **fields: Any) -> str:
        async with sessionmaker() as s:
            org = await org_service.get_organization(s, org_id)
            _, secret = await key_service.issue_key(
                s,
                org,
                role=role,
                name=fields.get("name"),
                expires_at=fields.get("expires_at"),
                actor_org_id=PLATFORM_ORG_ID,
            )
            await s.commit()
        return secret

    return make


@pytest.fixture
async def admin_headers(make_key: MakeKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_key(Role.admin)}"}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
