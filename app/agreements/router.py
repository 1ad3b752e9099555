"""/v1/agreements: the registry's core resource."""

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import service
from app.agreements.dependencies import AgreementId, VisibleAgreementDep
from app.agreements.repository import Filters
from app.agreements.schemas import AgreementCreate, AgreementRead, AgreementSort, AgreementUpdate, HistoryEntry
from app.auth.dependencies import CurrentPrincipal, OptionalPrincipal
from app.clock import Today
from app.db import ReaderDep, SessionDep, sessionmaker_of
from app.http.csv import Column, Nested, wants_table
from app.http.etag import conditional_json, set_etag
from app.http.headers import idempotency_key_header, if_match_header
from app.http.lean import lean
from app.http.lists import CSV_CONTENT, list_response
from app.http.pagination import Page, PageParams, json_page_response, page_params, page_response
from app.models.agreements import AgreementStatus, Instrument, RegistrationStatus, SubjectArea
from app.types import Day, Instant

router = APIRouter(prefix="/v1/agreements", tags=["agreements"])


def describe_counterpart(counterpart: Mapping[str, Any]) -> str:
    """ "Kioto, Kansai (JP)": name, region when known, country."""
    region = counterpart.get("region")
    name = f"{counterpart.get('name')}, {region}" if region else str(counterpart.get("name"))
    return f"{name} ({counterpart.get('country')})"


COUNTERPARTS = Nested("counterparts", "counterpart", ("name", "kind", "country", "region"), describe_counterpart)
CSV_COLUMNS: tuple[Column, ...] = (
    "id",
    "title",
    "instrument",
    "status",
    "registration_status",
    "signatory_org_id",
    "subject_areas",
    COUNTERPARTS,
    "participant_org_ids",
    "languages",
    "has_dispute_settlement_clause",
    "signed_on",
    "signed_place",
    "entry_into_force_on",
    "expires_on",
    "suspended_on",
    "terminated_on",
    "withdrawn_on",
    "external_ref",
    "summary",
    "created_at",
    "updated_at",
)


async def list_filters(
    status: Annotated[list[AgreementStatus] | None, Query(description="Repeatable.")] = None,
    registration_status: Annotated[list[RegistrationStatus] | None, Query(description="Repeatable.")] = None,
    instrument: Instrument | None = None,
    subject_area: SubjectArea | None = None,
    signatory_org_id: uuid.UUID | None = None,
    state: Annotated[
        str | None, Query(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$", description="The signatory's ISO 3166-2.")
    ] = None,
    counterpart_country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    signed_from: Day | None = None,
    signed_to: Day | None = None,
    updated_since: Annotated[Instant | None, Query(description="Strictly after; RFC 3339 with offset.")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Spanish-aware, accent-insensitive text.")
    ] = None,
) -> Filters:
    """The list's filters. Async: FastAPI runs a sync dependency in a worker thread, a hop that
    costs more than the function itself."""
    return Filters(
        statuses=[s.value for s in status or []],
        registration_statuses=[s.value for s in registration_status or []],
        instrument=None if instrument is None else instrument.value,
        subject_area=None if subject_area is None else subject_area.value,
        signatory_org_id=signatory_org_id,
        state=state,
        counterpart_country=counterpart_country,
        signed_from=signed_from,
        signed_to=signed_to,
        updated_since=updated_since,
        q=q,
    )


@router.get("", response_model=Page[AgreementRead], responses=CSV_CONTENT)
@lean
async def list_agreements(
    principal: OptionalPrincipal,
    request: Request,
    reader: ReaderDep,
    today: Today,
    filters: Annotated[Filters, Depends(list_filters)],
    page: Annotated[PageParams, Depends(page_params)],
    sort: AgreementSort = AgreementSort.updated_desc,
) -> Response:
    """List the agreements the caller may see; every filter combines with every other."""
    if not wants_table(request):
        # The hot read: one statement, the page's JSON built by PostgreSQL, no session.
        documents, cursor = await service.list_agreements_json(
            reader, filters, principal=principal, today=today, sort=sort.value, params=page
        )
        return json_page_response(request, documents, cursor)

    async def fetch(s: AsyncSession, p: PageParams) -> tuple[list[AgreementRead], str | None]:
        return await service.list_agreements(
            s,
            filters,
            principal=principal,
            today=today,
            sort=sort.value,
            params=p,
        )

    async with sessionmaker_of(request)() as session:
        return await list_response(
            request, session, page, fetch, item=AgreementRead, csv_columns=CSV_COLUMNS, filename="agreements.csv"
        )


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Depends(idempotency_key_header)])
async def create_agreement(
    principal: CurrentPrincipal,
    body: AgreementCreate,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> AgreementRead:
    """Create an agreement for the caller's own organization (editor) or any signatory (admin)."""
    read = await service.create_agreement(session, body, principal=principal, today=today)
    response.headers["Location"] = str(request.url_for("get_agreement", agreement_id=read.id))
    set_etag(response, read)
    return read


@router.get("/{agreement_id}", response_model=AgreementRead, responses={304: {"description": "Not modified"}})
@lean
async def get_agreement(
    principal: OptionalPrincipal, reader: ReaderDep, agreement_id: AgreementId, today: Today, request: Request
) -> Response:
    """Read one agreement, with its status evaluated today."""
    document = await service.get_visible_json(reader, agreement_id, principal=principal, today=today)
    return conditional_json(request, document)


@router.patch("/{agreement_id}", dependencies=[Depends(if_match_header)])
async def update_agreement(
    principal: CurrentPrincipal,
    agreement_id: AgreementId,
    body: AgreementUpdate,
    session: SessionDep,
    today: Today,
    request: Request,
    response: Response,
) -> AgreementRead:
    """Change an agreement's facts (its signatory's editor or an admin; If-Match required)."""
    read = await service.change_agreement(
        session, agreement_id, body, if_match=request.headers.get("if-match"), principal=principal, today=today
    )
    set_etag(response, read)
    return read


@router.delete("/{agreement_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(if_match_header)])
async def delete_agreement(
    principal: CurrentPrincipal, agreement_id: AgreementId, session: SessionDep, today: Today, request: Request
) -> None:
    """Delete a draft (anything further along is corrected, terminated or withdrawn: 409)."""
    await service.remove_agreement(
        session, agreement_id, if_match=request.headers.get("if-match"), principal=principal, today=today
    )


@router.get("/{agreement_id}/history", response_model=Page[HistoryEntry])
async def get_agreement_history(
    principal: OptionalPrincipal,
    agreement: VisibleAgreementDep,
    session: SessionDep,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
) -> Response:
    """Who changed what, and when: the agreement's and its children's log entries, oldest first."""
    entries, next_cursor = await service.history(session, agreement, principal=principal, params=page)
    return page_response(request, Page[HistoryEntry](items=entries, next_cursor=next_cursor))
