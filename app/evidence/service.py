"""Uploading, reviewing and serving evidence documents."""

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app import catalogs
from app.agreements import access
from app.agreements import service as agreement_service
from app.agreements.schemas import AgreementRead
from app.db import release_connection
from app.errors import Forbidden, NotFound, PayloadTooLarge, UnsupportedMediaType, field_error
from app.evidence import repository
from app.evidence.errors import AlreadyReviewed, DuplicateEvidence, EvidenceNotFound
from app.evidence.multipart import StreamedForm
from app.evidence.schemas import EvidenceDecision, EvidenceRead, EvidenceReview, Provenance
from app.http.pagination import PageParams, make_page
from app.i18n import Text
from app.log import registry as log_registry
from app.log import repository as log_repository
from app.log import service as log_service
from app.models import EvidenceDocument
from app.models.results import DocumentType, EvidenceStatus
from app.principal import Principal
from app.storage import CHUNK, EvidenceStorage, StoredObject, TooLarge
from app.storage.sniff import SNIFF_BYTES, media_type_of
from app.targets import repository as target_repository
from app.types import Day

RESOURCE = "evidence"
log_registry.register_table(RESOURCE, EvidenceDocument)


class UploadForm(BaseModel):
    """The upload's text fields, validated like the framework validates Form() parameters."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    title: str = Field(min_length=1, max_length=300)
    document_type: DocumentType
    description: str | None = Field(default=None, max_length=10000)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    document_date: Day | None = None
    target_id: uuid.UUID | None = None
    supersedes_id: uuid.UUID | None = None
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


def _validate_form(fields: dict[str, str], *, has_file: bool) -> UploadForm:
    """The fields as an UploadForm, or a 422 naming every broken one (and a missing file)."""
    errors: list[dict[str, object]] = []
    form: UploadForm | None = None
    try:
        form = UploadForm.model_validate(fields)
    except ValidationError as exc:
        errors = [
            # ctx keeps the limits and allowed values the message is written from (app.errors).
            {
                "type": e["type"],
                "loc": ("body", *e["loc"]),
                "msg": e["msg"],
                "input": e.get("input"),
                "ctx": e.get("ctx"),
            }
            for e in exc.errors(include_url=False)
        ]
    if not has_file:
        errors.append({"type": "missing", "loc": ("body", "file"), "msg": "Field required", "input": None})
    if errors or form is None:
        raise RequestValidationError(errors)
    return form


def to_read(document: EvidenceDocument, *, insider: bool, content_url: str) -> EvidenceRead:
    read = EvidenceRead.model_validate({**document.model_dump(), "content_url": content_url})
    return read if insider else read.model_copy(update={"review_note": None})


async def _file_chunks(head: bytes, form: StreamedForm) -> AsyncIterator[bytes]:
    """The file part's bytes, gathered into chunks of about CHUNK for the store."""
    buffer = bytearray(head)
    while (chunk := await form.file_chunk()) is not None:
        buffer += chunk
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


async def _accept(
    session: AsyncSession, storage: EvidenceStorage, agreement_id: uuid.UUID, form: UploadForm, pending: StoredObject
) -> StoredObject:
    """Check the fields against the agreement and the received bytes; keep them if all holds."""
    if form.sha256 is not None and form.sha256 != pending.sha256:
        raise field_error(
            ["body", "sha256"],
            Text("evidence.sha256_mismatch", actual=pending.sha256, declared=form.sha256),
        )
    if form.language is not None and not catalogs.is_language(form.language):
        raise field_error(["body", "language"], Text("validation.language_code", value=repr(form.language)))
    if (
        form.target_id is not None
        and await target_repository.get(session, form.target_id, agreement_id=agreement_id) is None
    ):
        raise field_error(["body", "target_id"], Text("common.no_target_on_agreement"))
    if form.supersedes_id is not None and not await repository.of_agreement(
        session, agreement_id, [form.supersedes_id]
    ):
        raise field_error(["body", "supersedes_id"], Text("common.no_evidence_on_agreement"))
    existing = await repository.by_content(session, agreement_id, pending.sha256)
    if existing is not None:
        raise DuplicateEvidence(
            Text("evidence.duplicate", existing=existing.id),
            extra={"existing_id": str(existing.id)},
        )
    return await storage.keep(pending)


