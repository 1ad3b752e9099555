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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
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
from app.dashboard.i18n import Locale
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


@dataclass(frozen=True, slots=True)
class Visit:
    """What a workspace page reads of its request: the request itself, its unit of work, today,
    the page's language and the session (None: signed out)."""

    request: Request
    session: AsyncSession
    today: date
    lang: str
    signed_in: SignedIn | None

    @property
    def settings(self) -> Settings:
        settings: Settings = self.request.app.state.settings
        return settings


async def visit_of(
    request: Request, session: SessionDep, today: Today, lang: PageLanguageDep, signed_in: MaybeSignedIn
) -> Visit:
    return Visit(request=request, session=session, today=today, lang=lang, signed_in=signed_in)


VisitDep = Annotated[Visit, Depends(visit_of)]


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
async def workspace_home(visit: VisitDep) -> Response:
    """My agreements: those the key's organization signed or takes part in."""
    request, session, lang, signed_in = visit.request, visit.session, visit.lang, visit.signed_in
    if signed_in is None:
        return _to_login(lang, request)
    cursor = request.query_params.get("cursor")
    try:
        agreements, next_cursor = await service.my_agreements(
            session, signed_in.principal, today=visit.today, cursor=cursor[:2000] if cursor else None
        )
    except AppError:
        agreements, next_cursor = await service.my_agreements(
            session, signed_in.principal, today=visit.today, cursor=None
        )
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
async def workspace_agreement(agreement_id: str, visit: VisitDep) -> Response:
    """An agreement: its targets with milestones and progress, its evidence and activities."""
    lang, signed_in = visit.lang, visit.signed_in
    if signed_in is None:
        return _to_login(lang, visit.request)
    path = f"{PREFIX}/agreements/{agreement_id}"
    found = _uuid(agreement_id)
    try:
        if found is None:
            raise NotFound
        view = await service.agreement_view(visit.session, found, signed_in.principal, today=visit.today)
    except NotFound:
        return _not_found(lang, signed_in, path)
    context = chrome(lang, signed_in, path)
    context["notice"] = _notice(visit.request, lang)
    return page("agreement.html", lang, view=view, **context)


# --- the forms: upload evidence, report a measurement, propose an activity -----------------------------


@dataclass(frozen=True, slots=True)
class Form:
    """A form about an agreement or a target, for its contributors: one path shows it, fills it
    in again with the API's refusal next to its fields, and turns it away (404, 403) alike."""

    path: str  # with {} for the agreement's or target's id
    template: str
    fields: frozenset[str]  # what the page shows next to a field; any other message goes on top
    forbidden: str  # the refusal's key for a key whose organization does not contribute
    # The page's view (NotFound: missing or hidden) and the rest of the template's context.
    load: Callable[[Visit, uuid.UUID, SignedIn], Awaitable[tuple[service.AgreementView, dict[str, Any]]]]
    # What the form says before anything is typed.
    blank: Callable[[Visit], dict[str, Any]] = lambda _: {}
    # The field a refusal about no field is said next to (None: on top of the form).
    default_field: Callable[[Exception], str | None] = lambda _: None
    # A 404 from the change answers the 404 page at once (False: it is refused like any other
    # refusal, after the rollback and the drain, and the form's page, which looks again, says 404).
    missing_is_page: bool = True

    def at(self, found: object) -> str:
        return self.path.format(found)


async def _form_page(
    form: Form,
    visit: Visit,
    found: uuid.UUID,
    signed_in: SignedIn,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    form_error: str | None = None,
) -> Response:
    lang, path = visit.lang, form.at(found)
    try:
        view, extra = await form.load(visit, found, signed_in)
    except NotFound:
        return _not_found(lang, signed_in, path)
    if not view.contributes:
        return page(
            "refused.html",
            lang,
            status_code=403,
            message=Text(form.forbidden).render(lang),
            **chrome(lang, signed_in, path),
        )
    context = chrome(lang, signed_in, path)
    context["form_error"] = form_error
    return page(
        form.template,
        lang,
        status_code=status_code,
        view=view,
        errors=errors or {},
        values=values or form.blank(visit),
        **extra,
        **context,
    )


