"""The rules as SQL over the whole registry, evaluated today: one UNION ALL, filtered and paged.

Written as SQL text because the rules read best that way; the agreement status comes from the
same expression the agreements API uses (compiled in), so the two can never disagree.
"""

import functools
import string
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, case, column, literal, literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import Date, String, Text, Uuid

from app import sql_json
from app.agreements.repository import status_expr
from app.compliance.rules import RULES, Rule
from app.compliance.schemas import Finding
from app.db import Reader
from app.i18n import translate


@dataclass(frozen=True, slots=True)
class Params:
    today: date
    grace_days: int
    dormancy_months: int


_MARKER = date(1111, 11, 11)


@cache
def _status_sql() -> str:
    compiled = status_expr(literal(_MARKER, Date)).compile(
        dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"literal_binds": True},
    )
    sql = str(compiled)
    assert "1111-11-11" in sql
    return sql.replace("'1111-11-11'::DATE", "CAST(:today AS date)").replace("'1111-11-11'", "CAST(:today AS date)")


FAVORABLE = "('favorable', 'favorable_with_observations')"


def _rules_sql() -> str:
    status = _status_sql()
    in_force_on = "coalesce(agreements.entry_into_force_on, agreements.signed_on)"
    return f"""
    SELECT 'sre_not_informed_before_signature' AS rule, agreements.id AS agreement_id,
           'agreement' AS subject_type, agreements.id AS subject_id,
           jsonb_build_object('signed_on', agreements.signed_on) AS detail
      FROM agreements
     WHERE agreements.signed_on IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM legal_reviews r WHERE r.agreement_id = agreements.id
                          AND r.kind = 'sre_dictamen' AND r.requested_on <= agreements.signed_on)
    UNION ALL
    SELECT 'no_favorable_dictamen_before_signature', agreements.id, 'agreement', agreements.id,
           jsonb_build_object('signed_on', agreements.signed_on)
      FROM agreements
     WHERE agreements.signed_on IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM legal_reviews r WHERE r.agreement_id = agreements.id
                          AND r.kind = 'sre_dictamen' AND r.outcome IN {FAVORABLE}
                          AND r.decided_on <= agreements.signed_on)
    UNION ALL
    SELECT 'not_registered', agreements.id, 'agreement', agreements.id,
           jsonb_build_object('signed_on', agreements.signed_on, 'days', CAST(:today AS date) - agreements.signed_on,
                              'grace_days', CAST(:grace_days AS int))
      FROM agreements
     WHERE agreements.signed_on IS NOT NULL
       AND agreements.signed_on < CAST(:today AS date) - CAST(:grace_days AS int)
       AND agreements.registration_state IS DISTINCT FROM 'registered'
    UNION ALL
    SELECT 'no_council_approval', agreements.id, 'agreement', agreements.id,
           jsonb_build_object('signed_on', agreements.signed_on)
      FROM agreements JOIN organizations o ON o.id = agreements.signatory_org_id AND o.kind = 'municipality'
     WHERE agreements.signed_on IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM legal_reviews r WHERE r.agreement_id = agreements.id
                          AND r.kind = 'council_approval' AND r.outcome IN {FAVORABLE}
                          AND r.decided_on <= agreements.signed_on)
    UNION ALL
    SELECT 'private_counterpart', agreements.id, 'agreement', agreements.id,
           jsonb_build_object('name',
                  jsonb_path_query_first(agreements.counterparts, '$[*] ? (@.kind == "private_entity").name') #>> '{{}}')
      FROM agreements
     WHERE agreements.counterparts @> '[{{"kind": "private_entity"}}]'
    UNION ALL
    SELECT 'no_signed_text', agreements.id, 'agreement', agreements.id,
           jsonb_build_object('signed_on', agreements.signed_on)
      FROM agreements
     WHERE agreements.signed_on IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM evidence_documents e WHERE e.agreement_id = agreements.id
                          AND e.document_type = 'agreement_text' AND e.status = 'accepted')
    UNION ALL
    SELECT 'dispute_clause_not_reviewed', agreements.id, 'agreement', agreements.id,
           '{{}}'::jsonb
      FROM agreements
     WHERE agreements.has_dispute_settlement_clause
       AND NOT EXISTS (SELECT 1 FROM legal_reviews r WHERE r.agreement_id = agreements.id
                          AND r.checks ->> 'dispute_clause_compliant' IS NOT NULL)
    UNION ALL
    SELECT 'in_force_without_targets', agreements.id, 'agreement', agreements.id,
           jsonb_build_object('since', {in_force_on})
      FROM agreements
     WHERE ({status}) = 'in_force'
       AND NOT EXISTS (SELECT 1 FROM targets t WHERE t.agreement_id = agreements.id)
    UNION ALL
    SELECT 'target_without_baseline', t.agreement_id, 'target', t.id,
           jsonb_build_object('target', t.title)
      FROM targets t
     WHERE t.measure <> 'qualitative' AND t.baseline_value IS NULL
    UNION ALL
    SELECT 'milestone_not_met', agreements.id, 'target', t.id,
           jsonb_build_object('target', t.title, 'months', m.months, 'due_on', d.due_on,
                              'target_value', trim_scale(m.target_value), 'verified', trim_scale(v.value))
      FROM targets t
      JOIN agreements ON agreements.id = t.agreement_id AND agreements.signed_on IS NOT NULL
      CROSS JOIN LATERAL jsonb_to_recordset(t.milestones) AS m(months int, target_value numeric)
      CROSS JOIN LATERAL (SELECT CAST({in_force_on} + make_interval(months => m.months) AS date) AS due_on) d
      LEFT JOIN LATERAL (SELECT x.value FROM measurements x
                          WHERE x.target_id = t.id AND x.status = 'verified' AND x.as_of <= d.due_on
                          ORDER BY x.as_of DESC, x.created_at DESC LIMIT 1) v ON true
     WHERE d.due_on < CAST(:today AS date)
       AND CASE WHEN t.measure = 'qualitative' THEN v.value IS NULL
                  AND NOT EXISTS (SELECT 1 FROM measurements x WHERE x.target_id = t.id
                                     AND x.status = 'verified' AND x.as_of <= d.due_on)
                WHEN v.value IS NULL THEN true
                WHEN t.ascending THEN v.value < m.target_value AND v.value <= coalesce(t.baseline_value, 0)
                ELSE v.value > m.target_value AND v.value >= coalesce(t.baseline_value, 0)
           END
    UNION ALL
    SELECT 'measurement_without_evidence', x.agreement_id, 'measurement', x.id,
           jsonb_build_object('status', x.status, 'as_of', x.as_of)
      FROM measurements x
     WHERE x.status <> 'rejected'
       AND NOT EXISTS (SELECT 1 FROM measurement_evidence me JOIN evidence_documents e ON e.id = me.evidence_id
                        WHERE me.measurement_id = x.id AND e.status <> 'rejected')
    UNION ALL
    SELECT 'dormant', agreements.id, 'agreement', agreements.id,
           jsonb_build_object('since', {in_force_on}, 'months', CAST(:dormancy_months AS int))
      FROM agreements
     WHERE ({status}) = 'in_force'
       AND CAST({in_force_on} + make_interval(months => CAST(:dormancy_months AS int)) AS date) < CAST(:today AS date)
       AND NOT EXISTS (SELECT 1 FROM measurements x WHERE x.agreement_id = agreements.id AND x.status = 'verified'
                          AND x.as_of >= CAST(CAST(:today AS date) - make_interval(months => CAST(:dormancy_months AS int)) AS date))
    """


