"""/v1/targets/{id}/measurements, /v1/measurements/{id} and their verification."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import CurrentPrincipal, OptionalPrincipal
from app.clock import Today
from app.db import SessionDep
from app.http.etag import conditional_read, set_etag
from app.http.headers import idempotency_key_header
from app.http.lists import CSV_CONTENT, list_response
from app.http.pagination import Page, PageParams, page_params
from app.measurements import service
from app.measurements.schemas import MeasurementCreate, MeasurementRead, Verification

router = APIRouter(tags=["measurements"])

CSV_COLUMNS = (
    "id",
    "target_id",
    "agreement_id",
    "as_of",
    "value",
    "status",
    "evidence_ids",
    "comment",
    "reported_by_org_id",
    "decided_at",
    "decided_by_org_id",
    "decision_note",
    "created_at",
    "updated_at",
)
TargetId = Annotated[uuid.UUID, Path(description="The target's id.")]
MeasurementId = Annotated[uuid.UUID, Path(description="The measurement's id.")]


@router.get("/v1/targets/{target_id}/measurements", response_model=Page[MeasurementRead], responses=CSV_CONTENT)
async def list_measurements(
    principal: OptionalPrincipal,
    target_id: TargetId,
    session: SessionDep,
    today: Today,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
) -> Response:
    """A target's measurements by date (verified ones only, outside the agreement's own people)."""

    async def fetch(s: AsyncSession, p: PageParams) -> tuple[list[MeasurementRead], str | None]:
        return await service.list_measurements(s, target_id, p, principal=principal, today=today)

    return await list_response(
        request, session, page, fetch, item=MeasurementRead, csv_columns=CSV_COLUMNS, filename="measurements.csv"
    )


@router.post(
    "/v1/targets/{target_id}/measurements",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(idempotency_key_header)],
)
async def create_measurement(
    principal: CurrentPrincipal,
    target_id: TargetId,
    body: MeasurementCreate,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> MeasurementRead:
    """Report a measurement citing its evidence (participants' contributors, the signatory's editors)."""
    read = await service.report_measurement(session, target_id, body, principal=principal, today=today)
    response.headers["Location"] = str(request.url_for("get_measurement", measurement_id=read.id))
    set_etag(response, read)
    return read


@router.get("/v1/measurements/{measurement_id}", responses={304: {"description": "Not modified"}})
async def get_measurement(
    principal: OptionalPrincipal,
    measurement_id: MeasurementId,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> MeasurementRead:
    """Read one measurement."""
    read, _ = await service.visible_measurement(session, measurement_id, principal=principal, today=today)
    conditional_read(request, response, read)
    return read


@router.post(
    "/v1/measurements/{measurement_id}/verification",
    dependencies=[Depends(idempotency_key_header)],
)
async def verify_measurement(
    principal: CurrentPrincipal,
    measurement_id: MeasurementId,
    body: Verification,
    session: SessionDep,
    today: Today,
    response: Response,
) -> MeasurementRead:
    """Verify or reject a reported measurement (the signatory's editor; needs evidence not rejected)."""
    read = await service.decide(session, measurement_id, body, principal=principal, today=today)
    set_etag(response, read)
    return read
