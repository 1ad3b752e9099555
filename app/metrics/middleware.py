"""Counts and times every request by the route template that served it (pure ASGI)."""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.routes import matched_route
from app.metrics.registry import LATENCY, REQUESTS

# Requests no API route matches (404s, the docs, static pages) share one label: a client that
# walks random paths must not create a series per path.
UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = matched_route(scope)
            template = route.path if route is not None else UNMATCHED
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            REQUESTS.labels(template, method, str(status)).inc()
            LATENCY.labels(template, method).observe(time.perf_counter() - started)
