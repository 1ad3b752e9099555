"""ETag, If-None-Match (304) and If-Match (428 when missing, 412 when stale) for single resources."""

import hashlib

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel

from app.errors import PreconditionFailed, PreconditionRequired
from app.i18n import Text


class NotModified(Exception):
    """Raised by a read whose representation the client already has; answered 304."""

    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


def etag_of(representation: BaseModel) -> str:
    """A strong validator: the hash of the representation's JSON, as its model writes it (the
    bytes a read of it sends). One spelling per value, so equal representations share a tag."""
    return etag_of_json(representation.model_dump_json())


def etag_of_json(document: str) -> str:
    """etag_of for a representation already written as JSON text: the hot reads' documents,
    built by PostgreSQL, are the bytes their model writes (tests/*/test_json_reads.py), so a
    hash of the text gives the same tag without parsing it back."""
    return f'"{hashlib.sha256(document.encode()).hexdigest()[:32]}"'


def conditional_json(request: Request, document: str) -> Response:
    """The JSON document with its ETag; NotModified when If-None-Match already names it."""
    etag = etag_of_json(document)
    if none_match(request.headers.get("if-none-match"), etag):
        raise NotModified(etag)
    return Response(content=document.encode(), media_type="application/json", headers={"ETag": etag})


def etag_of_body(body: bytes) -> str:
    """A strong validator for a body sent as it is (badges, embeds): the hash of its bytes."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def conditional_body(request: Request, response: Response) -> Response:
    """The response with the ETag of its body; when If-None-Match names it, a 304 carrying the
    headers the 200 would have (RFC 9110 section 15.4.5) but no body."""
    etag = etag_of_body(bytes(response.body))
    response.headers["ETag"] = etag
    if not none_match(request.headers.get("if-none-match"), etag):
        return response
    headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
    return Response(status_code=304, headers=headers)


def _tags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def none_match(header: str | None, etag: str) -> bool:
    """If-None-Match names `etag` (weak comparison, RFC 9110 section 13.1.2) or is `*`."""
    if header is None:
        return False
    tags = _tags(header)
    return "*" in tags or etag.removeprefix("W/") in tags


def set_etag(response: Response, representation: BaseModel) -> None:
    response.headers["ETag"] = etag_of(representation)


def conditional_read(request: Request, response: Response, representation: BaseModel) -> None:
    """Set the ETag; raise NotModified when If-None-Match already names it."""
    etag = etag_of(representation)
    response.headers["ETag"] = etag
    if none_match(request.headers.get("if-none-match"), etag):
        raise NotModified(etag)


def require_if_match(request: Request, current: BaseModel) -> None:
    """Refuse a change made without If-Match (428) or against a representation that moved on (412).

    Call it with the resource read under a row lock, so two clients can never both pass.
    """
    check_if_match(request.headers.get("if-match"), current)


def check_if_match(header: str | None, current: BaseModel) -> None:
    """require_if_match for a service given the header's value (None when absent)."""
    if header is None:
        raise PreconditionRequired(Text("http.if_match_required"))
    tags = _tags(header)
    if "*" not in tags and etag_of(current) not in tags:
        raise PreconditionFailed(Text("http.if_match_stale"))


async def _not_modified(request: Request, exc: Exception) -> Response:  # noqa: ARG001
    assert isinstance(exc, NotModified)
    return Response(status_code=304, headers={"ETag": exc.etag})


def install_etag_handler(app: FastAPI) -> None:
    app.add_exception_handler(NotModified, _not_modified)