async def _show(form: Form, visit: Visit, raw_id: str) -> Response:
    """A form's page (GET)."""
    signed_in = visit.signed_in
    if signed_in is None:
        return _to_login(visit.lang, visit.request)
    found = _uuid(raw_id)
    if found is None:
        return _not_found(visit.lang, signed_in, form.at(raw_id))
    return await _form_page(form, visit, found, signed_in)


Change = Callable[[uuid.UUID, SignedIn, dict[str, Any]], Awaitable[tuple[str, str]]]


async def _submit(
    form: Form,
    visit: Visit,
    raw_id: str,
    change: Change,
    *,
    drain: Callable[[], Awaitable[dict[str, str]]] | None = None,
) -> Response:
    """A form's post: `change` reads the form, keeps what was typed in the dict it is given and
    calls the API's service, and says where the success goes ((path, notice)); a refusal rolls
    back and answers the form again, filled in (from `drain` after the rollback, for an upload),
    with the API's messages."""
    signed_in = visit.signed_in
    assert signed_in is not None  # the middleware answered a post without a session
    lang = visit.lang
    found = _uuid(raw_id)
    if found is None:
        return _not_found(lang, signed_in, form.at(raw_id))
    typed: dict[str, Any] = {}
    try:
        path, done = await change(found, signed_in, typed)
    except (AppError, ValidationError, RequestValidationError) as exc:
        if form.missing_is_page and isinstance(exc, NotFound):
            return _not_found(lang, signed_in, form.at(raw_id))
        await visit.session.rollback()
        if drain is not None:
            typed = await drain()
        status, message, errors = refusal(exc, lang, fields=form.fields, default_field=form.default_field(exc))
        return await _form_page(
            form, visit, found, signed_in, status_code=status, errors=errors, values=typed, form_error=message
        )
    return _done(lang, path, done)


async def _load_upload(
    visit: Visit, agreement_id: uuid.UUID, signed_in: SignedIn
) -> tuple[service.AgreementView, dict[str, Any]]:
    view = await service.agreement_view(visit.session, agreement_id, signed_in.principal, today=visit.today)
    t = Locale(visit.lang)
    return view, {
        "limit": t.size(visit.settings.max_upload_bytes),
        "document_types": [(d.value, t.label("document_type", d.value)) for d in DocumentType],
        "targets": [(str(target.id), target.title) for target in view.targets],
    }


def _on_file(exc: Exception) -> str | None:
    """A duplicate, too large or unsupported file is said next to the file."""
    return "file" if isinstance(exc, AppError) and exc.status in (409, 413, 415) else None


UPLOAD = Form(
    path=PREFIX + "/agreements/{}/evidence",
    template="upload.html",
    fields=UPLOAD_FIELDS,
    forbidden="evidence.upload_forbidden",
    load=_load_upload,
    default_field=_on_file,
    # Its 404 goes the way of any refusal: a body already being read is drained first (a browser
    # sends the whole upload before it reads an answer), then the page, which looks again, says 404.
    missing_is_page=False,
)


async def _load_measurement(
    visit: Visit, target_id: uuid.UUID, signed_in: SignedIn
) -> tuple[service.AgreementView, dict[str, Any]]:
    target, view = await service.target_view(visit.session, target_id, signed_in.principal, today=visit.today)
    return view, {"target": target, "target_read": next(t for t in view.targets if t.id == target.id)}


MEASUREMENT = Form(
    path=PREFIX + "/targets/{}/measurements",
    template="measurement.html",
    fields=MEASUREMENT_FIELDS,
    forbidden="measurements.report_forbidden",
    load=_load_measurement,
    blank=lambda visit: {"as_of": visit.today.isoformat()},
)


async def _load_activity(
    visit: Visit, agreement_id: uuid.UUID, signed_in: SignedIn
) -> tuple[service.AgreementView, dict[str, Any]]:
    view = await service.agreement_view(visit.session, agreement_id, signed_in.principal, today=visit.today)
    t = Locale(visit.lang)
    return view, {
        "kinds": [(k.value, t.label("activity_kind", k.value)) for k in ActivityKind],
        "zone": visit.settings.timezone,
    }


ACTIVITY = Form(
    path=PREFIX + "/agreements/{}/activities",
    template="activity.html",
    fields=ACTIVITY_FIELDS,
    forbidden="activities.add_forbidden",
    load=_load_activity,
)


