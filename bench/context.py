"""What every section of a run shares: the clone, its keys, the running service, the load budget."""

import argparse
import os
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

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


def agreement_body(org_id: uuid.UUID, n: int) -> dict[str, Any]:
    return {
        "title": f"Acuerdo de Cooperación Económica bench {n} entre el Municipio y la Ciudad de San Antonio",
        "instrument": "cooperation",
        "signatory_org_id": str(org_id),
        "summary": "Las partes acuerdan promover la cooperación en comercio y turismo (creado por el bench).",
        "subject_areas": ["trade", "tourism"],
        "counterparts": [
            {"name": "City of San Antonio", "kind": "foreign_government_body", "country": "US", "region": "Texas"}
        ],
        "languages": ["es", "en"],
    }


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
    # (endpoint, figure, reference, ratio) rows for the closing table, added by each section.
    summary: list[tuple[str, str, str, str]] = field(default_factory=list)
    # What one section made and another may reuse (the progress agreement).
    shared: dict[str, object] = field(default_factory=dict)

    @property
    def budget(self) -> Budget:
        a = self.args
        return Budget(a.concurrency, a.duration, a.max_requests, a.warmup)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