@dataclass(frozen=True, slots=True)
class Scope:
    """Which findings a query returns."""

    rules: tuple[str, ...] = ()
    signatory_org_id: uuid.UUID | None = None
    state: str | None = None
    only_org_id: uuid.UUID | None = None  # an editor's own organization


def _bind(params: Params, scope: Scope) -> dict[str, Any]:
    return {
        "today": params.today,
        "grace_days": params.grace_days,
        "dormancy_months": params.dormancy_months,
        "rules": list(scope.rules),
        "signatory_org_id": scope.signatory_org_id,
        "state": scope.state,
        "only_org_id": scope.only_org_id,
    }


def _scoped(select_list: str) -> str:
    return f"""
    WITH findings AS ({_rules_sql()})
    SELECT {select_list}
      FROM findings f
      JOIN agreements a ON a.id = f.agreement_id
      JOIN organizations o ON o.id = a.signatory_org_id
     WHERE (cardinality(CAST(:rules AS text[])) = 0 OR f.rule = ANY(CAST(:rules AS text[])))
       AND (CAST(:signatory_org_id AS uuid) IS NULL OR a.signatory_org_id = CAST(:signatory_org_id AS uuid))
       AND (CAST(:state AS text) IS NULL OR o.subdivision = CAST(:state AS text))
       AND (CAST(:only_org_id AS uuid) IS NULL OR a.signatory_org_id = CAST(:only_org_id AS uuid))
    """


