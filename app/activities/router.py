"""/v1/agreements/{id}/activities and /v1/activities/{id}: the shared agenda."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities import service
from app.activities.schemas import ActivityCreate, ActivityRead, ActivityUpdate
from app.agreements.dependencies import AgreementId, VisibleAgreementDep
from app.auth.dependencies import CurrentPrincipal, OptionalPrincipal
from app.clock import Today
from app.db import SessionDep
from app.http.etag import conditional_read, set_etag
from app.http.headers import idempotency_key_header, if_match_header
from app.http.lists import CSV_CONTENT, list_response
from app.http.pagination import Page, PageParams, page_params

router = APIRouter(tags=["activities"])

ActivityId = Annotated[uuid.UUID, Path(description="The activity's id.")]
CSV_COLUMNS = (
    "id",
    "agreement_id",
    "kind",
    "title",
    "status",
    "starts_at",
    "ends_at",
    "place",
    "organizer_org_id",
    "participant_org_ids",
    "target_ids",
    "evidence_ids",
    "proposed_by_org_id",
    "description",
    "updated_at",
)


@router.get(
    "/v1/agreements/{agreement_id}/activities",
    response_model=Page[ActivityRead],
    responses=CSV_CONTENT,
)
async def list_activities(
    principal: OptionalPrincipal,
    agreement: VisibleAgreementDep,
    session: SessionDep,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
) -> Response:
    """The agreement's agenda by start (outside its own people: confirmed and held activities)."""

    async def fetch(s: AsyncSession, p: PageParams) -> tuple[list[ActivityRead], str | None]:
        return await service.list_activities(s, agreement, p, principal=principal)

    return await list_response(
        request, session, page, fetch, item=ActivityRead, csv_columns=CSV_COLUMNS, filename="activities.csv"
    )


@router.post(
    "/v1/agreements/{agreement_id}/activities",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(idempotency_key_header)],
)
async def create_activity(
    principal: CurrentPrincipal,
    agreement_id: AgreementId,
    body: ActivityCreate,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> ActivityRead:
    """Add an activity (the signatory's editor) or propose one (a listed participant: planned)."""
    read = await service.create_activity(session, agreement_id, body, principal=principal, today=today)
    response.headers["Location"] = str(request.url_for("get_activity", activity_id=read.id))
    set_etag(response, read)
    return read


@router.get("/v1/activities/{activity_id}", responses={304: {"description": "Not modified"}})
async def get_activity(
    principal: OptionalPrincipal,
    activity_id: ActivityId,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> ActivityRead:
    """Read one activity."""
    activity, _ = await service.visible_activity(session, activity_id, principal=principal, today=today)
    read = await service.read_activity(session, activity)
    conditional_read(request, response, read)
    return read


@router.patch("/v1/activities/{activity_id}", dependencies=[Depends(if_match_header)])
async def update_activity(
    principal: CurrentPrincipal,
    activity_id: ActivityId,
    body: ActivityUpdate,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> ActivityRead:
    """Change an activity; the signatory's editor confirms with status (If-Match required)."""
    read = await service.change_activity(
        session, activity_id, body, if_match=request.headers.get("if-match"), principal=principal, today=today
    )
    set_etag(response, read)
    return read


@router.delete(
    "/v1/activities/{activity_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(if_match_header)]
)
async def delete_activity(
    principal: CurrentPrincipal, activity_id: ActivityId, session: SessionDep, today: Today, request: Request
) -> None:
    """Remove an activity (its proposer only while planned; If-Match required)."""
    await service.remove_activity(
        session, activity_id, if_match=request.headers.get("if-match"), principal=principal, today=today
    )
