"""SQL for agreements: one query per list page or read, status and registration status in SQL."""

import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REGCONFIG, aggregate_order_by, array, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import cast
from sqlalchemy.types import Date, DateTime, Integer, String, Text, Uuid
from sqlmodel import col

from app import sql_json
from app.agreements.schemas import AgreementRead
from app.db import Reader
from app.http.pagination import PageParams, SortKey, apply_keyset, decode_cursor
from app.models import Agreement, AgreementParticipant, LogDetail, LogEntry, Organization
from app.models.agreements import LegalStage

T = Agreement.__table__.c  # type: ignore[attr-defined]
EPOCH = date(1, 1, 1)


# "Today" as a bind parameter: list and read statements are built once per shape and cached
# (building and cache-keying a statement of this size costs more than running it), and each
# execution binds today's date. See _list_select.
TODAY = bindparam("today", type_=Date)


def _status_rules(
    today: date | ColumnElement[date],
) -> list[tuple[ColumnElement[bool], ColumnElement[bool], str]]:
    """API.md's status rules in order, first match wins: (matches, misses, status).

    `misses` is the exact negation of `matches` as a CASE sees it (a NULL condition does not
    match), written so that the planner can estimate it from column statistics.
    """
    force = func.coalesce(T.entry_into_force_on, T.signed_on)

    def on_or_before(column: Any, status: str) -> tuple[ColumnElement[bool], ColumnElement[bool], str]:
        return column <= today, or_(column.is_(None), column > today), status

    return [
        on_or_before(T.terminated_on, "terminated"),
        on_or_before(T.withdrawn_on, "withdrawn"),
        (T.expires_on < today, or_(T.expires_on.is_(None), T.expires_on >= today), "expired"),
        on_or_before(T.suspended_on, "suspended"),
        # Once signed_on is set the coalesce is never NULL.
        (and_(T.signed_on.is_not(None), force <= today), or_(T.signed_on.is_(None), force > today), "in_force"),
        (T.signed_on.is_not(None), T.signed_on.is_(None), "signed"),
        # legal_stage is NOT NULL.
        *(
            (T.legal_stage == stage.value, T.legal_stage != stage.value, stage.value)
            for stage in (LegalStage.not_viable, LegalStage.cleared_for_signature, LegalStage.under_review)
        ),
    ]


def status_expr(today: date | ColumnElement[date]) -> ColumnElement[str]:
    """API.md's status, first match wins. Shared by reads, filters and (later) compliance."""
    return case(*((matches, status) for matches, _, status in _status_rules(today)), else_="draft")


def status_is(status: str, today: date | ColumnElement[date]) -> ColumnElement[bool]:
    """status_expr(today) = status, as a predicate the planner can estimate (and so pick an index
    for): no earlier rule matches and this one does. A CASE compared with a constant is estimated
    at a fixed 0.5 %, which sends a common status such as in_force to a full scan and sort."""
    misses: list[ColumnElement[bool]] = []
    for matches, miss, name in _status_rules(today):
        if name == status:
            return and_(*misses, matches)
        misses.append(miss)
    return and_(*misses) if status == "draft" else false()


def registration_status_expr() -> ColumnElement[str]:
    return case(
        (T.signed_on.is_(None), "not_applicable"),
        (T.registration_state.is_(None), "pending"),
        else_=T.registration_state,
    )


def registration_status_is(status: str) -> ColumnElement[bool]:
    """registration_status_expr() = status as a predicate (registration_state is NULL or one of
    submitted, registered, rejected: a CHECK constraint)."""
    if status == "not_applicable":
        return T.signed_on.is_(None)  # type: ignore[no-any-return]
    if status == "pending":
        return and_(T.signed_on.is_not(None), T.registration_state.is_(None))
    return and_(T.signed_on.is_not(None), T.registration_state == status)


def is_public() -> ColumnElement[bool]:
    """Public from signature onwards."""
    return T.signed_on.is_not(None)  # type: ignore[no-any-return]


