"""API schemas for calendar feed tokens."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class CalendarTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None


class CalendarTokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


class CalendarTokenCreated(CalendarTokenRead):
    token: str = Field(description="Shown once. Put it in the feed URL as ?token=…")
    feed_url: str = Field(description="The organization's private feed, to paste into a calendar client.")
