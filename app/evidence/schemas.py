"""API schemas for evidence documents."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.log.schemas import Entry as LogEntryView
from app.models.results import DocumentType, EvidenceStatus


class EvidenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    agreement_id: uuid.UUID
    target_id: uuid.UUID | None
    supersedes_id: uuid.UUID | None = Field(description="The document this one replaces.")
    title: str
    document_type: DocumentType
    description: str | None
    language: str | None
    document_date: date | None
    filename: str = Field(description="As uploaded; for display only.")
    media_type: str = Field(description="Judged from the file's bytes.")
    size_bytes: int
    sha256: str = Field(description="Hex SHA-256 of the content; also the content's ETag.")
    uploaded_by_org_id: uuid.UUID
    uploaded_at: datetime
    status: EvidenceStatus
    review_note: str | None = Field(description="Null for callers outside the agreement.")
    reviewed_at: datetime | None
    content_url: str


class EvidenceDecision(StrEnum):
    accepted = "accepted"
    rejected = "rejected"


class EvidenceReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: EvidenceDecision
    note: Annotated[str, StringConstraints(max_length=5000)] | None = None


class Provenance(BaseModel):
    """What anyone needs to prove a document's hash is in the transparency log."""

    evidence_id: uuid.UUID
    sha256: str = Field(description="The content's SHA-256, as in `document`.")
    log_index: int = Field(description="The entry written when the document was uploaded.")
    document: dict[str, Any] = Field(
        description="The record as logged at upload; its RFC 8785 SHA-256 is resource_sha256."
    )
    entry: LogEntryView
    inclusion_proof_url: str = Field(
        description="Prove the entry against a checkpoint: add tree_size=<checkpoint size>."
    )
