"""/workspace: pages to sign in with an API key, see one's agreements, upload evidence, report
measurements, propose activities and review what waits for a decision.

Outside the OpenAPI document (pages for people). Every change calls the API's own service with the
session's principal (same rules, log entries, webhooks). A refusal is the API's problem, written in
the page's language next to the field it names; a success redirects (303) to a page that says so.
The session and the CSRF token of every post are checked by app.workspace.middleware before any
body is read.
"""

import re
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect

from app.activities import service as activity_service
from app.activities.schemas import ActivityCreate, ActivityUpdate
from app.clock import Today
from app.config import Settings
from app.db import SessionDep, sessionmaker_of
from app.errors import AppError, MalformedBody, NotFound, validation_message
from app.evidence import service as evidence_service
from app.evidence.multipart import StreamedForm, boundary_of
from app.evidence.schemas import EvidenceReview
from app.i18n import PageLanguageDep, Text
from app.measurements import service as measurement_service
from app.measurements.schemas import MeasurementCreate, Verification
from app.models.agenda import ActivityKind, ActivityStatus
from app.models.results import DocumentType
from app.storage import EvidenceStorage
from app.workspace import service
from app.workspace.middleware import LOGIN, PREFIX, STATE, login_url
from app.workspace.render import chrome, link, page
from app.workspace.service import SignedIn

router = APIRouter(include_in_schema=False)

_DECIMAL = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)")

# What a redirect after a success may announce (?done=…): the page says it in its language.
NOTICES = frozenset(
    {
        "signed_in",
        "signed_out",
        "session_ended",
        "evidence_uploaded",
        "measurement_reported",
        "activity_proposed",
        "evidence_accepted",
        "evidence_rejected",
        "measurement_verified",
        "measurement_rejected",
        "activity_confirmed",
    }
)
# Marks the upload route as one that takes files (app.http.routes.takes_files): the body guard
# gives it the upload limit and the body is streamed, not read first. Not published (no schema).
TAKES_FILES: dict[str, Any] = {"requestBody": {"content": {"multipart/form-data": {}}}}


def signed_in_of(request: Request) -> SignedIn | None:
    """The live session the middleware resolved from the cookie (None: signed out)."""
    found: SignedIn | None = request.scope.get("state", {}).get(STATE)
    return found


MaybeSignedIn = Annotated[SignedIn | None, Depends(signed_in_of)]


def _notice(request: Request, lang: str) -> str | None:
    done = request.query_params.get("done")
    return Text(f"workspace.done_{done}").render(lang) if done in NOTICES else None


def _to_login(lang: str, request: Request, done: str | None = None) -> RedirectResponse:
    url = login_url(lang)
    if done is None and request.cookies.get(service.COOKIE):
        done = "session_ended"  # a cookie that no longer opens a session: expired, signed out or revoked
    if done is not None:
        url = link(LOGIN, lang, done=done)
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    if request.cookies.get(service.COOKIE):
        _forget_cookie(request, response)
    return response


def _hours(request: Request) -> str:
    from app.dashboard.i18n import Locale

    settings: Settings = request.app.state.settings
    lang = request.scope.get("state", {}).get("language", "es")
    return Locale(lang).num(settings.session_hours)


