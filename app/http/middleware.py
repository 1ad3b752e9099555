"""Pure ASGI middleware: request id and access log (outermost), then the guards on request bodies."""

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import (
    PROBLEM_MEDIA_TYPE,
    AppError,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)
from app.http.routes import matched_route, takes_files
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


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyGuardMiddleware:
    """Bounds every request body by route, size and pace, before and while it is read.

    - Multipart bodies go only to routes that take files (415 at once elsewhere); those routes
      may receive PACTA_MAX_UPLOAD_BYTES (plus room for the form's other parts), every other
      route PACTA_MAX_BODY_BYTES. A declared Content-Length over the limit is refused before a
      byte is read; a chunked body as soon as it passes the limit.
    - A body must keep arriving: no wait for the next chunk may pass PACTA_BODY_TIMEOUT_SECONDS,
      and past that grace period it must average PACTA_BODY_MIN_BYTES_PER_SECOND. Otherwise 408
      and the connection is closed, so a stalled client holds nothing but its socket.

    Whoever reads the body (a route, the idempotency middleware) sees the refusal as an AppError
    raised by `receive`; one that escapes the app is answered here.
    """

    MULTIPART_OVERHEAD = 64 * 1024

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_upload_bytes: int,
        timeout_seconds: float,
        min_bytes_per_second: float,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.timeout = timeout_seconds
        self.min_rate = min_bytes_per_second

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        route = matched_route(scope)
        uploads = takes_files(route)
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if route is not None and not uploads and media_type.startswith("multipart/"):
            await send_app_error(scope, send, UnsupportedMediaType(Text("problem.unsupported-media-type.multipart")))
            return
        limit = self.max_upload_bytes + self.MULTIPART_OVERHEAD if uploads else self.max_body_bytes
        too_large = PayloadTooLarge(Text("problem.payload-too-large.body", limit=limit))
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_app_error(scope, send, too_large)
            return
        started = time.monotonic()
        received = 0
        refused: AppError | None = None
        response_started = False

        complete = False

        async def guarded_receive() -> Message:
            nonlocal received, refused, complete
            if refused is not None:
                raise refused
            if complete:
                # The body is in; what follows is a wait for the client to leave, never timed.
                return await receive()
            # The next chunk must come within the stall timeout, and soon enough that the body
            # as a whole keeps the minimum pace once the grace period (the same timeout) is over.
            budget = started + self.timeout + received / self.min_rate - time.monotonic()
            wait = min(self.timeout, budget)
            try:
                if wait <= 0:
                    raise TimeoutError
                # A deadline on this task (no task of its own per chunk, as wait_for makes).
                async with asyncio.timeout(wait):
                    message = await receive()
            except TimeoutError:
                refused = RequestTimeout(
                    Text("problem.request-timeout.body", timeout=f"{self.timeout:g}", rate=f"{self.min_rate:g}")
                )
                raise refused from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = too_large
                    raise refused
                complete = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except AppError as exc:
            # Raised by guarded_receive under a middleware that read the body (the app's own
            # handlers answer those raised inside a route).
            if exc is not refused or response_started:
                raise
            await send_app_error(scope, send, exc)


class ReadBodyFirstMiddleware:
    """Reads a JSON-sized body whole before the route runs (after authentication, inside the
    body guard), so no route, dependency or unit of work can be waiting on the client while it
    holds a database connection. Upload routes stream their body themselves instead."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS or takes_files(matched_route(scope)):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                # After the body, wait for the client to go away, as the server's own receive does.
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def send_app_error(scope: Scope, send: Send, exc: AppError) -> None:
    """An AppError answered by middleware, outside the app's exception handlers."""
    await send_problem(
        scope,
        send,
        exc.status,
        exc.slug,
        exc.detail or exc.title_text(),
        headers=[(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in exc.headers.items()],
    )


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