async def upload_evidence(
    session: AsyncSession,
    storage: EvidenceStorage,
    agreement_id: uuid.UUID,
    body: StreamedForm | None,
    *,
    principal: Principal,
    today: date,
    max_bytes: int,
) -> EvidenceDocument:
    """Store a multipart upload read as it arrives (`body` None: not a multipart body at all).

    Who may upload is judged before any of the body is read; then the session gives its
    connection back, so none is held while the client sends. The file part's type is judged from
    its first bytes (415 at once); its bytes go to a temporary object while hashed, and only once
    the whole form is read does the unit of work resume, check every field and move the object to
    its content address.
    """
    agreement = await agreement_service.get_visible(session, agreement_id, principal=principal, today=today)
    if not access.can_contribute(principal, agreement.signatory_org_id, agreement.participant_org_ids):
        raise Forbidden(Text("evidence.upload_forbidden"))
    await release_connection(session)
    if body is None or not await body.until_file_or_end():
        fields = await body.finish() if body is not None else {}
        _validate_form(fields, has_file=False)
        raise AssertionError("unreachable: a form without its file is a 422")
    filename = (body.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:255] or "upload"
    head = b""
    while len(head) < SNIFF_BYTES and (chunk := await body.file_chunk()) is not None:
        head += chunk
    media_type = media_type_of(head[:SNIFF_BYTES], filename=filename)
    if media_type is None:
        raise UnsupportedMediaType(Text("evidence.media_type"))
    try:
        pending = await storage.receive(_file_chunks(head, body), max_bytes=max_bytes)
    except TooLarge as exc:
        raise PayloadTooLarge(Text("evidence.too_large", limit=exc.limit)) from exc
    try:
        form = _validate_form(await body.finish(), has_file=True)
        stored = await _accept(session, storage, agreement.id, form, pending)
    except BaseException:
        await storage.discard(pending)
        raise
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
    # The agreement is locked only now, with the bytes stored: never while a client sends them.
    locked = await agreement_service.lock_for_change(session, agreement.id, principal=principal, today=today, may=None)
    await repository.add(session, document)
    await agreement_service.write_child(
        session,
        locked,
        resource_type=RESOURCE,
        resource_id=document.id,
        resource=document,
        action=log_service.Action.create,
        principal=principal,
        today=today,
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
    return access.is_public(RESOURCE, document.status)


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


async def read_evidence(
    session: AsyncSession,
    evidence_id: uuid.UUID,
    *,
    principal: Principal | None,
    today: date,
    content_url: Callable[[uuid.UUID], str],
) -> EvidenceRead:
    """The document's record as the caller may read it (the review note only inside the agreement)."""
    document, agreement = await visible_evidence(session, evidence_id, principal=principal, today=today)
    insider = access.sees_unreviewed(principal, agreement.signatory_org_id, agreement.participant_org_ids)
    return to_read(document, insider=insider, content_url=content_url(document.id))


async def review_evidence(
    session: AsyncSession, evidence_id: uuid.UUID, data: EvidenceReview, *, principal: Principal, today: date
) -> tuple[EvidenceDocument, AgreementRead]:
    locked_document, locked = await _lock(session, evidence_id, principal=principal, today=today)
    if not access.can_edit(principal, locked.before.signatory_org_id):
        raise Forbidden(Text("evidence.review_forbidden"))
    if locked_document.status != EvidenceStatus.submitted.value:
        raise AlreadyReviewed(Text("evidence.already_reviewed", status=locked_document.status))
    locked_document.status = (
        EvidenceStatus.accepted.value if data.decision is EvidenceDecision.accepted else EvidenceStatus.rejected.value
    )
    locked_document.review_note = data.note
    locked_document.reviewed_at = datetime.now(UTC)
    locked_document.reviewed_by_org_id = principal.org_id
    await repository.add(session, locked_document)
    agreement = await agreement_service.write_child(
        session,
        locked,
        resource_type=RESOURCE,
        resource_id=locked_document.id,
        resource=locked_document,
        action=log_service.Action.update,
        principal=principal,
        today=today,
    )
    return locked_document, agreement


async def _lock(
    session: AsyncSession, evidence_id: uuid.UUID, *, principal: Principal, today: date
) -> tuple[EvidenceDocument, agreement_service.Locked]:
    """The document locked for review, its agreement too; 404 alike for missing, hidden and unaccepted."""
    document, locked, _ = await agreement_service.lock_child(
        session,
        EvidenceDocument,
        evidence_id,
        principal=principal,
        today=today,
        not_found=EvidenceNotFound(),
        may=None,
    )
    if not may_read(document, locked.before, principal):
        raise EvidenceNotFound
    return document, locked


async def list_evidence(
    session: AsyncSession,
    agreement: AgreementRead,
    params: PageParams,
    *,
    principal: Principal | None,
    content_url: Callable[[uuid.UUID], str],
) -> tuple[list[EvidenceRead], str | None]:
    """A page of the agreement's evidence as the caller may read it (`content_url` of an id: where
    its bytes are served)."""
    insider = access.sees_unreviewed(principal, agreement.signatory_org_id, agreement.participant_org_ids)
    rows = await repository.list_page(session, agreement.id, params, accepted_only=not insider)
    items, cursor = make_page(rows, repository.BY_UPLOADED, params, lambda d: (d.uploaded_at, d.id))
    return [to_read(d, insider=insider, content_url=content_url(d.id)) for d in items], cursor