def _page_sql(*, after: bool) -> str:
    sql = _scoped(
        "f.rule, f.agreement_id, a.title AS agreement_title, a.signatory_org_id, o.subdivision AS state, "
        "f.subject_type, f.subject_id, f.detail"
    )
    if after:
        sql += " AND (f.rule, f.agreement_id, f.subject_id) > (:after_rule, CAST(:after_agreement AS uuid), CAST(:after_subject AS uuid))"
    return sql + " ORDER BY f.rule, f.agreement_id, f.subject_id LIMIT :limit"


def _page_bind(
    params: Params, scope: Scope, *, after: tuple[str, uuid.UUID, uuid.UUID] | None, limit: int
) -> dict[str, Any]:
    bind = _bind(params, scope) | {"limit": limit}
    if after is not None:
        bind |= {"after_rule": after[0], "after_agreement": after[1], "after_subject": after[2]}
    return bind


async def findings_page(
    session: AsyncSession, params: Params, scope: Scope, *, after: tuple[str, uuid.UUID, uuid.UUID] | None, limit: int
) -> list[dict[str, Any]]:
    sql = _page_sql(after=after is not None)
    bind = _page_bind(params, scope, after=after, limit=limit)
    return [dict(r) for r in (await session.execute(text(sql), bind)).mappings()]


def findings_where(params: Params, condition: str) -> tuple[Any, dict[str, Any]]:
    """Every rule's findings that meet `condition` (SQL over `f`, the findings, and `a`, their
    agreement), as a statement and its binds, in the findings' order (the open data export)."""
    sql = (
        _scoped("f.rule, f.agreement_id, f.subject_type, f.subject_id, f.detail")
        + f" AND ({condition}) ORDER BY f.rule, f.agreement_id, f.subject_id"
    )
    return text(sql), _bind(params, Scope())


@functools.cache
def _page_json(lang: str, *, after: bool) -> ClauseElement:
    """The page with each Finding as JSON text (app.sql_json): the rule's title, severity and legal
    basis in `lang`, and its detail written from the facts as Rule.detail writes it. One statement
    per language and shape, built once."""
    f = (
        text(_page_sql(after=after))
        .columns(
            column("rule", String()),
            column("agreement_id", Uuid()),
            column("agreement_title", String()),
            column("signatory_org_id", Uuid()),
            column("state", String()),
            column("subject_type", String()),
            column("subject_id", Uuid()),
            column("detail", JSONB()),
        )
        .subquery("f")
        .c
    )

    def per_rule(text_of: Callable[[Rule], ColumnElement[str]]) -> ColumnElement[str]:
        return case(*((f.rule == r.code, text_of(r)) for r in RULES), else_=literal(None, Text()))

    def detail(rule: Rule) -> ColumnElement[str]:
        template = translate(lang, f"compliance.finding.{rule.code}")
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        words = sql_json.formatted(template, {name: sql_json.fact_text(f.detail, name) for name in names})
        # Text.render formats only when there are facts: with none the template reads as it is.
        return case((f.detail == literal_column("'{}'::jsonb"), literal(template, Text())), else_=words)

    fields = {
        "title": sql_json.value(per_rule(lambda r: literal(r.title(lang), Text()))),
        "severity": sql_json.value(per_rule(lambda r: literal(r.severity.value, Text()))),
        "legal_basis": sql_json.value(per_rule(lambda r: literal(r.legal_basis(lang), Text()))),
        "detail": sql_json.value(per_rule(detail)),
    }
    document = sql_json.obj(
        [(name, fields[name] if name in fields else sql_json.value(f[name])) for name in Finding.model_fields]
    )
    return select(document.label("document"), f.rule, f.agreement_id, f.subject_id).order_by(
        f.rule, f.agreement_id, f.subject_id
    )


