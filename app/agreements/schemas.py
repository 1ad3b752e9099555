"""API schemas for agreements."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.models.agreements import AgreementStatus, CounterpartKind, Instrument, RegistrationStatus, SubjectArea
from app.types import Day

Text300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]


class Counterpart(BaseModel):
    """A foreign party. Counterparts have no accounts; they are recorded on the agreement."""

    model_config = ConfigDict(extra="forbid")

    name: Text300
    kind: CounterpartKind
    country: CountryCode = Field(description="ISO 3166-1 alpha-2.")
    region: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = Field(
        default=None, description="Free text: state, province, prefecture…"
    )


class AgreementFacts(BaseModel):
    """Fields shared by create and update."""

    model_config = ConfigDict(extra="forbid")

    summary: Annotated[str, StringConstraints(max_length=10000)] | None = None
    subject_areas: list[SubjectArea] = Field(default_factory=list, max_length=20)
    counterparts: list[Counterpart] = Field(default_factory=list, max_length=50)
    participant_org_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=100, description="Organizations allowed to contribute evidence."
    )
    languages: list[LanguageCode] = Field(default_factory=list, max_length=10, description="ISO 639-1 codes.")
    has_dispute_settlement_clause: StrictBool | None = None
    signed_on: Day | None = None
    signed_place: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    entry_into_force_on: Day | None = Field(default=None, description="Defaults to signed_on.")
    expires_on: Day | None = Field(default=None, description="Last day in force; null = indefinite.")
    suspended_on: Day | None = None
    terminated_on: Day | None = None
    termination_reason: Annotated[str, StringConstraints(max_length=5000)] | None = None
    withdrawn_on: Day | None = None
    external_ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        default=None, description="The owner's own folio; unique per signatory."
    )


class AgreementCreate(AgreementFacts):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    instrument: Instrument
    signatory_org_id: uuid.UUID = Field(description="A municipality, state or federal body.")
    counterparts: list[Counterpart] = Field(min_length=1, max_length=50)


class AgreementUpdate(AgreementFacts):
    """Fields to change; absent fields are kept, null clears an optional one."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] | None = None
    instrument: Instrument | None = None
    subject_areas: list[SubjectArea] | None = Field(default=None, max_length=20)  # type: ignore[assignment]
    counterparts: list[Counterpart] | None = Field(default=None, min_length=1, max_length=50)  # type: ignore[assignment]
    participant_org_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)  # type: ignore[assignment]
    languages: list[LanguageCode] | None = Field(default=None, max_length=10)  # type: ignore[assignment]


class AgreementRead(BaseModel):
    id: uuid.UUID
    title: str
    instrument: Instrument
    summary: str | None
    subject_areas: list[SubjectArea]
    signatory_org_id: uuid.UUID
    counterparts: list[Counterpart]
    participant_org_ids: list[uuid.UUID]
    languages: list[str]
    has_dispute_settlement_clause: bool | None
    signed_on: date | None
    signed_place: str | None
    entry_into_force_on: date | None
    expires_on: date | None
    suspended_on: date | None
    terminated_on: date | None
    termination_reason: str | None
    withdrawn_on: date | None
    external_ref: str | None
    status: AgreementStatus = Field(description="Derived from the facts, evaluated today (PACTA_TIMEZONE).")
    registration_status: RegistrationStatus
    created_at: datetime
    updated_at: datetime


class AgreementSort(StrEnum):
    updated_desc = "-updated_at"
    updated_asc = "updated_at"
    signed_asc = "signed_on"
    signed_desc = "-signed_on"
    title_asc = "title"


class FieldChange(BaseModel):
    before: Any = Field(alias="from")
    after: Any = Field(alias="to")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class HistoryEntry(BaseModel):
    """One write, as the transparency log recorded it, with what it changed."""

    index: int = Field(description="Position in the transparency log.")
    at: datetime
    actor_org_id: uuid.UUID | None
    action: str
    resource_type: str
    resource_id: str
    resource_sha256: str
    changes: dict[str, FieldChange] = Field(description="Field -> {from, to}; on create every field set.")
