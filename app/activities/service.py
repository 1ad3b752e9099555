"""Rules for the shared agenda: participants propose, the signatory's editor confirms."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.activities import repository
from app.activities.errors import ActivityNotDeletable, ActivityNotFound
from app.activities.schemas import ActivityCreate, ActivityRead, ActivityUpdate
from app.agreements import access
from app.agreements import repository as agreement_repository
from app.agreements import service as agreement_service
from app.agreements.schemas import AgreementRead
from app.errors import Forbidden, Issues, changes_of
from app.evidence import repository as evidence_repository
from app.http.etag import check_if_match
from app.http.pagination import PageParams, make_page
from app.i18n import Text
from app.log import registry as log_registry
from app.log import service as log_service
from app.log.hashing import resource_document
from app.models import Activity
from app.models.agenda import ActivityStatus
from app.principal import Principal
from app.targets import repository as target_repository

RESOURCE = "activity"
PUBLIC_STATUSES = access.PUBLIC_STATUSES[RESOURCE]
LINK_FIELDS = {"participant_org_ids": "participant", "target_ids": "target", "evidence_ids": "evidence"}


def _offset_minutes(moment: datetime) -> int:
    offset = moment.utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


def _local(moment: datetime | None, minutes: int) -> datetime | None:
    return None if moment is None else moment.astimezone(timezone(timedelta(minutes=minutes)))


def to_read(activity: Activity, links: dict[str, list[uuid.UUID]]) -> ActivityRead:
    return ActivityRead(
        id=activity.id,
        agreement_id=activity.agreement_id,
        kind=activity.kind,
        title=activity.title,
        description=activity.description,
        starts_at=_local(activity.starts_at, activity.utc_offset_minutes),
        ends_at=_local(activity.ends_at, activity.utc_offset_minutes),
        place=activity.place,
        organizer_org_id=activity.organizer_org_id,
        participant_org_ids=links.get("participant", []),
        target_ids=links.get("target", []),
        evidence_ids=links.get("evidence", []),
        status=activity.status,
        proposed_by_org_id=activity.proposed_by_org_id,
        created_at=activity.created_at,
        updated_at=activity.updated_at,
    )


def document_of(activity: Activity, links: dict[str, list[uuid.UUID]]) -> dict[str, Any]:
    document = resource_document(activity)
    for field, link in LINK_FIELDS.items():
        document[field] = sorted(str(i) for i in links.get(link, []))
    return document


async def _check(session: AsyncSession, facts: dict[str, Any], agreement: AgreementRead, today: date) -> None:
    issues = Issues()
    starts, ends = facts["starts_at"], facts.get("ends_at")
    if ends is not None and ends < starts:
        issues.add(["ends_at"], Text("validation.not_before", field="ends_at", other="starts_at"))
    if ends is not None:
        try:
            _local(ends, _offset_minutes(starts))
        except OverflowError:
            issues.add(["ends_at"], Text("activities.ends_range"))
    if facts.get("status") == ActivityStatus.held.value and starts.date() > today:
        issues.add(["status"], Text("activities.held_before_start"))
    orgs = [o for o in [facts.get("organizer_org_id"), *facts.get("participant_org_ids", [])] if o is not None]
    found = await agreement_repository.organizations(session, orgs)
    if facts.get("organizer_org_id") is not None and facts["organizer_org_id"] not in found:
        issues.add(["organizer_org_id"], Text("common.no_organization"))
    for i, org_id in enumerate(facts.get("participant_org_ids", [])):
        if org_id not in found:
            issues.add(["participant_org_ids", i], Text("common.no_organization"))
    for i, target_id in enumerate(facts.get("target_ids", [])):
        if await target_repository.get(session, target_id, agreement_id=agreement.id) is None:
            issues.add(["target_ids", i], Text("common.no_target_on_agreement"))
    evidence = await evidence_repository.of_agreement(session, agreement.id, facts.get("evidence_ids", []))
    for i, evidence_id in enumerate(facts.get("evidence_ids", [])):
        if evidence_id not in evidence:
            issues.add(["evidence_ids", i], Text("common.no_evidence_on_agreement"))
    issues.raise_if_any()


async def _save_links(
    session: AsyncSession, activity_id: uuid.UUID, facts: dict[str, Any], only: Sequence[str]
) -> None:
    for field in only:
        await repository.replace_links(session, activity_id, LINK_FIELDS[field], list(dict.fromkeys(facts[field])))


async def _write(
    session: AsyncSession,
    activity: Activity,
    links: dict[str, list[uuid.UUID]],
    locked: agreement_service.Locked,
    principal: Principal,
    action: log_service.Action,
    today: date,
) -> None:
    await agreement_service.write_child(
        session,
        locked,
        resource_type=RESOURCE,
        resource_id=activity.id,
        document=None if action is log_service.Action.delete else document_of(activity, links),
        action=action,
        principal=principal,
        today=today,
    )


def _stored_links(facts: dict[str, Any], fields: Sequence[str]) -> dict[str, list[uuid.UUID]]:
    """The links _save_links stores for these fields, as repository.links reads them back
    (once each, by id): so a write need not read back what it just wrote."""
    return {LINK_FIELDS[field]: sorted(set(facts[field])) for field in fields}


async def create_activity(
    session: AsyncSession, agreement_id: uuid.UUID, data: ActivityCreate, *, principal: Principal, today: date
) -> ActivityRead:
    locked = await agreement_service.lock_for_change(session, agreement_id, principal=principal, today=today, may=None)
    agreement = locked.before
    if not access.can_contribute(principal, agreement.signatory_org_id, agreement.participant_org_ids):
        raise Forbidden(Text("activities.add_forbidden"))
    editor = access.can_edit(principal, agreement.signatory_org_id)
    if not editor and data.status is not ActivityStatus.planned:
        raise Forbidden(Text("activities.proposal_planned"))
    facts = data.model_dump(mode="python")
    facts["status"] = data.status.value
    await _check(session, facts, agreement, today)
    activity = Activity(
        agreement_id=agreement.id,
        kind=data.kind.value,
        title=data.title,
        description=data.description,
        starts_at=data.starts_at.astimezone(UTC),
        ends_at=None if data.ends_at is None else data.ends_at.astimezone(UTC),
        utc_offset_minutes=_offset_minutes(data.starts_at),
        place=data.place,
        organizer_org_id=data.organizer_org_id,
        status=data.status.value,
        proposed_by_org_id=principal.org_id,
    )
    await repository.add(session, activity)
    await _save_links(session, activity.id, facts, list(LINK_FIELDS))
    links = _stored_links(facts, list(LINK_FIELDS))
    await _write(session, activity, links, locked, principal, log_service.Action.create, today)
    return to_read(activity, links)


def is_insider(principal: Principal | None, agreement: AgreementRead) -> bool:
    return access.sees_unreviewed(principal, agreement.signatory_org_id, agreement.participant_org_ids)


async def visible_activity(
    session: AsyncSession, activity_id: uuid.UUID, *, principal: Principal | None, today: date
) -> tuple[Activity, AgreementRead]:
    activity = await repository.get(session, activity_id)
    if activity is None:
        raise ActivityNotFound
    agreement = await agreement_service.agreement_of(
        session, activity.agreement_id, principal=principal, today=today, not_found=ActivityNotFound()
    )
    if activity.status not in PUBLIC_STATUSES and not is_insider(principal, agreement):
        raise ActivityNotFound
    return activity, agreement


async def read_activity(session: AsyncSession, activity: Activity) -> ActivityRead:
    return to_read(activity, (await repository.links(session, [activity.id]))[activity.id])


@dataclass(frozen=True, slots=True)
class LockedActivity:
    """An activity locked for change, its agreement too, its links, and whether the caller is
    the signatory's editor."""

    activity: Activity
    agreement: agreement_service.Locked
    links: dict[str, list[uuid.UUID]]
    editor: bool

    @property
    def current(self) -> ActivityRead:
        return to_read(self.activity, self.links)


