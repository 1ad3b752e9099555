"""Appending to the transparency log, in the same transaction as the write it records."""

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.log import repository
from app.log.hashing import canonical_json, document_sha256, jsonable, leaf_hash, resource_document, rfc3339
from app.models import LogDetail, LogEntry


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
    resource: SQLModel | None = None,
    document: Mapping[str, Any] | None = None,
    agreement_id: uuid.UUID | None = None,
) -> LogEntry:
    """Record one write. Call it last in the service, after the change is flushed.

    The resource after the change is given as its row (`resource`) or, where it spans tables,
    as a ready `document`; neither for a deletion. `agreement_id` files the entry under an
    agreement's history (its own and its children's).
    """
    if resource is not None:
        document = resource_document(resource)
    document = None if document is None else jsonable(dict(document))
    digest = document_sha256(document)
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
    await repository.add_entry(session, entry, LogDetail(index=index, agreement_id=agreement_id, document=document))
    return entry
