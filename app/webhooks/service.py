"""Subscriptions: each organization manages its own; what they receive is filtered by its keys' eyes."""

import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Forbidden, Issues, NotFound, field_error
from app.http.pagination import PageParams, make_page
from app.i18n import Text
from app.log import registry as log_registry
from app.log import service as log_service
from app.models import WebhookSubscription
from app.models.webhooks import SubscriptionStatus
from app.principal import Principal
from app.webhooks import events, repository
from app.webhooks.errors import WebhookNotFound
from app.webhooks.schemas import DeliveryAttempt, WebhookCreate, WebhookRead, WebhookUpdate
from app.webhooks.ssrf import UnsafeURL, check_url

RESOURCE = "webhook"
log_registry.register_table(RESOURCE, WebhookSubscription)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32).replace("-", "A").replace("_", "B")[:43] + "="


async def _check(url: str, allow_loopback: bool) -> None:
    try:
        await check_url(url, allow_loopback=allow_loopback)
    except UnsafeURL as exc:
        raise field_error(["body", "url"], exc.text) from exc


def _check_event_types(patterns: list[str]) -> None:
    """A pattern that matches no event type is a typo: refuse it rather than never deliver."""
    issues = Issues()
    for i, pattern in enumerate(patterns):
        prefix = pattern[:-1] if pattern.endswith(".*") else None
        if not (
            pattern == "*"
            or pattern in events.EVENT_TYPES
            or (prefix is not None and any(t.startswith(prefix) for t in events.EVENT_TYPES))
        ):
            issues.add(["event_types", i], Text("webhooks.no_event_type", pattern=pattern))
    issues.raise_if_any()


def to_read(row: WebhookSubscription) -> WebhookRead:
    return WebhookRead.model_validate(row.model_dump())


async def create(
    session: AsyncSession, data: WebhookCreate, *, principal: Principal, allow_loopback: bool
) -> tuple[WebhookSubscription, str]:
    await _check(data.url, allow_loopback)
    _check_event_types(data.event_types)
    secret = new_secret()
    row = WebhookSubscription(
        organization_id=principal.org_id,
        role=principal.role.value,
        api_key_id=principal.key_id,
        url=data.url,
        event_types=sorted(set(data.event_types)),
        description=data.description,
        secret=secret,
    )
    await repository.add(session, row)
    await log_service.append(
        session,
        actor_org_id=principal.org_id,
        action=log_service.Action.create,
        resource_type=RESOURCE,
        resource_id=row.id,
        resource=row,
    )
    return row, secret


async def own(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    *,
    principal: Principal,
    for_update: bool = False,
    change: bool = False,
) -> WebhookSubscription:
    row = await repository.get(session, subscription_id, for_update=for_update)
    if row is None or row.organization_id != principal.org_id:
        raise WebhookNotFound
    if change and not (principal.is_admin or principal.role.value == row.role):
        # A subscription sees with its creator's role: a key with another role may not redirect it.
        raise Forbidden(Text("webhooks.change_forbidden"))
    return row


async def update(
    session: AsyncSession, row: WebhookSubscription, data: WebhookUpdate, *, principal: Principal, allow_loopback: bool
) -> WebhookSubscription:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        await _check(changes["url"], allow_loopback)
        row.url = changes["url"]
    if changes.get("event_types") is not None:
        _check_event_types(changes["event_types"])
        row.event_types = sorted(set(changes["event_types"]))
    if "description" in changes:
        row.description = changes["description"]
    if changes.get("status") is not None:
        row.status = changes["status"]
        if changes["status"] == SubscriptionStatus.active.value:
            row.consecutive_failures = 0
    row.updated_at = datetime.now(UTC)
    await repository.add(session, row)
    await log_service.append(
        session,
        actor_org_id=principal.org_id,
        action=log_service.Action.update,
        resource_type=RESOURCE,
        resource_id=row.id,
        resource=row,
    )
    return row


async def delete(session: AsyncSession, row: WebhookSubscription, *, principal: Principal) -> None:
    row_id = row.id
    await repository.remove(session, row)
    await log_service.append(
        session,
        actor_org_id=principal.org_id,
        action=log_service.Action.delete,
        resource_type=RESOURCE,
        resource_id=row_id,
        resource=None,
    )


async def list_own(
    session: AsyncSession, principal: Principal, params: PageParams
) -> tuple[list[WebhookSubscription], str | None]:
    rows = await repository.list_page(session, principal.org_id, params)
    return make_page(rows, repository.BY_CREATED, params, lambda r: (r.created_at, r.id))


async def attempts(
    session: AsyncSession, row: WebhookSubscription, params: PageParams
) -> tuple[list[DeliveryAttempt], str | None]:
    rows = await repository.attempts_page(session, row.id, params)
    items, cursor = make_page(rows, repository.ATTEMPTS, params, lambda r: (r[0].attempted_at, r[0].id))
    return [
        DeliveryAttempt(
            event_id=a.event_id,
            event_type=t,
            attempt=a.attempt,
            status_code=a.status_code,
            error=a.error,
            attempted_at=a.attempted_at,
            duration_ms=a.duration_ms,
        )
        for a, t in items
    ], cursor


async def redeliver(session: AsyncSession, row: WebhookSubscription, event_id: uuid.UUID) -> None:
    delivery = await repository.delivery(session, row.id, event_id)
    if delivery is None:
        raise NotFound(Text("webhooks.no_delivery"))
    delivery.state = "pending"
    delivery.next_attempt_at = datetime.now(UTC)
    delivery.locked_until = None
    await repository.add(session, delivery)