_PARTICIPANTS = (
    select(
        func.coalesce(
            func.array_agg(AgreementParticipant.organization_id),
            cast(array([]), ARRAY(Uuid())),
        )
    )
    .where(col(AgreementParticipant.agreement_id) == T.id)
    .scalar_subquery()
)

# entry_into_force_on is read through its default (signed_on) below, never as the raw column:
# selecting both under one name made the result ambiguous (the raw null won, or it raised).
READ_COLUMNS = [
    c
    for c in Agreement.__table__.c  # type: ignore[attr-defined]
    if c.key not in ("search_vector", "legal_stage", "registration_state", "entry_into_force_on")
]


def read_select(today: date | ColumnElement[date]) -> Select[Any]:
    return select(
        *READ_COLUMNS,
        func.coalesce(T.entry_into_force_on, T.signed_on).label("entry_into_force_on"),
        status_expr(today).label("status"),
        registration_status_expr().label("registration_status"),
        _PARTICIPANTS.label("participant_org_ids"),
    )


_COUNTERPARTS_JSON = literal_column(
    # Rebuilt per element in Counterpart's field order: jsonb keeps its own key order.
    """(SELECT coalesce('[' || string_agg(concat('{"name":', to_json(c->>'name'), ',"kind":', to_json(c->>'kind'),"""
    """ ',"country":', to_json(c->>'country'), ',"region":', coalesce(c->'region', 'null'::jsonb)::text, '}'),"""
    """ ',' ORDER BY ord) || ']', '[]')"""
    """ FROM jsonb_array_elements(agreements.counterparts) WITH ORDINALITY AS e(c, ord))""",
    Text(),
)


def json_document(today: date | ColumnElement[date]) -> ColumnElement[str]:
    """AgreementRead as JSON text, built by PostgreSQL in the model's field order (app.sql_json)."""
    special: dict[str, ColumnElement[str]] = {
        "counterparts": _COUNTERPARTS_JSON,
        "participant_org_ids": sql_json.value(_PARTICIPANTS),
        "entry_into_force_on": sql_json.value(func.coalesce(T.entry_into_force_on, T.signed_on)),
        "status": sql_json.value(status_expr(today)),
        "registration_status": sql_json.value(registration_status_expr()),
        "created_at": sql_json.timestamp(T.created_at),
        "updated_at": sql_json.timestamp(T.updated_at),
    }
    fields = [
        (name, special[name] if name in special else sql_json.value(T[name])) for name in AgreementRead.model_fields
    ]
    return sql_json.obj(fields)


def json_select(today: date | ColumnElement[date]) -> Select[Any]:
    """One JSON document per agreement, and the columns the sort keys read (for the cursor)."""
    return select(json_document(today).label("document"), T.id, T.updated_at, T.signed_on, T.title)


# Spelled as the index ix_agreements_signed spells it, so that index serves the sort. (A bound
# date(1, 1, 1) would not do: asyncpg sends date.min as '-infinity'.)
SIGNED_SORT = func.coalesce(T.signed_on, literal_column(f"'{EPOCH.isoformat()}'::date", Date()))
SORTS = {
    "-updated_at": SortKey("-updated_at", (T.updated_at, T.id), (datetime, uuid.UUID), descending=True),
    "updated_at": SortKey("updated_at", (T.updated_at, T.id), (datetime, uuid.UUID)),
    "signed_on": SortKey("signed_on", (SIGNED_SORT, T.id), (date, uuid.UUID)),
    "-signed_on": SortKey("-signed_on", (SIGNED_SORT, T.id), (date, uuid.UUID), descending=True),
    "title": SortKey("title", (T.title, T.id), (str, uuid.UUID)),
}


HISTORY_SORT = SortKey("index", (col(LogEntry.index),), (int,))


def sort_values(sort: str, row: Any) -> tuple[Any, ...]:
    if sort in ("-updated_at", "updated_at"):
        return (row["updated_at"], row["id"])
    if sort in ("signed_on", "-signed_on"):
        return (row["signed_on"] or EPOCH, row["id"])
    return (row["title"], row["id"])


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whose eyes a query reads with: everything, or public ones plus the org's own and shared."""

    all_: bool
    org_id: uuid.UUID | None


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.all_:
        return true()
    if viewer.org_id is None:
        return is_public()
    return visible_to_org(literal(viewer.org_id, Uuid()))


