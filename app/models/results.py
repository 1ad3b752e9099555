"""Verifiable results: targets with milestones, measurements, and evidence documents."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Date, ForeignKey, Index, Numeric, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.models._types import one_of, timestamp, utcnow


class Indicator(StrEnum):
    companies_served = "companies_served"
    investment_pipeline = "investment_pipeline"
    company_installations = "company_installations"
    technical_exchanges = "technical_exchanges"
    certified_trainings = "certified_trainings"
    technology_pilots = "technology_pilots"
    public_service_improvements = "public_service_improvements"
    jobs_created = "jobs_created"
    custom = "custom"


class Measure(StrEnum):
    count = "count"  # type: ignore[assignment]
    currency = "currency"
    percentage = "percentage"
    qualitative = "qualitative"


class MeasurementStatus(StrEnum):
    reported = "reported"
    verified = "verified"
    rejected = "rejected"


class DocumentType(StrEnum):
    agreement_text = "agreement_text"
    council_minutes = "council_minutes"
    sre_dictamen = "sre_dictamen"
    registration_certificate = "registration_certificate"
    progress_report = "progress_report"
    attendance_list = "attendance_list"
    training_certificate = "training_certificate"
    photo = "photo"
    invoice = "invoice"
    press_release = "press_release"
    other = "other"


class EvidenceStatus(StrEnum):
    submitted = "submitted"
    accepted = "accepted"
    rejected = "rejected"


VALUE = Numeric(20, 4)


class Target(SQLModel, table=True):
    __tablename__ = "targets"
    __table_args__ = (
        one_of("indicator", Indicator),
        one_of("measure", Measure),
        CheckConstraint("measure <> 'currency' OR unit ~ '^[A-Z]{3}$'", name="currency_unit"),
        CheckConstraint("jsonb_typeof(milestones) = 'array'", name="milestones_array"),
        Index("ix_targets_agreement", "agreement_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    agreement_id: uuid.UUID = Field(sa_column=Column(ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False))
    indicator: str
    title: str = Field(max_length=300)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    measure: str
    unit: str | None = Field(default=None, max_length=40)
    ascending: bool = True
    baseline_value: Decimal | None = Field(default=None, sa_column=Column(VALUE, nullable=True))
    baseline_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    baseline_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # [{"months": 6, "target_value": "10"}...], ordered by months; values as decimal strings.
    milestones: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    responsible_org_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=True)
    )
    created_at: datetime = timestamp(default_factory=utcnow)
    updated_at: datetime = timestamp(default_factory=utcnow)


class EvidenceDocument(SQLModel, table=True):
    __tablename__ = "evidence_documents"
    __table_args__ = (
        one_of("document_type", DocumentType),
        one_of("status", EvidenceStatus),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        CheckConstraint("size_bytes >= 0", name="size_non_negative"),
        Index("uq_evidence_documents_content", "agreement_id", "sha256", unique=True),
        Index("ix_evidence_documents_agreement", "agreement_id", "uploaded_at", "id"),
        Index("ix_evidence_documents_supersedes", "supersedes_id", postgresql_where=text("supersedes_id IS NOT NULL")),
    )
    # The review is recorded by its own log entry; what was uploaded is the resource.
    __log_exclude__ = frozenset({"storage_key"})

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    agreement_id: uuid.UUID = Field(sa_column=Column(ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False))
    target_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("targets.id", ondelete="SET NULL"), nullable=True)
    )
    supersedes_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("evidence_documents.id", ondelete="RESTRICT"), nullable=True)
    )
    title: str = Field(max_length=300)
    document_type: str
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    language: str | None = Field(default=None, max_length=2)
    document_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    filename: str = Field(max_length=255)
    media_type: str = Field(max_length=120)
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200)
    uploaded_by_org_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=False)
    )
    uploaded_at: datetime = timestamp(default_factory=utcnow)
    status: str = Field(default=EvidenceStatus.submitted.value, max_length=16)
    review_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewed_at: datetime | None = timestamp(default=None)
    reviewed_by_org_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=True)
    )


class Measurement(SQLModel, table=True):
    __tablename__ = "measurements"
    __table_args__ = (
        one_of("status", MeasurementStatus),
        Index("ix_measurements_target", "target_id", "as_of", "created_at", "id"),
        Index("ix_measurements_agreement", "agreement_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    target_id: uuid.UUID = Field(sa_column=Column(ForeignKey("targets.id", ondelete="CASCADE"), nullable=False))
    agreement_id: uuid.UUID = Field(sa_column=Column(ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False))
    as_of: date = Field(sa_column=Column(Date, nullable=False))
    value: Decimal | None = Field(default=None, sa_column=Column(VALUE, nullable=True))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default=MeasurementStatus.reported.value, max_length=16)
    reported_by_org_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=False)
    )
    decided_at: datetime | None = timestamp(default=None)
    decided_by_org_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=True)
    )
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = timestamp(default_factory=utcnow)
    updated_at: datetime = timestamp(default_factory=utcnow)


class MeasurementEvidence(SQLModel, table=True):
    """The evidence documents a measurement cites."""

    __tablename__ = "measurement_evidence"

    measurement_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("measurements.id", ondelete="CASCADE"), primary_key=True)
    )
    evidence_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("evidence_documents.id", ondelete="RESTRICT"), primary_key=True, index=True)
    )
