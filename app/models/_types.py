"""Column helpers shared by the table modules."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, DateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def timestamp(**kwargs: Any) -> Any:
    """Keyword arguments for a timestamptz Field."""
    from sqlmodel import Field

    return Field(sa_type=DateTime(timezone=True), **kwargs)


def one_of(column: str, values: type[StrEnum], name: str | None = None) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name or f"{column}_allowed")