def takes_part(org_id: ColumnElement[uuid.UUID]) -> ColumnElement[bool]:
    """The organization signed the agreement or takes part in it (access.takes_part, in SQL)."""
    shared = exists().where(
        col(AgreementParticipant.agreement_id) == T.id, col(AgreementParticipant.organization_id) == org_id
    )
    return or_(T.signatory_org_id == org_id, shared)


def visible_to_org(org_id: ColumnElement[uuid.UUID]) -> ColumnElement[bool]:
    return or_(is_public(), takes_part(org_id))


_CONDITION_HEAD = "SELECT 1 \nFROM agreements \nWHERE "


def condition_sql(condition: ColumnElement[bool]) -> str:
    """A condition over the table `agreements` as SQL text, for the statements written as text
    (the outbox fan-out, the deadlines): they embed the one rule compiled, never a copy by hand.
    Values must be literals or text of the statement's own (`literal_column("CAST(:org_id AS
    uuid)")`); subqueries correlate to `agreements`, so the statement names that table unaliased."""
    stmt: Select[Any] = select(literal_column("1")).select_from(Agreement.__table__).where(condition)  # type: ignore[attr-defined]
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    compiled = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if not compiled.startswith(_CONDITION_HEAD):  # pragma: no cover - a change of SQLAlchemy's layout
        raise RuntimeError(compiled)
    return compiled.removeprefix(_CONDITION_HEAD).replace("\n", " ")


@dataclass(frozen=True, slots=True)
class Filters:
    statuses: Sequence[str] = ()
    registration_statuses: Sequence[str] = ()
    instrument: str | None = None
    subject_area: str | None = None
    signatory_org_id: uuid.UUID | None = None
    state: str | None = None
    counterpart_country: str | None = None
    signed_from: date | None = None
    signed_to: date | None = None
    updated_since: datetime | None = None
    q: str | None = None
    # The agreements an organization signed or takes part in (the workspace's "my agreements").
    member_org_id: uuid.UUID | None = None


def _in_state(subdivision: ColumnElement[str]) -> ColumnElement[bool]:
    in_state = select(col(Organization.id)).where(col(Organization.subdivision) == subdivision)
    return T.signatory_org_id.in_(in_state)  # type: ignore[no-any-return]


def _matches(text: ColumnElement[str]) -> ColumnElement[bool]:
    query = func.websearch_to_tsquery(literal("spanish").cast(REGCONFIG), func.pacta_fold(text))
    return T.search_vector.op("@@")(query)  # type: ignore[no-any-return]


# Each filter: its condition over a bind parameter named after it, and the value to bind. Applied
# in this order, so a statement's SQL depends only on which filters are set.
_FILTERS: tuple[tuple[str, Callable[[], ColumnElement[bool]], Callable[[Any], Any]], ...] = (
    ("instrument", lambda: T.instrument == bindparam("instrument", type_=String()), lambda v: v),
    (
        "subject_area",
        lambda: T.subject_areas.contains(bindparam("subject_area", type_=ARRAY(Text()))),
        lambda v: [v],
    ),
    ("signatory_org_id", lambda: T.signatory_org_id == bindparam("signatory_org_id", type_=Uuid()), lambda v: v),
    ("state", lambda: _in_state(bindparam("state", type_=String())), lambda v: v),
    (
        "counterpart_country",
        lambda: T.counterparts.contains(bindparam("counterpart_country", type_=JSONB())),
        lambda v: [{"country": v}],
    ),
    ("signed_from", lambda: T.signed_on >= bindparam("signed_from", type_=Date()), lambda v: v),
    ("signed_to", lambda: T.signed_on <= bindparam("signed_to", type_=Date()), lambda v: v),
    (
        "updated_since",
        lambda: T.updated_at > bindparam("updated_since", type_=DateTime(timezone=True)),
        lambda v: v,
    ),
    ("q", lambda: _matches(bindparam("q", type_=Text())), lambda v: v),
    ("member_org_id", lambda: takes_part(bindparam("member_org_id", type_=Uuid())), lambda v: v),
)


