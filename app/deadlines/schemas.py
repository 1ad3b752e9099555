"""API schemas for deadlines."""

import uuid
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field


class DeadlineKind(StrEnum):
    expiry = "expiry"
    milestone_due = "milestone_due"
    registration_overdue = "registration_overdue"
    activity = "activity"


class Deadline(BaseModel):
    date: date
    kind: DeadlineKind
    agreement_id: uuid.UUID
    subject_id: uuid.UUID = Field(description="The agreement, target or activity the deadline is about.")
    title: str
    url: str
