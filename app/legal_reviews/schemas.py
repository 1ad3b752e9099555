"""API schemas for legal reviews."""

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.models.agreements import ReviewKind, ReviewOutcome
from app.types import Day

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ReviewChecks(BaseModel):
    """What the reviewer checked (LSCT arts. 2 and 8); null = not assessed."""

    model_config = ConfigDict(extra="forbid")

    foreign_party_is_governmental: StrictBool | None = None
    within_competence: StrictBool | None = None
    is_not_a_treaty: StrictBool | None = None
    dispute_clause_compliant: StrictBool | None = None


class LegalReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ReviewKind
    requested_on: Day
    decided_on: Day | None = None
    outcome: ReviewOutcome = ReviewOutcome.pending
    reference: Short | None = Field(default=None, description="Oficio or acta number.")
    reviewer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] | None = None
    observations: Annotated[str, StringConstraints(max_length=20000)] | None = Field(
        default=None, description="Not public: only the signatory, auditors and admins read it."
    )
    checks: ReviewChecks = Field(default_factory=ReviewChecks)
    document_id: uuid.UUID | None = Field(default=None, description="The evidence document holding the opinion.")


class LegalReviewUpdate(BaseModel):
    """Fields to change; absent fields are kept."""

    model_config = ConfigDict(extra="forbid")

    kind: ReviewKind | None = None
    requested_on: Day | None = None
    decided_on: Day | None = None
    outcome: ReviewOutcome | None = None
    reference: Short | None = None
    reviewer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] | None = None
    observations: Annotated[str, StringConstraints(max_length=20000)] | None = None
    checks: ReviewChecks | None = None
    document_id: uuid.UUID | None = None


class LegalReviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    agreement_id: uuid.UUID
    kind: ReviewKind
    requested_on: date
    decided_on: date | None
    outcome: ReviewOutcome
    reference: str | None
    reviewer: str | None
    observations: str | None = Field(description="Null for callers who may not read it.")
    checks: ReviewChecks
    document_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
