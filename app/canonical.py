"""Canonical JSON (RFC 8785): one spelling of a value, for the log's hashes, and the plain JSON
values (jsonable) that cursors and webhook payloads are written from. Neutral ground: the log and
the HTTP layer both build on it, neither on the other. (ETags hash the response's own bytes:
app.http.etag.)"""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import rfc8785


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
