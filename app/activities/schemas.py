"""API schemas for activities."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.models.agenda import ActivityKind, ActivityStatus
from app.types import Instant

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Ids = list[uuid.UUID]


class ActivityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ActivityKind
    title: Title
    description: Annotated[str, StringConstraints(max_length=10000)] | None = None
    starts_at: Instant = Field(description="RFC 3339 with offset; the offset is kept for calendars.")
    ends_at: Instant | None = None
    place: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    organizer_org_id: uuid.UUID | None = None
    participant_org_ids: Ids = Field(default_factory=list, max_length=100)
    target_ids: Ids = Field(default_factory=list, max_length=50, description="Targets of this agreement it serves.")
    evidence_ids: Ids = Field(
        default_factory=list, max_length=50, description="Evidence of this agreement it produced."
    )
    status: ActivityStatus = Field(default=ActivityStatus.planned, description="Participants propose: always planned.")


class ActivityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ActivityKind | None = None
    title: Title | None = None
    description: Annotated[str, StringConstraints(max_length=10000)] | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    place: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    organizer_org_id: uuid.UUID | None = None
    participant_org_ids: Ids | None = Field(default=None, max_length=100)
    target_ids: Ids | None = Field(default=None, max_length=50)
    evidence_ids: Ids | None = Field(default=None, max_length=50)
    status: ActivityStatus | None = Field(default=None, description="The signatory's editor confirms.")


class ActivityRead(BaseModel):
    id: uuid.UUID
    agreement_id: uuid.UUID
    kind: ActivityKind
    title: str
    description: str | None
    starts_at: datetime
    ends_at: datetime | None
    place: str | None
    organizer_org_id: uuid.UUID | None
    participant_org_ids: Ids
    target_ids: Ids
    evidence_ids: Ids
    status: ActivityStatus
    proposed_by_org_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
