"""The AppError hierarchy and the handlers that turn every failure into RFC 9457 problem+json.

Titles and details are catalogue texts (app/i18n), written in the caller's language only when the
problem is answered: a subclass's title is `problem.<slug>.title`."""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.i18n import Text, TextError, catalogue, request_language

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


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """One broken rule of a request, named by its field; its text is written when answered."""

    loc: Sequence[str | int]
    msg: Text
    type: str = "value_error"


class AppError(Exception):
    """A failure the client can act on. Subclasses fix status and slug (the slug names the title)."""

    status: int = 500
    slug: str = "internal-error"

    def __init__(
        self,
        detail: Text | None = None,
        *,
        errors: Sequence[FieldIssue] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(str(detail) if detail is not None else self.slug)
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    @classmethod
    def title_text(cls) -> Text:
        return Text(f"problem.{cls.slug}.title")

    def render_detail(self, lang: str) -> str:
        """The detail in `lang`: the given text, else every field's message, else the title."""
        if self.detail is not None:
            return self.detail.render(lang)
        if self.errors:
            return "; ".join(e.msg.render(lang) for e in self.errors)
        return self.title_text().render(lang)


class BadRequest(AppError):
    status, slug = 400, "bad-request"


class MalformedBody(AppError):
    status, slug = 400, "malformed-body"


class Unauthorized(AppError):
    status, slug = 401, "unauthorized"

    def __init__(self, detail: Text) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="pacta"'})


class Forbidden(AppError):
    status, slug = 403, "forbidden"


class NotFound(AppError):
    status, slug = 404, "not-found"


class NotAcceptable(AppError):
    status, slug = 406, "not-acceptable"


class RequestTimeout(AppError):
    """The client sent its body too slowly, or stopped sending it: the connection is cut off."""

    status, slug = 408, "request-timeout"

    def __init__(self, detail: Text) -> None:
        super().__init__(detail, headers={"Connection": "close"})


class Conflict(AppError):
    status, slug = 409, "conflict"


class PreconditionFailed(AppError):
    status, slug = 412, "precondition-failed"


class PayloadTooLarge(AppError):
    status, slug = 413, "payload-too-large"


class UnsupportedMediaType(AppError):
    status, slug = 415, "unsupported-media-type"


class RuleViolation(AppError):
    """The body is well-formed but breaks a rule of the domain (a field that names no real thing)."""

    status, slug = 422, "validation-error"


class PreconditionRequired(AppError):
    status, slug = 428, "precondition-required"


class ServiceUnavailable(AppError):
    status, slug = 503, "service-unavailable"


class TextHTTPException(StarletteHTTPException):
    """An HTTPException whose detail is a catalogue text: for failures inside a body read, where the
    framework lets only HTTPException through unchanged."""

    def __init__(self, status_code: int, text: Text) -> None:
        super().__init__(status_code, str(text))
        self.text = text


class Issues:
    """Collects every broken rule of a request body, so one 422 names all the fields at once."""

    def __init__(self) -> None:
        self.items: list[FieldIssue] = []

    def add(self, loc: Sequence[str | int], msg: Text) -> None:
        self.items.append(FieldIssue(loc=["body", *loc], msg=msg))

    def add_field(self, field: str, msg: Text) -> None:
        self.add([field], msg)

    def raise_if_any(self) -> None:
        if self.items:
            raise RuleViolation(errors=self.items)


def changes_of(update: BaseModel, *, not_null: Sequence[str]) -> dict[str, Any]:
    """What a PATCH sets: absent fields are kept, null clears, except where a field is required."""
    changes = update.model_dump(mode="python", exclude_unset=True)
    issues = Issues()
    for field in not_null:
        if field in changes and changes[field] is None:
            issues.add([field], Text("validation.not_null", field=field))
    issues.raise_if_any()
    return changes


def field_error(loc: Sequence[str | int], msg: Text, type_: str = "value_error") -> RuleViolation:
    """A 422 naming one field, shaped like the framework's own validation errors."""
    return RuleViolation(msg, errors=[FieldIssue(loc=list(loc), msg=msg, type=type_)])


def problem_response(
    request: Request,
    *,
    status: int,
    slug: str,
    detail: Text | str,
    title: Text | None = None,
    errors: Sequence[FieldIssue | ValidationIssue] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """A problem written in the request's language (Content-Language and Vary follow from it)."""
    lang = request_language(request)
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": (title or Text(f"problem.{slug}.title")).render(lang),
        "status": status,
        "detail": detail if isinstance(detail, str) else detail.render(lang),
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = [_issue(e, lang).model_dump() for e in errors]
    body.update({name: _rendered(value, lang) for name, value in (extra or {}).items()})
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_MEDIA_TYPE)


@runtime_checkable
class Renderable(Protocol):
    """A text for people not yet written in a language (a catalogue Text, or a message built on one)."""

    def render(self, lang: str) -> str: ...


def _rendered(value: Any, lang: str) -> Any:
    """A problem's extra member with every text inside it written in `lang` (per-row errors of an import)."""
    if isinstance(value, Renderable):
        return value.render(lang)
    if isinstance(value, Mapping):
        return {k: _rendered(v, lang) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rendered(v, lang) for v in value]
    return value


def _issue(issue: FieldIssue | ValidationIssue, lang: str) -> ValidationIssue:
    if isinstance(issue, ValidationIssue):
        return issue
    return ValidationIssue(loc=list(issue.loc), msg=issue.msg.render(lang), type=issue.type)


_STATUS_SLUGS: dict[int, str] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    408: "request-timeout",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
}


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    lang = request_language(request)
    return problem_response(
        request,
        status=exc.status,
        title=exc.title_text(),
        slug=exc.slug,
        detail=exc.render_detail(lang),
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = _STATUS_SLUGS.get(exc.status_code, "http-error")
    headers = dict(exc.headers or {})
    # Starlette's own details are English prose: the catalogue has ours for every status it raises.
    detail = (
        exc.text
        if isinstance(exc, TextHTTPException)
        else Text(f"problem.{slug}.detail", path=request.url.path, method=request.method)
    )
    if exc.status_code == 405:
        # Starlette names only the first route that matched the path; Allow must list them all.
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem_response(request, status=exc.status_code, slug=slug, detail=detail, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    if "GET" in allowed and "HEAD" not in allowed:
        # app.http.cors.HeadMiddleware answers HEAD wherever a GET is served.
        allowed.insert(allowed.index("GET") + 1, "HEAD")
    return ", ".join(allowed)


def _loc(loc: Sequence[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def validation_message(error: Mapping[str, Any], lang: str) -> str:
    """A pydantic error in `lang`: our text for its type, with its ctx values (limits, expected
    values); a validator's own catalogue text; pydantic's English for a type we do not know."""
    ctx = dict(error.get("ctx") or {})
    cause = ctx.get("error")
    if isinstance(cause, TextError):
        return cause.text.render(lang)
    key = f"validation.{error.get('type', '')}"
    if key in catalogue("es"):
        ctx["error"] = str(cause) if cause is not None else ""
        if lang == "es" and isinstance(ctx.get("expected"), str):
            # pydantic lists the allowed values in English ("'a', 'b' or 'c'"); the values are codes.
            head, sep, last = ctx["expected"].rpartition(" or ")
            ctx["expected"] = f"{head} o {last}" if sep else last
        return Text(key, **{k: _ctx_value(v) for k, v in ctx.items()}).render(lang)
    if lang == "en":
        return str(error.get("msg", ""))
    return Text("validation.unknown").render(lang)


def _ctx_value(value: Any) -> Any:
    return value if isinstance(value, int | float | str) else str(value)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        return problem_response(
            request, status=400, slug="malformed-body", detail=Text("problem.malformed-body.not-json")
        )
    lang = request_language(request)
    issues = [
        ValidationIssue(loc=_loc(e.get("loc", ())), msg=validation_message(e, lang), type=str(e.get("type", "")))
        for e in raw
    ]
    fields = ", ".join(".".join(str(p) for p in i.loc) for i in issues[:5])
    return problem_response(
        request,
        status=422,
        slug="validation-error",
        detail=Text("problem.validation-error.schema", fields=fields),
        errors=issues,
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:  # noqa: ARG001
    request_id = getattr(request.state, "request_id", None)
    logger.exception("unhandled error", extra={"request_id": request_id})
    return problem_response(
        request,
        status=500,
        slug="internal-error",
        detail=Text("problem.internal-error.detail", request_id=request_id),
    )


# PostgreSQL gave up waiting, not the client's fault nor ours: the statement timeout (57014, e.g. a
# write queued behind a long import on the log's head), a lock timeout (55P03), a serialization
# failure (40001) or a deadlock (40P01). The transaction was rolled back; the client may retry.
BUSY_SQLSTATES = frozenset({"57014", "55P03", "40001", "40P01"})
BUSY_RETRY_AFTER_SECONDS = 5


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL refused a value (SQLSTATE class 22: a NUL character, a number out of range…):
    the client's input, so a 422; the transaction was rolled back, nothing was written. A statement
    that waited too long answers 503 with Retry-After (nothing was written either)."""
    code = str(getattr(getattr(exc, "orig", None), "sqlstate", "") or getattr(exc, "code", "") or "")
    sqlstate = str(getattr(getattr(getattr(exc, "orig", None), "__cause__", None), "sqlstate", None) or code)
    if sqlstate in BUSY_SQLSTATES:
        busy = ServiceUnavailable(
            Text("problem.database-busy", seconds=BUSY_RETRY_AFTER_SECONDS),
            headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
        )
        return await _app_error(request, busy)
    if not sqlstate.startswith("22"):
        return await _unexpected_error(request, exc)
    return await _app_error(request, RuleViolation(Text("problem.unprocessable-value")))


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    """A uniqueness race the service's own checks could not see coming: a conflict, not a 500."""
    constraint = getattr(getattr(exc, "orig", None), "constraint_name", None)
    detail = (
        Text("problem.conflict.constraint", constraint=constraint) if constraint else Text("problem.conflict.existing")
    )
    return await _app_error(request, Conflict(detail))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DBAPIError, _data_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
