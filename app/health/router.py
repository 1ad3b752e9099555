"""GET /healthz (process alive) and GET /readyz (database reachable, schema at the latest migration)."""

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from app.db import sessionmaker_of
from app.errors import ServiceUnavailable
from app.health import repository
from app.i18n import Text
from app.migrate import head_revisions

router = APIRouter(tags=["operations"])

READY_TIMEOUT_SECONDS = 3.0


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    schema_revision: str


@router.get("/healthz")
async def get_health() -> Health:
    """The process is alive (no dependencies checked)."""
    return Health(status="ok")


@router.get("/readyz")
async def get_readiness(request: Request) -> Readiness:
    """The database answers and its schema is at the latest migration; 503 otherwise."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS), sessionmaker_of(request)() as session:
            current = await repository.schema_revisions(session)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise ServiceUnavailable(Text("health.database_unreachable")) from exc
    heads = head_revisions()
    if current != heads:
        raise ServiceUnavailable(Text("health.schema_mismatch", current=sorted(current) or "-", heads=sorted(heads)))
    return Readiness(status="ready", schema_revision=",".join(sorted(heads)))
