"""Appending to the transparency log, in the same transaction as the write it records."""

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.log import repository
from app.log.hashing import canonical_json, leaf_hash, resource_sha256, rfc3339
from app.models import LogEntry


class Action(StrEnum):
    create = "create"
    update = "update"
    delete = "delete"
    revoke = "revoke"


def leaf_document(entry: LogEntry) -> dict[str, object]:
    """The seven fields exactly as hashed; `at` as the same string that entries serve."""
    return {
        "index": entry.index,
        "at": rfc3339(entry.at),
        "actor_org_id": None if entry.actor_org_id is None else str(entry.actor_org_id),
        "action": entry.action,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "resource_sha256": entry.resource_sha256,
    }


async def append(
    session: AsyncSession,
    *,
    actor_org_id: uuid.UUID | None,
    action: Action,
    resource_type: str,
    resource_id: uuid.UUID | str,
    resource: SQLModel | None,
) -> LogEntry:
    """Record one write. Call it last in the service, after the change is flushed."""
    digest = resource_sha256(resource)
    index = await repository.reserve_index(session)
    # Taken after the lock, so `at` never goes backwards along the index.
    at = datetime.now(UTC)
    entry = LogEntry(
        index=index,
        at=at,
        actor_org_id=actor_org_id,
        action=action.value,
        resource_type=resource_type,
        resource_id=str(resource_id),
        resource_sha256=digest,
        leaf_hash=b"",
    )
    entry.leaf_hash = leaf_hash(canonical_json(leaf_document(entry)))
    await repository.add_entry(session, entry)
    return entry
