"""Feed tokens, and the iCalendar documents (stable UIDs, so updates replace events)."""

import hashlib
import secrets
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements import repository as agreement_repository
from app.agreements import service as agreement_service
from app.calendars import repository
from app.calendars.errors import FeedNotFound
from app.deadlines import repository as deadline_repository
from app.deadlines import service as deadline_service
from app.errors import Forbidden, NotFound
from app.http.pagination import PageParams, make_page
from app.i18n import Text
from app.log import registry as log_registry
from app.log import service as log_service
from app.models import CalendarToken, Organization, Role
from app.principal import Principal

RESOURCE = "calendar_token"
log_registry.register_table(RESOURCE, CalendarToken)
PRODID = "-//Pacta//Agreements registry//ES"
# Feeds reach back a year and ahead three, so past milestones and the coming agenda both show.
PAST = timedelta(days=366)
AHEAD = timedelta(days=3 * 366)
ACTIVITY_STATUS = {"planned": "TENTATIVE", "confirmed": "CONFIRMED", "held": "CONFIRMED", "cancelled": "CANCELLED"}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_may_manage(principal: Principal, org: Organization) -> None:
    if not (principal.is_admin or principal.org_id == org.id):
        raise Forbidden(Text("calendars.manage_forbidden"))
    if principal.role is Role.auditor and principal.org_id != org.id:
        raise Forbidden(Text("calendars.auditor_forbidden"))


async def issue(
    session: AsyncSession, org: Organization, name: str | None, *, principal: Principal
) -> tuple[CalendarToken, str]:
    ensure_may_manage(principal, org)
    token = "pcal_" + secrets.token_urlsafe(32)
    row = CalendarToken(organization_id=org.id, name=name, token_hash=_hash(token))
    await repository.add(session, row)
    await log_service.append(
        session,
        actor_org_id=principal.org_id,
        action=log_service.Action.create,
        resource_type=RESOURCE,
        resource_id=row.id,
        resource=row,
    )
    return row, token


async def revoke(session: AsyncSession, org: Organization, token_id: uuid.UUID, *, principal: Principal) -> None:
    ensure_may_manage(principal, org)
    row = await repository.get(session, org.id, token_id)
    if row is None:
        raise NotFound(Text("calendars.token_not_found"))
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        await repository.add(session, row)
        await log_service.append(
            session,
            actor_org_id=principal.org_id,
            action=log_service.Action.revoke,
            resource_type=RESOURCE,
            resource_id=row.id,
            resource=row,
        )


async def list_tokens(
    session: AsyncSession, org: Organization, params: PageParams, *, principal: Principal
) -> tuple[list[CalendarToken], str | None]:
    ensure_may_manage(principal, org)
    rows = await repository.list_page(session, org.id, params)
    return make_page(rows, repository.BY_CREATED, params, lambda r: (r.created_at, r.id))


async def organization_exists(session: AsyncSession, org_id: uuid.UUID) -> bool:
    return bool(await agreement_repository.organizations(session, [org_id]))


async def token_org(session: AsyncSession, token: str | None) -> uuid.UUID | None:
    """The organization a feed token speaks for; a token that is not valid is a 404."""
    if token is None:
        return None
    row = await repository.by_hash(session, _hash(token))
    if row is None:
        raise FeedNotFound
    return row.organization_id


async def feed_rows(
    session: AsyncSession, scope: deadline_repository.Scope, today: date, grace_days: int
) -> list[dict[str, Any]]:
    window = deadline_repository.Window(today=today, until=today + AHEAD, grace_days=grace_days, since=today - PAST)
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        page = await deadline_repository.deadlines(session, window, scope, after=after, limit=1000)
        rows += page
        if len(page) < 1000:
            return rows
        after = (page[-1]["date"], page[-1]["kind"], page[-1]["subject_id"])


# A feed shows every activity; who reads it decides only which agreements it covers.
ALL_STATUSES = ("planned", "confirmed", "held", "cancelled")


async def agreement_feed(
    session: AsyncSession,
    agreement_id: uuid.UUID,
    token: str | None,
    *,
    today: date,
    grace_days: int,
    base_url: str,
    lang: str,
) -> bytes:
    """An agreement's feed: public ones to anyone; others to a token of its signatory or a
    participant (whoever else asks learns nothing: 404, as for a missing agreement)."""
    org_id = await token_org(session, token)
    try:
        agreement = await agreement_service.read_agreement(session, agreement_id, today=today)
    except NotFound as exc:
        raise FeedNotFound from exc
    insider = org_id is not None and access.takes_part(
        org_id, signatory_org_id=agreement.signatory_org_id, participant_org_ids=agreement.participant_org_ids
    )
    if not (insider or access.agreement_is_public(agreement.signed_on)):
        raise FeedNotFound
    scope = deadline_repository.Scope(
        all_=True, org_id=None, agreement_id=agreement.id, public_only=not insider, activity_statuses=ALL_STATUSES
    )
    rows = await feed_rows(session, scope, today, grace_days)
    return render(agreement.title, rows, base_url=base_url, lang=lang)


async def organization_feed(
    session: AsyncSession,
    organization_id: uuid.UUID,
    token: str | None,
    *,
    today: date,
    grace_days: int,
    base_url: str,
    lang: str,
) -> bytes:
    """An organization's agreements in one feed: public ones without a token; with its own
    token, also its private agreements and those it takes part in."""
    org_id = await token_org(session, token)
    if org_id is not None and org_id != organization_id:
        raise FeedNotFound
    if not await organization_exists(session, organization_id):
        raise FeedNotFound
    own = org_id is not None
    scope = deadline_repository.Scope(
        all_=False,
        org_id=organization_id,
        signatory_org_id=None if own else organization_id,
        public_only=not own,
        activity_statuses=ALL_STATUSES,
    )
    rows = await feed_rows(session, scope, today, grace_days)
    return render("Pacta", rows, base_url=base_url, lang=lang)


def render(name: str, rows: list[dict[str, Any]], *, base_url: str, lang: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    stamp = datetime.now(UTC).replace(microsecond=0)
    for row in rows:
        event = Event()
        event.add("uid", f"{row['uid']}@pacta")
        event.add("dtstamp", stamp)
        event.add("summary", deadline_service.title_of(row, lang))
        if row["kind"] == "activity":
            event.add("dtstart", row["starts_at"].astimezone(UTC))
            if row["ends_at"] is not None:
                event.add("dtend", row["ends_at"].astimezone(UTC))
            if row["place"]:
                event.add("location", row["place"])
            event.add("status", ACTIVITY_STATUS.get(str(row["activity_status"]), "TENTATIVE"))
            event.add("url", f"{base_url}/v1/activities/{row['subject_id']}")
        else:
            event.add("dtstart", row["date"])
            event.add("dtend", row["date"] + timedelta(days=1))
            event.add("transp", "TRANSPARENT")
            event.add("url", f"{base_url}/v1/agreements/{row['agreement_id']}")
        kind = Text(f"label.deadline_kind.{row['kind']}")
        event.add(
            "description", Text("calendars.description", kind=kind, agreement=row["agreement_title"]).render(lang)
        )
        event.add("categories", [str(row["kind"])])
        calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data