async def findings_page_json(
    reader: Reader,
    params: Params,
    scope: Scope,
    *,
    after: tuple[str, uuid.UUID, uuid.UUID] | None,
    limit: int,
    lang: str,
) -> Sequence[Mapping[str, Any]]:
    """As findings_page, each row's Finding as JSON text ("document") beside its sort columns: one
    statement in autocommit (app.db.Reader)."""
    bind = _page_bind(params, scope, after=after, limit=limit)
    return await reader.fetch(_page_json(lang, after=after is not None), bind)


async def summary(session: AsyncSession, params: Params, scope: Scope, *, group_by: str) -> list[dict[str, Any]]:
    """Per group: agreements, agreements with no finding, findings per rule."""
    key = "o.subdivision" if group_by == "state" else "a.signatory_org_id::text"
    label = "min(o.subdivision)" if group_by == "state" else "min(o.name)"
    counted = _scoped("f.rule, f.agreement_id")
    sql = f"""
    WITH scoped AS ({counted}),
    -- Joined, not probed per agreement: a NOT EXISTS on the CTE inside the FILTER would rescan
    -- every finding for every agreement (quadratic; minutes at 100,000 agreements).
    flagged AS (SELECT DISTINCT agreement_id FROM scoped),
    groups AS (
        SELECT {key} AS key, {label} AS label, count(*) AS agreements,
               count(*) FILTER (WHERE fl.agreement_id IS NULL) AS clean
          FROM agreements a JOIN organizations o ON o.id = a.signatory_org_id
          LEFT JOIN flagged fl ON fl.agreement_id = a.id
         WHERE (CAST(:signatory_org_id AS uuid) IS NULL OR a.signatory_org_id = CAST(:signatory_org_id AS uuid))
           AND (CAST(:state AS text) IS NULL OR o.subdivision = CAST(:state AS text))
           AND (CAST(:only_org_id AS uuid) IS NULL OR a.signatory_org_id = CAST(:only_org_id AS uuid))
         GROUP BY {key}
    ),
    per_rule AS (
        SELECT {key} AS key, s.rule, count(*) AS findings
          FROM scoped s JOIN agreements a ON a.id = s.agreement_id JOIN organizations o ON o.id = a.signatory_org_id
         GROUP BY {key}, s.rule
    ),
    -- Aggregated once per group and joined (no subquery per group: quadratic in the number of
    -- organizations). '' stands for a null key: no state code or organization id is empty.
    by_rule AS (
        SELECT p.key, jsonb_object_agg(p.rule, p.findings) AS by_rule FROM per_rule p GROUP BY p.key
    )
    SELECT g.key, g.label, g.agreements, g.clean, coalesce(b.by_rule, '{{}}'::jsonb) AS by_rule
      FROM groups g
      LEFT JOIN by_rule b ON coalesce(b.key, '') = coalesce(g.key, '')
     ORDER BY g.agreements DESC, g.key
    """
    return [dict(r) for r in (await session.execute(text(sql), _bind(params, scope))).mappings()]


async def new_findings(session: AsyncSession, params: Params) -> list[dict[str, Any]]:
    """Findings never seen before, remembered in the same statement (each is announced once)."""
    sql = f"""
    WITH findings AS ({_rules_sql()}),
    fresh AS (
        INSERT INTO emitted_notices (key, due_on, created_at)
        SELECT concat('finding:', f.rule, ':', f.subject_id), CAST(:today AS date), now() FROM findings f
        ON CONFLICT DO NOTHING
        RETURNING key
    )
    SELECT f.rule, f.agreement_id, f.subject_type, f.subject_id, f.detail
      FROM findings f JOIN fresh ON fresh.key = concat('finding:', f.rule, ':', f.subject_id)
    """
    bind = {"today": params.today, "grace_days": params.grace_days, "dormancy_months": params.dormancy_months}
    return [dict(r) for r in (await session.execute(text(sql), bind)).mappings()]
