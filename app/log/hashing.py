"""Canonical JSON (RFC 8785) of resources and log leaves, and RFC 9162 leaf hashing."""

import hashlib
from typing import Any

from sqlmodel import SQLModel

# Re-exported: the log's hashes are the canonical JSON of app.canonical.
from app.canonical import canonical_json as canonical_json
from app.canonical import jsonable as jsonable
from app.canonical import rfc3339 as rfc3339


def resource_document(row: SQLModel) -> dict[str, Any]:
    """The stored facts of a row, as the log hashes them: every column but the volatile ones."""
    exclude: frozenset[str] = getattr(type(row), "__log_exclude__", frozenset())
    table = row.__table__  # type: ignore[attr-defined]
    return {c.key: getattr(row, c.key) for c in table.columns if c.key not in exclude}


def resource_sha256(row: SQLModel | None) -> str:
    """Hex SHA-256 of the canonical JSON of the resource after the change (null once deleted)."""
    return document_sha256(None if row is None else jsonable(resource_document(row)))


def document_sha256(document: Any) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162 section 2.1.1: MTH({d(0)}) = SHA-256(0x00 || d(0))."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 section 2.1.1: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()
