"""The transparency log: gap-free under concurrency, indexes given back on rollback, hashes that
match the stored rows, and a table that refuses to be rewritten."""

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.api_keys import service as key_service
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.log import registry as log_registry
from app.log import repository as log_repository
from app.log import service as log_service
from app.log.hashing import canonical_json, document_sha256, leaf_hash, resource_sha256
from app.main import create_app
from app.models import ApiKey, LogEntry, Organization, Role
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from tests import conftest
from tests.conftest import MakeOrg, migrated_database
from tests.db import drop_database


async def _no_rows(session: AsyncSession) -> list[tuple[str, Any]]:
    """Synthetic entries stand for no table: registered so that `append` accepts them."""
    return []


log_registry.register("test", _no_rows)


@pytest.fixture
def separate_url() -> Iterator[str]:
    """A database of its own whose transactions really commit (the shared one rolls back)."""
    url = migrated_database("pacta_log")
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
async def separate_engine(separate_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(separate_url, pool_size=10)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _entries(maker: async_sessionmaker[AsyncSession]) -> tuple[list[LogEntry], int]:
    async with maker() as session:
        return await log_repository.all_entries(session), await log_repository.size(session)


def _assert_leaf_hashes(entries: list[LogEntry]) -> None:
    for entry in entries:
        expected = leaf_hash(canonical_json(log_service.leaf_document(entry)))
        assert entry.leaf_hash == expected, f"entry {entry.index}: stored leaf hash does not match its fields"


async def _assert_details_hash_to_entries(session: AsyncSession, entries: list[LogEntry]) -> None:
    """Each entry's kept document is the one its resource_sha256 hashes."""
    rows = (await session.execute(text("SELECT index, document FROM log_details ORDER BY index"))).all()
    documents = {int(index): document for index, document in rows}
    assert set(documents) == {e.index for e in entries}
    for entry in entries:
        assert document_sha256(documents[entry.index]) == entry.resource_sha256, f"entry {entry.index}"


@pytest.mark.slow
async def test_concurrent_writers_leave_no_gaps(separate_engine: AsyncEngine) -> None:
    maker = make_sessionmaker(separate_engine)
    app = create_app(conftest.test_settings())
    app.state.sessionmaker = maker
    async with unit_of_work(maker) as session:
        platform = await org_service.get_organization(session, PLATFORM_ORG_ID)
        _, secret = await key_service.issue_key(
            session, platform, role=Role.admin, name="burst", expires_at=None, actor_org_id=PLATFORM_ORG_ID
        )
    before, _ = await _entries(maker)
    assert [e.index for e in before] == list(range(len(before)))  # the migration's seed, then the admin key

    run = uuid.uuid4().hex[:6]
    bodies: list[dict[str, str]] = [{"name": f"Universidad {run} {i}", "kind": "university"} for i in range(25)]
    # Five names sent twice, and five municipalities claiming one INEGI code: one of each wins.
    bodies += [{"name": f"Cámara {run} {i}", "kind": "business_chamber"} for i in range(5) for _ in range(2)]
    bodies += [{"name": f"Municipio {run} {i}", "kind": "municipality", "inegi_code": "14120"} for i in range(5)]
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://testserver") as client:
        responses = await asyncio.gather(*(client.post("/v1/organizations", json=b, headers=headers) for b in bodies))

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 31, 409: 9}, [r.text for r in responses if r.status_code not in (201, 409)]
    for response in responses:
        if response.status_code == 409:
            assert response.headers["content-type"] == "application/problem+json"

    entries, size = await _entries(maker)
    created_ids = {r.json()["id"] for r in responses if r.status_code == 201}
    assert [e.index for e in entries] == list(range(len(entries))), "the log has gaps or duplicates"
    assert size == len(entries)
    assert len(entries) == len(before) + statuses[201]
    assert {e.resource_id for e in entries[len(before) :]} == created_ids
    assert all(earlier.at <= later.at for earlier, later in itertools.pairwise(entries))
    _assert_leaf_hashes(entries)
    async with maker() as session:
        await _assert_details_hash_to_entries(session, entries)


@pytest.mark.slow
async def test_waiting_writer_takes_the_index_a_rolled_back_writer_gave_back(separate_engine: AsyncEngine) -> None:
    maker = make_sessionmaker(separate_engine)

    async def append(session: AsyncSession) -> LogEntry:
        return await log_service.append(
            session,
            actor_org_id=PLATFORM_ORG_ID,
            action=log_service.Action.delete,
            resource_type="test",
            resource_id=uuid.uuid4(),
            resource=None,
        )

    async with maker() as first, maker() as second:
        reserved = await append(first)
        # The second writer queues on the head row while the first still holds it.
        waiting = asyncio.create_task(append(second))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        await first.rollback()
        taken = await asyncio.wait_for(waiting, timeout=10)
        await second.commit()
    assert taken.index == reserved.index
    entries, size = await _entries(maker)
    assert [e.index for e in entries] == list(range(size))
    assert entries[-1].resource_id == taken.resource_id


