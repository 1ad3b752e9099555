"""GET /v1/deadlines."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.auth.dependencies import CurrentPrincipal
from app.clock import Today
from app.config import Settings
from app.db import ReaderDep
from app.deadlines import service
from app.deadlines.schemas import Deadline
from app.http.lean import lean
from app.http.pagination import Page, PageParams, json_page_response, page_params
from app.i18n import LanguageDep

router = APIRouter(tags=["deadlines"])


@router.get("/v1/deadlines", response_model=Page[Deadline])
@lean
async def list_deadlines(
    principal: CurrentPrincipal,
    reader: ReaderDep,
    today: Today,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
    lang: LanguageDep,
    within_days: Annotated[int, Query(ge=0, le=3660)] = 30,
    state: Annotated[str | None, Query(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")] = None,
    signatory_org_id: uuid.UUID | None = None,
) -> Response:
    """Expirations, milestones falling due, registrations overdue and activities ahead, by date."""
    settings: Settings = request.app.state.settings
    win = service.window(today, within_days, settings.registration_grace_days)
    scope = service.scope_for(principal, signatory_org_id=signatory_org_id, state=state)
    documents, next_cursor = await service.list_deadlines_json(
        reader, win, scope, page, base_url=str(request.base_url), lang=lang
    )
    return json_page_response(request, documents, next_cursor)
