"""/v1/exports: all public data as files anyone can download and check."""

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse

from app.auth.dependencies import optional_principal
from app.clock import Today
from app.compliance import service as compliance_service
from app.config import Settings
from app.db import SessionDep, sessionmaker_of
from app.exports import service
from app.http.etag import none_match
from app.i18n import LanguageDep
from app.log.signing import LogSigner

# Public, the same for every caller; a key that is sent must still be valid (401 otherwise).
router = APIRouter(prefix="/v1/exports", tags=["exports"], dependencies=[Depends(optional_principal)])

ZIP_MEDIA_TYPE = "application/zip"
_ANY_ID = uuid.UUID(int=0)
PACKAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A zip: datapackage.json (Data Package v2), data/<resource>.csv, checkpoint.json.",
        "content": {ZIP_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    },
    304: {"description": "If-None-Match names the package that would be served."},
}


@router.get("/datapackage.zip", response_class=FileResponse, responses=PACKAGE_RESPONSES)
async def get_datapackage(request: Request, session: SessionDep, today: Today, lang: LanguageDep) -> Response:
    """Every public row as a Frictionless Data Package (v2), cut at a signed log checkpoint."""
    settings: Settings = request.app.state.settings
    signer: LogSigner | None = request.app.state.log_signer
    template = str(request.url_for("get_evidence_content", evidence_id=_ANY_ID))
    cut = service.Cut(
        today=today,
        lang=lang,
        content_url=lambda evidence_id: template.replace(str(_ANY_ID), str(evidence_id)),
        params=compliance_service.params_for(settings, today),
    )
    package = await service.current_package(session, sessionmaker_of(request), signer, cut, base=str(request.base_url))
    headers = {"ETag": package.etag, "Cache-Control": "public, max-age=300"}
    if none_match(request.headers.get("if-none-match"), package.etag):
        return Response(status_code=304, headers=headers)
    return FileResponse(package.path, media_type=ZIP_MEDIA_TYPE, filename="pacta-datapackage.zip", headers=headers)