async def test_rolled_back_append_gives_its_index_back(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async def append(session: AsyncSession, resource_id: str) -> LogEntry:
        return await log_service.append(
            session,
            actor_org_id=PLATFORM_ORG_ID,
            action=log_service.Action.delete,
            resource_type="test",
            resource_id=resource_id,
            resource=None,
        )

    async with sessionmaker() as session:
        size_before = await log_repository.size(session)
        abandoned = await append(session, "abandoned")
        assert abandoned.index == size_before
        await session.rollback()
    async with sessionmaker() as session:
        assert await log_repository.size(session) == size_before
        kept = await append(session, "kept")
        await session.commit()
    assert kept.index == abandoned.index
    async with sessionmaker() as session:
        assert await log_repository.size(session) == size_before + 1
        assert [
            e.index for e in await log_repository.entries_for(session, resource_type="test", resource_id="kept")
        ] == [kept.index]
        assert await log_repository.entries_for(session, resource_type="test", resource_id="abandoned") == []


async def _latest_entry(session: AsyncSession, resource_type: str, resource_id: uuid.UUID) -> LogEntry:
    entries = await log_repository.entries_for(session, resource_type=resource_type, resource_id=str(resource_id))
    assert entries, f"no log entry for {resource_type} {resource_id}"
    return entries[-1]


async def test_resource_hashes_match_the_rows_read_back(
    sessionmaker: async_sessionmaker[AsyncSession], make_org: MakeOrg
) -> None:
    org = await make_org(website="https://example.org/", subdivision="MX-JAL")
    async with sessionmaker() as session:
        key, _ = await key_service.issue_key(
            session, org, role=Role.editor, name="hash check", expires_at=None, actor_org_id=PLATFORM_ORG_ID
        )
        await session.commit()
    # Fresh sessions: the rows as PostgreSQL returns them, not the objects that were written.
    async with sessionmaker() as session:
        stored_org = await session.get(Organization, org.id)
        stored_key = await session.get(ApiKey, key.id)
        assert stored_org is not None
        assert stored_key is not None
        org_entry = await _latest_entry(session, "organization", org.id)
        key_entry = await _latest_entry(session, "api_key", key.id)
    assert org_entry.resource_sha256 == resource_sha256(stored_org)
    assert key_entry.resource_sha256 == resource_sha256(stored_key)
    assert key_entry.action == "create"

    async with sessionmaker() as session:
        await key_service.revoke_key(session, org, key.id, actor_org_id=PLATFORM_ORG_ID)
        await session.commit()
    async with sessionmaker() as session:
        revoked = await session.get(ApiKey, key.id)
        assert revoked is not None
        assert revoked.revoked_at is not None
        revoke_entry = await _latest_entry(session, "api_key", key.id)
    assert revoke_entry.action == "revoke"
    assert revoke_entry.resource_sha256 == resource_sha256(revoked)
    assert revoke_entry.resource_sha256 != key_entry.resource_sha256


async def test_migration_seeds_the_platform_hashed_like_the_app(session: AsyncSession) -> None:
    platform = await session.get(Organization, PLATFORM_ORG_ID)
    assert platform is not None
    entry = await _latest_entry(session, "organization", PLATFORM_ORG_ID)
    assert entry.index == 0
    assert entry.actor_org_id is None
    assert entry.action == "create"
    assert entry.resource_sha256 == resource_sha256(platform)
    _assert_leaf_hashes([entry])
    document = (await session.execute(text("SELECT document FROM log_details WHERE index = 0"))).scalar_one()
    assert document_sha256(document) == entry.resource_sha256


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE log_entries SET action = 'forged' WHERE index = 0",
        "DELETE FROM log_entries WHERE index = 0",
        # CASCADE, or the foreign key from log_details refuses before the log's own trigger can.
        "TRUNCATE log_entries CASCADE",
        "UPDATE log_details SET document = NULL WHERE index = 0",
        "DELETE FROM log_details WHERE index = 0",
        "TRUNCATE log_details",
    ],
)
async def test_log_is_append_only(session: AsyncSession, statement: str) -> None:
    snapshot = text(
        "SELECT e.index, e.action, e.leaf_hash, d.document FROM log_entries e "
        "LEFT JOIN log_details d ON d.index = e.index ORDER BY e.index"
    )
    before = (await session.execute(snapshot)).all()
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text(statement))
    assert (await session.execute(snapshot)).all() == before


async def test_a_write_of_a_kind_nobody_registered_is_refused(session: AsyncSession) -> None:
    """`pacta log verify` recomputes the kinds in app.log.registry: logging any other would
    leave its rows unverifiable, so the write fails (in any test of it) instead of passing quietly."""
    before = await log_repository.size(session)
    with pytest.raises(log_registry.UnregisteredKind, match="survey"):
        await log_service.append(
            session,
            actor_org_id=PLATFORM_ORG_ID,
            action=log_service.Action.create,
            resource_type="survey",
            resource_id=uuid.uuid4(),
            document={"question": "¿Funciona el hermanamiento?"},
        )
    assert await log_repository.size(session) == before


def test_every_kind_the_services_log_is_registered() -> None:
    # create_app (imported above) imports every resource package, which registers its kind.
    assert set(log_registry.registered()) >= {
        "organization",
        "api_key",
        "agreement",
        "legal_review",
        "registration",
        "target",
        "evidence",
        "measurement",
        "activity",
        "calendar_token",
        "webhook",
    }
