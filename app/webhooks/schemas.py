"""API schemas for webhooks."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.models.webhooks import SubscriptionStatus

EventPattern = Annotated[str, StringConstraints(pattern=r"^(\*|[a-z_]+\.(\*|[a-z_]+))$", max_length=64)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2000)] = Field(
        description="https, on a public address."
    )
    event_types: list[EventPattern] = Field(
        min_length=1, max_length=30, description="e.g. agreement.*, measurement.verified"
    )
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2000)] | None = None
    event_types: list[EventPattern] | None = Field(default=None, min_length=1, max_length=30)
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    status: Literal["active", "disabled"] | None = Field(default=None, description="active also clears failing.")


class WebhookRead(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    status: SubscriptionStatus
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="whsec_…: verify signatures with it (Standard Webhooks). Shown once.")


class DeliveryAttempt(BaseModel):
    event_id: uuid.UUID
    event_type: str
    attempt: int
    status_code: int | None
    error: str | None
    attempted_at: datetime
    duration_ms: int


class Redelivery(BaseModel):
    event_id: uuid.UUID
    state: str
