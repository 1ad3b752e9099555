"""What the middleware needs to know about the route a request is for, before anything reads its body.

Middleware runs before FastAPI has chosen a route, so it matches the scope against the app's API
routes itself (`app.state.api_routes`, listed by create_app from the routers it includes; once per
request, kept in the scope's state). What it learns comes from the routes' own
declarations, so it cannot drift from them: a route takes files when its documented request body
is multipart, and it needs a key (or an admin key) when its dependencies ask for one.
"""

from collections.abc import Awaitable, Callable, Iterable
from enum import Enum
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter
from starlette.routing import Match
from starlette.types import Scope

_ROUTE = "matched_route"


def api_routes(routers: Iterable[APIRouter]) -> tuple[APIRoute, ...]:
    return tuple(route for router in routers for route in router.routes if isinstance(route, APIRoute))


class Needs(Enum):
    nothing = "nothing"  # the route never asks who is calling
    optional = "optional"  # it serves anonymous callers and keys alike
    key = "key"
    admin = "admin"


def matched_route(scope: Scope) -> APIRoute | None:
    """The API route that will serve this request, or None (404, 405, or not an API route)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    if _ROUTE in state:
        found: APIRoute | None = state[_ROUTE]
        return found
    found = None
    routes: tuple[APIRoute, ...] = scope["app"].state.api_routes
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            found = route
            break
    state[_ROUTE] = found
    return found


def takes_files(route: APIRoute | None) -> bool:
    """True for routes whose documented request body is multipart (evidence uploads)."""
    if route is None:
        return False
    body = (route.openapi_extra or {}).get("requestBody") or {}
    return "multipart/form-data" in (body.get("content") or {})


_NEEDS = "_pacta_needs"


def needs(
    route: APIRoute | None, *, optional: Callable[..., Any], key: Callable[..., Any], admin: Callable[..., Any]
) -> Needs:
    """Which of the principal dependencies (`optional`, `key`, `admin`) the route's asks for."""
    if route is None:
        return Needs.nothing
    cached: Needs | None = getattr(route, _NEEDS, None)
    if cached is not None:
        return cached
    calls: set[Any] = set()

    def walk(dependant: Dependant) -> None:
        for sub in dependant.dependencies:
            calls.add(sub.call)
            walk(sub)

    walk(route.dependant)
    result = (
        Needs.admin
        if admin in calls
        else Needs.key
        if key in calls
        else Needs.optional
        if optional in calls
        else Needs.nothing
    )
    setattr(route, _NEEDS, result)  # the answer lives and dies with the route
    return result


# A check a route runs before anything reads its body (app.auth.middleware calls it with the
# principal, or None for an anonymous caller): it raises an AppError to refuse, or returns what to
# call once the request is done (e.g. to give back a slot it took), or None.
BeforeBody = Callable[[Scope, Any], Awaitable[Callable[[], None] | None]]
_BEFORE_BODY = "_pacta_before_body"


def before_body(check: BeforeBody) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare `check` as the endpoint's pre-body check (decorate the endpoint, under the route)."""

    def declare(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        setattr(endpoint, _BEFORE_BODY, check)
        return endpoint

    return declare


def before_body_check(route: APIRoute | None) -> BeforeBody | None:
    if route is None:
        return None
    check: BeforeBody | None = getattr(route.endpoint, _BEFORE_BODY, None)
    return check
