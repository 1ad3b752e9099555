"""SQL for the public dashboard: public agreements only, aggregated in the database.

The summary is three statements whatever the registry's size: the agreements' facets (status,
registration, state, subject area, counterpart country) in one UNION ALL, the key indicator totals,
and the milestones evaluated today. Status and registration status are the agreements API's own
expressions, and milestones follow app.targets.progress rule for rule (a test holds them equal).
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal_column,
    not_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import FromClause
from sqlalchemy.types import Date, Integer, Numeric, String, Text, Uuid

from app.agreements.repository import SIGNED_SORT, TODAY, is_public, registration_status_expr, status_expr
from app.models import Agreement, EvidenceDocument, LogEntry, Measurement, MeasurementEvidence, Organization, Target
from app.models.results import EvidenceStatus, Indicator, Measure, MeasurementStatus

A = Agreement.__table__.c  # type: ignore[attr-defined]
ORG = Organization.__table__.c  # type: ignore[attr-defined]
TG = Target.__table__.c  # type: ignore[attr-defined]
M = Measurement.__table__.c  # type: ignore[attr-defined]
E = EvidenceDocument.__table__.c  # type: ignore[attr-defined]
ME = MeasurementEvidence.__table__.c  # type: ignore[attr-defined]
L = LogEntry.__table__.c  # type: ignore[attr-defined]

VERIFIED = MeasurementStatus.verified.value
# The key indicators are the named ones; `custom` targets measure anything and add up to nothing.
KEY_INDICATORS = tuple(i.value for i in Indicator if i is not Indicator.custom)
# Counts and amounts add up; percentages and qualitative results do not.
SUMMABLE = (Measure.count.value, Measure.currency.value)


@dataclass(frozen=True, slots=True)
class Filters:
    state: str | None = None
    signatory_org_id: uuid.UUID | None = None


def _values(filters: Filters, today: date) -> dict[str, Any]:
    values: dict[str, Any] = {"today": today}
    if filters.state is not None:
        values["state"] = filters.state
    if filters.signatory_org_id is not None:
        values["signatory_org_id"] = filters.signatory_org_id
    return values


def _public(has_state: bool, has_org: bool, *columns: Any) -> Select[Any]:
    """These columns of the public agreements the filters select (with their signatory)."""
    stmt = (
        select(*columns)
        .select_from(Agreement.__table__.join(Organization.__table__, ORG.id == A.signatory_org_id))  # type: ignore[attr-defined]
        .where(is_public())
    )
    if has_state:
        stmt = stmt.where(ORG.subdivision == bindparam("state", type_=String()))
    if has_org:
        stmt = stmt.where(A.signatory_org_id == bindparam("signatory_org_id", type_=Uuid()))
    return stmt


def _scope(has_state: bool, has_org: bool) -> CTE:
    """The public agreements the filters select, with the date their milestones count from."""
    return _public(
        has_state, has_org, A.id, func.coalesce(A.entry_into_force_on, A.signed_on).label("in_force_on")
    ).cte("scope")


def _facet(name: str) -> ColumnElement[str]:
    return literal_column(f"'{name}'", Text())


@functools.cache
def _facets_select(has_state: bool, has_org: bool) -> Any:
    """Every facet in one statement over one scan of the agreements: a narrow row per agreement
    (status, registration, state, subject areas, the distinct counterpart countries), grouped by
    GROUPING SETS for the scalar facets and unnested for the two lists."""
    party = func.jsonb_array_elements(A.counterparts).table_valued("value").render_derived().alias("party")
    # Most agreements have one counterpart: its country needs no subquery.
    countries = case(
        (
            func.jsonb_array_length(A.counterparts) == 1,
            array([A.counterparts.op("->")(0).op("->>")("country")]),
        ),
        else_=func.array(select(party.c.value.op("->>")("country")).select_from(party).distinct().scalar_subquery()),
    )
    scope = _public(
        has_state,
        has_org,
        status_expr(TODAY).label("status"),
        registration_status_expr().label("registration_status"),
        ORG.subdivision.label("state"),
        A.subject_areas,
        countries.label("countries"),
    ).cte("scope")
    s = scope.c
    grouped = func.grouping(s.status, s.registration_status, s.state)
    # GROUPING() sets a bit for each argument left out of the row's grouping set: 3 = (status),
    # 5 = (registration_status), 6 = (state), 7 = () — the total.
    facet = case(
        (grouped == 3, _facet("status")),
        (grouped == 5, _facet("registration_status")),
        (grouped == 6, _facet("state")),
        else_=_facet("total"),
    )
    key = case((grouped == 3, s.status), (grouped == 5, s.registration_status), (grouped == 6, s.state), else_=None)
    area = func.unnest(s.subject_areas).table_valued("value").render_derived().lateral("area")
    country = func.unnest(s.countries).table_valued("value").render_derived().lateral("country")
    return union_all(
        select(facet.label("facet"), key.label("key"), func.count().label("n")).group_by(
            func.grouping_sets(tuple_(s.status), tuple_(s.registration_status), tuple_(s.state), tuple_())
        ),
        select(_facet("subject_area"), area.c.value, func.count())
        .select_from(scope.join(area, true()))
        .group_by(area.c.value),
        # Distinct per agreement already: one with two counterparts in a country counts once for it.
        select(_facet("counterpart_country"), country.c.value, func.count())
        .select_from(scope.join(country, true()))
        .group_by(country.c.value),
    )


async def facets(session: AsyncSession, filters: Filters, today: date) -> list[tuple[str, str | None, int]]:
    """(facet, key, agreements) rows; facet `total` has the one count of every public agreement."""
    stmt = _facets_select(filters.state is not None, filters.signatory_org_id is not None)
    connection = await session.connection()
    result = await connection.execute(stmt, _values(filters, today))
    return [(str(r[0]), None if r[1] is None else str(r[1]), int(r[2])) for r in result.all()]


def _latest_verified(target_id: ColumnElement[uuid.UUID], cutoff: ColumnElement[date] | None = None) -> FromClause:
    """The latest verified measurement of a target (by as_of, then creation), on or before `cutoff`:
    app.targets.progress reads measurements in the same order."""
    stmt = select(M.as_of, M.value).where(M.target_id == target_id, M.status == VERIFIED)
    if cutoff is not None:
        stmt = stmt.where(M.as_of <= cutoff)
    return stmt.order_by(M.as_of.desc(), M.created_at.desc()).limit(1).lateral("latest")


@functools.cache
def _indicators_select(has_state: bool, has_org: bool) -> Select[Any]:
    scope = _scope(has_state, has_org)
    latest = _latest_verified(TG.id)
    unit = TG.unit.label("unit")
    return (
        select(
            TG.indicator,
            TG.measure,
            unit,
            func.sum(latest.c.value).label("total"),
            func.count().label("targets"),
        )
        .select_from(
            Target.__table__.join(scope, scope.c.id == TG.agreement_id).join(latest, true())  # type: ignore[attr-defined]
        )
        .where(
            TG.indicator.in_(KEY_INDICATORS),
            TG.measure.in_(SUMMABLE),
            latest.c.value.is_not(None),
        )
        .group_by(TG.indicator, TG.measure, unit)
    )


async def indicator_totals(session: AsyncSession, filters: Filters, today: date) -> list[dict[str, Any]]:
    """Per key indicator and unit (a currency, or a count's unit): the sum over targets of each one's
    latest verified value."""
    stmt = _indicators_select(filters.state is not None, filters.signatory_org_id is not None)
    connection = await session.connection()
    result = await connection.execute(stmt, _values(filters, today))
    return [dict(r) for r in result.mappings()]


@functools.cache
def _milestones_select(has_state: bool, has_org: bool, by_agreement: bool = False) -> Select[Any]:
    """Every milestone of the scope's targets evaluated as app.targets.progress.evaluate does,
    counted by status (and agreement, `by_agreement`); with the sum and number of attainments of
    the due ones."""
    scope = _scope(has_state, has_org)
    today = cast(TODAY, Date())
    milestone = (
        func.jsonb_to_recordset(TG.milestones)
        .table_valued(column("months", Integer()), column("target_value", Numeric()))
        .render_derived(with_types=True)
        .lateral("m")
    )
    due_on = cast(scope.c.in_force_on + func.make_interval(0, milestone.c.months), Date())
    evaluated = (
        select(
            TG.id.label("target_id"),
            TG.agreement_id,
            TG.measure,
            TG.ascending,
            func.coalesce(TG.baseline_value, 0).label("base"),
            milestone.c.target_value,
            due_on.label("due_on"),
            (today > due_on).label("overdue"),
        )
        .select_from(
            Target.__table__.join(scope, scope.c.id == TG.agreement_id).join(milestone, true())  # type: ignore[attr-defined]
        )
        .subquery("ms")
    )
    ms = evaluated.c
    # Before the due date: the latest so far; after it: the latest on or before it.
    cutoff = case((ms.overdue, ms.due_on), else_=today)
    latest = _latest_verified(ms.target_id, cutoff)
    actual = latest.c.value
    has_actual = latest.c.as_of.is_not(None)
    reached = and_(
        actual.is_not(None),
        ms.target_value.is_not(None),
        case((ms.ascending, actual >= ms.target_value), else_=actual <= ms.target_value),
    )
    moved = and_(actual.is_not(None), case((ms.ascending, actual > ms.base), else_=actual < ms.base))
    qualitative = ms.measure == Measure.qualitative.value
    status = case(
        (
            qualitative,
            case((has_actual, "met"), (ms.overdue, "not_met"), else_="scheduled"),
        ),
        (reached, "met"),
        (not_(ms.overdue), "scheduled"),
        (moved, "partially_met"),
        else_="not_met",
    ).label("status")
    # As the API's attainment, except that nothing verified is no progress (0) rather than unknown:
    # a dormant agreement must pull the mean down, not drop out of it.
    attainment = case(
        (
            and_(not_(qualitative), ms.target_value.is_not(None), ms.target_value != ms.base),
            (func.coalesce(actual, ms.base) - ms.base) / (ms.target_value - ms.base),
        ),
        else_=None,
    )
    graded = (
        select(ms.agreement_id, status, ms.overdue, attainment.label("attainment"))
        .select_from(evaluated.join(latest, true(), isouter=True))
        .subquery("graded")
    )
    g = graded.c
    keys = (g.agreement_id, g.status) if by_agreement else (g.status,)
    return select(
        *keys,
        func.count().label("milestones"),
        func.count().filter(g.overdue).label("due"),
        func.sum(g.attainment).filter(g.overdue).label("attainment_sum"),
        func.count(g.attainment).filter(g.overdue).label("attainment_count"),
    ).group_by(*keys)


async def milestone_counts(
    session: AsyncSession, filters: Filters, today: date, *, by_agreement: bool = False
) -> list[dict[str, Any]]:
    stmt = _milestones_select(filters.state is not None, filters.signatory_org_id is not None, by_agreement)
    connection = await session.connection()
    result = await connection.execute(stmt, _values(filters, today))
    return [dict(r) for r in result.mappings()]


@functools.cache
def _recent_select(has_state: bool, has_org: bool) -> Select[Any]:
    return (
        _public(
            has_state,
            has_org,
            A.id,
            A.title,
            A.signed_on,
            status_expr(TODAY).label("status"),
            ORG.subdivision.label("state"),
            ORG.name.label("signatory_name"),
            A.signatory_org_id,
        )
        # Spelled as the index ix_agreements_signed is, so the latest 50 are read from it, not sorted.
        .order_by(SIGNED_SORT.desc(), A.id.desc())
        .limit(bindparam("limit", type_=Integer()))
    )


async def recent_agreements(
    session: AsyncSession, filters: Filters, today: date, *, limit: int
) -> list[dict[str, Any]]:
    """The latest signed public agreements the filters select."""
    stmt = _recent_select(filters.state is not None, filters.signatory_org_id is not None)
    connection = await session.connection()
    result = await connection.execute(stmt, _values(filters, today) | {"limit": limit})
    return [dict(r) for r in result.mappings()]


async def targets_of(session: AsyncSession, agreement_id: uuid.UUID) -> list[Target]:
    """Every target of an agreement, oldest first (as the targets list orders them)."""
    stmt = select(Target).where(TG.agreement_id == agreement_id).order_by(TG.created_at, TG.id)
    return list((await session.execute(stmt)).scalars())


_MEASURED_TARGETS = (
    select(func.coalesce(func.array_agg(M.target_id.distinct()), cast(array([]), ARRAY(Uuid()))))
    .select_from(MeasurementEvidence.__table__.join(Measurement.__table__, M.id == ME.measurement_id))  # type: ignore[attr-defined]
    .where(ME.evidence_id == E.id, M.status == VERIFIED)
    .scalar_subquery()
)
_CREATED_AT_INDEX = (
    select(L.index)
    .where(L.resource_type == "evidence", L.resource_id == cast(E.id, Text()), L.action == "create")
    .order_by(L.index)
    .limit(1)
    .scalar_subquery()
)


async def accepted_evidence(session: AsyncSession, agreement_id: uuid.UUID) -> list[dict[str, Any]]:
    """The agreement's accepted documents, each with the targets it backs (its own target and those
    of the verified measurements that cite it) and the log entry that recorded its upload."""
    stmt = (
        select(
            E.id,
            E.target_id,
            E.title,
            E.document_type,
            E.document_date,
            E.filename,
            E.media_type,
            E.size_bytes,
            E.sha256,
            E.uploaded_at,
            _MEASURED_TARGETS.label("measured_target_ids"),
            _CREATED_AT_INDEX.label("log_index"),
        )
        .where(E.agreement_id == agreement_id, E.status == EvidenceStatus.accepted.value)
        .order_by(E.uploaded_at, E.id)
    )
    connection = await session.connection()
    result = await connection.execute(stmt)
    return [dict(r) for r in result.mappings()]