def _secure(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return (settings.public_url or "").lower().startswith("https://")


def _forget_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(service.COOKIE, path=PREFIX, secure=_secure(request), httponly=True, samesite="strict")


def _done(lang: str, path: str, done: str) -> RedirectResponse:
    return RedirectResponse(link(path, lang, done=done), status_code=303, headers={"Cache-Control": "no-store"})


def _field(loc: Any) -> str:
    parts = [p for p in (loc or ()) if p != "body"]
    return str(parts[0]) if parts else ""


def _validation_fields(raw: list[Any], lang: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    for e in raw:
        name = _field(e.get("loc"))
        message = validation_message(e, lang)
        errors[name] = f"{errors[name]} {message}" if name in errors else message
    return errors


LOGIN_FIELDS = frozenset({"api_key"})
UPLOAD_FIELDS = frozenset({"file", "title", "document_type", "target_id", "document_date", "language", "description"})
MEASUREMENT_FIELDS = frozenset({"as_of", "value", "comment", "evidence_ids"})
ACTIVITY_FIELDS = frozenset({"kind", "title", "starts_at", "ends_at", "place", "description"})


def refusal(
    exc: Exception, lang: str, *, fields: frozenset[str] = frozenset(), default_field: str | None = None
) -> tuple[int, str | None, dict[str, str]]:
    """A refusal as a page shows it: (status, message for the whole form, messages by field),
    each the very text of the API's problem detail or errors[].msg in `lang`. A message about a
    field the form does not show (`fields`) is said for the whole form."""
    check = Text("workspace.check_fields").render(lang)
    if isinstance(exc, RequestValidationError | ValidationError):
        raw = list(exc.errors(include_url=False) if isinstance(exc, ValidationError) else exc.errors())
        return 422, *_placed(check, _validation_fields(raw, lang), fields)
    assert isinstance(exc, AppError)
    if exc.errors:
        found: dict[str, str] = {}
        for issue in exc.errors:
            name, message = _field(issue.loc), issue.msg.render(lang)
            found[name] = f"{found[name]} {message}" if name in found else message
        return exc.status, *_placed(check, found, fields)
    detail = exc.render_detail(lang)
    if default_field is not None and default_field in fields:
        return exc.status, check, {default_field: detail}
    return exc.status, detail, {}


def _placed(check: str, found: dict[str, str], fields: frozenset[str]) -> tuple[str, dict[str, str]]:
    shown = {name: message for name, message in found.items() if name in fields}
    elsewhere = [message for name, message in found.items() if name not in fields]
    if not shown:
        return " ".join(elsewhere) or check, shown
    return " ".join([check, *elsewhere]), shown


def _strings(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _blank_is_none(values: Mapping[str, str], *names: str) -> dict[str, Any]:
    return {n: (values.get(n) or "").strip() or None for n in names}


def _number(value: str | None) -> float | str | None:
    """A form's number as the JSON number the API receives (`1,250.5` as people write it in
    Mexico); anything else as given, for the schema to refuse with the API's own message."""
    if value is None:
        return None
    plain = value.replace(",", "").replace(" ", "").replace("\u00a0", "")
    if not _DECIMAL.fullmatch(plain):
        return value
    return float(plain)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _not_found(lang: str, signed_in: SignedIn, path: str) -> HTMLResponse:
    return page(
        "refused.html",
        lang,
        status_code=404,
        message=Text("workspace.not_found").render(lang),
        **chrome(lang, signed_in, path),
    )


# --- signing in and out ---------------------------------------------------------------------------------


@router.get(LOGIN, response_model=None)
async def workspace_login_page(request: Request, lang: PageLanguageDep, signed_in: MaybeSignedIn) -> Response:
    """The sign-in form."""
    if signed_in is not None:
        return RedirectResponse(link(PREFIX, lang), status_code=303)
    context = chrome(lang, None, LOGIN)
    context["notice"] = _notice(request, lang)
    return page("login.html", lang, errors={}, hours=_hours(request), **context)


@router.post(LOGIN, response_model=None)
async def workspace_login(request: Request, lang: PageLanguageDep) -> Response:
    """Sign in with an API key: a server-side session and its cookie."""
    settings: Settings = request.app.state.settings
    form = await request.form()
    api_key = form.get("api_key")
    try:
        token = await service.sign_in(
            sessionmaker_of(request), api_key if isinstance(api_key, str) else "", hours=settings.session_hours
        )
    except AppError as exc:
        status, message, errors = refusal(exc, lang, fields=LOGIN_FIELDS, default_field="api_key")
        context = chrome(lang, None, LOGIN)
        context["form_error"] = message
        return page("login.html", lang, status_code=status, errors=errors, hours=_hours(request), **context)
    response = _done(lang, PREFIX, "signed_in")
    response.set_cookie(
        service.COOKIE,
        token,
        max_age=int(settings.session_hours * 3600),
        path=PREFIX,
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


@router.post(f"{PREFIX}/logout", response_model=None)
async def workspace_logout(request: Request, lang: PageLanguageDep, signed_in: MaybeSignedIn) -> Response:
    """End the session (the middleware has checked it and its CSRF token)."""
    if signed_in is not None:
        await service.sign_out(sessionmaker_of(request), signed_in.session_id)
    response = RedirectResponse(link(LOGIN, lang, done="signed_out"), status_code=303)
    _forget_cookie(request, response)
    return response


# --- reading --------------------------------------------------------------------------------------------


@router.get(PREFIX, response_model=None)
async def workspace_home(
    request: Request, session: SessionDep, today: Today, lang: PageLanguageDep, signed_in: MaybeSignedIn
) -> Response:
    """My agreements: those the key's organization signed or takes part in."""
    if signed_in is None:
        return _to_login(lang, request)
    cursor = request.query_params.get("cursor")
    try:
        agreements, next_cursor = await service.my_agreements(
            session, signed_in.principal, today=today, cursor=cursor[:2000] if cursor else None
        )
    except AppError:
        agreements, next_cursor = await service.my_agreements(session, signed_in.principal, today=today, cursor=None)
    context = chrome(lang, signed_in, PREFIX)
    context["notice"] = _notice(request, lang)
    return page(
        "agreements.html",
        lang,
        agreements=agreements,
        next_page=link(PREFIX, lang, cursor=next_cursor) if next_cursor else None,
        **context,
    )


@router.get(PREFIX + "/agreements/{agreement_id}", response_model=None)
async def workspace_agreement(
    agreement_id: str,
    request: Request,
    session: SessionDep,
    today: Today,
    lang: PageLanguageDep,
    signed_in: MaybeSignedIn,
) -> Response:
    """An agreement: its targets with milestones and progress, its evidence and activities."""
    if signed_in is None:
        return _to_login(lang, request)
    path = f"{PREFIX}/agreements/{agreement_id}"
    found = _uuid(agreement_id)
    try:
        if found is None:
            raise NotFound
        view = await service.agreement_view(session, found, signed_in.principal, today=today)
    except NotFound:
        return _not_found(lang, signed_in, path)
    context = chrome(lang, signed_in, path)
    context["notice"] = _notice(request, lang)
    return page("agreement.html", lang, view=view, **context)


# --- upload evidence ------------------------------------------------------------------------------------


def _upload_choices(view: service.AgreementView, lang: str) -> dict[str, Any]:
    from app.dashboard.i18n import Locale

    t = Locale(lang)
    return {
        "document_types": [(d.value, t.label("document_type", d.value)) for d in DocumentType],
        "targets": [(str(target.id), target.title) for target in view.targets],
    }


async def _upload_page(
    session: AsyncSession,
    request: Request,
    agreement_id: uuid.UUID,
    signed_in: SignedIn,
    lang: str,
    today: Any,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    form_error: str | None = None,
) -> Response:
    path = f"{PREFIX}/agreements/{agreement_id}/evidence"
    try:
        view = await service.agreement_view(session, agreement_id, signed_in.principal, today=today)
    except NotFound:
        return _not_found(lang, signed_in, path)
    if not view.contributes:
        return page(
            "refused.html",
            lang,
            status_code=403,
            message=Text("evidence.upload_forbidden").render(lang),
            **chrome(lang, signed_in, path),
        )
    settings: Settings = request.app.state.settings
    from app.dashboard.i18n import Locale

    context = chrome(lang, signed_in, path)
    context["form_error"] = form_error
    return page(
        "upload.html",
        lang,
        status_code=status_code,
        view=view,
        errors=errors or {},
        values=values or {},
        limit=Locale(lang).size(settings.max_upload_bytes),
        **_upload_choices(view, lang),
        **context,
    )


@router.get(PREFIX + "/agreements/{agreement_id}/evidence", response_model=None)
async def workspace_upload_page(
    agreement_id: str,
    request: Request,
    session: SessionDep,
    today: Today,
    lang: PageLanguageDep,
    signed_in: MaybeSignedIn,
) -> Response:
    """The upload form."""
    if signed_in is None:
        return _to_login(lang, request)
    found = _uuid(agreement_id)
    if found is None:
        return _not_found(lang, signed_in, f"{PREFIX}/agreements/{agreement_id}/evidence")
    return await _upload_page(session, request, found, signed_in, lang, today)


class BrowserForm(StreamedForm):
    """The API's streamed form, as a browser fills it: a browser sends every field, the empty
    ones as empty strings, where an API client leaves out what it does not give."""

    def __init__(self, stream: AsyncIterator[bytes], boundary: bytes) -> None:
        self.started = False

        async def counted() -> AsyncIterator[bytes]:
            async for chunk in stream:
                self.started = True
                yield chunk

        super().__init__(counted(), boundary)

    async def finish(self) -> dict[str, str]:
        fields = await super().finish()
        return {name: value for name, value in fields.items() if value.strip()}


@router.post(PREFIX + "/agreements/{agreement_id}/evidence", response_model=None, openapi_extra=TAKES_FILES)
async def workspace_upload(
    agreement_id: str,
    request: Request,
    session: SessionDep,
    today: Today,
    lang: PageLanguageDep,
    signed_in: MaybeSignedIn,
) -> Response:
    """Upload evidence: the API's upload service, streamed the same way, with the same limits and checks."""
    assert signed_in is not None  # the middleware answered a post without a session
    found = _uuid(agreement_id)
    if found is None:
        return _not_found(lang, signed_in, f"{PREFIX}/agreements/{agreement_id}/evidence")
    settings: Settings = request.app.state.settings
    storage: EvidenceStorage = request.app.state.storage
    boundary = boundary_of(request.headers.get("content-type"))
    stream = request.stream()
    body = BrowserForm(stream, boundary) if boundary is not None else None
    try:
        try:
            await evidence_service.upload_evidence(
                session,
                storage,
                found,
                body,
                principal=signed_in.principal,
                today=today,
                max_bytes=settings.max_upload_bytes,
            )
        except ClientDisconnect as exc:
            raise MalformedBody(Text("evidence.client_gone")) from exc
    except (AppError, RequestValidationError) as exc:
        await session.rollback()
        values = await _drain(body)
        on_file = isinstance(exc, AppError) and exc.status in (409, 413, 415)
        status, message, errors = refusal(exc, lang, fields=UPLOAD_FIELDS, default_field="file" if on_file else None)
        return await _upload_page(
            session,
            request,
            found,
            signed_in,
            lang,
            today,
            status_code=status,
            errors=errors,
            values=values,
            form_error=message,
        )
    return _done(lang, f"{PREFIX}/agreements/{found}", "evidence_uploaded")


async def _drain(body: "BrowserForm | None") -> dict[str, str]:
    """Read what is left of an upload refused while it was read (the body guard still bounds its
    size and pace), so the browser, which sends the whole form before it reads an answer, gets the
    page; and keep the text fields to fill the form in again."""
    if body is None or not body.started:
        # Refused before a byte was read (no such agreement, not a contributor): like the API,
        # the answer goes at once and the body is never taken in.
        return {}
    try:
        return dict(await body.finish())
    except (AppError, ClientDisconnect, StopAsyncIteration, RuntimeError):
        return dict(body.fields)


@router.get(PREFIX + "/evidence/{evidence_id}/content", response_model=None)
async def workspace_evidence_content(
    evidence_id: str,
    request: Request,
    session: SessionDep,
    today: Today,
    lang: PageLanguageDep,
    signed_in: MaybeSignedIn,
) -> Response:
    """A document's bytes for the session's key (a reviewer reads what was submitted)."""
    if signed_in is None:
        return _to_login(lang, request)
    path = f"{PREFIX}/evidence/{evidence_id}/content"
    found = _uuid(evidence_id)
    try:
        if found is None:
            raise NotFound
        document, _ = await evidence_service.visible_evidence(
            session, found, principal=signed_in.principal, today=today
        )
    except NotFound:
        return _not_found(lang, signed_in, path)
    storage: EvidenceStorage = request.app.state.storage
    safe = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in document.filename)
    disposition = f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quote(document.filename, safe='')}"

    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in storage.stream(document.storage_key):
            yield chunk

    return StreamingResponse(
        chunks(),
        media_type=document.media_type,
        headers={
            "Content-Length": str(document.size_bytes),
            "ETag": f'"{document.sha256}"',
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "no-store",
        },
    )


# --- report a measurement -------------------------------------------------------------------------------


async def _measurement_page(
    session: AsyncSession,
    target_id: uuid.UUID,
    signed_in: SignedIn,
    lang: str,
    today: Any,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    form_error: str | None = None,
) -> Response:
    path = f"{PREFIX}/targets/{target_id}/measurements"
    try:
        target, view = await service.target_view(session, target_id, signed_in.principal, today=today)
    except NotFound:
        return _not_found(lang, signed_in, path)
    if not view.contributes:
        return page(
            "refused.html",
            lang,
            status_code=403,
            message=Text("measurements.report_forbidden").render(lang),
            **chrome(lang, signed_in, path),
        )
    target_read = next(t for t in view.targets if t.id == target.id)
    context = chrome(lang, signed_in, path)
    context["form_error"] = form_error
    return page(
        "measurement.html",
        lang,
        status_code=status_code,
        view=view,
        target=target,
        target_read=target_read,
        errors=errors or {},
        values=values or {"as_of": today.isoformat()},
        **context,
    )


@router.get(PREFIX + "/targets/{target_id}/measurements", response_model=None)
async def workspace_measurement_page(
    target_id: str,
    request: Request,
    session: SessionDep,
    today: Today,
    lang: PageLanguageDep,
    signed_in: MaybeSignedIn,
) -> Response:
    """The form to report a measurement of a target, citing the agreement's evidence."""
    if signed_in is None:
        return _to_login(lang, request)
    found = _uuid(target_id)
    if found is None:
        return _not_found(lang, signed_in, f"{PREFIX}/targets/{target_id}/measurements")
    return await _measurement_page(session, found, signed_in, lang, today)


@router.post(PREFIX + "/targets/{target_id}/measurements", response_model=None)
async def workspace_report_measurement(
    target_id: str,
    request: Request,
    session: SessionDep,
    today: Today,
    lang: PageLanguageDep,
    signed_in: MaybeSignedIn,
) -> Response:
    """Report a measurement: the API's measurement service."""
    assert signed_in is not None
    found = _uuid(target_id)
    if found is None:
        return _not_found(lang, signed_in, f"{PREFIX}/targets/{target_id}/measurements")
    form = await request.form()
    values: dict[str, Any] = _strings(form)
    cited = [v for v in form.getlist("evidence_ids") if isinstance(v, str)]
    values["evidence_ids"] = cited
    try:
        given = _blank_is_none(values, "as_of", "value", "comment")
        given["value"] = _number(given["value"])
        data = MeasurementCreate.model_validate({**given, "evidence_ids": cited})
        read = await measurement_service.report_measurement(
            session, found, data, principal=signed_in.principal, today=today
        )
    except (AppError, ValidationError) as exc:
        if isinstance(exc, NotFound):
            return _not_found(lang, signed_in, f"{PREFIX}/targets/{target_id}/measurements")
        await session.rollback()
        status, message, errors = refusal(exc, lang, fields=MEASUREMENT_FIELDS)
        return await _measurement_page(
            session, found, signed_in, lang, today, status_code=status, errors=errors, values=values, form_error=message
        )
    return _done(lang, f"{PREFIX}/agreements/{read.agreement_id}", "measurement_reported")


# --- propose an activity --------------------------------------------------------------------------------


async def _activity_page(
    session: AsyncSession,
    request: Request,
    agreement_id: uuid.UUID,
    signed_in: SignedIn,
    lang: str,
    today: Any,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    form_error: str | None = None,
) -> Response:
    path = f"{PREFIX}/agreements/{agreement_id}/activities"
    try:
        view = await service.agreement_view(session, agreement_id, signed_in.principal, today=today)
    except NotFound:
        return _not_found(lang, signed_in, path)
    if not view.contributes:
        return page(
            "refused.html",
            lang,
            status_code=403,
            message=Text("activities.add_forbidden").render(lang),
            **chrome(lang, signed_in, path),
        )
    from app.dashboard.i18n import Locale

    settings: Settings = request.app.state.settings
    t = Locale(lang)
    context = chrome(lang, signed_in, path)
    context["form_error"] = form_error
    return page(
        "activity.html",
        lang,
        status_code=status_code,
        view=view,
        kinds=[(k.value, t.label("activity_kind", k.value)) for k in ActivityKind],
        zone=settings.timezone,
        errors=errors or {},
        values=values or {},
        **context,
    )


@router.get(PREFIX + "/agreements/{agreement_id}/activities", response_model=None)
async def workspace_activity_page(
    agreement_id: str,
    request: Request,
    session: SessionDep,
    today: Today,
    lang: PageLanguageDep,
    signed_in: MaybeSignedIn,
) -> Response:
    """The form to propose an activity."""
    if signed_in is None:
        return _to_login(lang, request)
    found = _uuid(agreement_id)
    if found is None:
        return _not_found(lang, signed_in, f"{PREFIX}/agreements/{agreement_id}/activities")
    return await _activity_page(session, request, found, signed_in, lang, today)


def _local_instant(value: str | None, settings: Settings) -> Any:
    """A datetime-local field (no offset) read in PACTA_TIMEZONE; anything else as given, for the
    schema to judge."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.replace(tzinfo=settings.zone) if moment.tzinfo is None else moment


@router.post(PREFIX + "/agreements/{agreement_id}/activities", response_model=None)
async def workspace_propose_activity(
    agreement_id: str,
    request: Request,
    session: SessionDep,
    today: Today,
    lang: PageLanguageDep,
    signed_in: MaybeSignedIn,
) -> Response:
    """Propose an activity (an editor adds one): the API's activity service; always planned."""
    assert signed_in is not None
    found = _uuid(agreement_id)
    if found is None:
        return _not_found(lang, signed_in, f"{PREFIX}/agreements/{agreement_id}/activities")
    settings: Settings = request.app.state.settings
    values = _strings(await request.form())
    given = _blank_is_none(values, "kind", "title", "starts_at", "ends_at", "place", "description")
    given["starts_at"] = _local_instant(given["starts_at"], settings)
    given["ends_at"] = _local_instant(given["ends_at"], settings)
    try:
        data = ActivityCreate.model_validate(given)
        await activity_service.create_activity(session, found, data, principal=signed_in.principal, today=today)
    except (AppError, ValidationError) as exc:
        if isinstance(exc, NotFound):
            return _not_found(lang, signed_in, f"{PREFIX}/agreements/{agreement_id}/activities")
        await session.rollback()
        status, message, errors = refusal(exc, lang, fields=ACTIVITY_FIELDS)
        return await _activity_page(
            session,
            request,
            found,
            signed_in,
            lang,
            today,
            status_code=status,
            errors=errors,
            values=values,
            form_error=message,
        )
    return _done(lang, f"{PREFIX}/agreements/{found}", "activity_proposed")


# --- the review queue -----------------------------------------------------------------------------------


async def _queue_page(
    request: Request,
    session: AsyncSession,
    signed_in: SignedIn,
    lang: str,
    *,
    status_code: int = 200,
    item_errors: dict[str, str] | None = None,
) -> Response:
    queue = await service.review_queue(session, signed_in.principal)
    context = chrome(lang, signed_in, f"{PREFIX}/review")
    context["notice"] = _notice(request, lang) if status_code == 200 else None
    listed = {str(d.id) for d, _ in queue.evidence} | {str(q.measurement.id) for q in queue.measurements}
    listed |= {str(q.activity.id) for q in queue.activities}
    # A refusal about an item no longer in the queue (decided meanwhile, or never visible) is said on top.
    context["form_error"] = " ".join(m for i, m in (item_errors or {}).items() if i not in listed) or None
    return page("review.html", lang, status_code=status_code, queue=queue, item_errors=item_errors or {}, **context)


@router.get(PREFIX + "/review", response_model=None)
async def workspace_review_queue(
    request: Request, session: SessionDep, lang: PageLanguageDep, signed_in: MaybeSignedIn
) -> Response:
    """The editor's queue: evidence to accept or reject, measurements to verify, activities to confirm."""
    if signed_in is None:
        return _to_login(lang, request)
    return await _queue_page(request, session, signed_in, lang)


async def _decided(
    request: Request,
    session: AsyncSession,
    signed_in: SignedIn,
    lang: str,
    item: str,
    exc: AppError | ValidationError,
) -> Response:
    await session.rollback()
    status, message, _ = refusal(exc, lang)
    return await _queue_page(request, session, signed_in, lang, status_code=status, item_errors={item: message or ""})


@router.post(PREFIX + "/evidence/{evidence_id}/review", response_model=None)
async def workspace_review_evidence(
    evidence_id: str,
    request: Request,
    session: SessionDep,
    today: Today,
    lang: PageLanguageDep,
    signed_in: MaybeSignedIn,
) -> Response:
    """Accept or reject a document: the API's evidence review."""
    assert signed_in is not None
    found = _uuid(evidence_id)
    if found is None:
        return _not_found(lang, signed_in, f"{PREFIX}/review")
    values = _strings(await request.form())
    try:
        data = EvidenceReview.model_validate(_blank_is_none(values, "decision", "note"))
        document, _ = await evidence_service.review_evidence(
            session, found, data, principal=signed_in.principal, today=today
        )
    except (AppError, ValidationError) as exc:
        return await _decided(request, session, signed_in, lang, str(found), exc)
    return _done(lang, f"{PREFIX}/review", f"evidence_{document.status}")


@router.post(PREFIX + "/measurements/{measurement_id}/verification", response_model=None)
async def workspace_verify_measurement(
    measurement_id: str,
    request: Request,
    session: SessionDep,
    today: Today,
    lang: PageLanguageDep,
    signed_in: MaybeSignedIn,
) -> Response:
    """Verify or reject a measurement: the API's verification."""
    assert signed_in is not None
    found = _uuid(measurement_id)
    if found is None:
        return _not_found(lang, signed_in, f"{PREFIX}/review")
    values = _strings(await request.form())
    try:
        data = Verification.model_validate(_blank_is_none(values, "decision", "note"))
        read = await measurement_service.decide(session, found, data, principal=signed_in.principal, today=today)
    except (AppError, ValidationError) as exc:
        return await _decided(request, session, signed_in, lang, str(found), exc)
    return _done(lang, f"{PREFIX}/review", f"measurement_{read.status.value}")


@router.post(PREFIX + "/activities/{activity_id}/confirmation", response_model=None)
async def workspace_confirm_activity(
    activity_id: str,
    request: Request,
    session: SessionDep,
    today: Today,
    lang: PageLanguageDep,
    signed_in: MaybeSignedIn,
) -> Response:
    """Confirm a planned activity: the API's PATCH of its status, If-Match from the form."""
    assert signed_in is not None
    found = _uuid(activity_id)
    if found is None:
        return _not_found(lang, signed_in, f"{PREFIX}/review")
    values = _strings(await request.form())
    try:
        await activity_service.change_activity(
            session,
            found,
            ActivityUpdate(status=ActivityStatus.confirmed),
            if_match=values.get("etag") or None,
            principal=signed_in.principal,
            today=today,
        )
    except AppError as exc:
        return await _decided(request, session, signed_in, lang, str(found), exc)
    return _done(lang, f"{PREFIX}/review", "activity_confirmed")