def _active(filters: Filters) -> dict[str, Any]:
    """The filters that are set, besides the two status lists, with the values to bind."""
    values: dict[str, Any] = {}
    for name, _, bind in _FILTERS:
        value = getattr(filters, name)
        if value if name == "q" else value is not None:
            values[name] = bind(value)
    return values


@functools.lru_cache(maxsize=1024)
def _list_select(
    viewer: str,
    filters: frozenset[str],
    statuses: tuple[str, ...],
    registration_statuses: tuple[str, ...],
    sort: str,
    after_cursor: bool,
    as_json: bool = False,
) -> Select[Any]:
    """The list statement of one shape: every value (today, viewer, filters, cursor, limit) is a
    bind parameter but the status lists, which shape the predicates. Built once per shape; its
    cache key is then memoized by SQLAlchemy."""
    visible: ColumnElement[bool]
    if viewer == "all":
        visible = true()
    elif viewer == "anonymous":
        visible = is_public()
    else:
        visible = visible_to_org(bindparam("viewer_org_id", type_=Uuid()))
    stmt = (json_select(TODAY) if as_json else read_select(TODAY)).where(visible)
    if statuses:
        stmt = stmt.where(or_(*(status_is(s, TODAY) for s in statuses)))
    if registration_statuses:
        stmt = stmt.where(or_(*(registration_status_is(s) for s in registration_statuses)))
    for name, condition, _ in _FILTERS:
        if name in filters:
            stmt = stmt.where(condition())
    key = SORTS[sort]
    # As app.http.pagination.apply_keyset, with the cursor's values as bind parameters.
    if after_cursor:
        left = tuple_(*key.columns)
        right = tuple_(*(_cursor_bind(f"after_{i}", c) for i, c in enumerate(key.columns)))
        stmt = stmt.where(left < right if key.descending else left > right)
    order = [c.desc() if key.descending else c.asc() for c in key.columns]
    return stmt.order_by(*order).limit(bindparam("limit", type_=Integer()))


def _cursor_bind(name: str, column: Any) -> ColumnElement[Any]:
    # Dates travel as text: asyncpg would send the cursor of an unsigned agreement (EPOCH, that
    # is date.min) as '-infinity', which sorts before SIGNED_SORT's '0001-01-01'.
    if isinstance(column.type, Date):
        return cast(bindparam(name, type_=String()), Date())
    return bindparam(name, type_=column.type)


def _list_query(
    filters: Filters, viewer: Viewer, today: date, sort: str, params: PageParams, *, as_json: bool = False
) -> tuple[Select[Any], dict[str, Any]]:
    values = _active(filters)
    stmt = _list_select(
        "all" if viewer.all_ else "anonymous" if viewer.org_id is None else "org",
        frozenset(values),
        tuple(sorted(set(filters.statuses))),
        tuple(sorted(set(filters.registration_statuses))),
        sort,
        params.cursor is not None,
        as_json,
    )
    values["today"] = today
    # One extra row tells whether another page follows.
    values["limit"] = params.limit + 1
    if not viewer.all_ and viewer.org_id is not None:
        values["viewer_org_id"] = viewer.org_id
    if params.cursor is not None:
        for i, value in enumerate(decode_cursor(SORTS[sort], params.cursor)):
            values[f"after_{i}"] = value.isoformat() if type(value) is date else value
    return stmt, values


def list_statement(filters: Filters, viewer: Viewer, today: date, sort: str, params: PageParams) -> Select[Any]:
    """The list's statement with its values bound (for EXPLAIN and tools; list_page binds at execution)."""
    stmt, values = _list_query(filters, viewer, today, sort, params)
    return stmt.params(values)


async def list_page(
    session: AsyncSession, filters: Filters, viewer: Viewer, today: date, sort: str, params: PageParams
) -> list[dict[str, Any]]:
    stmt, values = _list_query(filters, viewer, today, sort, params)
    # Core execution on the session's connection (same transaction): the rows are plain mappings,
    # so the ORM's result machinery has nothing to add.
    connection = await session.connection()
    result = await connection.execute(stmt, values)
    return [dict(r) for r in result.mappings()]


