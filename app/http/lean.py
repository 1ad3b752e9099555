"""Lean GET routes: the hot reads served without FastAPI's per-request machinery.

FastAPI spends, on every request, more than a hot read's own work: an exit stack per request,
a response object for its headers, a recursive solve of every dependency with its cache keys and
override lookups, telemetry hooks. For the reads that a portal or a dashboard repeats all day
(the agreements list, one agreement, the log's entries...) that was a third of the process's
time. A route marked `@lean` keeps its FastAPI declaration (the OpenAPI document, validation
and every error stay the route's), and is also served by a LeanRoute put in front of it, which
resolves the same dependencies with the same functions and FastAPI's own parameter validation
(each parameter's own pydantic field), calls the same endpoint and sends the Response it returns.

Whatever the lean path does not handle goes to the route as before, so the answer is the same
by construction: a parameter that fails validation (the route answers its 422), or a dependency
override that takes arguments (the tests' clock takes none). Errors that dependencies or the
endpoint raise travel as they do from the route, to the app's exception handlers.

Only routes whose dependencies are all coroutine functions fed by the request, its path and its
query (no headers, cookies, body, generators, classes, concurrency limits or response parameter)
may be lean, and the endpoint must return a Response; `install_lean_routes` refuses anything else
at start-up, so a route marked lean is never silently served the slow way. A request the lean
path hands on to its route runs the dependencies solved so far once more: they must give the same
answer twice in a request (today's do: the principal is kept in request.state).
"""

import copy
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi._compat import ModelField, field_annotation_is_sequence
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import _get_param_aliases, _get_param_model, _is_json_field
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from app.http.routes import matched_route

_LEAN = "_pacta_lean"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def lean(endpoint: Endpoint) -> Endpoint:
    """Serve this GET endpoint through a LeanRoute (decorate it under the route's decorator)."""
    setattr(endpoint, _LEAN, True)
    return endpoint


class _Fallback(Exception):
    """The lean path cannot answer this request the way the route would: the route answers it."""


@dataclass(frozen=True, slots=True)
class _Param:
    """A path or query parameter, with what FastAPI's request_params_to_args works out about it
    on every request (its aliases, whether it repeats) worked out once. Its value is validated
    by its own pydantic field, as there, so the lean path accepts exactly what the route does."""

    field: ModelField
    name: str
    aliases: tuple[str, ...]
    where: str  # "path" or "query", for the error's loc
    repeats: bool

    @classmethod
    def of(cls, field: ModelField, where: str) -> "_Param":
        if _get_param_model(field) is not None:
            raise TypeError(f"a parameter model ({field.name}) cannot be lean")
        aliases = tuple(request for _, request in _get_param_aliases(field))
        repeats = not _is_json_field(field) and field_annotation_is_sequence(field.field_info.annotation)
        return cls(field, field.name, aliases, where, repeats)

    def value(self, received: Any) -> Any:
        """The validated value, or _Fallback when the route would refuse it."""
        alias = next((a for a in self.aliases if a in received), self.aliases[0])
        raw = received.getlist(alias) if self.repeats and hasattr(received, "getlist") else received.get(alias)
        field = self.field
        if raw is None or (self.repeats and len(raw) == 0):
            if field.field_info.is_required():
                raise _Fallback
            default = copy.deepcopy(field.default)
            if not field.field_info.validate_default:
                return default
            raw = default
        value, errors = field.validate(raw, {}, loc=(self.where, alias))
        if errors:
            raise _Fallback
        return value


@dataclass(frozen=True, slots=True)
class _Plan:
    """A dependant, checked once: what to call and with which of the request's values."""

    call: Callable[..., Any]
    name: str | None
    request_params: tuple[str, ...]  # the Request, or the HTTPConnection it is
    params: tuple[_Param, ...]
    subs: tuple["_Plan", ...]
    use_cache: bool


def _is_coroutine(call: Any) -> bool:
    if inspect.isclass(call):
        return False  # FastAPI instantiates a class dependency: its __call__ is not what runs
    if inspect.iscoroutinefunction(call):
        return True
    dunder = getattr(call, "__call__", None)  # noqa: B004 - a callable instance (HTTPBearer)
    return not inspect.isfunction(call) and inspect.iscoroutinefunction(dunder)


