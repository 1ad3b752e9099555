"""API schemas for measurements."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.models.results import MeasurementStatus
from app.targets.schemas import Value
from app.types import Day


class MeasurementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: Day = Field(description="The date the value describes.")
    value: Value | None = Field(default=None, description="The indicator's cumulative level as of that date.")
    comment: Annotated[str, StringConstraints(max_length=5000)] | None = None
    evidence_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=50, description="Evidence on this agreement."
    )


class MeasurementRead(BaseModel):
    id: uuid.UUID
    target_id: uuid.UUID
    agreement_id: uuid.UUID
    as_of: date
    value: float | None
    comment: str | None
    evidence_ids: list[uuid.UUID]
    status: MeasurementStatus
    reported_by_org_id: uuid.UUID
    decided_at: datetime | None
    decided_by_org_id: uuid.UUID | None
    decision_note: str | None
    created_at: datetime
    updated_at: datetime


class VerificationDecision(StrEnum):
    verified = "verified"
    rejected = "rejected"


class Verification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: VerificationDecision
    note: Annotated[str, StringConstraints(max_length=5000)] | None = None
