"""API schemas for targets and their milestones."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StrictBool, StrictInt, StringConstraints

from app.i18n import Text, TextError
from app.models.results import Indicator, Measure
from app.types import Day


def _four_places(value: float) -> float:
    """Values are stored with four decimal places: refuse more rather than round silently. A
    negative zero is zero: NUMERIC has none, so the value written must be the value read back
    (the write's answer, and its ETag, are those of the stored row)."""
    if round(value, 4) != value:
        raise TextError(Text("validation.decimal_places"))
    return 0.0 if value == 0 else value


# Strict: JSON numbers only (pydantic would otherwise read "1.5" or true as a number).
Value = Annotated[float, Strict(), Field(allow_inf_nan=False, ge=-1e14, le=1e14), AfterValidator(_four_places)]


class Baseline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Value | None = None
    on: Day | None = None
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None


class MilestoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    months: StrictInt = Field(ge=1, le=600, description="Months after entry into force.")
    target_value: Value | None = Field(default=None, description="Required unless the measure is qualitative.")


class TargetFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, StringConstraints(max_length=10000)] | None = None
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None = Field(
        default=None, description="An ISO 4217 code when the measure is currency."
    )
    ascending: StrictBool = Field(default=True, description="False when lower is better.")
    baseline: Baseline | None = None
    responsible_org_id: uuid.UUID | None = None


class TargetCreate(TargetFields):
    indicator: Indicator
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    measure: Measure
    milestones: list[MilestoneIn] | None = Field(
        default=None,
        max_length=24,
        description="Default: 6, 12 and 24 months (target values needed unless qualitative).",
    )


class TargetUpdate(TargetFields):
    indicator: Indicator | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] | None = None
    measure: Measure | None = None
    ascending: StrictBool | None = None  # type: ignore[assignment]
    milestones: list[MilestoneIn] | None = Field(default=None, max_length=24)


class MilestoneStatus(StrEnum):
    scheduled = "scheduled"
    met = "met"
    partially_met = "partially_met"
    not_met = "not_met"


class MilestoneRead(BaseModel):
    months: int
    target_value: float | None
    due_on: date | None = Field(description="Entry into force + months; null while not in force.")
    status: MilestoneStatus
    actual_value: float | None = Field(description="Latest verified measurement dated on or before due_on.")
    attainment: float | None = Field(description="(actual - baseline) / (target - baseline).")


class Latest(BaseModel):
    value: float | None
    as_of: date


class TargetRead(BaseModel):
    id: uuid.UUID
    agreement_id: uuid.UUID
    indicator: Indicator
    title: str
    description: str | None
    measure: Measure
    unit: str | None
    ascending: bool
    baseline: Baseline | None
    milestones: list[MilestoneRead]
    responsible_org_id: uuid.UUID | None
    latest: Latest | None = Field(description="The latest verified measurement.")
    created_at: datetime
    updated_at: datetime
