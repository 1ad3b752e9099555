"""Who sees which findings, and their shape."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import literal_column
from sqlalchemy.ext.asyncio import AsyncSession

from app import catalogs
from app.agreements import access
from app.compliance import repository
from app.compliance.rules import BY_CODE, RULES, Severity
from app.compliance.schemas import Finding, GroupBy, RuleRead, Summary, SummaryGroup
from app.config import Settings
from app.db import Reader
from app.errors import Forbidden
from app.http.pagination import PageParams, SortKey, decode_cursor, make_page
from app.i18n import Text
from app.principal import Principal

FINDINGS_SORT = SortKey(
    "findings",
    (literal_column("rule"), literal_column("agreement_id"), literal_column("subject_id")),
    (str, uuid.UUID, uuid.UUID),
)


def rules(lang: str) -> list[RuleRead]:
    return [
        RuleRead(
            code=r.code,
            title=r.title(lang),
            severity=r.severity,
            legal_basis=r.legal_basis(lang),
            description=r.description(lang),
        )
        for r in RULES
    ]


def scope_for(
    principal: Principal,
    *,
    rules: list[str],
    severity: Severity | None,
    signatory_org_id: uuid.UUID | None,
    state: str | None,
) -> repository.Scope:
    """Auditors and admins see every finding; an editor or legal reviewer its organization's."""
    if principal.reads_everything:
        only = None
    elif principal.role in access.REVIEWER_ROLES:
        only = principal.org_id
    else:
        raise Forbidden(Text("compliance.forbidden"))
    selected = rules or [r.code for r in RULES]
    if severity is not None:
        selected = [c for c in selected if BY_CODE[c].severity is severity]
        if not selected:
            selected = ["(none)"]
    return repository.Scope(rules=tuple(selected), signatory_org_id=signatory_org_id, state=state, only_org_id=only)


def params_for(settings: Settings, today: date) -> repository.Params:
    return repository.Params(
        today=today, grace_days=settings.registration_grace_days, dormancy_months=settings.dormancy_months
    )


async def findings(
    session: AsyncSession, params: repository.Params, scope: repository.Scope, page: PageParams, *, lang: str
) -> tuple[list[Finding], str | None]:
    after = None if page.cursor is None else decode_cursor(FINDINGS_SORT, page.cursor)
    rows = await repository.findings_page(session, params, scope, after=after, limit=page.limit + 1)
    kept, cursor = make_page(rows, FINDINGS_SORT, page, lambda r: (r["rule"], r["agreement_id"], r["subject_id"]))
    return [finding(r, lang) for r in kept], cursor


async def findings_json(
    reader: Reader, params: repository.Params, scope: repository.Scope, page: PageParams, *, lang: str
) -> tuple[list[str], str | None]:
    """The same page as findings, each item already the JSON text of its Finding."""
    after = None if page.cursor is None else decode_cursor(FINDINGS_SORT, page.cursor)
    rows = await repository.findings_page_json(reader, params, scope, after=after, limit=page.limit + 1, lang=lang)
    kept, cursor = make_page(rows, FINDINGS_SORT, page, lambda r: (r["rule"], r["agreement_id"], r["subject_id"]))
    return [str(r["document"]) for r in kept], cursor


def finding(row: dict[str, Any], lang: str) -> Finding:
    """A finding row in `lang`: the rule's title and legal basis, the detail written from its facts."""
    rule = BY_CODE[str(row["rule"])]
    return Finding.model_validate(
        {
            **row,
            "title": rule.title(lang),
            "severity": rule.severity,
            "legal_basis": rule.legal_basis(lang),
            "detail": rule.detail(lang, row["detail"]),
        }
    )


async def summary(
    session: AsyncSession, params: repository.Params, scope: repository.Scope, group_by: GroupBy
) -> Summary:
    rows = await repository.summary(session, params, scope, group_by=group_by.value)
    groups = [
        SummaryGroup(
            key=None if r["key"] is None else str(r["key"]),
            label=catalogs.subdivision_name(r["label"]) if group_by is GroupBy.state else r["label"],
            agreements=int(r["agreements"]),
            agreements_without_findings=int(r["clean"]),
            share_without_findings=round(int(r["clean"]) / int(r["agreements"]), 4) if r["agreements"] else 1.0,
            findings_by_rule={str(k): int(v) for k, v in (r["by_rule"] or {}).items()},
        )
        for r in rows
    ]
    return Summary(group_by=group_by, groups=groups)