@router.get(PREFIX + "/agreements/{agreement_id}/evidence", response_model=None)
async def workspace_upload_page(agreement_id: str, visit: VisitDep) -> Response:
    """The upload form."""
    return await _show(UPLOAD, visit, agreement_id)


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
async def workspace_upload(agreement_id: str, visit: VisitDep) -> Response:
    """Upload evidence: the API's upload service, streamed the same way, with the same limits and checks."""
    request = visit.request
    boundary = boundary_of(request.headers.get("content-type"))
    body = BrowserForm(request.stream(), boundary) if boundary is not None else None

    async def upload(found: uuid.UUID, signed_in: SignedIn, _: dict[str, Any]) -> tuple[str, str]:
        storage: EvidenceStorage = request.app.state.storage
        try:
            await evidence_service.upload_evidence(
                visit.session,
                storage,
                found,
                body,
                principal=signed_in.principal,
                today=visit.today,
                max_bytes=visit.settings.max_upload_bytes,
            )
        except ClientDisconnect as exc:
            raise MalformedBody(Text("evidence.client_gone")) from exc
        return f"{PREFIX}/agreements/{found}", "evidence_uploaded"

    return await _submit(UPLOAD, visit, agreement_id, upload, drain=lambda: _drain(body))


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
async def workspace_evidence_content(evidence_id: str, visit: VisitDep) -> Response:
    """A document's bytes for the session's key (a reviewer reads what was submitted)."""
    lang, signed_in = visit.lang, visit.signed_in
    if signed_in is None:
        return _to_login(lang, visit.request)
    path = f"{PREFIX}/evidence/{evidence_id}/content"
    found = _uuid(evidence_id)
    try:
        if found is None:
            raise NotFound
        document, _ = await evidence_service.visible_evidence(
            visit.session, found, principal=signed_in.principal, today=visit.today
        )
    except NotFound:
        return _not_found(lang, signed_in, path)
    storage: EvidenceStorage = visit.request.app.state.storage
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


@router.get(PREFIX + "/targets/{target_id}/measurements", response_model=None)
async def workspace_measurement_page(target_id: str, visit: VisitDep) -> Response:
    """The form to report a measurement of a target, citing the agreement's evidence."""
    return await _show(MEASUREMENT, visit, target_id)


@router.post(PREFIX + "/targets/{target_id}/measurements", response_model=None)
async def workspace_report_measurement(target_id: str, visit: VisitDep) -> Response:
    """Report a measurement: the API's measurement service."""

    async def report(found: uuid.UUID, signed_in: SignedIn, typed: dict[str, Any]) -> tuple[str, str]:
        form = await visit.request.form()
        typed.update(_strings(form))
        cited = [v for v in form.getlist("evidence_ids") if isinstance(v, str)]
        typed["evidence_ids"] = cited
        given = _blank_is_none(typed, "as_of", "value", "comment")
        given["value"] = _number(given["value"])
        data = MeasurementCreate.model_validate({**given, "evidence_ids": cited})
        read = await measurement_service.report_measurement(
            visit.session, found, data, principal=signed_in.principal, today=visit.today
        )
        return f"{PREFIX}/agreements/{read.agreement_id}", "measurement_reported"

    return await _submit(MEASUREMENT, visit, target_id, report)


@router.get(PREFIX + "/agreements/{agreement_id}/activities", response_model=None)
async def workspace_activity_page(agreement_id: str, visit: VisitDep) -> Response:
    """The form to propose an activity."""
    return await _show(ACTIVITY, visit, agreement_id)


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
async def workspace_propose_activity(agreement_id: str, visit: VisitDep) -> Response:
    """Propose an activity (an editor adds one): the API's activity service; always planned."""

    async def propose(found: uuid.UUID, signed_in: SignedIn, typed: dict[str, Any]) -> tuple[str, str]:
        typed.update(_strings(await visit.request.form()))
        given = _blank_is_none(typed, "kind", "title", "starts_at", "ends_at", "place", "description")
        given["starts_at"] = _local_instant(given["starts_at"], visit.settings)
        given["ends_at"] = _local_instant(given["ends_at"], visit.settings)
        data = ActivityCreate.model_validate(given)
        await activity_service.create_activity(
            visit.session, found, data, principal=signed_in.principal, today=visit.today
        )
        return f"{PREFIX}/agreements/{found}", "activity_proposed"

    return await _submit(ACTIVITY, visit, agreement_id, propose)