async def lock_activity(
    session: AsyncSession, activity_id: uuid.UUID, *, principal: Principal, today: date
) -> LockedActivity:
    activity, locked, _ = await agreement_service.lock_child(
        session,
        Activity,
        activity_id,
        principal=principal,
        today=today,
        not_found=ActivityNotFound(),
        may=None,
    )
    agreement = locked.before
    if activity.status not in PUBLIC_STATUSES and not is_insider(principal, agreement):
        raise ActivityNotFound
    editor = access.can_edit(principal, agreement.signatory_org_id)
    proposer = principal.org_id == activity.proposed_by_org_id and access.can_contribute(
        principal, agreement.signatory_org_id, agreement.participant_org_ids
    )
    if not (editor or proposer):
        raise Forbidden(Text("activities.change_forbidden"))
    links = (await repository.links(session, [activity.id]))[activity.id]
    return LockedActivity(activity, locked, links, editor)


async def change_activity(
    session: AsyncSession,
    activity_id: uuid.UUID,
    data: ActivityUpdate,
    *,
    if_match: str | None,
    principal: Principal,
    today: date,
) -> ActivityRead:
    """PATCH: lock the activity with its agreement, check If-Match against it as it stands, change it."""
    locked = await lock_activity(session, activity_id, principal=principal, today=today)
    check_if_match(if_match, locked.current)
    return await update_activity(session, locked, data, principal=principal, today=today)


