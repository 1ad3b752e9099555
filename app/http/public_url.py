"""PACTA_PUBLIC_URL: the one base of every absolute URL the service writes.

Starlette builds `url_for`, `base_url` and `request.url` from the scope's scheme, its `Host`
header and its root path. When a public URL is configured, this middleware sets all three from
it before anything else runs, so a `Location`, a `Link`, a `content_url` or a feed URL can never
carry a host that a client chose (host header poisoning of links, caches and feeds). Unset, the
request's own base URL is used, as on a developer's machine.
"""

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send


def parse_public_url(value: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path prefix) of an absolute http(s) URL; ValueError otherwise."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL such as https://pacta.example.org")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("must hold no query, fragment or credentials")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname, port, parts.path.rstrip("/")


class PublicURLMiddleware:
    def __init__(self, app: ASGIApp, *, public_url: str) -> None:
        self.app = app
        self.scheme, host, self.port, self.root_path = parse_public_url(public_url)
        self.server = host
        default = 443 if self.scheme == "https" else 80
        shown = f"[{host}]" if ":" in host else host
        self.host_header = (shown if self.port == default else f"{shown}:{self.port}").encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"host"]
        headers.append((b"host", self.host_header))
        scope = {
            **scope,
            "scheme": self.scheme if scope["type"] == "http" else ("wss" if self.scheme == "https" else "ws"),
            "server": (self.server, self.port),
            "headers": headers,
        }
        prefix = self.root_path
        if prefix:
            # A reverse proxy serving Pacta under a path strips it; links must put it back. ASGI's
            # `path` includes `root_path`, which routing then takes off again.
            path: str = scope["path"]
            if path != prefix and not path.startswith(prefix + "/"):
                scope["path"] = prefix + path
                raw = scope.get("raw_path")
                if raw is not None:
                    scope["raw_path"] = prefix.encode("latin-1") + raw
            scope["root_path"] = prefix
        await self.app(scope, receive, send)
