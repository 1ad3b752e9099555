"""The shared agenda (activities) and the secret feed tokens of calendar subscriptions."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Text
from sqlmodel import Field, SQLModel

from app.models._types import one_of, timestamp, utcnow


class ActivityKind(StrEnum):
    business_mission = "business_mission"
    technical_exchange = "technical_exchange"
    training = "training"
    visit = "visit"
    meeting = "meeting"
    event = "event"
    pilot_launch = "pilot_launch"
    other = "other"


class ActivityStatus(StrEnum):
    planned = "planned"
    confirmed = "confirmed"
    held = "held"
    cancelled = "cancelled"


class Activity(SQLModel, table=True):
    __tablename__ = "activities"
    __table_args__ = (
        one_of("kind", ActivityKind),
        one_of("status", ActivityStatus),
        CheckConstraint("ends_at IS NULL OR ends_at >= starts_at", name="ends_after_start"),
        Index("ix_activities_agreement", "agreement_id", "starts_at", "id"),
        Index("ix_activities_starts", "starts_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    agreement_id: uuid.UUID = Field(sa_column=Column(ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False))
    kind: str
    title: str = Field(max_length=300)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    starts_at: datetime = timestamp()
    ends_at: datetime | None = timestamp(default=None)
    # The offset the organizer gave (minutes east of UTC), so calendars show the local time.
    utc_offset_minutes: int = Field(default=0)
    place: str | None = Field(default=None, max_length=300)
    organizer_org_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=True)
    )
    status: str = Field(default=ActivityStatus.planned.value, max_length=16)
    proposed_by_org_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=False)
    )
    created_at: datetime = timestamp(default_factory=utcnow)
    updated_at: datetime = timestamp(default_factory=utcnow)


class ActivityLink(SQLModel, table=True):
    """What an activity involves: participating organizations, targets served, evidence produced."""

    __tablename__ = "activity_links"
    __table_args__ = (
        CheckConstraint("link IN ('participant', 'target', 'evidence')", name="link_allowed"),
        Index("ix_activity_links_ref", "link", "ref_id"),
    )

    activity_id: uuid.UUID = Field(sa_column=Column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True))
    link: str = Field(primary_key=True, max_length=16)
    ref_id: uuid.UUID = Field(primary_key=True)


class CalendarToken(SQLModel, table=True):
    """A revocable secret feed URL: calendar clients cannot send a Bearer header."""

    __tablename__ = "calendar_tokens"
    __log_exclude__ = frozenset({"token_hash"})

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organization_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=False, index=True)
    )
    name: str | None = Field(default=None, max_length=200)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = timestamp(default_factory=utcnow)
    revoked_at: datetime | None = timestamp(default=None)
