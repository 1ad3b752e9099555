"""/v1/agreements/{id}/targets and /v1/targets/{id}."""

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import service as agreement_service
from app.agreements.dependencies import AgreementId
from app.auth.dependencies import CurrentPrincipal, OptionalPrincipal
from app.clock import Today
from app.db import ReaderDep, SessionDep, sessionmaker_of
from app.http.csv import Column, Fields, Nested, wants_table
from app.http.etag import conditional_read, set_etag
from app.http.headers import idempotency_key_header, if_match_header
from app.http.lean import lean
from app.http.lists import CSV_CONTENT, list_response
from app.http.pagination import Page, PageParams, json_page_response, page_params
from app.targets import service
from app.targets.schemas import Baseline, Latest, MilestoneRead, TargetCreate, TargetRead, TargetUpdate

router = APIRouter(tags=["targets"])


def describe_milestone(milestone: Mapping[str, Any]) -> str:
    """ "12: 40 (met)": months after entry into force, the value aimed at, its status."""
    value = milestone.get("target_value")
    shown = "" if value is None else str(int(value)) if float(value).is_integer() else str(value)
    return f"{milestone.get('months')}: {shown} ({milestone.get('status')})"


CSV_COLUMNS: tuple[Column, ...] = (
    "id",
    "agreement_id",
    "indicator",
    "title",
    "measure",
    "unit",
    "ascending",
    Fields("baseline", tuple(Baseline.model_fields)),
    Nested("milestones", "milestone", tuple(MilestoneRead.model_fields), describe_milestone),
    "responsible_org_id",
    Fields("latest", tuple(Latest.model_fields)),
    "description",
    "created_at",
    "updated_at",
)
TargetId = Annotated[uuid.UUID, Path(description="The target's id.")]


@router.get("/v1/agreements/{agreement_id}/targets", response_model=Page[TargetRead], responses=CSV_CONTENT)
@lean
async def list_targets(
    principal: OptionalPrincipal,
    agreement_id: AgreementId,
    reader: ReaderDep,
    today: Today,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
) -> Response:
    """The agreement's progress: each target with its milestones evaluated today from verified measurements."""
    if not wants_table(request):
        # The hot read: the agreement's visibility, then the page's JSON built by PostgreSQL.
        found = await service.list_targets_json(reader, agreement_id, page, principal=principal, today=today)
        if found is not None:
            return json_page_response(request, *found)

    async with sessionmaker_of(request)() as session:
        agreement = await agreement_service.get_visible(session, agreement_id, principal=principal, today=today)

        async def fetch(s: AsyncSession, p: PageParams) -> tuple[list[TargetRead], str | None]:
            return await service.list_targets(s, agreement, p, today=today)

        return await list_response(
            request, session, page, fetch, item=TargetRead, csv_columns=CSV_COLUMNS, filename="targets.csv"
        )


@router.post(
    "/v1/agreements/{agreement_id}/targets",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(idempotency_key_header)],
)
async def create_target(
    principal: CurrentPrincipal,
    agreement_id: AgreementId,
    body: TargetCreate,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> TargetRead:
    """Set a verifiable target with its milestones (the signatory's editor, or an admin)."""
    read = await service.create_target(session, agreement_id, body, principal=principal, today=today)
    response.headers["Location"] = str(request.url_for("get_target", target_id=read.id))
    set_etag(response, read)
    return read


@router.get("/v1/targets/{target_id}", responses={304: {"description": "Not modified"}})
async def get_target(
    principal: OptionalPrincipal,
    target_id: TargetId,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> TargetRead:
    """Read one target with its milestones evaluated today."""
    target, agreement = await service.visible_target(session, target_id, principal=principal, today=today)
    read = await service.read_target(session, target, agreement, today=today)
    conditional_read(request, response, read)
    return read


@router.patch("/v1/targets/{target_id}", dependencies=[Depends(if_match_header)])
async def update_target(
    principal: CurrentPrincipal,
    target_id: TargetId,
    body: TargetUpdate,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> TargetRead:
    """Change a target (If-Match required)."""
    read = await service.change_target(
        session, target_id, body, if_match=request.headers.get("if-match"), principal=principal, today=today
    )
    set_etag(response, read)
    return read


@router.delete(
    "/v1/targets/{target_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(if_match_header)]
)
async def delete_target(
    principal: CurrentPrincipal, target_id: TargetId, session: SessionDep, today: Today, request: Request
) -> None:
    """Delete a target that has no measurements yet (If-Match required)."""
    await service.remove_target(
        session, target_id, if_match=request.headers.get("if-match"), principal=principal, today=today
    )
