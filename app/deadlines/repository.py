"""The deadlines as one SQL UNION over the registry, for a window of days and a scope."""

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, case, column, func, literal, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import Date, Integer, String, Text, Uuid

from app import sql_json
from app.agreements import access
from app.agreements.repository import condition_sql, is_public, takes_part
from app.db import Reader
from app.deadlines.schemas import Deadline
from app.i18n import translate as catalogue_text

# Where each kind of deadline is read (app.deadlines.service.URL_PATHS, without the id).
URL_PREFIXES = {
    "expiry": "/v1/agreements/",
    "registration_overdue": "/v1/agreements/",
    "milestone_due": "/v1/targets/",
    "activity": "/v1/activities/",
}


@dataclass(frozen=True, slots=True)
class Window:
    today: date
    until: date
    grace_days: int
    since: date | None = None  # lower bound; None = today (calendars reach back further)


@dataclass(frozen=True, slots=True)
class Scope:
    all_: bool
    org_id: uuid.UUID | None  # the caller's organization: its own and shared agreements
    signatory_org_id: uuid.UUID | None = None
    state: str | None = None
    agreement_id: uuid.UUID | None = None
    public_only: bool = False
    activity_statuses: tuple[str, ...] = ("planned", "confirmed")


# Who sees what is the one rule of app.agreements.repository, compiled into this text: the
# agreements an organization signed or takes part in, and the public ones.
_TAKES_PART = condition_sql(takes_part(literal_column("CAST(:org_id AS uuid)", Uuid())))
_PUBLIC = condition_sql(is_public())

DEADLINES_SQL = f"""
WITH scoped AS (
    SELECT agreements.* FROM agreements JOIN organizations o ON o.id = agreements.signatory_org_id
     WHERE (CAST(:all_ AS boolean) OR {_TAKES_PART})
       AND (CAST(:signatory_org_id AS uuid) IS NULL OR agreements.signatory_org_id = CAST(:signatory_org_id AS uuid))
       AND (CAST(:state AS text) IS NULL OR o.subdivision = CAST(:state AS text))
       AND (CAST(:agreement_id AS uuid) IS NULL OR agreements.id = CAST(:agreement_id AS uuid))
       AND (NOT CAST(:public_only AS boolean) OR {_PUBLIC})
       AND (agreements.terminated_on IS NULL OR agreements.terminated_on > CAST(:today AS date))
       AND (agreements.withdrawn_on IS NULL OR agreements.withdrawn_on > CAST(:today AS date))
), deadlines AS (
    -- title is the subject's own (data); the sentence around it is written in the reader's language.
    SELECT a.expires_on AS date, 'expiry' AS kind, a.id AS agreement_id, a.id AS subject_id,
           concat('expiry-', a.id) AS uid,
           a.title AS agreement_title, a.title AS title, NULL::timestamptz AS starts_at,
           NULL::timestamptz AS ends_at, NULL::int AS utc_offset_minutes, NULL::text AS place,
           NULL::text AS activity_status, NULL::int AS months
      FROM scoped a
     WHERE a.expires_on BETWEEN CAST(:since AS date) AND CAST(:until AS date)
    UNION ALL
    SELECT d.due_on, 'milestone_due', a.id, t.id, concat('milestone-', t.id, '-', m.months), a.title,
           t.title, NULL, NULL, NULL, NULL, NULL, m.months
      FROM scoped a
      JOIN targets t ON t.agreement_id = a.id
      CROSS JOIN LATERAL jsonb_to_recordset(t.milestones) AS m(months int, target_value numeric)
      CROSS JOIN LATERAL (SELECT CAST(coalesce(a.entry_into_force_on, a.signed_on)
                                      + make_interval(months => m.months) AS date) AS due_on) d
     WHERE a.signed_on IS NOT NULL AND d.due_on BETWEEN CAST(:since AS date) AND CAST(:until AS date)
    UNION ALL
    SELECT a.signed_on + CAST(:grace_days AS int), 'registration_overdue', a.id, a.id, concat('registration-', a.id), a.title,
           a.title, NULL, NULL, NULL, NULL, NULL, NULL
      FROM scoped a
     WHERE a.signed_on IS NOT NULL AND a.registration_state IS DISTINCT FROM 'registered'
       AND a.signed_on + CAST(:grace_days AS int) <= CAST(:until AS date)
    UNION ALL
    SELECT x.local_day, 'activity', a.id, x.id, concat('activity-', x.id), a.title, x.title,
           x.starts_at, x.ends_at, x.utc_offset_minutes, x.place, x.status, NULL
      FROM scoped a
      JOIN (SELECT act.*,
                   -- The day it was given for, in the organizer's offset (not the UTC day).
                   CAST((act.starts_at AT TIME ZONE 'UTC') + make_interval(mins => act.utc_offset_minutes) AS date)
                       AS local_day
              FROM activities act) x ON x.agreement_id = a.id
     WHERE x.status = ANY(CAST(:activity_statuses AS text[]))
       AND (NOT CAST(:public_only AS boolean) OR x.status = ANY(CAST(:public_activity_statuses AS text[])))
       AND x.local_day BETWEEN CAST(:since AS date) AND CAST(:until AS date)
)
SELECT * FROM deadlines
 WHERE (CAST(:after_date AS date) IS NULL
        OR (date, kind, subject_id) > (CAST(:after_date AS date), CAST(:after_kind AS text), CAST(:after_subject AS uuid)))
 ORDER BY date, kind, subject_id
 LIMIT :limit
"""  # noqa: S608 - the f-string inserts compiled constants, never a value


