"""API schemas for the dashboard summary."""

import uuid
from datetime import date

from pydantic import BaseModel, Field

from app.models.results import Indicator, Measure
from app.targets.schemas import MilestoneStatus


class SummaryFilters(BaseModel):
    state: str | None = Field(description="The signatories' ISO 3166-2 code, when filtered.")
    signatory_org_id: uuid.UUID | None


class StateCount(BaseModel):
    state: str | None = Field(description="ISO 3166-2; null for signatories without a subdivision.")
    name: str | None = Field(description="The subdivision's name.")
    agreements: int


class IndicatorTotal(BaseModel):
    """One key indicator's total over the targets that measure it."""

    indicator: Indicator
    measure: Measure = Field(description="`count` or `currency`: percentages and qualitative results do not add up.")
    unit: str | None = Field(
        description="The ISO 4217 currency of a currency total; a count's unit, if it has one. One total per unit."
    )
    total: float = Field(description="The sum over targets of each target's latest verified value.")
    targets: int = Field(description="Targets with a verified value that the total adds up.")


class MilestoneAttainment(BaseModel):
    by_status: dict[MilestoneStatus, int] = Field(description="Every milestone of the targets, by status today.")
    milestones: int
    due: int = Field(description="Milestones whose due date has passed.")
    mean_attainment: float | None = Field(
        description="Mean of (actual - baseline) / (target - baseline) over the due numeric milestones, nothing "
        "verified counting as 0 (no progress); null when none is due."
    )
    attainment_milestones: int = Field(description="How many due milestones the mean is taken over.")


class DashboardSummary(BaseModel):
    """Public agreements (signed onwards) in figures, evaluated today; verified measurements only."""

    as_of: date = Field(description="The day the figures were evaluated (PACTA_TIMEZONE).")
    filters: SummaryFilters
    agreements: int = Field(description="Public agreements counted.")
    by_status: dict[str, int] = Field(description="Agreements by status (every status a public agreement can have).")
    by_registration_status: dict[str, int] = Field(description="Agreements by SRE registration status.")
    by_subject_area: dict[str, int] = Field(
        description="Agreements by subject area (an agreement counts once in each of its areas)."
    )
    by_counterpart_country: dict[str, int] = Field(
        description="Agreements by counterpart country (ISO 3166-1 alpha-2), most first; an agreement counts once "
        "per country."
    )
    by_state: list[StateCount] = Field(description="Agreements by the signatory's state, most first.")
    key_indicators: list[IndicatorTotal]
    milestones: MilestoneAttainment
