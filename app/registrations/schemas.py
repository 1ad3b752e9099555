"""API schemas for registrations."""

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.models.agreements import RegistrationState, Registry
from app.types import Day

Number = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Notes = Annotated[str, StringConstraints(max_length=20000)]


class RegistrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registry: Registry
    status: RegistrationState = RegistrationState.submitted
    submitted_on: Day
    registered_on: Day | None = None
    registry_number: Number | None = Field(default=None, description="Required once registered.")
    observations: Notes | None = Field(default=None, description="Not public.")
    document_id: uuid.UUID | None = None


class RegistrationUpdate(BaseModel):
    """Fields to change; absent fields are kept."""

    model_config = ConfigDict(extra="forbid")

    registry: Registry | None = None
    status: RegistrationState | None = None
    submitted_on: Day | None = None
    registered_on: Day | None = None
    registry_number: Number | None = None
    observations: Notes | None = None
    document_id: uuid.UUID | None = None


class RegistrationRead(BaseModel):
    id: uuid.UUID
    agreement_id: uuid.UUID
    registry: Registry
    status: RegistrationState
    submitted_on: date
    registered_on: date | None
    registry_number: str | None
    observations: str | None = Field(description="Null for callers who may not read it.")
    document_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
