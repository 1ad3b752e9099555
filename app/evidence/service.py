"""Uploading, reviewing and serving evidence documents."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from fastapi import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from app import catalogs
from app.agreements import access
from app.agreements import service as agreement_service
from app.agreements.schemas import AgreementRead
from app.auth.dependencies import Principal
from app.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, UnsupportedMediaType, field_error
from app.evidence import repository
from app.evidence.schemas import EvidenceDecision, EvidenceRead, EvidenceReview, Provenance
from app.http.pagination import PageParams, make_page
from app.log import repository as log_repository
from app.log import service as log_service
from app.models import EvidenceDocument
from app.models.results import DocumentType, EvidenceStatus
from app.storage import CHUNK, DigestMismatch, EvidenceStorage, TooLarge
from app.storage.sniff import SNIFF_BYTES, media_type_of
from app.targets import repository as target_repository

RESOURCE = "evidence"


class EvidenceNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No evidence document with that id (or not one you may see).")


class DuplicateEvidence(Conflict):
    slug = "duplicate-evidence"


class AlreadyReviewed(Conflict):
    slug = "evidence-already-reviewed"


@dataclass(frozen=True, slots=True)
class UploadForm:
    title: str
    document_type: DocumentType
    description: str | None
    language: str | None
    document_date: date | None
    target_id: uuid.UUID | None
    supersedes_id: uuid.UUID | None
    sha256: str | None


def to_read(document: EvidenceDocument, *, insider: bool, content_url: str) -> EvidenceRead:
    read = EvidenceRead.model_validate({**document.model_dump(), "content_url": content_url})
    return read if insider else read.model_copy(update={"review_note": None})


async def _chunks(head: bytes, upload: UploadFile) -> AsyncIterator[bytes]:
    if head:
        yield head
    while chunk := await upload.read(CHUNK):
        yield chunk


async def upload_evidence(
    session: AsyncSession,
    storage: EvidenceStorage,
    agreement_id: uuid.UUID,
    form: UploadForm,
    upload: UploadFile,
    *,
    principal: Principal,
    today: date,
    max_bytes: int,
) -> EvidenceDocument:
    agreement = await agreement_service.get_visible(session, agreement_id, principal=principal, today=today)
    if not access.can_contribute(principal, agreement.signatory_org_id, agreement.participant_org_ids):
        raise Forbidden("Only the signatory's editors and the contributors of listed participants may upload evidence.")
    if form.language is not None and not catalogs.is_language(form.language):
        raise field_error(["body", "language"], f"{form.language!r} is not an ISO 639-1 language code.")
    if (
        form.target_id is not None
        and await target_repository.get(session, form.target_id, agreement_id=agreement.id) is None
    ):
        raise field_error(["body", "target_id"], "No target with that id on this agreement.")
    if form.supersedes_id is not None and not await repository.of_agreement(
        session, agreement.id, [form.supersedes_id]
    ):
        raise field_error(["body", "supersedes_id"], "No evidence document with that id on this agreement.")
    filename = (upload.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:255] or "upload"
    head = await upload.read(SNIFF_BYTES)
    media_type = media_type_of(head, filename=filename)
    if media_type is None:
        raise UnsupportedMediaType(
            "The file's content is not an accepted type "
            "(PDF, PNG, JPEG, WebP, Office or OpenDocument files, CSV, plain text)."
        )
    try:
        stored = await storage.ingest(_chunks(head, upload), max_bytes=max_bytes, expected_sha256=form.sha256)
    except TooLarge as exc:
        raise PayloadTooLarge(f"Evidence files may hold at most {exc.limit} bytes.") from exc
    except DigestMismatch as exc:
        raise field_error(
            ["body", "sha256"],
            f"The file's SHA-256 is {exc.actual}, not the declared {exc.declared}; nothing was kept.",
        ) from exc
    existing = await repository.by_content(session, agreement.id, stored.sha256)
    if existing is not None:
        raise DuplicateEvidence(
            f"This agreement already holds the same content as evidence document {existing.id}.",
            extra={"existing_id": str(existing.id)},
        )
    document = EvidenceDocument(
        agreement_id=agreement.id,
        target_id=form.target_id,
        supersedes_id=form.supersedes_id,
        title=form.title,
        document_type=form.document_type.value,
        description=form.description,
        language=form.language,
        document_date=form.document_date,
        filename=filename,
        media_type=media_type,
        size_bytes=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
        uploaded_by_org_id=principal.org_id,
    )
    await repository.add(session, document)
    await agreement_service.touch_by_id(session, agreement.id)
    await log_service.append(
        session,
        actor_org_id=principal.org_id,
        action=log_service.Action.create,
        resource_type=RESOURCE,
        resource_id=document.id,
        resource=document,
        agreement_id=agreement.id,
    )
    return document


async def provenance(session: AsyncSession, document: EvidenceDocument, *, proof_url: str) -> Provenance:
    found = await log_repository.creation_entry(session, RESOURCE, str(document.id))
    if found is None:  # every upload is logged in its own transaction; this is corruption
        raise EvidenceNotFound
    entry, logged = found
    return Provenance(
        evidence_id=document.id,
        sha256=document.sha256,
        log_index=entry.index,
        document=logged,
        entry=log_service.to_entry(entry),
        inclusion_proof_url=f"{proof_url}?index={entry.index}",
    )


def may_read(document: EvidenceDocument, agreement: AgreementRead, principal: Principal | None) -> bool:
    if access.sees_unreviewed(principal, agreement.signatory_org_id, agreement.participant_org_ids):
        return True
    return document.status == EvidenceStatus.accepted.value


async def visible_evidence(
    session: AsyncSession, evidence_id: uuid.UUID, *, principal: Principal | None, today: date
) -> tuple[EvidenceDocument, AgreementRead]:
    """The document if the caller may read it: 404 alike for missing, hidden and unaccepted."""
    document = await repository.get(session, evidence_id)
    if document is None:
        raise EvidenceNotFound
    try:
        agreement = await agreement_service.get_visible(
            session, document.agreement_id, principal=principal, today=today
        )
    except NotFound as exc:
        raise EvidenceNotFound from exc
    if not may_read(document, agreement, principal):
        raise EvidenceNotFound
    return document, agreement


async def review_evidence(
    session: AsyncSession, evidence_id: uuid.UUID, data: EvidenceReview, *, principal: Principal, today: date
) -> tuple[EvidenceDocument, AgreementRead]:
    _, agreement = await visible_evidence(session, evidence_id, principal=principal, today=today)
    if not access.can_edit(principal, agreement.signatory_org_id):
        raise Forbidden("Only an editor of the signatory organization (or an admin) may review evidence.")
    locked = await repository.get(session, evidence_id, for_update=True)
    assert locked is not None
    if locked.status != EvidenceStatus.submitted.value:
        raise AlreadyReviewed(f"This document was already {locked.status}.")
    locked.status = (
        EvidenceStatus.accepted.value if data.decision is EvidenceDecision.accepted else EvidenceStatus.rejected.value
    )
    locked.review_note = data.note
    locked.reviewed_at = datetime.now(UTC)
    locked.reviewed_by_org_id = principal.org_id
    await repository.add(session, locked)
    await agreement_service.touch_by_id(session, agreement.id)
    await log_service.append(
        session,
        actor_org_id=principal.org_id,
        action=log_service.Action.update,
        resource_type=RESOURCE,
        resource_id=locked.id,
        resource=locked,
        agreement_id=agreement.id,
    )
    return locked, agreement


async def list_evidence(
    session: AsyncSession, agreement: AgreementRead, params: PageParams, *, principal: Principal | None
) -> tuple[list[EvidenceDocument], str | None, bool]:
    insider = access.sees_unreviewed(principal, agreement.signatory_org_id, agreement.participant_org_ids)
    rows = await repository.list_page(session, agreement.id, params, accepted_only=not insider)
    items, cursor = make_page(rows, repository.BY_UPLOADED, params, lambda d: (d.uploaded_at, d.id))
    return items, cursor, insider