@functools.lru_cache(maxsize=1024)
def _json_page(inner: Select[Any]) -> Select[Any]:
    """The page of `inner` (one of _list_select's JSON statements) gathered into one row: the
    documents joined by commas (at most `page_size` of them), how many rows the statement found
    (one more than the page when another page follows) and the last kept row's sort columns (for
    the cursor). One value to decode instead of a row per agreement."""
    page = inner.subquery("page")
    numbered = select(page, func.row_number().over().label("n")).subquery("numbered")
    n = numbered.c.n
    size = bindparam("page_size", type_=Integer())

    def last(column: Any) -> Any:
        return func.min(column).filter(n == size)

    return select(
        func.string_agg(numbered.c.document, aggregate_order_by(literal_column("','"), n))
        .filter(n <= size)
        .label("documents"),
        func.count().label("found"),
        last(numbered.c.id.cast(Text())).label("id"),
        last(numbered.c.updated_at).label("updated_at"),
        last(numbered.c.signed_on).label("signed_on"),
        last(numbered.c.title).label("title"),
    )


async def list_page_json(
    reader: Reader, filters: Filters, viewer: Viewer, today: date, sort: str, params: PageParams
) -> Mapping[str, Any]:
    """As list_page, the page's agreements as JSON texts joined by commas ("documents", NULL for
    none), the number of rows found ("found": limit + 1 when another page follows) and the last
    agreement's sort columns: one statement in autocommit (app.db.Reader), no session."""
    stmt, values = _list_query(filters, viewer, today, sort, params, as_json=True)
    row = await reader.fetchrow(_json_page(stmt), values | {"page_size": params.limit})
    assert row is not None
    return row


_READ_ONE_JSON = select(
    json_document(TODAY).label("document"),
    T.signatory_org_id,
    T.signed_on,
    _PARTICIPANTS.label("participant_org_ids"),
).where(T.id == bindparam("agreement_id", type_=Uuid()))


async def read_one_json(reader: Reader, agreement_id: uuid.UUID, today: date) -> Mapping[str, Any] | None:
    """As read_one, the agreement as JSON text ("document") beside what visibility needs."""
    return await reader.fetchrow(_READ_ONE_JSON, {"agreement_id": agreement_id, "today": today})


_VISIBILITY = select(T.signatory_org_id, T.signed_on, _PARTICIPANTS.label("participant_org_ids")).where(
    T.id == bindparam("agreement_id", type_=Uuid())
)


async def visibility(reader: Reader, agreement_id: uuid.UUID) -> Mapping[str, Any] | None:
    """What deciding who may see an agreement reads (signatory, signature, participants), and
    nothing else: for reads of its children that do not show the agreement itself."""
    return await reader.fetchrow(_VISIBILITY, {"agreement_id": agreement_id})


_READ_ONE = read_select(TODAY).where(T.id == bindparam("agreement_id", type_=Uuid()))


async def read_one(session: AsyncSession, agreement_id: uuid.UUID, today: date) -> dict[str, Any] | None:
    connection = await session.connection()
    result = await connection.execute(_READ_ONE, {"agreement_id": agreement_id, "today": today})
    row = result.mappings().first()
    return None if row is None else dict(row)


