"""/v1/organizations: admin writes, authenticated reads."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from app.auth.dependencies import AdminPrincipal, required_principal
from app.db import SessionDep, sessionmaker_of
from app.http.csv import wants_table
from app.http.etag import conditional_read, require_if_match, set_etag
from app.http.headers import idempotency_key_header, if_match_header
from app.http.lists import CSV_CONTENT, table_response
from app.http.pagination import Page, PageParams, page_params, set_link_header
from app.models import OrganizationKind
from app.organizations import service
from app.organizations.dependencies import LockedOrganizationDep, OrganizationDep
from app.organizations.schemas import OrganizationCreate, OrganizationRead, OrganizationUpdate

router = APIRouter(prefix="/v1/organizations", tags=["organizations"])

CSV_COLUMNS = (
    "id",
    "name",
    "kind",
    "country",
    "subdivision",
    "inegi_code",
    "website",
    "created_at",
    "updated_at",
)


@router.get(
    "",
    response_model=Page[OrganizationRead],
    responses=CSV_CONTENT,
    dependencies=[Depends(required_principal)],
)
async def list_organizations(
    request: Request,
    response: Response,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    kind: Annotated[OrganizationKind | None, Query()] = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    subdivision: Annotated[str | None, Query(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")] = None,
) -> Page[OrganizationRead] | StreamingResponse:
    """List organizations by name; `Accept: text/csv` streams them all."""
    filters = {"kind": kind, "country": country, "subdivision": subdivision}
    if wants_table(request):
        maker = sessionmaker_of(request)

        async def fetch(cursor: str | None, limit: int) -> tuple[list[OrganizationRead], str | None]:
            async with maker() as csv_session:
                rows, nxt = await service.list_organizations(csv_session, PageParams(limit, cursor), **filters)
            return [OrganizationRead.model_validate(r) for r in rows], nxt

        return table_response(request, CSV_COLUMNS, fetch, filename="organizations.csv")
    rows, next_cursor = await service.list_organizations(session, page, **filters)
    set_link_header(request, response, next_cursor)
    return Page[OrganizationRead](items=[OrganizationRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(idempotency_key_header)],
)
async def create_organization(
    principal: AdminPrincipal,
    body: OrganizationCreate,
    session: SessionDep,
    request: Request,
    response: Response,
) -> OrganizationRead:
    """Create an organization (admin)."""
    org = await service.create_organization(session, body, actor_org_id=principal.org_id)
    read = OrganizationRead.model_validate(org)
    response.headers["Location"] = str(request.url_for("get_organization", organization_id=org.id))
    set_etag(response, read)
    return read


@router.get(
    "/{organization_id}",
    responses={304: {"description": "Not modified"}},
    dependencies=[Depends(required_principal)],
)
async def get_organization(
    org: OrganizationDep,
    request: Request,
    response: Response,
) -> OrganizationRead:
    """Read one organization."""
    read = OrganizationRead.model_validate(org)
    conditional_read(request, response, read)
    return read


@router.patch("/{organization_id}", dependencies=[Depends(if_match_header)])
async def update_organization(
    principal: AdminPrincipal,
    body: OrganizationUpdate,
    org: LockedOrganizationDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> OrganizationRead:
    """Change an organization (admin; If-Match required)."""
    require_if_match(request, OrganizationRead.model_validate(org))
    updated = await service.update_organization(session, org, body, principal=principal)
    read = OrganizationRead.model_validate(updated)
    set_etag(response, read)
    return read


@router.delete(
    "/{organization_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(if_match_header)],
)
async def delete_organization(
    principal: AdminPrincipal, org: LockedOrganizationDep, session: SessionDep, request: Request
) -> None:
    """Delete an organization that never held an API key (admin; If-Match required)."""
    require_if_match(request, OrganizationRead.model_validate(org))
    await service.delete_organization(session, org, principal=principal)