def _plan(dependant: Dependant, where: str) -> _Plan:
    refused = [
        what
        for what, present in (
            ("header parameters", dependant.header_params),
            ("cookie parameters", dependant.cookie_params),
            ("a body", dependant.body_params),
            ("a websocket", dependant.websocket_param_name),
            ("a response parameter", dependant.response_param_name),
            ("background tasks", dependant.background_tasks_param_name),
            ("security scopes", dependant.security_scopes_param_name),
            ("a concurrency limit", dependant.concurrency),
        )
        if present
    ]
    call = dependant.call
    if call is None or not _is_coroutine(call):
        refused.append(f"{getattr(call, '__name__', call)!r}, which is not a coroutine")
    if refused:
        raise TypeError(f"{where} cannot be lean: it takes {', '.join(refused)}")
    assert call is not None
    return _Plan(
        call=call,
        name=dependant.name,
        request_params=tuple(
            name for name in (dependant.request_param_name, dependant.http_connection_param_name) if name
        ),
        params=tuple(_Param.of(f, "path") for f in dependant.path_params)
        + tuple(_Param.of(f, "query") for f in dependant.query_params),
        subs=tuple(_plan(sub, where) for sub in dependant.dependencies),
        use_cache=dependant.use_cache,
    )


async def _overridden(override: Callable[..., Any]) -> Any:
    """A test's override that takes nothing and returns its value; any other goes to the route."""
    if (
        inspect.signature(override).parameters
        or inspect.isgeneratorfunction(override)
        or inspect.isasyncgenfunction(override)
    ):
        raise _Fallback
    value = override()
    return await value if inspect.isawaitable(value) else value


async def _solve(
    plan: _Plan, request: Request, cache: dict[Callable[..., Any], Any], overrides: Mapping[Any, Any]
) -> dict[str, Any]:
    """The keyword arguments of `plan.call`, in the order FastAPI's solve_dependencies works:
    sub-dependencies first (their errors raised as they come), then the plan's own parameters."""
    values: dict[str, Any] = {}
    for sub in plan.subs:
        if sub.use_cache and sub.call in cache:
            solved = cache[sub.call]
        elif sub.call in overrides:
            solved = await _overridden(overrides[sub.call])
        else:
            solved = await sub.call(**await _solve(sub, request, cache, overrides))
        cache.setdefault(sub.call, solved)
        if sub.name is not None:
            values[sub.name] = solved
    if plan.params:
        received = {"path": request.path_params, "query": request.query_params}
        for param in plan.params:
            values[param.name] = param.value(received[param.where])
    for name in plan.request_params:
        values[name] = request
    return values


class LeanRoute(BaseRoute):
    """Serves GETs of `route` (see the module); matches exactly when the route does."""

    def __init__(self, route: APIRoute) -> None:
        where = f"GET {route.path} ({route.name})"
        if route.methods != {"GET"}:
            raise TypeError(f"{where} cannot be lean: only GET routes can")
        returns = inspect.signature(route.endpoint).return_annotation
        if not (inspect.isclass(returns) and issubclass(returns, Response)):
            raise TypeError(f"{where} cannot be lean: its endpoint must return a Response")
        self.route = route
        self.plan = _plan(route.dependant, where)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] != "GET":
            return Match.NONE, {}
        match, child_scope = self.route.matches(scope)
        # In front of every route, it must still only take what its route would have served:
        # not a request an earlier route on an overlapping path (/x/search before /x/{id}) wins.
        if match is not Match.FULL or matched_route(scope) is not self.route:
            return Match.NONE, {}
        return match, child_scope

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # the route itself answers for its name

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        overrides: Mapping[Any, Any] = getattr(scope["app"], "dependency_overrides", {})
        try:
            values = await _solve(self.plan, request, {}, overrides)
        except _Fallback:
            await self.route.handle(scope, receive, send)
            return
        response = await self.plan.call(**values)
        if not isinstance(response, Response):
            raise TypeError(f"{self.route.name} returned {type(response).__name__}, not a Response")
        await response(scope, receive, send)


def install_lean_routes(app: FastAPI, routes: Iterable[APIRoute]) -> list[LeanRoute]:
    """Put a LeanRoute in front of every route whose endpoint is marked @lean."""
    leans = [LeanRoute(route) for route in routes if getattr(route.endpoint, _LEAN, False)]
    app.router.routes[0:0] = leans
    return leans
