"""/v1/organizations/{id}/api-keys."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.responses import StreamingResponse

from app.api_keys import service
from app.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from app.auth.dependencies import AdminPrincipal, CurrentPrincipal
from app.db import SessionDep, sessionmaker_of
from app.http.csv import wants_table
from app.http.headers import idempotency_key_header
from app.http.lists import CSV_CONTENT, table_response
from app.http.pagination import Page, PageParams, page_params, set_link_header
from app.organizations.dependencies import OrganizationDep

router = APIRouter(prefix="/v1/organizations/{organization_id}/api-keys", tags=["api keys"])

CSV_COLUMNS = (
    "id",
    "organization_id",
    "name",
    "prefix",
    "role",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Depends(idempotency_key_header)])
async def create_api_key(
    principal: AdminPrincipal, org: OrganizationDep, body: ApiKeyCreate, session: SessionDep, response: Response
) -> ApiKeyCreated:
    """Issue an API key (admin). The secret is in this response only."""
    # Never cached, nor kept by the Idempotency-Key store: the secret exists only as a hash.
    response.headers["Cache-Control"] = "no-store"
    key, secret = await service.issue_key(
        session,
        org,
        role=body.role,
        name=body.name,
        expires_at=body.expires_at,
        actor_org_id=principal.org_id,
    )
    return ApiKeyCreated.model_validate({**ApiKeyRead.model_validate(key).model_dump(), "secret": secret})


@router.get("", response_model=Page[ApiKeyRead], responses=CSV_CONTENT)
async def list_api_keys(
    principal: CurrentPrincipal,
    org: OrganizationDep,
    request: Request,
    response: Response,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[ApiKeyRead] | StreamingResponse:
    """List an organization's keys, oldest first, without secrets."""
    service.ensure_may_list(principal, org)
    if wants_table(request):
        maker = sessionmaker_of(request)

        async def fetch(cursor: str | None, limit: int) -> tuple[list[ApiKeyRead], str | None]:
            async with maker() as csv_session:
                rows, nxt = await service.list_keys(csv_session, org, PageParams(limit, cursor))
            return [ApiKeyRead.model_validate(r) for r in rows], nxt

        return table_response(request, CSV_COLUMNS, fetch, filename="api-keys.csv")
    rows, next_cursor = await service.list_keys(session, org, page)
    set_link_header(request, response, next_cursor)
    return Page[ApiKeyRead](items=[ApiKeyRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(
    principal: AdminPrincipal,
    org: OrganizationDep,
    key_id: Annotated[uuid.UUID, Path(description="The key's id.")],
    session: SessionDep,
) -> None:
    """Revoke a key (admin). Always safe, so no If-Match is needed; revoking twice is a no-op."""
    await service.revoke_key(session, org, key_id, actor_org_id=principal.org_id)
