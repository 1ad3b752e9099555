"""/v1/agreements/{id}/evidence, /v1/evidence/{id}, its review and its content."""

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from app.agreements.dependencies import AgreementId, VisibleAgreementDep
from app.auth.dependencies import CurrentPrincipal, OptionalPrincipal
from app.clock import Today
from app.config import Settings
from app.db import SessionDep
from app.errors import MalformedBody
from app.evidence import service
from app.evidence.errors import RangeNotSatisfiable
from app.evidence.multipart import StreamedForm, boundary_of
from app.evidence.schemas import EvidenceRead, EvidenceReview, Provenance
from app.http.etag import none_match, set_etag
from app.http.headers import idempotency_key_header
from app.http.lists import CSV_CONTENT, list_response
from app.http.multipart import streamed_form_body
from app.http.pagination import Page, PageParams, page_params
from app.http.ranges import Unsatisfiable, parse_range
from app.i18n import Text
from app.models import EvidenceDocument
from app.storage import EvidenceStorage

router = APIRouter(tags=["evidence"])

CSV_COLUMNS = (
    "id",
    "agreement_id",
    "title",
    "document_type",
    "status",
    "filename",
    "media_type",
    "size_bytes",
    "sha256",
    "uploaded_by_org_id",
    "uploaded_at",
    "target_id",
    "supersedes_id",
    "language",
    "document_date",
    "reviewed_at",
    "content_url",
)
EvidenceId = Annotated[uuid.UUID, Path(description="The evidence document's id.")]


def _ascii_fallback(filename: str) -> str:
    """The plain `filename` parameter: visible ASCII only, so no control character, quote or
    backslash reaches the header; `filename*` carries the real name (RFC 6266 section 4.3)."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)


def _storage(request: Request) -> EvidenceStorage:
    storage: EvidenceStorage = request.app.state.storage
    return storage


def _content_url(request: Request) -> Callable[[uuid.UUID], str]:
    return lambda evidence_id: str(request.url_for("get_evidence_content", evidence_id=evidence_id))


def _read(request: Request, document: EvidenceDocument) -> EvidenceRead:
    """The record as its writer reads it (an upload's or a review's answer)."""
    return service.to_read(document, insider=True, content_url=_content_url(request)(document.id))


def _nullable(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}], **extra}


# The form the route reads itself, as streamed multipart (what File()/Form() parameters declared).
UPLOAD_BODY = streamed_form_body(
    "Body_upload_evidence",
    "The document; its type is judged from its bytes.",
    {
        "title": {"type": "string", "minLength": 1, "maxLength": 300, "title": "Title"},
        "document_type": {"$ref": "#/components/schemas/DocumentType"},
        "description": _nullable({"type": "string", "maxLength": 10000}, title="Description"),
        "language": _nullable({"type": "string", "pattern": r"^[a-z]{2}$"}, title="Language", description="ISO 639-1."),
        "document_date": _nullable({"type": "string", "format": "date"}, title="Document Date"),
        "target_id": _nullable({"type": "string", "format": "uuid"}, title="Target Id"),
        "supersedes_id": _nullable(
            {"type": "string", "format": "uuid"}, title="Supersedes Id", description="The document this one replaces."
        ),
        "sha256": _nullable(
            {"type": "string", "pattern": r"^[0-9a-f]{64}$"},
            title="Sha256",
            description="If given, the upload must hash to it (else 422).",
        ),
    },
    ("title", "document_type"),
)


@router.post(
    "/v1/agreements/{agreement_id}/evidence",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(idempotency_key_header)],
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def upload_evidence(
    principal: CurrentPrincipal,
    agreement_id: AgreementId,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> EvidenceRead:
    """Upload evidence (multipart): streamed to storage while hashed; 413 over the limit, 415 for other types."""
    settings: Settings = request.app.state.settings
    boundary = boundary_of(request.headers.get("content-type"))
    body = StreamedForm(request.stream(), boundary) if boundary is not None else None
    try:
        document = await service.upload_evidence(
            session,
            _storage(request),
            agreement_id,
            body,
            principal=principal,
            today=today,
            max_bytes=settings.max_upload_bytes,
        )
    except ClientDisconnect as exc:
        raise MalformedBody(Text("evidence.client_gone")) from exc
    read = _read(request, document)
    response.headers["Location"] = str(request.url_for("get_evidence", evidence_id=document.id))
    set_etag(response, read)
    return read


@router.get("/v1/agreements/{agreement_id}/evidence", response_model=Page[EvidenceRead], responses=CSV_CONTENT)
async def list_evidence(
    principal: OptionalPrincipal,
    agreement: VisibleAgreementDep,
    session: SessionDep,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
) -> Response:
    """The agreement's evidence (accepted only, outside the agreement's own people)."""

    async def fetch(s: AsyncSession, p: PageParams) -> tuple[list[EvidenceRead], str | None]:
        return await service.list_evidence(s, agreement, p, principal=principal, content_url=_content_url(request))

    return await list_response(
        request, session, page, fetch, item=EvidenceRead, csv_columns=CSV_COLUMNS, filename="evidence.csv"
    )


@router.get("/v1/evidence/{evidence_id}")
async def get_evidence(
    principal: OptionalPrincipal,
    evidence_id: EvidenceId,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> EvidenceRead:
    """Read one evidence document's record."""
    read = await service.read_evidence(
        session, evidence_id, principal=principal, today=today, content_url=_content_url(request)
    )
    set_etag(response, read)
    return read