def _bind(window: Window, scope: Scope, *, after: tuple[date, str, uuid.UUID] | None, limit: int) -> dict[str, Any]:
    return {
        "today": window.today,
        "since": window.since or window.today,
        "until": window.until,
        "grace_days": window.grace_days,
        "all_": scope.all_,
        "org_id": scope.org_id,
        "signatory_org_id": scope.signatory_org_id,
        "state": scope.state,
        "agreement_id": scope.agreement_id,
        "public_only": scope.public_only,
        "activity_statuses": list(scope.activity_statuses),
        "public_activity_statuses": sorted(access.PUBLIC_STATUSES["activity"]),
        "after_date": None if after is None else after[0],
        "after_kind": None if after is None else after[1],
        "after_subject": None if after is None else after[2],
        "limit": limit,
    }


async def deadlines(
    session: AsyncSession, window: Window, scope: Scope, *, after: tuple[date, str, uuid.UUID] | None, limit: int
) -> list[dict[str, Any]]:
    bind = _bind(window, scope, after=after, limit=limit)
    return [dict(r) for r in (await session.execute(text(DEADLINES_SQL), bind)).mappings()]


_ROWS = (
    text(DEADLINES_SQL)
    .columns(
        column("date", Date()),
        column("kind", String()),
        column("agreement_id", Uuid()),
        column("subject_id", Uuid()),
        column("title", String()),
        column("months", Integer()),
    )
    .subquery("d")
)


@functools.cache
def _json_select(lang: str) -> ClauseElement:
    """The page with each Deadline as JSON text (app.sql_json), its title written in `lang` as
    app.deadlines.service.title_of writes it, its url as to_deadline does; one statement per
    language, built once."""
    d = _ROWS.c
    sentence = {
        kind: sql_json.formatted(
            catalogue_text(lang, f"deadlines.{kind}"), {"title": d.title, "months": d.months.cast(Text())}
        )
        for kind in ("expiry", "milestone_due", "registration_overdue")
    }
    title = case(*((d.kind == kind, words) for kind, words in sentence.items()), else_=d.title)
    path = case(
        *((d.kind == kind, literal(prefix, Text())) for kind, prefix in URL_PREFIXES.items()),
        else_=literal("", Text()),
    )
    url = func.concat(bindparam("base_url", type_=Text()), path, d.subject_id.cast(Text()))
    fields = {
        "date": sql_json.value(d.date),
        "kind": sql_json.value(d.kind),
        "agreement_id": sql_json.value(d.agreement_id),
        "subject_id": sql_json.value(d.subject_id),
        "title": sql_json.value(title),
        "url": sql_json.value(url),
    }
    document = sql_json.obj([(name, fields[name]) for name in Deadline.model_fields])
    return select(document.label("document"), d.date, d.kind, d.subject_id).order_by(d.date, d.kind, d.subject_id)


async def deadlines_json(
    reader: Reader,
    window: Window,
    scope: Scope,
    *,
    after: tuple[date, str, uuid.UUID] | None,
    limit: int,
    lang: str,
    base_url: str,
) -> Sequence[Mapping[str, Any]]:
    """As deadlines, each row's Deadline as JSON text ("document") beside its sort columns: one
    statement in autocommit (app.db.Reader)."""
    bind = _bind(window, scope, after=after, limit=limit) | {"base_url": base_url}
    return await reader.fetch(_json_select(lang), bind)