async def remove_activity(
    session: AsyncSession, activity_id: uuid.UUID, *, if_match: str | None, principal: Principal, today: date
) -> None:
    """DELETE: lock the activity with its agreement, check If-Match against it as it stands, remove it."""
    locked = await lock_activity(session, activity_id, principal=principal, today=today)
    check_if_match(if_match, locked.current)
    await delete_activity(session, locked, principal=principal, today=today)


async def update_activity(
    session: AsyncSession,
    locked: LockedActivity,
    data: ActivityUpdate,
    *,
    principal: Principal,
    today: date,
) -> ActivityRead:
    activity, agreement, editor = locked.activity, locked.agreement.before, locked.editor
    changes = changes_of(data, not_null=("kind", "title", "starts_at", "status", *LINK_FIELDS))
    if (
        not editor
        and activity.status != ActivityStatus.planned.value
        and changes != {"status": ActivityStatus.cancelled}
    ):
        raise Forbidden(Text("activities.confirmed_change"))
    if (
        "status" in changes
        and not editor
        and changes["status"] not in (ActivityStatus.planned, ActivityStatus.cancelled)
    ):
        raise Forbidden(Text("activities.confirm_forbidden"))
    facts = locked.current.model_dump(mode="python") | changes
    facts["status"] = str(facts["status"])
    await _check(session, facts, agreement, today)
    for field in ("kind", "title", "description", "place", "organizer_org_id", "status"):
        if field in changes:
            value = changes[field]
            setattr(activity, field, value.value if hasattr(value, "value") else value)
    if "starts_at" in changes:
        activity.starts_at = changes["starts_at"].astimezone(UTC)
        activity.utc_offset_minutes = _offset_minutes(changes["starts_at"])
    if "ends_at" in changes:
        activity.ends_at = None if changes["ends_at"] is None else changes["ends_at"].astimezone(UTC)
    activity.updated_at = datetime.now(UTC)
    await repository.add(session, activity)
    changed = [f for f in LINK_FIELDS if f in changes]
    await _save_links(session, activity.id, facts, changed)
    links = {**locked.links, **_stored_links(facts, changed)}
    await _write(session, activity, links, locked.agreement, principal, log_service.Action.update, today)
    return to_read(activity, links)


async def delete_activity(session: AsyncSession, locked: LockedActivity, *, principal: Principal, today: date) -> None:
    activity = locked.activity
    if not locked.editor and activity.status != ActivityStatus.planned.value:
        raise ActivityNotDeletable(Text("activities.withdraw_planned"))
    await _write(session, activity, locked.links, locked.agreement, principal, log_service.Action.delete, today)
    await repository.remove(session, activity)


async def list_activities(
    session: AsyncSession, agreement: AgreementRead, params: PageParams, *, principal: Principal | None
) -> tuple[list[ActivityRead], str | None]:
    statuses = None if is_insider(principal, agreement) else sorted(PUBLIC_STATUSES)
    rows = await repository.list_page(session, agreement.id, params, statuses=statuses)
    items, cursor = make_page(rows, repository.BY_START, params, lambda a: (a.starts_at, a.id))
    links = await repository.links(session, [a.id for a in items])
    return [to_read(a, links[a.id]) for a in items], cursor


async def _logged_documents(session: AsyncSession) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """Every activity with its links, as its log entries hashed it, for `pacta log verify`."""
    activities = await log_registry.rows(session, Activity)
    links = await repository.links(session, [a.id for a in activities])
    return [(a.id, document_of(a, links[a.id])) for a in activities]


log_registry.register(RESOURCE, _logged_documents)
