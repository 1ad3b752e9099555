"""The AppError hierarchy and the handlers that turn every failure into RFC 9457 problem+json."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger("pacta.errors")


class ValidationIssue(BaseModel):
    """One field-level problem in a request."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem details document."""

    type: str = Field(description="A URI reference, /problems/<slug>, naming the kind of problem.")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ValidationIssue] | None = None


class AppError(Exception):
    """A failure the client can act on. Subclasses fix status, title and slug."""

    status: int = 500
    title: str = "Internal server error"
    slug: str = "internal-error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[ValidationIssue] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class BadRequest(AppError):
    status, title, slug = 400, "Bad request", "bad-request"


class MalformedBody(AppError):
    status, title, slug = 400, "Malformed request body", "malformed-body"


class Unauthorized(AppError):
    status, title, slug = 401, "Authentication required", "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="pacta"'})


class Forbidden(AppError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(AppError):
    status, title, slug = 404, "Not found", "not-found"


class NotAcceptable(AppError):
    status, title, slug = 406, "Not acceptable", "not-acceptable"


class RequestTimeout(AppError):
    """The client sent its body too slowly, or stopped sending it: the connection is cut off."""

    status, title, slug = 408, "Request timeout", "request-timeout"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Connection": "close"})


class Conflict(AppError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(AppError):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PayloadTooLarge(AppError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class UnsupportedMediaType(AppError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class RuleViolation(AppError):
    """The body is well-formed but breaks a rule of the domain (a field that names no real thing)."""

    status, title, slug = 422, "Validation failed", "validation-error"


class PreconditionRequired(AppError):
    status, title, slug = 428, "Precondition required", "precondition-required"


class ServiceUnavailable(AppError):
    status, title, slug = 503, "Service unavailable", "service-unavailable"


class Issues:
    """Collects every broken rule of a request body, so one 422 names all the fields at once."""

    def __init__(self) -> None:
        self.items: list[ValidationIssue] = []

    def add(self, loc: Sequence[str | int], msg: str) -> None:
        self.items.append(ValidationIssue(loc=["body", *loc], msg=msg, type="value_error"))

    def add_field(self, field: str, msg: str) -> None:
        self.add([field], msg)

    def raise_if_any(self) -> None:
        if self.items:
            raise RuleViolation("; ".join(i.msg for i in self.items), errors=self.items)


def changes_of(update: BaseModel, *, not_null: Sequence[str]) -> dict[str, Any]:
    """What a PATCH sets: absent fields are kept, null clears, except where a field is required."""
    changes = update.model_dump(mode="python", exclude_unset=True)
    issues = Issues()
    for field in not_null:
        if field in changes and changes[field] is None:
            issues.add([field], f"{field} cannot be null.")
    issues.raise_if_any()
    return changes


def field_error(loc: Sequence[str | int], msg: str, type_: str = "value_error") -> RuleViolation:
    """A 422 naming one field, shaped like the framework's own validation errors."""
    return RuleViolation(msg, errors=[ValidationIssue(loc=list(loc), msg=msg, type=type_)])


def problem_response(
    request: Request | None,
    *,
    status: int,
    title: str,
    slug: str,
    detail: str,
    errors: Sequence[ValidationIssue] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path if request is not None else None,
    }
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_MEDIA_TYPE)


_STATUS_SLUGS: dict[int, tuple[str, str]] = {
    400: ("Bad request", "bad-request"),
    401: ("Authentication required", "unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("Not found", "not-found"),
    405: ("Method not allowed", "method-not-allowed"),
    406: ("Not acceptable", "not-acceptable"),
    408: ("Request timeout", "request-timeout"),
    409: ("Conflict", "conflict"),
    413: ("Payload too large", "payload-too-large"),
    415: ("Unsupported media type", "unsupported-media-type"),
}


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        slug=exc.slug,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title, slug = _STATUS_SLUGS.get(exc.status_code, ("Error", "http-error"))
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else title
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        detail = f"No resource at {request.url.path}."
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
        # Starlette names only the first route that matched the path; Allow must list them all.
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem_response(request, status=exc.status_code, title=title, slug=slug, detail=detail, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


def _loc(loc: Sequence[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        return problem_response(
            request,
            status=400,
            title="Malformed request body",
            slug="malformed-body",
            detail="The request body is not valid JSON.",
        )
    issues = [
        ValidationIssue(loc=_loc(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e.get("type", ""))) for e in raw
    ]
    fields = ", ".join(".".join(str(p) for p in i.loc) for i in issues[:5])
    return problem_response(
        request,
        status=422,
        title="Validation failed",
        slug="validation-error",
        detail=f"The request does not match the schema ({fields}).",
        errors=issues,
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:  # noqa: ARG001
    request_id = getattr(request.state, "request_id", None)
    logger.exception("unhandled error", extra={"request_id": request_id})
    return problem_response(
        request,
        status=500,
        title="Internal server error",
        slug="internal-error",
        detail=f"An unexpected error occurred. Quote request id {request_id} when reporting it.",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
