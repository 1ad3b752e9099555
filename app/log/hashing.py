"""Canonical JSON (RFC 8785) of resources and log leaves, and RFC 9162 leaf hashing."""

import hashlib
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import rfc8785
from sqlmodel import SQLModel


def rfc3339(moment: datetime) -> str:
    """One fixed spelling of a UTC instant, with microseconds, so the hashed string is stable."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are never hashed")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def jsonable(value: Any) -> Any:
    """Plain JSON values for the canonicalizer, spelled the same way whatever read them."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, float):
        return value
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        # One spelling per number: the 3.0 a service writes and the 3.0000 its NUMERIC(20, 4)
        # column reads back must hash alike, or `pacta log verify` reports untouched rows.
        return "0" if value.is_zero() else format(value.normalize(), "f")
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    raise TypeError(f"cannot hash a {type(value).__name__}")


def canonical_json(value: Any) -> bytes:
    return rfc8785.dumps(jsonable(value))


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
