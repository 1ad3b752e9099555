"""The public dashboard pages: /dashboard and /dashboard/agreements/{id}, server-rendered HTML.

Spanish by default (PACTA_DEFAULT_LANGUAGE), English with `?lang=en` or an Accept-Language that
prefers it. Outside the OpenAPI document: pages for people, not an
API; the same figures are at /v1/dashboard/summary, computed by the same service function.
"""

import uuid
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from app import catalogs
from app.agreements.errors import AgreementNotFound
from app.auth.dependencies import optional_principal
from app.clock import Today
from app.dashboard import service
from app.dashboard.i18n import DEFAULT_LANGUAGE, Locale
from app.dashboard.render import bars, page, progress_width, stacked
from app.dashboard.repository import Filters
from app.db import SessionDep
from app.i18n import PageLanguageDep
from app.organizations.errors import OrganizationNotFound
from app.targets.schemas import MilestoneStatus

# Like every endpoint: anonymous is fine, but a key that is sent must be valid.
router = APIRouter(include_in_schema=False, dependencies=[Depends(optional_principal)])

RECENT_AGREEMENTS = 50


def link(path: str, lang: str, *, explicit: bool = False, **params: str | None) -> str:
    """A same-site link that keeps the page's language (Spanish needs no parameter). The language
    switch names its language always: without it the browser's Accept-Language would decide."""
    query = {k: v for k, v in params.items() if v is not None}
    if explicit or lang != DEFAULT_LANGUAGE:
        query["lang"] = lang
    return f"{path}?{urlencode(query)}" if query else path


def _state_options() -> list[tuple[str, str]]:
    codes = sorted(set(catalogs.mx_states().values()))
    return sorted(((code, catalogs.subdivision_name(code) or code) for code in codes), key=lambda o: o[1])


def not_found(locale: Locale, message_key: str = "not_found") -> HTMLResponse:
    return page(
        "not_found.html",
        locale,
        status_code=404,
        message=locale[message_key],
        home=link("/dashboard", locale.lang),
        switch=link("/dashboard", "en" if locale.lang == "es" else "es", explicit=True),
        api="/v1/dashboard/summary",
    )


def organization_link(lang: str) -> Callable[[service.AgreementLine], str]:
    def href(line: service.AgreementLine) -> str:
        return link(f"/dashboard/organizations/{line.signatory_org_id}", lang)

    return href


def figures_context(overview: service.Overview, t: Locale) -> dict[str, Any]:
    """What the overview and an organization's page draw from the same figures: charts, key
    indicators, milestones and the agreements list (each signatory linked to its own page)."""
    figures = overview.summary
    milestones = figures.milestones
    return {
        "figures": figures,
        "charts": {
            "by_state": bars(
                (
                    s.name or t["no_state"],
                    s.agreements,
                    t.num(s.agreements),
                    None if s.state is None else link("/dashboard", t.lang, state=s.state),
                )
                for s in figures.by_state
            ),
            "by_status": bars((t.label("status", k), v, t.num(v), None) for k, v in figures.by_status.items()),
            "by_registration": bars(
                (t.label("registration_status", k), v, t.num(v), None)
                for k, v in figures.by_registration_status.items()
            ),
            "by_subject": bars(
                (t.label("subject_area", k), v, t.num(v), None)
                for k, v in sorted(figures.by_subject_area.items(), key=lambda kv: -kv[1])
                if v
            ),
            "by_country": bars((t.country(k), v, t.num(v), None) for k, v in figures.by_counterpart_country.items()),
        },
        "indicators": [
            (t.label("indicator", i.indicator), t.amount(i.total, i.unit), t.num(i.targets))
            for i in figures.key_indicators
        ],
        "segments": stacked((s.value, t.label("milestone", s.value), milestones.by_status[s]) for s in MilestoneStatus),
        "milestones_met": milestones.by_status[MilestoneStatus.met],
        "agreements": [
            (a, link(f"/dashboard/agreements/{a.id}", t.lang), t.label("status", a.status)) for a in overview.agreements
        ],
        "org_href": organization_link(t.lang),
    }


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard_page(
    session: SessionDep,
    today: Today,
    lang: PageLanguageDep,
    state: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    """The public overview: agreements by state, status, registration and subject; key indicators; milestones."""
    locale = Locale(lang)
    state = state.strip().upper() if state and state.strip() else None
    if state is not None and not catalogs.is_subdivision(state):
        return not_found(locale, "not_found_state")
    overview = await service.overview(session, Filters(state=state), today=today, limit=RECENT_AGREEMENTS)
    t = locale
    return page(
        "overview.html",
        locale,
        **figures_context(overview, t),
        state=state,
        state_name=catalogs.subdivision_name(state),
        state_options=_state_options(),
        home=link("/dashboard", t.lang),
        clear_filter=link("/dashboard", t.lang),
        switch=link("/dashboard", "en" if t.lang == "es" else "es", explicit=True, state=state),
        api=link("/v1/dashboard/summary", DEFAULT_LANGUAGE, state=state),
    )


@router.get("/dashboard/agreements/{agreement_id}", response_class=HTMLResponse)
async def dashboard_agreement_page(
    agreement_id: str, session: SessionDep, today: Today, lang: PageLanguageDep
) -> HTMLResponse:
    """One public agreement: its facts, each target's 6/12/24-month progress and the evidence behind it."""
    locale = Locale(lang)
    try:
        found = await service.agreement_page(session, uuid.UUID(agreement_id), today=today)
    except (ValueError, AgreementNotFound):
        return not_found(locale)
    t = locale
    return page(
        "agreement.html",
        locale,
        view=found,
        progress_width=progress_width,
        home=link("/dashboard", t.lang),
        switch=link(f"/dashboard/agreements/{found.agreement.id}", "en" if t.lang == "es" else "es", explicit=True),
        api=f"/v1/agreements/{found.agreement.id}",
        today=today,
        org_href=link(f"/dashboard/organizations/{found.agreement.signatory_org_id}", t.lang),
    )


@router.get("/dashboard/organizations/{organization_id}", response_class=HTMLResponse)
async def dashboard_organization_page(
    organization_id: str, session: SessionDep, today: Today, lang: PageLanguageDep
) -> HTMLResponse:
    """An organization's public page: its public agreements, their status and progress, its key indicators."""
    locale = Locale(lang)
    try:
        found = await service.organization_page(
            session, uuid.UUID(organization_id), today=today, limit=RECENT_AGREEMENTS
        )
    except (ValueError, OrganizationNotFound):
        return not_found(locale, "not_found_organization")
    t = locale
    path = f"/dashboard/organizations/{found.organization.id}"
    return page(
        "organization.html",
        locale,
        **figures_context(found.overview, t),
        view=found,
        progress_width=progress_width,
        home=link("/dashboard", t.lang),
        switch=link(path, "en" if t.lang == "es" else "es", explicit=True),
        api=link("/v1/dashboard/summary", DEFAULT_LANGUAGE, signatory_org_id=str(found.organization.id)),
        badge=link(f"/badges/organizations/{found.organization.id}.svg", t.lang),
        embed=link(f"/embed/organizations/{found.organization.id}", t.lang),
    )