async def get_row(session: AsyncSession, agreement_id: uuid.UUID, *, for_update: bool = False) -> Agreement | None:
    stmt = select(Agreement).where(col(Agreement.id) == agreement_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalars().first()


def _with_read(*entities: Any) -> list[Any]:
    """The columns that, beside the row, make up its read model (see read_select)."""
    return [
        *entities,
        status_expr(TODAY).label("status"),
        registration_status_expr().label("registration_status"),
        _PARTICIPANTS.label("participant_org_ids"),
    ]


def _read_of(row: Any) -> dict[str, Any]:
    agreement: Agreement = row[0]
    read = {c.key: getattr(agreement, c.key) for c in READ_COLUMNS}
    read["entry_into_force_on"] = agreement.entry_into_force_on or agreement.signed_on
    read.update(status=row.status, registration_status=row.registration_status)
    read["participant_org_ids"] = row.participant_org_ids
    return read


# The kinds of an agreement's signatory and participants, {organization id: kind}: what a change
# of its facts checks, read with the lock instead of by a second statement.
_ORG_KINDS = (
    select(func.jsonb_object_agg(col(Organization.id), col(Organization.kind)))
    .where(
        or_(
            col(Organization.id) == T.signatory_org_id,
            col(Organization.id).in_(
                select(col(AgreementParticipant.organization_id)).where(col(AgreementParticipant.agreement_id) == T.id)
            ),
        )
    )
    .scalar_subquery()
)


async def lock(
    session: AsyncSession, agreement_id: uuid.UUID, today: date, *, org_kinds: bool = False
) -> tuple[Agreement, dict[str, Any], dict[uuid.UUID, str]] | None:
    """Lock an agreement for a change and read it in the same statement: the row (to change)
    and its read model as it stands (to authorize, check If-Match and announce a status change);
    with `org_kinds`, the kinds of its signatory and participants too."""
    columns = _with_read(Agreement)
    if org_kinds:
        columns.append(_ORG_KINDS.label("org_kinds"))
    stmt = (
        select(*columns)
        .where(col(Agreement.id) == agreement_id)
        .with_for_update(of=Agreement)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt, {"today": today})).first()
    if row is None:
        return None
    kinds = {uuid.UUID(k): str(v) for k, v in (row.org_kinds or {}).items()} if org_kinds else {}
    return row[0], _read_of(row), kinds


async def lock_with_child(
    session: AsyncSession, model: Any, child_id: uuid.UUID, today: date, *, siblings: bool, child_too: bool
) -> tuple[Agreement, dict[str, Any], list[Any]] | None:
    """Lock the agreement of a child (a row of `model` with an agreement_id) and the child, in one
    statement that reads each once: the agreement's row and read model, and the child; with
    `siblings`, every child of that kind of the agreement (the child among them), all locked.
    `child_too` False reads the child without locking it (only its agreement changes)."""
    me = aliased(model)
    children = aliased(model) if siblings else me
    stmt = select(*_with_read(Agreement), children).join(me, me.agreement_id == col(Agreement.id))
    if siblings:
        stmt = stmt.join(children, children.agreement_id == col(Agreement.id))
    stmt = (
        stmt.where(me.id == child_id)
        .with_for_update(of=[Agreement, children] if child_too else [Agreement])
        .execution_options(populate_existing=True)
    )
    rows = (await session.execute(stmt, {"today": today})).all()
    if not rows:
        return None
    return rows[0][0], _read_of(rows[0]), [r[-1] for r in rows]


