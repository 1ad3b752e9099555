"""Stored outcomes of POST requests made with an Idempotency-Key."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer, LargeBinary
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.models._types import timestamp, utcnow


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_keys"

    # The id of the API key that sent the request: keys are scoped to it. (Records written before
    # held the SHA-256 of the bearer credential; they simply age out.)
    scope: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=255)
    request_hash: str = Field(max_length=64)
    # in_flight -> committed (the write's own transaction) -> done (response stored)
    state: str = Field(max_length=16)
    created_at: datetime = timestamp(default_factory=utcnow, index=True)
    # When the record was last claimed. Who owns an in-flight record is an advisory lock held by a
    # live connection (app.idempotency.ownership), not a deadline; the name stays to spare a migration.
    locked_until: datetime = timestamp()
    response_status: int | None = Field(default=None, sa_column=Column(Integer))
    response_headers: list[Any] | None = Field(default=None, sa_column=Column(JSONB))
    response_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
