"""SQL for targets and the verified measurements their milestones are evaluated from."""

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import literal_column, select, text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import sql_json
from app.db import Reader
from app.http.pagination import PageParams, SortKey, apply_keyset, decode_cursor
from app.models import Measurement, Target
from app.models.results import MeasurementStatus
from app.targets.progress import Verified
from app.targets.schemas import TargetRead

BY_CREATED = SortKey("created", (col(Target.created_at), col(Target.id)), (datetime, uuid.UUID))


async def get(
    session: AsyncSession, target_id: uuid.UUID, *, agreement_id: uuid.UUID | None = None, for_update: bool = False
) -> Target | None:
    stmt = select(Target).where(col(Target.id) == target_id)
    if agreement_id is not None:
        stmt = stmt.where(col(Target.agreement_id) == agreement_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalars().first()


async def list_page(session: AsyncSession, agreement_id: uuid.UUID, params: PageParams) -> list[Target]:
    stmt = select(Target).where(col(Target.agreement_id) == agreement_id)
    return list((await session.execute(apply_keyset(stmt, BY_CREATED, params))).scalars())


async def verified_for(session: AsyncSession, target_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Verified]]:
    """Every verified measurement of these targets, in one query, oldest first."""
    found: dict[uuid.UUID, list[Verified]] = defaultdict(list)
    if not target_ids:
        return found
    stmt = (
        select(col(Measurement.target_id), col(Measurement.as_of), col(Measurement.value))
        .where(col(Measurement.target_id).in_(target_ids), col(Measurement.status) == MeasurementStatus.verified.value)
        .order_by(col(Measurement.target_id), col(Measurement.as_of), col(Measurement.created_at))
    )
    for target_id, as_of, value in (await session.execute(stmt)).all():
        found[target_id].append(Verified(as_of=as_of, value=value))
    return found


# --- the progress page as JSON text built by PostgreSQL ------------------------------------------


