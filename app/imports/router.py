"""/v1/imports: spreadsheets in (CSV or XLSX), and their templates."""

import asyncio
import uuid
from collections.abc import Callable
from typing import IO, Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from app.auth.dependencies import CurrentPrincipal, optional_principal
from app.clock import Today
from app.config import Settings
from app.db import SessionDep
from app.errors import MalformedBody
from app.evidence.multipart import StreamedForm, boundary_of
from app.http.csv import XLSX_MEDIA_TYPE, attachment
from app.http.headers import idempotency_key_header
from app.http.routes import before_body
from app.i18n import Text
from app.imports import service, templates
from app.imports.schemas import ImportKind, ImportResult, import_body

router = APIRouter(prefix="/v1/imports", tags=["imports"])

KindPath = Annotated[ImportKind, Path(description="What the file holds: agreements or targets.")]


async def admit_import(scope: Scope, principal: Any) -> Callable[[], None] | None:
    """Before any of the body is read, whatever the headers (an Idempotency-Key's middleware reads
    it all): the key's role, `org` against its organization, and a free import slot."""
    orgs = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("org")
    state: dict[str, Any] = scope.setdefault("state", {})
    return await service.admit(principal, orgs[-1] if orgs else None, state)


@router.post(
    "",
    dependencies=[Depends(idempotency_key_header)],
    openapi_extra={"requestBody": import_body()},
)
@before_body(admit_import)
async def import_rows(
    principal: CurrentPrincipal,
    session: SessionDep,
    today: Today,
    request: Request,
    kind: Annotated[ImportKind, Query(description="What the file holds.")],
    dry_run: Annotated[bool, Query(description="Check every row and report the counts; write nothing.")] = False,
    org: Annotated[
        uuid.UUID | None,
        Query(description="The signatory whose rows these are: an editor's own (the default), any for an admin."),
    ] = None,
) -> ImportResult:
    """Import agreements or targets from CSV or XLSX: all rows or none, every bad row reported.

    Rows are upserted by (signatory, external_ref), targets by (agreement external_ref, title);
    each created or changed row is a normal write (log entry, webhooks). Any bad row: 422 whose
    `errors` name every bad cell as `{row, column, msg}` (the header is row 1; `loc` is
    `[row, column]`), nothing written. Columns as in the templates; an unknown column is an error.
    """
    settings: Settings = request.app.state.settings
    boundary = boundary_of(request.headers.get("content-type"))

    async def parse(file: IO[bytes]) -> service.Prepared:
        # Reading a 25 MiB workbook and its 50,000 rows is CPU work: never on the event loop.
        return await asyncio.to_thread(service.prepare_file, kind, file)

    form = StreamedForm(request.stream(), boundary) if boundary is not None else None
    try:
        return await service.import_upload(
            session,
            form,
            org=org,
            dry_run=dry_run,
            principal=principal,
            today=today,
            max_bytes=settings.max_upload_bytes,
            max_rows=settings.import_max_rows,
            parse=parse,
            slot_held=bool(getattr(request.state, service.SLOT_HELD, False)),
        )
    except ClientDisconnect as exc:
        raise MalformedBody(Text("evidence.client_gone")) from exc


@router.get(
    "/templates/{kind}.csv",
    dependencies=[Depends(optional_principal)],
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The CSV template."}},
)
async def get_import_template_csv(
    kind: KindPath,
    bom: Annotated[
        bool,
        Query(description="Start with a UTF-8 byte-order mark. Yes by default: a template is for spreadsheets."),
    ] = True,
) -> Response:
    """The CSV template (UTF-8, with a BOM unless bom=false): the columns, with a worked example row."""
    return Response(
        templates.template_csv(kind, bom=bom),
        media_type="text/csv; charset=utf-8",
        headers=attachment(f"pacta-{kind.value}.csv"),
    )


@router.get(
    "/templates/{kind}.xlsx",
    dependencies=[Depends(optional_principal)],
    response_class=Response,
    responses={
        200: {
            "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": "The XLSX template.",
        }
    },
)
async def get_import_template_xlsx(kind: KindPath) -> Response:
    """The XLSX template: the columns, a worked example row, drop-downs for coded values."""
    return Response(
        templates.template_xlsx(kind),
        media_type=XLSX_MEDIA_TYPE,
        headers=attachment(f"pacta-{kind.value}.xlsx"),
    )
