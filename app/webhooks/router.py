"""/v1/webhooks: subscriptions of the caller's organization, their deliveries and redelivery."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from app.auth.dependencies import CurrentPrincipal
from app.config import Settings
from app.db import SessionDep
from app.http.etag import conditional_read, require_if_match, set_etag
from app.http.headers import idempotency_key_header, if_match_header
from app.http.pagination import Page, PageParams, page_params, page_response
from app.webhooks import service
from app.webhooks.schemas import DeliveryAttempt, Redelivery, WebhookCreate, WebhookCreated, WebhookRead, WebhookUpdate

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

WebhookId = Annotated[uuid.UUID, Path(description="The subscription's id.")]


def _loopback(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.webhooks_allow_loopback


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Depends(idempotency_key_header)])
async def create_webhook(
    principal: CurrentPrincipal, body: WebhookCreate, session: SessionDep, request: Request, response: Response
) -> WebhookCreated:
    """Subscribe a URL to event types; the signing secret is in this response only."""
    row, secret = await service.create(session, body, principal=principal, allow_loopback=_loopback(request))
    response.headers["Location"] = str(request.url_for("get_webhook", webhook_id=row.id))
    response.headers["Cache-Control"] = "no-store"
    return WebhookCreated.model_validate({**service.to_read(row).model_dump(), "secret": secret})


@router.get("", response_model=Page[WebhookRead])
async def list_webhooks(
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
) -> Response:
    """The caller's organization's subscriptions."""
    rows, next_cursor = await service.list_own(session, principal, page)
    return page_response(request, Page[WebhookRead](items=[service.to_read(r) for r in rows], next_cursor=next_cursor))


@router.get("/{webhook_id}", responses={304: {"description": "Not modified"}})
async def get_webhook(
    principal: CurrentPrincipal, webhook_id: WebhookId, session: SessionDep, request: Request, response: Response
) -> WebhookRead:
    """Read one subscription (without its secret)."""
    read = service.to_read(await service.own(session, webhook_id, principal=principal))
    conditional_read(request, response, read)
    return read


@router.patch("/{webhook_id}", dependencies=[Depends(if_match_header)])
async def update_webhook(
    principal: CurrentPrincipal,
    webhook_id: WebhookId,
    body: WebhookUpdate,
    session: SessionDep,
    request: Request,
    response: Response,
) -> WebhookRead:
    """Change URL, event types, description, or disable / re-enable (If-Match required)."""
    row = await service.own(session, webhook_id, principal=principal, for_update=True, change=True)
    require_if_match(request, service.to_read(row))
    read = service.to_read(
        await service.update(session, row, body, principal=principal, allow_loopback=_loopback(request))
    )
    set_etag(response, read)
    return read


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(if_match_header)])
async def delete_webhook(
    principal: CurrentPrincipal, webhook_id: WebhookId, session: SessionDep, request: Request
) -> None:
    """Remove a subscription (If-Match required)."""
    row = await service.own(session, webhook_id, principal=principal, for_update=True, change=True)
    require_if_match(request, service.to_read(row))
    await service.delete(session, row, principal=principal)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryAttempt])
async def list_webhook_deliveries(
    principal: CurrentPrincipal,
    webhook_id: WebhookId,
    session: SessionDep,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
) -> Response:
    """Delivery attempts, newest first: status code or error, and duration."""
    row = await service.own(session, webhook_id, principal=principal)
    items, next_cursor = await service.attempts(session, row, page)
    return page_response(request, Page[DeliveryAttempt](items=items, next_cursor=next_cursor))


@router.post(
    "/{webhook_id}/deliveries/{event_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(idempotency_key_header)],
)
async def redeliver_webhook_event(
    principal: CurrentPrincipal,
    webhook_id: WebhookId,
    event_id: Annotated[uuid.UUID, Path(description="The event's id (webhook-id header).")],
    session: SessionDep,
) -> Redelivery:
    """Queue an event for delivery again, now."""
    row = await service.own(session, webhook_id, principal=principal)
    await service.redeliver(session, row, event_id)
    return Redelivery(event_id=event_id, state="pending")
