"""Writing events to the outbox, in the transaction of the change that caused them.

Events are thin: {type, timestamp, data: {id, agreement_id, ...}}. A subscriber reads the resource
through the API with its own key, so an event never carries a field its keys may not read, and
it is fanned out only to subscriptions whose (organization, role) may see the resource.
"""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Uuid, bindparam, literal_column, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements.repository import condition_sql, takes_part, visible_to_org
from app.canonical import jsonable, rfc3339
from app.models import Role, WebhookEvent
from app.principal import READS_EVERYTHING

EVENT_TYPES = (
    "agreement.created",
    "agreement.updated",
    "agreement.status_changed",
    "legal_review.created",
    "legal_review.updated",
    "registration.created",
    "registration.updated",
    "target.created",
    "target.updated",
    "measurement.created",
    "measurement.verified",
    "measurement.rejected",
    "evidence.created",
    "evidence.accepted",
    "evidence.rejected",
    "activity.created",
    "activity.updated",
    "deadline.approaching",
    "compliance.finding_opened",
)


class Audience(StrEnum):
    """Who may receive an event about an agreement."""

    readers = "readers"  # whoever may read the agreement (public ones: everyone)
    insiders = "insiders"  # its signatory, participants, auditors and admins (unreviewed things)
    # Auditors, admins and its signatory's editors and legal reviewers: who may read compliance
    # findings through the API (a signatory's contributor may not, so neither may its webhooks).
    reviewers = "reviewers"


def _roles(roles: Iterable[Role]) -> str:
    return ", ".join(sorted(f"'{role.value}'" for role in roles))


# Whose eyes the subscription reads with: its organization, through the one rule of who sees
# what (app.agreements.repository, compiled into this statement's text).
_SUBSCRIBER = literal_column("s.organization_id", Uuid())

# The event and its fan-out in one statement (every write pays for it): matching type patterns
# ("agreement.*", "*") and the subscriber's right to see. The deliveries' foreign key is checked at
# the end of the statement, when the event row is there.
_EMIT = text(
    f"""
    WITH event AS (
        INSERT INTO webhook_events (id, type, agreement_id, payload, created_at)
        VALUES (:event_id, :type, :agreement_id, :payload, :created_at)
    )
    INSERT INTO webhook_deliveries (subscription_id, event_id, state, attempts, next_attempt_at, created_at)
    SELECT s.id, :event_id, 'pending', 0, now(), now()
      FROM webhook_subscriptions s
      LEFT JOIN agreements ON agreements.id = CAST(:agreement_id AS uuid)
     WHERE s.status <> 'disabled'
       AND (s.api_key_id IS NULL  -- subscribed before keys were recorded
            OR EXISTS (SELECT 1 FROM api_keys k WHERE k.id = s.api_key_id AND k.revoked_at IS NULL
                          AND (k.expires_at IS NULL OR k.expires_at > now())))
       AND EXISTS (SELECT 1 FROM unnest(s.event_types) p
                    WHERE p = :type OR p = '*' OR (p LIKE '%.*' AND :type LIKE replace(p, '*', '%')))
       AND (
            s.role IN ({_roles(READS_EVERYTHING)})
         OR (agreements.id IS NOT NULL AND (
                (CAST(:audience AS text) = 'readers' AND ({condition_sql(visible_to_org(_SUBSCRIBER))}))
             OR (CAST(:audience AS text) = 'insiders' AND ({condition_sql(takes_part(_SUBSCRIBER))}))
             OR (CAST(:audience AS text) = 'reviewers' AND s.role IN ({_roles(access.REVIEWER_ROLES)})
                 AND agreements.signatory_org_id = s.organization_id)))
       )
    """  # noqa: S608 - the f-string inserts compiled constants, never a value
).bindparams(bindparam("payload", type_=JSONB))


async def emit(
    session: AsyncSession,
    event_type: str,
    data: dict[str, Any],
    *,
    agreement_id: uuid.UUID | None,
    audience: Audience = Audience.readers,
) -> WebhookEvent:
    event = WebhookEvent(
        type=event_type,
        agreement_id=agreement_id,
        payload={"type": event_type, "timestamp": rfc3339(datetime.now(UTC)), "data": jsonable(data)},
    )
    await session.execute(
        _EMIT,
        {
            "event_id": event.id,
            "agreement_id": agreement_id,
            "type": event_type,
            "payload": event.payload,
            "created_at": event.created_at,
            "audience": audience.value,
        },
    )
    return event


def _status(document: dict[str, Any] | None) -> str | None:
    value = None if document is None else document.get("status")
    return None if value is None else str(value)


# Kinds whose decisions are events of their own ("measurement.verified"); other updates of them
# announce nothing.
_DECISIONS: dict[str, tuple[str, ...]] = {"measurement": ("verified", "rejected"), "evidence": ("accepted", "rejected")}


def _audience(resource_type: str, status: str | None) -> Audience:
    """Everyone who may read the agreement when the child is public in this status (the one
    table, access.PUBLIC_STATUSES), otherwise those inside it."""
    return Audience.readers if access.is_public(resource_type, status) else Audience.insiders


def event_for_log(resource_type: str, action: str, document: dict[str, Any] | None) -> tuple[str, Audience] | None:
    """The event a logged write stands for, if subscribers care about it."""
    status = _status(document)
    if resource_type in _DECISIONS:
        if action == "create":
            return f"{resource_type}.created", Audience.insiders
        if status in _DECISIONS[resource_type]:
            return f"{resource_type}.{status}", _audience(resource_type, status)
        return None
    if resource_type == "activity":
        return f"activity.{'created' if action == 'create' else 'updated'}", _audience(resource_type, status)
    if resource_type in ("agreement", "legal_review", "registration", "target"):
        if action == "create":
            return f"{resource_type}.created", Audience.readers
        if action == "update":
            return f"{resource_type}.updated", Audience.readers
    return None
