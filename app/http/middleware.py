"""Pure ASGI middleware: request id and access log (outermost), then the request body limit."""

import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_MEDIA_TYPE, TextHTTPException
from app.i18n import CONTENT_LANGUAGE, Text, negotiate

access_logger = logging.getLogger("pacta.access")
error_logger = logging.getLogger("pacta.errors")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    """Gives every request an X-Request-ID (echoed or generated), logs one JSON line per request,
    and turns anything unhandled into a generic 500 problem that quotes the request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                if state.get("language") is not None:
                    # The response's texts were written in the negotiated language (app.i18n).
                    headers["Content-Language"] = CONTENT_LANGUAGE[state["language"]]
                    headers.add_vary_header("Accept-Language")
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_logger.exception("unhandled error", extra={"request_id": request_id})
            status = 500
            if not response_started:
                await send_problem(
                    scope,
                    send,
                    500,
                    "internal-error",
                    Text("problem.internal-error.detail", request_id=request_id),
                    headers=[(b"x-request-id", request_id.encode())],
                )
        finally:
            access_logger.info(
                "request",
                extra={
                    "event": "request",
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "request_id": request_id,
                    "organization": state.get("organization_id"),
                },
            )


class BodyLimitMiddleware:
    """413 as soon as a body passes its limit, without reading the rest.

    Multipart uploads may reach PACTA_MAX_UPLOAD_BYTES (plus room for the form's other parts);
    everything else PACTA_MAX_BODY_BYTES.
    """

    MULTIPART_OVERHEAD = 64 * 1024

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        multipart = headers.get("content-type", "").lower().startswith("multipart/form-data")
        limit = self.max_upload_bytes + self.MULTIPART_OVERHEAD if multipart else self.max_body_bytes
        declared = headers.get("content-length")
        detail = Text("problem.payload-too-large.body", limit=limit)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_problem(scope, send, 413, "payload-too-large", detail)
            return
        received = 0
        exceeded = response_started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise TextHTTPException(413, detail)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except TextHTTPException:
            # A body read by a middleware (idempotency spools it) rather than by a route escapes the
            # app's exception handlers: answer the 413 here instead of letting it become a 500.
            if not exceeded or response_started:
                raise
            await send_problem(scope, send, 413, "payload-too-large", detail)


async def send_problem(
    scope: Scope,
    send: Send,
    status: int,
    slug: str,
    detail: Text,
    *,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """A problem answered before (or outside) the app's handlers, in the caller's language."""
    settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
    lang = negotiate(Headers(scope=scope).get("accept-language"), getattr(settings, "default_language", "es"))
    body = json.dumps(
        {
            "type": f"/problems/{slug}",
            "title": Text(f"problem.{slug}.title").render(lang),
            "status": status,
            "detail": detail.render(lang),
            "instance": scope.get("path"),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"content-language", CONTENT_LANGUAGE[lang].encode()),
                (b"vary", b"Accept-Language"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
