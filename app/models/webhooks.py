"""Webhook subscriptions, the transactional outbox of events, and deliveries with their attempts."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from app.models._types import one_of, timestamp, utcnow


class SubscriptionStatus(StrEnum):
    active = "active"
    failing = "failing"
    disabled = "disabled"


class DeliveryState(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (one_of("status", SubscriptionStatus),)
    __log_exclude__ = frozenset({"secret", "consecutive_failures", "status"})

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organization_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=False, index=True)
    )
    # Events are filtered with the eyes of the key that subscribed (its organization and role), and
    # stop when that key is revoked or expires.
    role: str = Field(max_length=32)
    api_key_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True)
    )
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    description: str | None = Field(default=None, max_length=500)
    # Needed in clear to sign (HMAC); never shown again after creation.
    secret: str = Field(max_length=100)
    status: str = Field(default=SubscriptionStatus.active.value, max_length=16)
    consecutive_failures: int = Field(default=0)
    created_at: datetime = timestamp(default_factory=utcnow)
    updated_at: datetime = timestamp(default_factory=utcnow)


class WebhookEvent(SQLModel, table=True):
    """The outbox: written in the transaction of the change that caused it."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_created", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    type: str = Field(max_length=64)
    agreement_id: uuid.UUID | None = Field(default=None)
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = timestamp(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        one_of("state", DeliveryState),
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),
    )

    subscription_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), primary_key=True)
    )
    event_id: uuid.UUID = Field(sa_column=Column(ForeignKey("webhook_events.id", ondelete="CASCADE"), primary_key=True))
    state: str = Field(default=DeliveryState.pending.value, max_length=16)
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    next_attempt_at: datetime = timestamp(default_factory=utcnow)
    locked_until: datetime | None = timestamp(default=None)
    delivered_at: datetime | None = timestamp(default=None)
    created_at: datetime = timestamp(default_factory=utcnow)


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_subscription", "subscription_id", "attempted_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False)
    )
    event_id: uuid.UUID = Field(sa_column=Column(ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False))
    attempt: int
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    attempted_at: datetime = timestamp(default_factory=utcnow)
    duration_ms: int = 0


class EmittedNotice(SQLModel, table=True):
    """Deadline and finding events already emitted, so the worker emits each once."""

    __tablename__ = "emitted_notices"

    key: str = Field(primary_key=True, max_length=300)
    due_on: date = Field(sa_column=Column(Date, nullable=False))
    created_at: datetime = timestamp(default_factory=utcnow)
