"""GET /badges/agreements/{id}.svg and /badges/organizations/{id}.svg: public agreements only.

Outside the OpenAPI document like the pages: pictures for people, not an API; the same figures
are in /v1/agreements/{id} and /v1/dashboard/summary."""

import uuid

from fastapi import APIRouter, Depends, Request, Response

from app.agreements.errors import AgreementNotFound
from app.auth.dependencies import optional_principal
from app.badges.render import badge_svg, tone_of
from app.clock import Today
from app.dashboard import service
from app.dashboard.i18n import Locale
from app.db import SessionDep
from app.http.etag import conditional_body
from app.i18n import PageLanguageDep, Text
from app.organizations.errors import OrganizationNotFound

router = APIRouter(prefix="/badges", include_in_schema=False, dependencies=[Depends(optional_principal)])

CACHE_CONTROL = "public, max-age=300"


def _parse(raw: str, missing: Exception) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise missing from None


def _answer(request: Request, body: bytes) -> Response:
    headers = {"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    return conditional_body(request, Response(body, media_type="image/svg+xml", headers=headers))


@router.get("/agreements/{agreement_id}.svg")
async def agreement_badge(
    agreement_id: str, request: Request, session: SessionDep, today: Today, lang: PageLanguageDep
) -> Response:
    """A public agreement's status, SRE registration and milestones met."""
    agreement, tally = await service.agreement_badge(session, _parse(agreement_id, AgreementNotFound()), today=today)
    t = Locale(lang)
    message = Text(
        "badge.agreement",
        status=t.label("status", agreement.status),
        registration=Text(f"badge.registration.{agreement.registration_status}").render(lang),
        met=tally.met,
        decided=tally.decided,
    ).render(lang)
    title = Text("badge.title", name=agreement.title, message=message).render(lang)
    body = badge_svg(label="Pacta", message=message, title=title, tone=tone_of(tally.share), lang=lang)
    return _answer(request, body)


@router.get("/organizations/{organization_id}.svg")
async def organization_badge(
    organization_id: str, request: Request, session: SessionDep, today: Today, lang: PageLanguageDep
) -> Response:
    """An organization's public agreements and the share of its decided milestones that were met."""
    found = await service.organization_page(
        session, _parse(organization_id, OrganizationNotFound()), today=today, limit=1
    )
    t = Locale(lang)
    agreements = found.overview.summary.agreements
    share = found.tally.share
    message = (
        Text("badge.organization", agreements=t.num(agreements), share=t.pct(share, 0))
        if share is not None
        else Text("badge.organization_none", agreements=t.num(agreements))
    ).render(lang)
    title = Text("badge.title", name=found.organization.name, message=message).render(lang)
    body = badge_svg(label="Pacta", message=message, title=title, tone=tone_of(share), lang=lang)
    return _answer(request, body)