# --- the review queue -----------------------------------------------------------------------------------


async def _queue_page(
    visit: Visit, signed_in: SignedIn, *, status_code: int = 200, item_errors: dict[str, str] | None = None
) -> Response:
    lang = visit.lang
    queue = await service.review_queue(visit.session, signed_in.principal)
    context = chrome(lang, signed_in, f"{PREFIX}/review")
    context["notice"] = _notice(visit.request, lang) if status_code == 200 else None
    listed = {str(d.id) for d, _ in queue.evidence} | {str(q.measurement.id) for q in queue.measurements}
    listed |= {str(q.activity.id) for q in queue.activities}
    # A refusal about an item no longer in the queue (decided meanwhile, or never visible) is said on top.
    context["form_error"] = " ".join(m for i, m in (item_errors or {}).items() if i not in listed) or None
    return page("review.html", lang, status_code=status_code, queue=queue, item_errors=item_errors or {}, **context)


@router.get(PREFIX + "/review", response_model=None)
async def workspace_review_queue(visit: VisitDep) -> Response:
    """The editor's queue: evidence to accept or reject, measurements to verify, activities to confirm."""
    if visit.signed_in is None:
        return _to_login(visit.lang, visit.request)
    return await _queue_page(visit, visit.signed_in)


Decision = Callable[[uuid.UUID, SignedIn, dict[str, str]], Awaitable[str]]


async def _decide(visit: Visit, raw_id: str, decision: Decision) -> Response:
    """A decision on an item of the queue: `decision` calls the API's service with the form's
    fields and names the notice of the success; a refusal is said next to the item."""
    signed_in = visit.signed_in
    assert signed_in is not None  # the middleware answered a post without a session
    found = _uuid(raw_id)
    if found is None:
        return _not_found(visit.lang, signed_in, f"{PREFIX}/review")
    values = _strings(await visit.request.form())
    try:
        done = await decision(found, signed_in, values)
    except (AppError, ValidationError) as exc:
        await visit.session.rollback()
        status, message, _ = refusal(exc, visit.lang)
        return await _queue_page(visit, signed_in, status_code=status, item_errors={str(found): message or ""})
    return _done(visit.lang, f"{PREFIX}/review", done)


@router.post(PREFIX + "/evidence/{evidence_id}/review", response_model=None)
async def workspace_review_evidence(evidence_id: str, visit: VisitDep) -> Response:
    """Accept or reject a document: the API's evidence review."""

    async def review(found: uuid.UUID, signed_in: SignedIn, values: dict[str, str]) -> str:
        data = EvidenceReview.model_validate(_blank_is_none(values, "decision", "note"))
        document, _ = await evidence_service.review_evidence(
            visit.session, found, data, principal=signed_in.principal, today=visit.today
        )
        return f"evidence_{document.status}"

    return await _decide(visit, evidence_id, review)


@router.post(PREFIX + "/measurements/{measurement_id}/verification", response_model=None)
async def workspace_verify_measurement(measurement_id: str, visit: VisitDep) -> Response:
    """Verify or reject a measurement: the API's verification."""

    async def verify(found: uuid.UUID, signed_in: SignedIn, values: dict[str, str]) -> str:
        data = Verification.model_validate(_blank_is_none(values, "decision", "note"))
        read = await measurement_service.decide(
            visit.session, found, data, principal=signed_in.principal, today=visit.today
        )
        return f"measurement_{read.status.value}"

    return await _decide(visit, measurement_id, verify)


@router.post(PREFIX + "/activities/{activity_id}/confirmation", response_model=None)
async def workspace_confirm_activity(activity_id: str, visit: VisitDep) -> Response:
    """Confirm a planned activity: the API's PATCH of its status, If-Match from the form."""

    async def confirm(found: uuid.UUID, signed_in: SignedIn, values: dict[str, str]) -> str:
        await activity_service.change_activity(
            visit.session,
            found,
            ActivityUpdate(status=ActivityStatus.confirmed),
            if_match=values.get("etag") or None,
            principal=signed_in.principal,
            today=visit.today,
        )
        return "activity_confirmed"

    return await _decide(visit, activity_id, confirm)
