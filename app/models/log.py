"""The transparency log: append-only entries and the single-row head that sequences them."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, LargeBinary, SmallInteger
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.models._types import timestamp


class LogEntry(SQLModel, table=True):
    __tablename__ = "log_entries"
    __table_args__ = (
        CheckConstraint("index >= 0", name="index_non_negative"),
        CheckConstraint("resource_sha256 ~ '^[0-9a-f]{64}$'", name="resource_sha256_hex"),
        CheckConstraint("octet_length(leaf_hash) = 32", name="leaf_hash_length"),
    )

    index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = timestamp()
    actor_org_id: uuid.UUID | None = Field(default=None)
    action: str = Field(max_length=40)
    resource_type: str = Field(max_length=60, index=True)
    resource_id: str = Field(max_length=100, index=True)
    resource_sha256: str = Field(max_length=64)
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogHead(SQLModel, table=True):
    """One row holding the log's size. Appending locks it, so indexes are gap-free and ordered."""

    __tablename__ = "log_head"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("size >= 0", name="size_non_negative"),
    )

    id: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))


class LogDetail(SQLModel, table=True):
    """What each entry recorded, kept beside the log (not served by it: it may hold non-public
    fields). `document` is the canonical JSON whose SHA-256 is the entry's resource_sha256, so
    history can show what changed and anyone with access can re-check the hash."""

    __tablename__ = "log_details"
    __table_args__ = (Index("ix_log_details_agreement", "agreement_id", "index"),)

    index: int = Field(
        sa_column=Column(BigInteger, ForeignKey("log_entries.index"), primary_key=True, autoincrement=False)
    )
    agreement_id: uuid.UUID | None = Field(default=None)
    document: Any = Field(default=None, sa_column=Column(JSONB, nullable=True))


class LogNode(SQLModel, table=True):
    """A complete subtree of the Merkle tree (level >= 1; level 0 is log_entries.leaf_hash),
    written when its last leaf is appended and never changed."""

    __tablename__ = "log_nodes"
    __table_args__ = (
        CheckConstraint("level >= 1 AND level <= 63", name="level_range"),
        CheckConstraint("octet_length(hash) = 32", name="hash_length"),
    )

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
