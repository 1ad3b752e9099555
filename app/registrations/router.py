"""/v1/agreements/{id}/registrations and /v1/registrations/{id}."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.dependencies import AgreementId, VisibleAgreementDep
from app.auth.dependencies import CurrentPrincipal, OptionalPrincipal
from app.clock import Today
from app.db import SessionDep
from app.http.etag import conditional_read, set_etag
from app.http.headers import idempotency_key_header, if_match_header
from app.http.lists import CSV_CONTENT, list_response
from app.http.pagination import Page, PageParams, page_params
from app.registrations import service
from app.registrations.schemas import RegistrationCreate, RegistrationRead, RegistrationUpdate

router = APIRouter(tags=["registrations"])

RegistrationId = Annotated[uuid.UUID, Path(description="The registration's id.")]
CSV_COLUMNS = (
    "id",
    "agreement_id",
    "registry",
    "status",
    "submitted_on",
    "registered_on",
    "registry_number",
    "observations",
    "document_id",
    "created_at",
    "updated_at",
)


@router.get(
    "/v1/agreements/{agreement_id}/registrations",
    response_model=Page[RegistrationRead],
    responses=CSV_CONTENT,
)
async def list_registrations(
    principal: OptionalPrincipal,
    agreement: VisibleAgreementDep,
    session: SessionDep,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
) -> Response:
    """The agreement's registrations, oldest first (observations only for its signatory, auditors, admins)."""

    async def fetch(s: AsyncSession, p: PageParams) -> tuple[list[RegistrationRead], str | None]:
        return await service.list_registrations(s, agreement, p, principal=principal)

    return await list_response(
        request, session, page, fetch, item=RegistrationRead, csv_columns=CSV_COLUMNS, filename="registrations.csv"
    )


@router.post(
    "/v1/agreements/{agreement_id}/registrations",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(idempotency_key_header)],
)
async def create_registration(
    principal: CurrentPrincipal,
    agreement_id: AgreementId,
    body: RegistrationCreate,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> RegistrationRead:
    """Record a submission to a registry, or its outcome (the signatory's editor, or an admin)."""
    read = await service.create_registration(session, agreement_id, body, principal=principal, today=today)
    response.headers["Location"] = str(request.url_for("get_registration", registration_id=read.id))
    set_etag(response, read)
    return read


@router.get("/v1/registrations/{registration_id}", responses={304: {"description": "Not modified"}})
async def get_registration(
    principal: OptionalPrincipal,
    registration_id: RegistrationId,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> RegistrationRead:
    """Read one registration."""
    read = await service.read_registration(session, registration_id, principal=principal, today=today)
    conditional_read(request, response, read)
    return read


@router.patch("/v1/registrations/{registration_id}", dependencies=[Depends(if_match_header)])
async def update_registration(
    principal: CurrentPrincipal,
    registration_id: RegistrationId,
    body: RegistrationUpdate,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> RegistrationRead:
    """Change a registration, e.g. record the registry number (If-Match required)."""
    read = await service.change_registration(
        session, registration_id, body, if_match=request.headers.get("if-match"), principal=principal, today=today
    )
    set_etag(response, read)
    return read
