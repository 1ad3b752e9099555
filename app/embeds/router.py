"""GET /embed/agreements/{id} and /embed/organizations/{id}: self-contained HTML (no script, no
external asset, inline SVG charts with text beside them) drawn from the dashboard's own services
and templates. Their Content-Security-Policy lets the origins in PACTA_EMBED_ORIGINS frame them;
every other page keeps `frame-ancestors 'none'`."""

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from app.agreements.errors import AgreementNotFound
from app.auth.dependencies import optional_principal
from app.clock import Today
from app.dashboard import service
from app.dashboard.i18n import Locale
from app.dashboard.pages import figures_context, link, not_found
from app.dashboard.render import page, progress_width
from app.db import SessionDep
from app.http.etag import conditional_body
from app.i18n import PageLanguageDep
from app.organizations.errors import OrganizationNotFound

router = APIRouter(prefix="/embed", include_in_schema=False, dependencies=[Depends(optional_principal)])

# Evidence the agreement widget lists, newest first.
LATEST_EVIDENCE = 1
AGREEMENTS_IN_WIDGET = 10


def frame_ancestors(request: Request) -> str:
    return " ".join(request.app.state.settings.embed_origins) or "'none'"


@router.get("/agreements/{agreement_id}", response_class=HTMLResponse)
async def embed_agreement(
    agreement_id: str, request: Request, session: SessionDep, today: Today, lang: PageLanguageDep
) -> Response:
    """A public agreement's targets with their 6/12/24-month progress and its latest verified evidence."""
    t = Locale(lang)
    try:
        found = await service.agreement_page(session, uuid.UUID(agreement_id), today=today)
    except (ValueError, AgreementNotFound):
        return not_found(t)
    # A portal's page asks for the widget on every visit: its ETag lets the browser keep its copy.
    return conditional_body(
        request,
        page(
            "embed_agreement.html",
            t,
            frame_ancestors=frame_ancestors(request),
            view=found,
            tally=service.tally_targets([p.target for p in found.targets], today),
            latest=service.latest_evidence(found, LATEST_EVIDENCE),
            progress_width=progress_width,
            page=link(f"/dashboard/agreements/{found.agreement.id}", t.lang),
            today=today,
        ),
    )


@router.get("/organizations/{organization_id}", response_class=HTMLResponse)
async def embed_organization(
    organization_id: str, request: Request, session: SessionDep, today: Today, lang: PageLanguageDep
) -> Response:
    """An organization's public agreements, their milestones and key indicators."""
    t = Locale(lang)
    try:
        found = await service.organization_page(
            session, uuid.UUID(organization_id), today=today, limit=AGREEMENTS_IN_WIDGET
        )
    except (ValueError, OrganizationNotFound):
        return not_found(t, "not_found_organization")
    return conditional_body(
        request,
        page(
            "embed_organization.html",
            t,
            frame_ancestors=frame_ancestors(request),
            **figures_context(found.overview, t),
            view=found,
            page=link(f"/dashboard/organizations/{found.organization.id}", t.lang),
        ),
    )
