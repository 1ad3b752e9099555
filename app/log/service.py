"""Appending to the transparency log, in the same transaction as the write it records."""

import base64
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.db import Reader
from app.errors import field_error
from app.i18n import Text
from app.log import merkle, registry, repository, signing
from app.log.errors import LogUnavailable
from app.log.hashing import (
    canonical_json,
    document_sha256,
    jsonable,
    leaf_hash,
    node_hash,
    resource_document,
    rfc3339,
)
from app.log.merkle import Node, completed_by
from app.log.schemas import Checkpoint, ConsistencyProof, Entries, Entry, InclusionProof
from app.log.signing import LogSigner
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
    agreement's history (its own and its children's). The writer, not the log, decides which
    webhook event (if any) the write stands for.
    """
    registry.ensure_registered(resource_type)
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
    await repository.add_entry(
        session,
        entry,
        LogDetail(index=index, agreement_id=agreement_id, document=document),
        await _completed(session, entry),
    )
    return entry


async def _completed(session: AsyncSession, entry: LogEntry) -> dict[Node, bytes]:
    """The subtrees this leaf completes, to store beside it (still under the head lock)."""
    siblings = completed_by(entry.index)
    if not siblings:
        return {}
    known = await repository.node_hashes(session, siblings)
    nodes: dict[Node, bytes] = {}
    current = entry.leaf_hash
    for level, index in siblings:
        current = node_hash(known[(level, index)], current)
        nodes[(level + 1, index // 2)] = current
    return nodes


# Reading the log: checkpoints, entries, proofs (public).


def _hex(nodes: dict[Node, bytes], ranges: list[tuple[int, int]]) -> list[str]:
    return [merkle.range_hash(a, b, nodes.__getitem__).hex() for a, b in ranges]


async def root_hash(session: AsyncSession, size: int) -> bytes:
    nodes = await repository.node_hashes(session, merkle.nodes_for(0, size)) if size else {}
    return merkle.range_hash(0, size, nodes.__getitem__)


async def checkpoint(session: AsyncSession, signer: LogSigner | None) -> Checkpoint:
    if signer is None:
        raise LogUnavailable(Text("log.no_signing_key"))
    size = await repository.size(session)
    root = await root_hash(session, size)
    stamp = rfc3339(datetime.now(UTC)).split(".")[0] + "Z"
    body = signing.checkpoint_body(signer.name, size, root, stamp)
    signature = signer.sign(body)
    return Checkpoint(
        tree_size=size,
        root_hash=root.hex(),
        timestamp=stamp,
        key_id=signer.key_id.hex(),
        public_key=base64.b64encode(signer.public_key).decode(),
        signature=base64.b64encode(signature).decode(),
        origin=signer.name,
        note=signing.signed_note(body, signer, signature),
    )


def to_entry(entry: LogEntry) -> Entry:
    leaf = leaf_document(entry)
    return Entry.model_validate({**leaf, "leaf_hash": entry.leaf_hash.hex()})


async def entries(session: AsyncSession, start: int, end: int) -> Entries:
    if end <= start:
        raise field_error(["query", "end"], Text("log.end_after_start"))
    size = await repository.size(session)
    if (start >= size and size > 0) or start > size:
        raise field_error(["query", "start"], Text("log.size", size=size))
    rows = await repository.entries(session, start, min(end, size))
    return Entries(entries=[to_entry(e) for e in rows])


async def entries_json(reader: Reader, start: int, end: int) -> str:
    """As entries, the Entries document as JSON text built by PostgreSQL (one statement)."""
    if end <= start:
        raise field_error(["query", "end"], Text("log.end_after_start"))
    size, documents = await repository.size_and_entries_json(reader, start, end)
    if (start >= size and size > 0) or start > size:
        raise field_error(["query", "start"], Text("log.size", size=size))
    return '{"entries":' + documents + "}"


async def inclusion_proof(session: AsyncSession, index: int, tree_size: int) -> InclusionProof:
    size = await repository.size(session)
    if tree_size > size:
        raise field_error(["query", "tree_size"], Text("log.size", size=size))
    if index >= tree_size:
        raise field_error(["query", "index"], Text("log.index_below_size"))
    ranges = merkle.inclusion_ranges(index, tree_size)
    nodes = await repository.node_hashes(session, merkle.nodes_for_ranges([*ranges, (index, index + 1)]))
    return InclusionProof(
        index=index, tree_size=tree_size, leaf_hash=nodes[(0, index)].hex(), hashes=_hex(nodes, ranges)
    )


async def consistency_proof(session: AsyncSession, first: int, second: int) -> ConsistencyProof:
    size = await repository.size(session)
    if second > size:
        raise field_error(["query", "second"], Text("log.size", size=size))
    if first > second:
        raise field_error(["query", "first"], Text("log.first_not_after_second"))
    ranges = merkle.consistency_ranges(first, second)
    nodes = await repository.node_hashes(session, merkle.nodes_for_ranges(ranges))
    return ConsistencyProof(first=first, second=second, hashes=_hex(nodes, ranges))
