"""Calendar feeds (RFC 5545) and their tokens."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from app.auth.dependencies import CurrentPrincipal, optional_principal
from app.calendars import service
from app.calendars.schemas import CalendarTokenCreate, CalendarTokenCreated, CalendarTokenRead
from app.clock import Today
from app.config import Settings
from app.db import SessionDep
from app.http.headers import idempotency_key_header
from app.http.pagination import Page, PageParams, page_params, page_response
from app.i18n import LanguageDep
from app.organizations.dependencies import OrganizationDep

router = APIRouter(tags=["calendars"])

ICS = "text/calendar; charset=utf-8"
Token = Annotated[str | None, Query(max_length=200, description="A feed token, for feeds that are not public.")]


def _ics(body: bytes, filename: str) -> Response:
    return Response(
        content=body,
        media_type=ICS,
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "private, max-age=300"},
    )


@router.post(
    "/v1/organizations/{organization_id}/calendar-tokens",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(idempotency_key_header)],
)
async def create_calendar_token(
    principal: CurrentPrincipal,
    org: OrganizationDep,
    body: CalendarTokenCreate,
    session: SessionDep,
    request: Request,
    response: Response,
) -> CalendarTokenCreated:
    """A secret feed URL for the organization's private calendar (shown once; revocable)."""
    row, token = await service.issue(session, org, body.name, principal=principal)
    feed = request.url_for("get_organization_calendar", organization_id=org.id).include_query_params(token=token)
    response.headers["Cache-Control"] = "no-store"
    return CalendarTokenCreated.model_validate(
        {**CalendarTokenRead.model_validate(row).model_dump(), "token": token, "feed_url": str(feed)}
    )


@router.get("/v1/organizations/{organization_id}/calendar-tokens", response_model=Page[CalendarTokenRead])
async def list_calendar_tokens(
    principal: CurrentPrincipal,
    org: OrganizationDep,
    session: SessionDep,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
) -> Response:
    """The organization's feed tokens, without their secrets."""
    rows, next_cursor = await service.list_tokens(session, org, page, principal=principal)
    items = [CalendarTokenRead.model_validate(r) for r in rows]
    return page_response(request, Page[CalendarTokenRead](items=items, next_cursor=next_cursor))


@router.delete("/v1/organizations/{organization_id}/calendar-tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_calendar_token(
    principal: CurrentPrincipal,
    org: OrganizationDep,
    token_id: Annotated[uuid.UUID, Path(description="The token's id.")],
    session: SessionDep,
) -> None:
    """Revoke a feed token: its URL stops working at once."""
    await service.revoke(session, org, token_id, principal=principal)


@router.get(
    "/v1/agreements/{agreement_id}/calendar.ics",
    response_class=Response,
    dependencies=[Depends(optional_principal)],
    responses={200: {"content": {"text/calendar": {}}, "description": "An iCalendar feed."}},
)
async def get_agreement_calendar(
    agreement_id: Annotated[uuid.UUID, Path(description="The agreement's id.")],
    session: SessionDep,
    today: Today,
    request: Request,
    lang: LanguageDep,
    token: Token = None,
) -> Response:
    """The agreement's activities, milestone due dates, expiry and registration deadline (public
    agreements: no token; others: a token of its signatory or a participant)."""
    settings: Settings = request.app.state.settings
    body = await service.agreement_feed(
        session,
        agreement_id,
        token,
        today=today,
        grace_days=settings.registration_grace_days,
        base_url=str(request.base_url).rstrip("/"),
        lang=lang,
    )
    return _ics(body, f"agreement-{agreement_id}.ics")


@router.get(
    "/v1/organizations/{organization_id}/calendar.ics",
    response_class=Response,
    dependencies=[Depends(optional_principal)],
    responses={200: {"content": {"text/calendar": {}}, "description": "An iCalendar feed."}},
)
async def get_organization_calendar(
    organization_id: Annotated[uuid.UUID, Path(description="The organization's id.")],
    session: SessionDep,
    today: Today,
    request: Request,
    lang: LanguageDep,
    token: Token = None,
) -> Response:
    """The organization's agreements in one feed: public ones without a token; with its token,
    also its private agreements and those it takes part in."""
    settings: Settings = request.app.state.settings
    body = await service.organization_feed(
        session,
        organization_id,
        token,
        today=today,
        grace_days=settings.registration_grace_days,
        base_url=str(request.base_url).rstrip("/"),
        lang=lang,
    )
    return _ics(body, f"organization-{organization_id}.ics")