async def write(session: AsyncSession, agreement: Agreement, values: dict[str, Any], today: date) -> dict[str, Any]:
    """Change a locked agreement's columns (at least updated_at) and read it back as changed,
    in one statement; the row object is refreshed with what was written."""
    stmt = (
        update(Agreement)
        .where(col(Agreement.id) == agreement.id)
        .values(**values)
        .returning(*_with_read(Agreement))
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    row = (await session.execute(stmt, {"today": today})).one()
    return _read_of(row)


async def participant_ids(session: AsyncSession, agreement_id: uuid.UUID) -> list[uuid.UUID]:
    stmt = (
        select(col(AgreementParticipant.organization_id))
        .where(col(AgreementParticipant.agreement_id) == agreement_id)
        .order_by(col(AgreementParticipant.organization_id))
    )
    return list((await session.execute(stmt)).scalars())


async def is_participant(session: AsyncSession, agreement_id: uuid.UUID, org_id: uuid.UUID) -> bool:
    stmt = select(
        exists().where(
            col(AgreementParticipant.agreement_id) == agreement_id, col(AgreementParticipant.organization_id) == org_id
        )
    )
    return bool((await session.execute(stmt)).scalar())


async def organizations(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Organization]:
    if not ids:
        return {}
    rows = (await session.execute(select(Organization).where(col(Organization.id).in_(ids)))).scalars()
    return {o.id: o for o in rows}


async def external_ref_taken(
    session: AsyncSession, signatory_org_id: uuid.UUID, external_ref: str, *, other_than: uuid.UUID | None
) -> bool:
    cond = and_(col(Agreement.signatory_org_id) == signatory_org_id, col(Agreement.external_ref) == external_ref)
    if other_than is not None:
        cond = and_(cond, col(Agreement.id) != other_than)
    return bool((await session.execute(select(exists().where(cond)))).scalar())


async def id_by_external_ref(session: AsyncSession, signatory_org_id: uuid.UUID, external_ref: str) -> uuid.UUID | None:
    """The agreement a signatory filed under its own folio (how the demo loader finds its own)."""
    stmt = select(col(Agreement.id)).where(
        col(Agreement.signatory_org_id) == signatory_org_id, col(Agreement.external_ref) == external_ref
    )
    found: uuid.UUID | None = (await session.execute(stmt)).scalar()
    return found


async def add(session: AsyncSession, agreement: Agreement) -> None:
    session.add(agreement)
    await session.flush()


async def replace_participants(session: AsyncSession, agreement_id: uuid.UUID, org_ids: Sequence[uuid.UUID]) -> None:
    await session.execute(delete(AgreementParticipant).where(col(AgreementParticipant.agreement_id) == agreement_id))
    if org_ids:
        await session.execute(
            insert(AgreementParticipant), [{"agreement_id": agreement_id, "organization_id": o} for o in org_ids]
        )


async def remove(session: AsyncSession, agreement: Agreement) -> None:
    await session.delete(agreement)
    await session.flush()


async def history(
    session: AsyncSession, agreement_id: uuid.UUID, params: PageParams
) -> tuple[list[tuple[LogEntry, Any]], dict[str, Any]]:
    """A page of the log entries filed under an agreement, and each resource's document just
    before the page (to diff the page's first change of every resource against)."""
    stmt = (
        select(LogEntry, col(LogDetail.document))
        .join(LogDetail, col(LogDetail.index) == col(LogEntry.index))
        .where(col(LogDetail.agreement_id) == agreement_id)
    )
    stmt = apply_keyset(stmt, HISTORY_SORT, params)
    rows = [(r[0], r[1]) for r in (await session.execute(stmt)).all()]
    if not rows:
        return rows, {}
    first = rows[0][0].index
    previous = (
        select(col(LogEntry.resource_id), col(LogDetail.document))
        .join(LogDetail, col(LogDetail.index) == col(LogEntry.index))
        .where(col(LogDetail.agreement_id) == agreement_id, col(LogEntry.index) < first)
        .ext(distinct_on(col(LogEntry.resource_id)))
        .order_by(col(LogEntry.resource_id), col(LogEntry.index).desc())
    )
    return rows, {r[0]: r[1] for r in (await session.execute(previous)).all()}


async def status_boundaries(session: AsyncSession, today: date) -> list[tuple[uuid.UUID, str, str]]:
    """Agreements whose status a date moves today: (id, status yesterday, status today)."""
    yesterday = today - timedelta(days=1)
    stmt = select(T.id, status_expr(yesterday), status_expr(today)).where(
        or_(
            T.terminated_on == today,
            T.withdrawn_on == today,
            T.expires_on == yesterday,
            T.suspended_on == today,
            func.coalesce(T.entry_into_force_on, T.signed_on) == today,
        )
    )
    rows = (await session.execute(stmt)).all()
    return [(r[0], r[1], r[2]) for r in rows if r[1] != r[2]]


async def has_children(session: AsyncSession, agreement_id: uuid.UUID) -> bool:
    """Whether targets, evidence or activities hang from the agreement (deleting it would take
    them along without their own log entries)."""
    row = await session.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM targets WHERE agreement_id = :id) "
            "OR EXISTS (SELECT 1 FROM evidence_documents WHERE agreement_id = :id) "
            "OR EXISTS (SELECT 1 FROM activities WHERE agreement_id = :id)"
        ),
        {"id": agreement_id},
    )
    return bool(row.scalar())