def _sql(expr: Any) -> str:
    # asyncpg's dialect (numeric parameters): a `%` stays a `%`.
    dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
    return str(expr.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _float(x: str) -> str:
    """A float8 as pydantic writes a float ("12.5", "100.0", "-0.0"), or NULL when its spelling
    could differ (outside 1e-4 <= |x| < 1e15, where the two switch to exponents differently):
    NULL makes the whole document NULL, and the page is then written by the models instead."""
    return (
        f"(CASE WHEN {x} IS NULL THEN 'null' "
        f"WHEN {x} = 0 THEN (CASE WHEN ({x})::text LIKE '-%' THEN '-0.0' ELSE '0.0' END) "
        f"WHEN abs({x}) < 1e-4 OR abs({x}) >= 1e15 OR {x} = 'NaN'::float8 THEN NULL "
        f"WHEN strpos(({x})::text, '.') = 0 THEN ({x})::text || '.0' "
        f"ELSE ({x})::text END)"
    )


def _json(x: str) -> str:
    return f"coalesce(to_json({x})::text, 'null')"


# Python's round(q, 4) of a float, in SQL: the correctly rounded value of the double's exact
# binary value (half to even), where round(q::numeric, 4) would round the shortest decimal that
# reads back as q (237.02 / 400 is 0.59255 to PostgreSQL, a hair above it as a double; and the
# two disagree whenever the double lies a hair below such a half). The double's sign, exponent
# and mantissa are read from its bytes, q * 10^4 is then the exact fraction n / d of integers
# (numeric: exact), and the remainder decides. A zero keeps q's sign, as round() does.
_ROUNDED = """CROSS JOIN LATERAL (
                  SELECT ('x' || encode(float8send(qq.q), 'hex'))::bit(64)::bigint AS bits OFFSET 0) fb
              CROSS JOIN LATERAL (
                  SELECT ((fb.bits >> 52) & 2047)::int AS ex, (fb.bits & 4503599627370495)::numeric AS mant,
                         fb.bits < 0 AS negative OFFSET 0) fe
              CROSS JOIN LATERAL (
                  SELECT CASE WHEN fe.ex = 0 THEN fe.mant ELSE fe.mant + 4503599627370496 END AS m,
                         CASE WHEN fe.ex = 0 THEN -1074 ELSE fe.ex - 1075 END AS e OFFSET 0) fm
              CROSS JOIN LATERAL (
                  SELECT CASE WHEN fm.e >= 0 THEN fm.m * power(2::numeric, fm.e) * 10000 ELSE fm.m * 10000 END AS n,
                         CASE WHEN fm.e >= 0 THEN 1::numeric ELSE power(2::numeric, -fm.e) END AS d OFFSET 0) fn
              CROSS JOIN LATERAL (SELECT div(fn.n, fn.d) AS k, mod(fn.n, fn.d) AS rest OFFSET 0) fk
              CROSS JOIN LATERAL (
                  SELECT fk.k + CASE WHEN 2 * fk.rest > fn.d OR (2 * fk.rest = fn.d AND mod(fk.k, 2) = 1)
                                     THEN 1 ELSE 0 END AS units OFFSET 0) fu
              CROSS JOIN LATERAL (
                  SELECT CASE WHEN qq.q IS NULL THEN NULL
                              WHEN fu.units = 0 THEN (CASE WHEN fe.negative THEN '-0' ELSE '0' END)::float8
                              ELSE ((CASE WHEN fe.negative THEN -fu.units ELSE fu.units END) / 10000.0)::float8
                         END AS attainment OFFSET 0) r"""

# app.targets.progress.evaluate in SQL, per milestone: the same float arithmetic (float8 is the
# same IEEE double as Python's float), attainment rounded as round() rounds (_ROUNDED). Each
# value is computed once, in a LATERAL subquery kept apart by OFFSET 0 (else PostgreSQL pulls it
# up and copies the expression into every place that reads it: a tree that takes longer to plan
# than to run).
_STATUS = """CASE
    WHEN p.measure = 'qualitative' THEN
        CASE WHEN act.found THEN 'met' WHEN o.overdue THEN 'not_met' ELSE 'scheduled' END
    WHEN act.value IS NOT NULL AND v.tv IS NOT NULL
         AND (CASE WHEN p.ascending THEN act.value >= v.tv ELSE act.value <= v.tv END) THEN 'met'
    WHEN NOT o.overdue THEN 'scheduled'
    WHEN act.value IS NOT NULL AND (CASE WHEN p.ascending THEN act.value > b.base ELSE act.value < b.base END)
        THEN 'partially_met'
    ELSE 'not_met' END"""
_MILESTONES = f"""(
    SELECT CASE WHEN bool_and(doc IS NOT NULL) IS FALSE THEN NULL
                ELSE '[' || coalesce(string_agg(doc, ',' ORDER BY ord), '') || ']' END
      FROM (
        SELECT ms.ord,
               '{{"months":' || ms.months::text || ',"target_value":' || {_float("ms.tv")}
               || ',"due_on":' || {_json("ms.due_on")} || ',"status":"' || ms.status
               || '","actual_value":' || {_float("ms.actual")} || ',"attainment":'
               || CASE WHEN ms.q IS NULL THEN 'null' ELSE {_float("ms.attainment")} END
               || '}}' AS doc
          FROM (
            SELECT e.ord, v.months, v.tv, d.due_on, act.value AS actual, st.status, qq.q, r.attainment
              FROM jsonb_array_elements(p.milestones) WITH ORDINALITY AS e(m, ord)
              CROSS JOIN LATERAL (
                  SELECT (e.m->>'months')::int AS months, (e.m->>'target_value')::float8 AS tv OFFSET 0) v
              CROSS JOIN LATERAL (
                  SELECT CAST(a.in_force_on + make_interval(months => v.months) AS date) AS due_on OFFSET 0) d
              CROSS JOIN LATERAL (SELECT d.due_on IS NOT NULL AND CAST(:today AS date) > d.due_on AS overdue OFFSET 0) o
              LEFT JOIN LATERAL (
                  SELECT x.value::float8 AS value, true AS found FROM measurements x
                   WHERE x.target_id = p.id AND x.status = 'verified'
                     AND x.as_of <= CASE WHEN o.overdue THEN d.due_on ELSE CAST(:today AS date) END
                   ORDER BY x.as_of DESC, x.created_at DESC LIMIT 1) act ON true
              CROSS JOIN LATERAL (SELECT {_STATUS} AS status OFFSET 0) st
              CROSS JOIN LATERAL (
                  SELECT CASE WHEN p.measure <> 'qualitative' AND act.value IS NOT NULL AND v.tv IS NOT NULL
                                   AND v.tv <> b.base
                              THEN (act.value - b.base) / (v.tv - b.base) END AS q OFFSET 0) qq
              {_ROUNDED}
          ) ms
      ) docs
)"""  # noqa: S608 - constants only
_BASELINE = f"""CASE WHEN p.baseline_value IS NULL AND p.baseline_on IS NULL AND p.baseline_comment IS NULL THEN 'null'
    ELSE '{{"value":' || {_float("b.value")} || ',"on":' || {_json("p.baseline_on")}
         || ',"comment":' || {_json("p.baseline_comment")} || '}}' END"""
_LATEST = f"""CASE WHEN lt.as_of IS NULL THEN 'null'
    ELSE '{{"value":' || {_float("lt.value")} || ',"as_of":' || {_json("lt.as_of")} || '}}' END"""


def _progress_sql(*, after: bool) -> str:
    created_at = _sql(sql_json.timestamp(literal_column("p.created_at")))
    updated_at = _sql(sql_json.timestamp(literal_column("p.updated_at")))
    fields = {
        "id": _json("p.id"),
        "agreement_id": _json("p.agreement_id"),
        "indicator": _json("p.indicator"),
        "title": _json("p.title"),
        "description": _json("p.description"),
        "measure": _json("p.measure"),
        "unit": _json("p.unit"),
        "ascending": _json("p.ascending"),
        "baseline": _BASELINE,
        "milestones": _MILESTONES,
        "responsible_org_id": _json("p.responsible_org_id"),
        "latest": _LATEST,
        "created_at": created_at,
        "updated_at": updated_at,
    }
    document = " || ".join(
        f"'{'{' if i == 0 else ','}\"{name}\":' || ({fields[name]})" for i, name in enumerate(TargetRead.model_fields)
    )
    keyset = (
        "AND (t.created_at, t.id) > (CAST(:after_created AS timestamptz), CAST(:after_id AS uuid))" if after else ""
    )
    return f"""
    WITH a AS (
        SELECT CASE WHEN signed_on IS NOT NULL THEN coalesce(entry_into_force_on, signed_on) END AS in_force_on
          FROM agreements WHERE id = CAST(:agreement_id AS uuid)
    ), page AS (
        SELECT t.* FROM targets t WHERE t.agreement_id = CAST(:agreement_id AS uuid) {keyset}
         ORDER BY t.created_at, t.id LIMIT :limit
    )
    SELECT ({document} || '}}') AS document, p.created_at, p.id
      FROM page p
      CROSS JOIN a
      CROSS JOIN LATERAL (
          SELECT p.baseline_value::float8 AS value, coalesce(p.baseline_value::float8, 0) AS base OFFSET 0) b
      LEFT JOIN LATERAL (
          SELECT x.value::float8 AS value, x.as_of FROM measurements x
           WHERE x.target_id = p.id AND x.status = 'verified'
           ORDER BY x.as_of DESC, x.created_at DESC LIMIT 1) lt ON true
     ORDER BY p.created_at, p.id
    """  # noqa: S608 - constants only


_PROGRESS = {after: text(_progress_sql(after=after)) for after in (False, True)}


async def progress_page_json(
    reader: Reader, agreement_id: uuid.UUID, params: PageParams, today: date
) -> Sequence[Mapping[str, Any]]:
    """A page of the agreement's targets (one extra row), each as the JSON text of its TargetRead
    with milestones evaluated today ("document", NULL where a number's spelling could differ from
    pydantic's), beside its sort columns: one statement in autocommit (app.db.Reader)."""
    values: dict[str, Any] = {"agreement_id": agreement_id, "today": today, "limit": params.limit + 1}
    if params.cursor is not None:
        created, target_id = decode_cursor(BY_CREATED, params.cursor)
        values |= {"after_created": created, "after_id": target_id}
    return await reader.fetch(_PROGRESS[params.cursor is not None], values)


async def progress_of(session: AsyncSession, target_id: uuid.UUID) -> tuple[list[Verified], bool]:
    """A target's verified measurements (oldest first, as verified_for) and whether it has any
    measurement at all, in one query."""
    stmt = (
        select(col(Measurement.as_of), col(Measurement.value), col(Measurement.status))
        .where(col(Measurement.target_id) == target_id)
        .order_by(col(Measurement.as_of), col(Measurement.created_at))
    )
    rows = (await session.execute(stmt)).all()
    verified = [Verified(as_of=a, value=v) for a, v, status in rows if status == MeasurementStatus.verified.value]
    return verified, bool(rows)


async def add(session: AsyncSession, target: Target) -> None:
    session.add(target)
    await session.flush()


async def remove(session: AsyncSession, target: Target) -> None:
    await session.delete(target)
    await session.flush()


async def is_referenced(session: AsyncSession, target_id: uuid.UUID) -> bool:
    """Evidence filed under the target, or activities that serve it."""
    row = await session.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM evidence_documents WHERE target_id = :id) "
            "OR EXISTS (SELECT 1 FROM activity_links WHERE link = 'target' AND ref_id = :id)"
        ),
        {"id": target_id},
    )
    return bool(row.scalar())
