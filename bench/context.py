"""What every section of a run shares: the clone, its keys, the running service, the load budget."""

import argparse
import os
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agreements import repository
from app.api_keys import service as key_service
from app.config import Settings
from app.db import make_sessionmaker, unit_of_work
from app.http.pagination import encode_cursor
from app.models import Role
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from bench.load import Budget
from bench.output import Log
from bench.server import PostgresCpu, Server

DEEP_AFTER = 90_000


@dataclass(frozen=True, slots=True)
class Fixtures:
    admin: dict[str, str]
    auditor: dict[str, str]
    editor: dict[str, str]
    editor_org_id: uuid.UUID
    editor_org_name: str
    deep_cursor: str
    deep_after: int
    ids: list[uuid.UUID]


async def fixtures(engine: AsyncEngine, url: str, count: int) -> Fixtures:
    conn = await asyncpg.connect(url)
    try:
        editor_org = await conn.fetchrow(
            "SELECT o.id, o.name FROM organizations o JOIN agreements a ON a.signatory_org_id = o.id "
            "WHERE o.kind = 'municipality' GROUP BY o.id, o.name ORDER BY count(*) DESC LIMIT 1"
        )
        assert editor_org is not None
        after = min(DEEP_AFTER, max(1, count * 9 // 10))
        row = await conn.fetchrow(
            "SELECT updated_at, id FROM agreements ORDER BY updated_at DESC, id DESC OFFSET $1 LIMIT 1", after - 1
        )
        assert row is not None
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM agreements ORDER BY random() LIMIT 5000")]
    finally:
        await conn.close()
    deep_cursor = encode_cursor(repository.SORTS["-updated_at"], repository.sort_values("-updated_at", row))
    async with unit_of_work(make_sessionmaker(engine)) as session:
        platform = await org_service.get_organization(session, PLATFORM_ORG_ID)
        _, admin = await key_service.issue_key(
            session, platform, role=Role.admin, name="bench admin", expires_at=None, actor_org_id=PLATFORM_ORG_ID
        )
        _, auditor = await key_service.issue_key(
            session, platform, role=Role.auditor, name="bench auditor", expires_at=None, actor_org_id=PLATFORM_ORG_ID
        )
        municipality = await org_service.get_organization(session, editor_org["id"])
        _, editor = await key_service.issue_key(
            session, municipality, role=Role.editor, name="bench editor", expires_at=None, actor_org_id=PLATFORM_ORG_ID
        )
    return Fixtures(
        admin={"Authorization": f"Bearer {admin}"},
        auditor={"Authorization": f"Bearer {auditor}"},
        editor={"Authorization": f"Bearer {editor}"},
        editor_org_id=editor_org["id"],
        editor_org_name=editor_org["name"],
        deep_cursor=deep_cursor,
        deep_after=after,
        ids=ids,
    )


@dataclass(frozen=True, slots=True)
class Context:
    """A section's view of the run. `url` is the run's clone of the data set; `pacta` serves it."""

    args: argparse.Namespace
    log: Log
    settings: Settings
    today: date
    url: str
    engine: AsyncEngine
    fx: Fixtures
    pacta: Server
    env: dict[str, str]  # the environment `pacta` was started with (a section may start another)
    run_dir: Path
    pg: PostgresCpu

    @property
    def budget(self) -> Budget:
        a = self.args
        return Budget(a.concurrency, a.duration, a.max_requests, a.warmup)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
