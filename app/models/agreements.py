"""Agreements, the organizations allowed to contribute to them, legal reviews and registrations."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, Computed, Date, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlmodel import Field, SQLModel

from app.models._types import one_of, timestamp, utcnow


class Instrument(StrEnum):
    sister_city = "sister_city"
    cooperation = "cooperation"
    memorandum = "memorandum"
    letter_of_intent = "letter_of_intent"
    other = "other"


class SubjectArea(StrEnum):
    economic_development = "economic_development"
    investment_promotion = "investment_promotion"
    trade = "trade"
    tourism = "tourism"
    education = "education"
    academic_exchange = "academic_exchange"
    culture = "culture"
    sports = "sports"
    health = "health"
    public_security = "public_security"
    environment = "environment"
    water = "water"
    energy = "energy"
    mobility = "mobility"
    logistics = "logistics"
    urban_services = "urban_services"
    technology_innovation = "technology_innovation"
    workforce_training = "workforce_training"
    social_assistance = "social_assistance"
    other = "other"


class CounterpartKind(StrEnum):
    foreign_government_body = "foreign_government_body"
    international_organization = "international_organization"
    private_entity = "private_entity"


class AgreementStatus(StrEnum):
    terminated = "terminated"
    withdrawn = "withdrawn"
    expired = "expired"
    suspended = "suspended"
    in_force = "in_force"
    signed = "signed"
    not_viable = "not_viable"
    cleared_for_signature = "cleared_for_signature"
    under_review = "under_review"
    draft = "draft"


class RegistrationStatus(StrEnum):
    not_applicable = "not_applicable"
    pending = "pending"
    submitted = "submitted"
    registered = "registered"
    rejected = "rejected"


class LegalStage(StrEnum):
    """What the legal reviews say, kept on the agreement so status can be filtered in SQL."""

    none = "none"
    under_review = "under_review"
    cleared_for_signature = "cleared_for_signature"
    not_viable = "not_viable"


class ReviewKind(StrEnum):
    internal_legal = "internal_legal"
    council_approval = "council_approval"
    state_congress = "state_congress"
    sre_dictamen = "sre_dictamen"


class ReviewOutcome(StrEnum):
    pending = "pending"
    favorable = "favorable"
    favorable_with_observations = "favorable_with_observations"
    unfavorable = "unfavorable"
    returned_for_changes = "returned_for_changes"


class Registry(StrEnum):
    sre = "sre"
    state = "state"
    other = "other"


class RegistrationState(StrEnum):
    submitted = "submitted"
    registered = "registered"
    rejected = "rejected"


# Accent-folded text for Spanish full-text search. The embedded PostgreSQL ships no `unaccent`,
# so the migration defines pacta_fold() (lower + translate), which is immutable and indexable.
SEARCH_VECTOR_SQL = (
    "to_tsvector('spanish'::regconfig, pacta_fold(coalesce(title, '') || ' ' || coalesce(summary, '') || ' ' "
    "|| coalesce(jsonb_path_query_array(counterparts, '$[*].name')::text, '')))"
)


class Agreement(SQLModel, table=True):
    __tablename__ = "agreements"
    __table_args__ = (
        one_of("instrument", Instrument),
        one_of("legal_stage", LegalStage),
        CheckConstraint(
            "registration_state IS NULL OR registration_state IN ('submitted', 'registered', 'rejected')",
            name="registration_state_allowed",
        ),
        CheckConstraint("entry_into_force_on IS NULL OR signed_on IS NOT NULL", name="force_needs_signature"),
        CheckConstraint(
            "entry_into_force_on IS NULL OR entry_into_force_on >= signed_on", name="force_after_signature"
        ),
        CheckConstraint(
            "terminated_on IS NULL OR (signed_on IS NOT NULL AND terminated_on >= signed_on)",
            name="termination_after_signature",
        ),
        CheckConstraint(
            "expires_on IS NULL OR signed_on IS NULL OR expires_on > signed_on", name="expiry_after_signature"
        ),
        CheckConstraint(
            "suspended_on IS NULL OR (signed_on IS NOT NULL AND suspended_on >= signed_on)",
            name="suspension_after_signature",
        ),
        CheckConstraint("jsonb_typeof(counterparts) = 'array'", name="counterparts_array"),
        Index(
            "uq_agreements_external_ref",
            "signatory_org_id",
            "external_ref",
            unique=True,
            postgresql_where=text("external_ref IS NOT NULL"),
        ),
        Index("ix_agreements_updated", "updated_at", "id"),
        Index("ix_agreements_signatory_updated", "signatory_org_id", "updated_at", "id"),
        Index("ix_agreements_signed", text("coalesce(signed_on, '0001-01-01'::date)"), "id"),
        Index("ix_agreements_title", "title", "id"),
        Index("ix_agreements_search", "search_vector", postgresql_using="gin"),
        Index(
            "ix_agreements_counterparts",
            "counterparts",
            postgresql_using="gin",
            postgresql_ops={"counterparts": "jsonb_path_ops"},
        ),
        Index("ix_agreements_subject_areas", "subject_areas", postgresql_using="gin"),
    )
    # Kept in step with the legal reviews and registrations (and bumped by their writes), whose
    # own log entries record those changes; the search vector is derived by the database.
    __log_exclude__ = frozenset({"legal_stage", "registration_state", "search_vector", "updated_at"})

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    signatory_org_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=False)
    )
    title: str = Field(max_length=500)
    instrument: str
    summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    subject_areas: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}")
    )
    counterparts: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    languages: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}")
    )
    has_dispute_settlement_clause: bool | None = None
    signed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    signed_place: str | None = Field(default=None, max_length=300)
    entry_into_force_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    expires_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    suspended_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    terminated_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    termination_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    withdrawn_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    external_ref: str | None = Field(default=None, max_length=200)
    legal_stage: str = Field(default=LegalStage.none.value, max_length=32)
    registration_state: str | None = Field(default=None, max_length=16)
    search_vector: Any = Field(default=None, sa_column=Column(TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True)))
    created_at: datetime = timestamp(default_factory=utcnow)
    updated_at: datetime = timestamp(default_factory=utcnow)


class AgreementParticipant(SQLModel, table=True):
    """An organization allowed to contribute evidence and measurements to an agreement."""

    __tablename__ = "agreement_participants"

    agreement_id: uuid.UUID = Field(sa_column=Column(ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True))
    organization_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organizations.id", ondelete="RESTRICT"), primary_key=True, index=True)
    )


class LegalReview(SQLModel, table=True):
    __tablename__ = "legal_reviews"
    __table_args__ = (
        one_of("kind", ReviewKind),
        one_of("outcome", ReviewOutcome),
        CheckConstraint("decided_on IS NULL OR decided_on >= requested_on", name="decided_after_requested"),
        CheckConstraint("(outcome = 'pending') = (decided_on IS NULL)", name="decision_dated"),
        Index("ix_legal_reviews_agreement", "agreement_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    agreement_id: uuid.UUID = Field(sa_column=Column(ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False))
    kind: str
    requested_on: date = Field(sa_column=Column(Date, nullable=False))
    decided_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    outcome: str = Field(default=ReviewOutcome.pending.value)
    reference: str | None = Field(default=None, max_length=200)
    reviewer: str | None = Field(default=None, max_length=300)
    observations: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    checks: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    document_id: uuid.UUID | None = None
    created_at: datetime = timestamp(default_factory=utcnow)
    updated_at: datetime = timestamp(default_factory=utcnow)


class Registration(SQLModel, table=True):
    __tablename__ = "registrations"
    __table_args__ = (
        one_of("registry_kind", Registry),
        one_of("status", RegistrationState),
        CheckConstraint(
            "status <> 'registered' OR (registry_number IS NOT NULL AND registered_on IS NOT NULL)",
            name="registered_has_number",
        ),
        CheckConstraint("registered_on IS NULL OR registered_on >= submitted_on", name="registered_after_submitted"),
        Index("ix_registrations_agreement", "agreement_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    agreement_id: uuid.UUID = Field(sa_column=Column(ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False))
    # `registry` is reserved by SQLAlchemy's declarative base; the API calls this field `registry`.
    registry_kind: str
    status: str
    submitted_on: date = Field(sa_column=Column(Date, nullable=False))
    registered_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    registry_number: str | None = Field(default=None, max_length=100)
    observations: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    document_id: uuid.UUID | None = None
    created_at: datetime = timestamp(default_factory=utcnow)
    updated_at: datetime = timestamp(default_factory=utcnow)
