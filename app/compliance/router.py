"""/v1/compliance: rules, findings and their summary, for auditors (and editors, their own)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import CurrentPrincipal
from app.clock import Today
from app.compliance import repository, service
from app.compliance.rules import RuleCode, Severity
from app.compliance.schemas import Finding, GroupBy, RuleRead, Summary
from app.config import Settings
from app.db import ReaderDep, SessionDep, sessionmaker_of
from app.http.csv import wants_table
from app.http.lean import lean
from app.http.lists import CSV_CONTENT, list_response
from app.http.pagination import Page, PageParams, json_page_response, page_params
from app.i18n import LanguageDep

router = APIRouter(prefix="/v1/compliance", tags=["compliance"])

CSV_COLUMNS = (
    "rule",
    "severity",
    "title",
    "legal_basis",
    "agreement_id",
    "agreement_title",
    "signatory_org_id",
    "state",
    "subject_type",
    "subject_id",
    "detail",
)
StateCode = Annotated[str | None, Query(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$", description="The signatory's ISO 3166-2.")]


async def finding_scope(
    principal: CurrentPrincipal,
    rule: Annotated[list[RuleCode] | None, Query(description="Repeatable.")] = None,
    severity: Severity | None = None,
    signatory_org_id: uuid.UUID | None = None,
    state: StateCode = None,
) -> repository.Scope:
    return service.scope_for(
        principal,
        rules=[r.value for r in rule or []],
        severity=severity,
        signatory_org_id=signatory_org_id,
        state=state,
    )


async def rule_params(request: Request, today: Today) -> repository.Params:
    settings: Settings = request.app.state.settings
    return service.params_for(settings, today)


Scope = Annotated[repository.Scope, Depends(finding_scope)]
Params = Annotated[repository.Params, Depends(rule_params)]


@router.get("/rules")
async def list_compliance_rules(principal: CurrentPrincipal, lang: LanguageDep) -> list[RuleRead]:  # noqa: ARG001
    """Every rule with its code, severity and legal basis (texts in the Accept-Language)."""
    return service.rules(lang)


@router.get("/findings", response_model=Page[Finding], responses=CSV_CONTENT)
@lean
async def list_compliance_findings(
    scope: Scope,
    params: Params,
    reader: ReaderDep,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
    lang: LanguageDep,
) -> Response:
    """Findings evaluated today over the whole registry (an editor: its organization's)."""
    if not wants_table(request):
        # The hot read: one statement, the page's JSON built by PostgreSQL, no session.
        documents, cursor = await service.findings_json(reader, params, scope, page, lang=lang)
        return json_page_response(request, documents, cursor)

    async def fetch(s: AsyncSession, p: PageParams) -> tuple[list[Finding], str | None]:
        return await service.findings(s, params, scope, p, lang=lang)

    async with sessionmaker_of(request)() as session:
        return await list_response(
            request, session, page, fetch, item=Finding, csv_columns=CSV_COLUMNS, filename="compliance-findings.csv"
        )


@router.get("/summary")
async def get_compliance_summary(
    scope: Scope, params: Params, session: SessionDep, group_by: GroupBy = GroupBy.state
) -> Summary:
    """Findings per rule, and the share of agreements with none, by state or by organization."""
    return await service.summary(session, params, scope, group_by)
