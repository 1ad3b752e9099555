"""/v1/agreements/{id}/legal-reviews and /v1/legal-reviews/{id}."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.dependencies import AgreementId, VisibleAgreementDep
from app.auth.dependencies import CurrentPrincipal, OptionalPrincipal
from app.clock import Today
from app.db import SessionDep
from app.http.csv import Column, Fields
from app.http.etag import conditional_read, set_etag
from app.http.headers import idempotency_key_header, if_match_header
from app.http.lists import CSV_CONTENT, list_response
from app.http.pagination import Page, PageParams, page_params
from app.legal_reviews import service
from app.legal_reviews.schemas import LegalReviewCreate, LegalReviewRead, LegalReviewUpdate, ReviewChecks

router = APIRouter(tags=["legal reviews"])

ReviewId = Annotated[uuid.UUID, Path(description="The legal review's id.")]
CSV_COLUMNS: tuple[Column, ...] = (
    "id",
    "agreement_id",
    "kind",
    "requested_on",
    "decided_on",
    "outcome",
    "reference",
    "reviewer",
    "observations",
    Fields("checks", tuple(ReviewChecks.model_fields)),
    "document_id",
    "created_at",
    "updated_at",
)


@router.get(
    "/v1/agreements/{agreement_id}/legal-reviews",
    response_model=Page[LegalReviewRead],
    responses=CSV_CONTENT,
)
async def list_legal_reviews(
    principal: OptionalPrincipal,
    agreement: VisibleAgreementDep,
    session: SessionDep,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
) -> Response:
    """The agreement's legal reviews, oldest first (observations only for its signatory, auditors, admins)."""

    async def fetch(s: AsyncSession, p: PageParams) -> tuple[list[LegalReviewRead], str | None]:
        return await service.list_reviews(s, agreement, p, principal=principal)

    return await list_response(
        request, session, page, fetch, item=LegalReviewRead, csv_columns=CSV_COLUMNS, filename="legal-reviews.csv"
    )


@router.post(
    "/v1/agreements/{agreement_id}/legal-reviews",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(idempotency_key_header)],
)
async def create_legal_review(
    principal: CurrentPrincipal,
    agreement_id: AgreementId,
    body: LegalReviewCreate,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> LegalReviewRead:
    """Record a legal review (the signatory's editor or legal reviewer, or an admin)."""
    read = await service.create_review(session, agreement_id, body, principal=principal, today=today)
    response.headers["Location"] = str(request.url_for("get_legal_review", review_id=read.id))
    set_etag(response, read)
    return read


@router.get("/v1/legal-reviews/{review_id}", responses={304: {"description": "Not modified"}})
async def get_legal_review(
    principal: OptionalPrincipal,
    review_id: ReviewId,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> LegalReviewRead:
    """Read one legal review."""
    read = await service.read_review(session, review_id, principal=principal, today=today)
    conditional_read(request, response, read)
    return read


@router.patch("/v1/legal-reviews/{review_id}", dependencies=[Depends(if_match_header)])
async def update_legal_review(
    principal: CurrentPrincipal,
    review_id: ReviewId,
    body: LegalReviewUpdate,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> LegalReviewRead:
    """Change a legal review, e.g. record its decision (If-Match required)."""
    read = await service.change_review(
        session, review_id, body, if_match=request.headers.get("if-match"), principal=principal, today=today
    )
    set_etag(response, read)
    return read