@router.get("/v1/evidence/{evidence_id}/provenance")
async def get_evidence_provenance(
    principal: OptionalPrincipal, evidence_id: EvidenceId, session: SessionDep, today: Today, request: Request
) -> Provenance:
    """The log entry that recorded the upload, with the logged record, to prove the hash is in the log."""
    document, _ = await service.visible_evidence(session, evidence_id, principal=principal, today=today)
    return await service.provenance(session, document, proof_url=str(request.url_for("get_inclusion_proof")))


@router.post("/v1/evidence/{evidence_id}/review", dependencies=[Depends(idempotency_key_header)])
async def review_evidence(
    principal: CurrentPrincipal,
    evidence_id: EvidenceId,
    body: EvidenceReview,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> EvidenceRead:
    """Accept or reject a submitted document (the signatory's editor, or an admin)."""
    document, _ = await service.review_evidence(session, evidence_id, body, principal=principal, today=today)
    read = _read(request, document)
    set_etag(response, read)
    return read


@router.get(
    "/v1/evidence/{evidence_id}/content",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The bytes, with the media type judged at upload; ETag is the SHA-256.",
        },
        206: {"description": "The requested byte range."},
        304: {"description": "Not modified"},
        416: {"description": "Range not satisfiable"},
    },
)
async def get_evidence_content(
    principal: OptionalPrincipal, evidence_id: EvidenceId, session: SessionDep, today: Today, request: Request
) -> Response:
    """Download the document; supports Range and If-None-Match. Check the bytes against the ETag."""
    document, _ = await service.visible_evidence(session, evidence_id, principal=principal, today=today)
    etag = f'"{document.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": (
            f'attachment; filename="{_ascii_fallback(document.filename)}"; '
            f"filename*=UTF-8''{quote(document.filename, safe='')}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, max-age=0, must-revalidate",
    }
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    size = document.size_bytes
    try:
        wanted = parse_range(request.headers.get("range"), size)
    except Unsatisfiable as exc:
        raise RangeNotSatisfiable(
            Text("evidence.range", size=size), headers={"Content-Range": f"bytes */{size}"}
        ) from exc
    if_range = request.headers.get("if-range")
    if wanted is not None and if_range is not None and if_range.strip() != etag:
        wanted = None
    storage = _storage(request)
    start, end = (0, size) if wanted is None else (wanted.start, wanted.end)

    async def body() -> AsyncIterator[bytes]:
        async for chunk in storage.stream(document.storage_key, start, end if wanted is not None else None):
            yield chunk

    headers["Content-Length"] = str(end - start)
    if wanted is None:
        return StreamingResponse(body(), media_type=document.media_type, headers=headers)
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return StreamingResponse(body(), status_code=206, media_type=document.media_type, headers=headers)
